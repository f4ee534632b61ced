"""The in-process cache of restored workflows (the P2 fix, app/services/workflow_cache.py) never
serves a stale or half-changed workflow: a write elsewhere (another process), a failed
transaction or an unpersisted change all lead back to restoring from the database."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.models import ProcessInstance
from app.services import instances, tasks
from app.services.platform import Platform
from tests.integration.helpers import BPMN_HEAD, open_tasks

PID = "cache_kette"


@pytest.fixture
def chain(as_user):  # noqa: ANN001, ANN201
    """A process with three user tasks in a row (the script sets a counter)."""
    r = as_user("modeler1").post("/api/process-definitions", data={"files": [
        (__import__("io").BytesIO(_three_steps()), f"{PID}.bpmn")]}, content_type="multipart/form-data")
    assert r.status_code in (200, 201), r.get_json()
    return as_user("sb1")


def _three_steps() -> bytes:
    """start → script → two user tasks in a row → end."""
    def user_task(tid: str, incoming: str, outgoing: str) -> str:
        return (f'<bpmn:userTask id="{tid}" name="Prüfen {tid}"><bpmn:extensionElements>'
                '<spiffworkflow:properties><spiffworkflow:property name="formJsonSchemaFilename" '
                'value="demo/eskalation.schema.json" /></spiffworkflow:properties></bpmn:extensionElements>'
                f'<bpmn:incoming>{incoming}</bpmn:incoming><bpmn:outgoing>{outgoing}</bpmn:outgoing>'
                '</bpmn:userTask>')

    return (BPMN_HEAD.format(pid=PID) + f"""
  <bpmn:process id="{PID}" name="Cache-Kette" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="sachbearbeitung">
      <bpmn:flowNodeRef>s</bpmn:flowNodeRef><bpmn:flowNodeRef>ut</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>ut2</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="skript"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>zaehler = 0</bpmn:script></bpmn:scriptTask>
    {user_task("ut", "f2", "f3")}{user_task("ut2", "f3", "f4")}
    <bpmn:endEvent id="e"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="skript" />
    <bpmn:sequenceFlow id="f2" sourceRef="skript" targetRef="ut" />
    <bpmn:sequenceFlow id="f3" sourceRef="ut" targetRef="ut2" />
    <bpmn:sequenceFlow id="f4" sourceRef="ut2" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>""").encode()


def _actor(platform, username: str):  # noqa: ANN001, ANN202
    from app.models import User
    from app.services.auth import actor_for

    with platform.db.unit_of_work() as s:
        return actor_for(s, s.scalar(select(User.id).where(User.username == username)))


def _complete(platform, actor, sb, iid: int, vermerk: str) -> dict:  # noqa: ANN001
    [task] = open_tasks(sb, iid)
    return tasks.complete(platform, actor, task["id"], {"vermerk": vermerk})


def test_a_writer_reuses_the_workflow_and_the_result_equals_a_fresh_restore(chain, platform):
    sb, actor = chain, _actor(platform, "sb1")
    iid = sb.post("/api/process-instances", json={"process_key": PID}).get_json()["id"]
    hits = platform.workflows.hits
    _complete(platform, actor, sb, iid, "erster")
    assert platform.workflows.hits == hits + 1  # the start left it, the completion took it
    with platform.db.unit_of_work() as s:
        fresh = instances.load(platform, s, s.get(ProcessInstance, iid)).workflow  # a reader restores
        ready = [t for t in fresh.tasks.values() if t.state == 16]
        assert [t.task_spec.name for t in ready] == ["ut2"] and ready[0].data["vermerk"] == "erster"


def test_a_write_by_another_process_is_noticed(chain, platform):
    sb, actor = chain, _actor(platform, "sb1")
    iid = sb.post("/api/process-instances", json={"process_key": PID}).get_json()["id"]
    other = Platform(settings=platform.settings, db=platform.db, runtime=platform.runtime)  # own cache
    _complete(other, actor, sb, iid, "anderswo")  # our cache still holds the state before it
    misses = platform.workflows.misses
    result = _complete(platform, actor, sb, iid, "hier")
    assert platform.workflows.misses == misses + 1
    assert result["instance"]["status"] == "completed"
    detail = sb.get(f"/api/process-instances/{iid}").get_json()
    assert detail["data"]["vermerk"] == "hier"
    assert [h["action"] for h in detail["history"]].count("task.completed") == 2


def test_a_failed_transaction_leaves_nothing_behind(chain, platform, monkeypatch):
    sb, actor = chain, _actor(platform, "sb1")
    iid = sb.post("/api/process-instances", json={"process_key": PID}).get_json()["id"]
    real = instances.persist

    def crash(session, loaded):  # noqa: ANN001, ANN202
        real(session, loaded)
        raise RuntimeError("Absturz nach dem Schreiben, vor dem Commit")

    monkeypatch.setattr(instances, "persist", crash)
    with pytest.raises(RuntimeError):
        _complete(platform, actor, sb, iid, "verloren")
    monkeypatch.setattr(instances, "persist", real)
    assert iid not in platform.workflows._items  # the taken entry was not put back
    _complete(platform, actor, sb, iid, "gerettet")
    detail = sb.get(f"/api/process-instances/{iid}").get_json()
    assert detail["data"]["vermerk"] == "gerettet"
    assert [t["name"] for t in open_tasks(sb, iid)] == ["ut2"]


def test_cache_is_bounded_by_tasks(platform):
    from app.services.workflow_cache import WorkflowCache

    class Wf:
        def __init__(self, n: int) -> None:
            self.tasks = dict.fromkeys(range(n))
            self.subprocesses = {}

    cache = WorkflowCache(max_tasks=100)
    for i in range(5):
        cache.put(i, 1, "{}", Wf(30), set())
    assert len(cache) == 3 and cache._tasks == 90  # the least recently used went first
    assert cache.take(0, 1, "{}") is None and cache.take(4, 1, "{}") is not None
    cache.put(9, 1, "{}", Wf(500), set())  # larger than the whole cache: never kept
    assert cache.take(9, 1, "{}") is None
