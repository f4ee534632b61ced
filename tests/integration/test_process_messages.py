"""Acceptance (Celery issue, point 5): messages thrown by a process reach the matching waiting
instance or start a new instance with a message start event — same rules as the API."""

from __future__ import annotations

from tests.integration.helpers import BPMN_HEAD, deploy, open_tasks, with_start_form

FORM = """<bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="demo/eskalation.schema.json" />
      </spiffworkflow:properties></bpmn:extensionElements>"""


def sender(pid: str, message: str, payload: str) -> bytes:
    return (BPMN_HEAD.format(pid=pid) + f"""
  <bpmn:message id="M" name="{message}" />
  <bpmn:process id="{pid}" name="Sender" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l" name="sachbearbeitung"><bpmn:flowNodeRef>s</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateThrowEvent id="senden" name="Auftrag senden"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:messageEventDefinition messageRef="M"><bpmn:extensionElements>
        <spiffworkflow:messagePayload>{payload}</spiffworkflow:messagePayload>
      </bpmn:extensionElements></bpmn:messageEventDefinition>
    </bpmn:intermediateThrowEvent>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="senden" />
    <bpmn:sequenceFlow id="f2" sourceRef="senden" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>""").encode()


WAITER = (BPMN_HEAD.format(pid="empfaenger") + f"""
  <bpmn:message id="M" name="auftrag" />
  <bpmn:process id="empfaenger" name="Empfänger" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l" name="sachbearbeitung">
      <bpmn:flowNodeRef>s</bpmn:flowNodeRef><bpmn:flowNodeRef>auswerten</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="warten"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:messageEventDefinition messageRef="M" /></bpmn:intermediateCatchEvent>
    <bpmn:userTask id="auswerten" name="Auftrag auswerten">{FORM}
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="warten" />
    <bpmn:sequenceFlow id="f2" sourceRef="warten" targetRef="auswerten" />
    <bpmn:sequenceFlow id="f3" sourceRef="auswerten" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>""").encode()

STARTER = (BPMN_HEAD.format(pid="neu_per_nachricht") + f"""
  <bpmn:message id="M2" name="neuer_vorgang" />
  <bpmn:process id="neu_per_nachricht" name="Start per Nachricht" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l" name="sachbearbeitung">
      <bpmn:flowNodeRef>s</bpmn:flowNodeRef><bpmn:flowNodeRef>bearbeiten</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:messageEventDefinition messageRef="M2" /></bpmn:startEvent>
    <bpmn:userTask id="bearbeiten" name="Neuen Vorgang bearbeiten">{FORM}
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="bearbeiten" />
    <bpmn:sequenceFlow id="f2" sourceRef="bearbeiten" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>""").encode()


def _deploy_all(login):  # noqa: ANN001, ANN202
    r = deploy(login("modeler1"), {
        "empfaenger.bpmn": WAITER, "neu.bpmn": STARTER,
        **with_start_form(sender("sender_a", "auftrag", '{"business_key": ziel, "wert": 42}'),
                          "sender_a", {"ziel": {"type": "string"}}),
        "sender_b.bpmn": sender("sender_b", "neuer_vorgang", '{"business_key": "NEU-7", "betreff": "Test"}'),
    })
    assert r.status_code == 201, r.get_json()


def test_thrown_message_reaches_only_the_matching_waiting_instance(login):
    _deploy_all(login)
    sb = login("sb1")
    r1 = sb.post("/api/process-instances", json={"process_key": "empfaenger", "business_key": "R-1"}).get_json()
    r2 = sb.post("/api/process-instances", json={"process_key": "empfaenger", "business_key": "R-2"}).get_json()
    s = sb.post("/api/process-instances", json={"process_key": "sender_a", "data": {"ziel": "R-1"}}).get_json()
    assert s["status"] == "completed", s
    assert [t["name"] for t in open_tasks(sb, r1["id"])] == ["auswerten"]
    assert open_tasks(sb, r2["id"]) == []
    detail = sb.get(f"/api/process-instances/{r1['id']}").get_json()
    assert detail["data"]["wert"] == 42
    history = sb.get(f"/api/process-instances/{s['id']}").get_json()["history"]
    assert any(h["action"] == "message.sent" and h["details"]["to_instance"] == r1["id"] for h in history)


def test_thrown_message_starts_a_process_with_a_message_start_event(login):
    _deploy_all(login)
    sb = login("sb1")
    s = sb.post("/api/process-instances", json={"process_key": "sender_b"}).get_json()
    assert s["status"] == "completed", s
    started = sb.get("/api/process-instances", query_string={"process_key": "neu_per_nachricht"}).get_json()
    [new] = started["items"]
    assert new["business_key"] == "NEU-7"
    assert [t["name"] for t in open_tasks(sb, new["id"])] == ["bearbeiten"]
    assert sb.get(f"/api/process-instances/{new['id']}").get_json()["data"]["betreff"] == "Test"


def test_api_message_starts_a_process_too_and_unmatched_throw_is_an_error(login):
    _deploy_all(login)
    sb = login("sb1")
    r = sb.post("/api/messages/neuer_vorgang", json={"payload": {"business_key": "API-1"}})
    assert r.status_code == 200, r.get_json()
    s = sb.post("/api/process-instances", json={"process_key": "sender_a", "data": {"ziel": "nix"}}).get_json()
    assert s["status"] == "error"
    assert "auftrag" in s["error_message"]
