"""Users are managed by admins only; the engine's silent loop-depth limit is guarded."""

from __future__ import annotations

from tests.integration.helpers import BPMN_HEAD, deploy, open_tasks


def test_only_admin_manages_users(login, demo_ags):
    admin, sb = login("admin"), login("sb1")
    assert sb.get("/api/users").status_code == 403
    r = sb.post("/api/users", json={"username": "neu", "password": "geheim123", "groups": ["admin"]})
    assert r.status_code == 403
    r = admin.post("/api/users", json={"username": "kommune-neu", "password": "geheim123",
                                       "groups": ["kommune"], "municipalities": [demo_ags[0]]})
    assert r.status_code == 201, r.get_json()
    user = r.get_json()
    assert user["groups"] == ["kommune"] and user["municipalities"] == [demo_ags[0]]
    r = admin.post("/api/users", json={"username": "x", "password": "kurz", "groups": []})
    assert r.status_code == 422
    assert {e["path"] for e in r.get_json()["errors"]} == {"/username", "/password", "/groups"}
    r = admin.patch(f"/api/users/{user['id']}", json={"active": False})
    assert r.status_code == 200 and r.get_json()["active"] is False
    token = admin.client.post("/api/auth/token", json={"username": "kommune-neu", "password": "geheim123"})
    assert token.status_code == 401
    names = [u["username"] for u in admin.get("/api/users").get_json()]
    assert "kommune-neu" in names and "sb1" in names


def _loop(pid: str, passes: int) -> bytes:
    return (BPMN_HEAD.format(pid=pid) + f"""
  <bpmn:process id="{pid}" name="Schleife" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l" name="sachbearbeitung">
      <bpmn:flowNodeRef>s</bpmn:flowNodeRef><bpmn:flowNodeRef>ende_pruefen</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="init"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>n = 0</bpmn:script></bpmn:scriptTask>
    <bpmn:scriptTask id="schritt"><bpmn:incoming>f2</bpmn:incoming><bpmn:incoming>zurueck</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing><bpmn:script>n = n + 1</bpmn:script></bpmn:scriptTask>
    <bpmn:exclusiveGateway id="gw" default="fertig"><bpmn:incoming>f3</bpmn:incoming>
      <bpmn:outgoing>zurueck</bpmn:outgoing><bpmn:outgoing>fertig</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:userTask id="ende_pruefen" name="Ergebnis prüfen">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="demo/eskalation.schema.json" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>fertig</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="init" />
    <bpmn:sequenceFlow id="f2" sourceRef="init" targetRef="schritt" />
    <bpmn:sequenceFlow id="f3" sourceRef="schritt" targetRef="gw" />
    <bpmn:sequenceFlow id="zurueck" sourceRef="gw" targetRef="schritt">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">n &lt; {passes}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="fertig" sourceRef="gw" targetRef="ende_pruefen" />
    <bpmn:sequenceFlow id="f4" sourceRef="ende_pruefen" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>""").encode()


def test_short_back_edge_loop_runs(login):
    assert deploy(login("modeler1"), {"kurz.bpmn": _loop("schleife_kurz", 50)}).status_code == 201
    sb = login("sb1")
    body = sb.post("/api/process-instances", json={"process_key": "schleife_kurz"}).get_json()
    assert body["status"] == "running", body
    assert body["data"]["n"] == 50
    assert [t["name"] for t in open_tasks(sb, body["id"])] == ["ende_pruefen"]


def test_deep_back_edge_loop_is_an_error_not_a_silent_completion(login):
    assert deploy(login("modeler1"), {"lang.bpmn": _loop("schleife_lang", 400)}).status_code == 201
    sb = login("sb1")
    body = sb.post("/api/process-instances", json={"process_key": "schleife_lang"}).get_json()
    assert body["status"] == "error", body
    assert "Schleifentiefe" in body["error_message"] or "nicht ausgeführt" in body["error_message"]
