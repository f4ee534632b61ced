"""Acceptance: completing a task in an instance with 2,000 finished tasks writes a bounded
number of rows and does not re-serialise the finished ones."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event, func, select

from app.engine import store
from app.models import EngineTask
from tests.integration.helpers import BPMN_HEAD, deploy, open_tasks, with_start_form

MANY = (BPMN_HEAD.format(pid="viele_aufgaben") + """
  <bpmn:process id="viele_aufgaben" name="Viele Aufgaben" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="sachbearbeitung">
      <bpmn:flowNodeRef>s</bpmn:flowNodeRef><bpmn:flowNodeRef>prep</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>mi</bpmn:flowNodeRef><bpmn:flowNodeRef>ut</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>ut2</bpmn:flowNodeRef><bpmn:flowNodeRef>e</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="prep"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>items = list(range(anzahl))</bpmn:script></bpmn:scriptTask>
    <bpmn:scriptTask id="mi" name="Posten rechnen">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics>
        <bpmn:loopDataInputRef>items</bpmn:loopDataInputRef>
        <bpmn:loopDataOutputRef>ergebnisse</bpmn:loopDataOutputRef>
        <bpmn:inputDataItem id="item" name="item" />
        <bpmn:outputDataItem id="ergebnis" name="ergebnis" />
      </bpmn:multiInstanceLoopCharacteristics>
      <bpmn:script>ergebnis = item * 2</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="ut" name="Erste Prüfung">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="demo/eskalation.schema.json" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="ut2" name="Zweite Prüfung">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="demo/eskalation.schema.json" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="prep" />
    <bpmn:sequenceFlow id="f2" sourceRef="prep" targetRef="mi" />
    <bpmn:sequenceFlow id="f3" sourceRef="mi" targetRef="ut" />
    <bpmn:sequenceFlow id="f4" sourceRef="ut" targetRef="ut2" />
    <bpmn:sequenceFlow id="f5" sourceRef="ut2" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>""").encode()
VIELE = with_start_form(MANY, "viele", {"anzahl": {"type": "integer", "minimum": 0}})


@contextmanager
def count_writes(engine):  # noqa: ANN001, ANN201
    counts = {"engine_task": 0, "rows": 0}

    def before(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        verb = statement.lstrip().split(" ", 1)[0].upper()
        if verb in ("INSERT", "UPDATE", "DELETE"):
            n = len(parameters) if executemany else 1
            counts["rows"] += n
            if "engine_task" in statement.split("(")[0] or " engine_task " in statement:
                counts["engine_task"] += n

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield counts
    finally:
        event.remove(engine, "before_cursor_execute", before)


def _instance_with(login, n: int):  # noqa: ANN001, ANN202
    sb = login("sb1")
    r = sb.post("/api/process-instances", json={"process_key": "viele_aufgaben",
                                                 "data": {"anzahl": n}})
    assert r.status_code == 201, r.get_json()
    return sb, r.get_json()["id"]


def test_completing_a_task_after_2000_finished_tasks_writes_bounded_rows(login, platform, monkeypatch):
    assert deploy(login("modeler1"), VIELE).status_code == 201
    sb, iid = _instance_with(login, 2000)
    with platform.db.unit_of_work() as s:
        finished = s.scalar(select(func.count()).select_from(EngineTask).where(
            EngineTask.instance_id == iid, EngineTask.state == 64))
    assert finished >= 2000
    serialised: list[str] = []
    real = store.serializer().registry.convert

    def spy(obj):  # noqa: ANN001, ANN202
        if type(obj).__name__ == "Task":
            serialised.append(str(obj.id))
        return real(obj)

    monkeypatch.setattr(store.serializer().registry, "convert", spy)
    [task] = open_tasks(sb, iid)
    with count_writes(platform.db.engine) as counts:
        r = sb.post(f"/api/tasks/{task['id']}/complete", json={"data": {"vermerk": "geprüft"}})
    assert r.status_code == 200, r.get_json()
    assert counts["engine_task"] <= 12, counts
    assert counts["rows"] <= 25, counts
    assert len(serialised) <= 12  # only the live tokens, never the 2,000 finished tasks


def test_step_cost_in_rows_is_the_same_for_20_and_2000_finished_tasks(login, platform):
    assert deploy(login("modeler1"), VIELE).status_code in (200, 201)
    measured = []
    for n in (20, 2000):
        sb, iid = _instance_with(login, n)
        [task] = open_tasks(sb, iid)
        with count_writes(platform.db.engine) as counts:
            r = sb.post(f"/api/tasks/{task['id']}/complete", json={"data": {"vermerk": "erledigt"}})
        assert r.status_code == 200, r.get_json()
        measured.append(counts["rows"])
    assert measured[0] == measured[1]


def test_reloaded_instance_is_identical_after_incremental_saves(login, platform):
    from app.models import ProcessInstance
    from app.services import instances

    assert deploy(login("modeler1"), VIELE).status_code in (200, 201)
    sb, iid = _instance_with(login, 30)
    [task] = open_tasks(sb, iid)
    r = sb.post(f"/api/tasks/{task['id']}/complete", json={"data": {"vermerk": "erledigt"}})
    assert r.status_code == 200, r.get_json()
    with platform.db.unit_of_work() as s:
        loaded = instances.load(platform, s, s.get(ProcessInstance, iid))
        wf = loaded.workflow
        ready = [t for t in wf.tasks.values() if t.state == 16]
        assert [t.task_spec.name for t in ready] == ["ut2"]
        assert ready[0].data["ergebnisse"] == [i * 2 for i in range(30)]
        assert ready[0].data["vermerk"] == "erledigt"
