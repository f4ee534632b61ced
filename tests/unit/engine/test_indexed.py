"""Tests for app.engine.indexed: the open-task index answers like SpiffWorkflow's tree walk,
and a step no longer visits the finished history."""

from __future__ import annotations

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskIterator, TaskState

from app.engine import indexed, store
from app.engine.indexed import IndexedBpmnWorkflow, IndexMismatch, TaskIndex
from app.engine.runtime import Runtime
from app.engine.scripting import make_script_engine
from app.engine.serializer import spec_from_json, spec_to_json

NS = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
      'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"')

# history (multi-instance script over `anzahl` items) → parallel split into two user tasks and a
# timer-guarded user task → join → final user task → end
PROCESS = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NS} id="d" targetNamespace="t">
  <bpmn:process id="idx" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="prep"><bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:script>posten = list(range(anzahl))</bpmn:script></bpmn:scriptTask>
    <bpmn:scriptTask id="hist"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics>
        <bpmn:loopDataInputRef>posten</bpmn:loopDataInputRef>
        <bpmn:inputDataItem id="p" name="p" />
      </bpmn:multiInstanceLoopCharacteristics>
      <bpmn:script>x = p + 1</bpmn:script></bpmn:scriptTask>
    <bpmn:parallelGateway id="split"><bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>fa</bpmn:outgoing><bpmn:outgoing>fb</bpmn:outgoing><bpmn:outgoing>fc</bpmn:outgoing>
    </bpmn:parallelGateway>
    <bpmn:userTask id="a"><bpmn:incoming>fa</bpmn:incoming><bpmn:outgoing>fa2</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="b"><bpmn:incoming>fb</bpmn:incoming><bpmn:outgoing>fb2</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="c"><bpmn:incoming>fc</bpmn:incoming><bpmn:outgoing>fc2</bpmn:outgoing></bpmn:userTask>
    <bpmn:boundaryEvent id="frist" attachedToRef="c" cancelActivity="true">
      <bpmn:outgoing>ft</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>"P30D"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="e_frist"><bpmn:incoming>ft</bpmn:incoming></bpmn:endEvent>
    <bpmn:parallelGateway id="join"><bpmn:incoming>fa2</bpmn:incoming><bpmn:incoming>fb2</bpmn:incoming>
      <bpmn:incoming>fc2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:userTask id="z"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="prep" />
    <bpmn:sequenceFlow id="f1" sourceRef="prep" targetRef="hist" />
    <bpmn:sequenceFlow id="f2" sourceRef="hist" targetRef="split" />
    <bpmn:sequenceFlow id="fa" sourceRef="split" targetRef="a" />
    <bpmn:sequenceFlow id="fb" sourceRef="split" targetRef="b" />
    <bpmn:sequenceFlow id="fc" sourceRef="split" targetRef="c" />
    <bpmn:sequenceFlow id="ft" sourceRef="frist" targetRef="e_frist" />
    <bpmn:sequenceFlow id="fa2" sourceRef="a" targetRef="join" />
    <bpmn:sequenceFlow id="fb2" sourceRef="b" targetRef="join" />
    <bpmn:sequenceFlow id="fc2" sourceRef="c" targetRef="join" />
    <bpmn:sequenceFlow id="f3" sourceRef="join" targetRef="z" />
    <bpmn:sequenceFlow id="f4" sourceRef="z" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>"""


@pytest.fixture(scope="module")
def specs():
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(PROCESS.encode(), filename="idx.bpmn")
    spec = parser.get_spec("idx")
    return spec_from_json(spec_to_json(spec, {}))


@pytest.fixture(scope="module")
def runtime():
    return Runtime(make_script_engine({}))


@pytest.fixture(autouse=True)
def verify(monkeypatch):
    monkeypatch.setenv("FP_ENGINE_VERIFY_INDEX", "1")


def started(runtime, specs, kind=IndexedBpmnWorkflow, anzahl=50):  # noqa: ANN001, ANN201
    spec, subs = specs
    wf = kind(spec, subs, script_engine=runtime.script_engine)
    wf.task_tree.data["anzahl"] = anzahl
    for child in wf.task_tree.children:
        child.data["anzahl"] = anzahl
    runtime.step(wf)
    return wf


def ready_names(wf) -> list[str]:  # noqa: ANN001
    return [t.task_spec.name for t in wf.get_tasks(state=TaskState.READY)]


def test_indexed_and_plain_workflow_take_the_same_path(runtime, specs):
    plain = started(runtime, specs, BpmnWorkflow)
    fast = started(runtime, specs)
    assert ready_names(fast) == ready_names(plain) == ["a", "b", "c"]
    for name in ("b", "a", "c", "z"):
        for wf in (plain, fast):
            [task] = [t for t in wf.get_tasks(state=TaskState.READY) if t.task_spec.name == name]
            runtime.complete_user_task(wf, str(task.id), {"erledigt": name})
        assert ready_names(fast) == ready_names(plain)
    assert fast.completed and plain.completed
    assert fast.data == plain.data


def test_queries_only_look_at_open_tasks(runtime, specs):
    wf = started(runtime, specs, anzahl=500)
    index = wf.tasks
    assert isinstance(index, TaskIndex)
    store.collect_changes(wf)  # a save settles the index: only open tasks stay in it
    assert len(wf.tasks) > 500
    assert len(index.open) < 40  # live tokens and predicted tasks, not the 500 finished ones
    waiting = [t.task_spec.name for t in wf.get_tasks(state=TaskState.WAITING)]
    assert waiting == [t.task_spec.name for t in TaskIterator(wf.task_tree, state=TaskState.WAITING)]


def test_store_after_restore_writes_only_what_changed(runtime, specs):
    wf = started(runtime, specs, anzahl=300)
    first = store.collect_changes(wf)
    assert len(first.upserts) == len(wf.tasks)  # a new workflow is written whole
    rows = [store.TaskRow(r.id, r.workflow_id, r.seq, r.spec_name, r.state, r.payload)
            for r in first.upserts]
    spec, subs = specs
    restored = store.restore_workflow(spec, subs, first.meta, rows, runtime.script_engine)
    assert isinstance(restored, IndexedBpmnWorkflow)
    [task] = [t for t in restored.get_tasks(state=TaskState.READY) if t.task_spec.name == "a"]
    runtime.complete_user_task(restored, str(task.id), {})
    changes = store.collect_changes(restored)  # verification mode compares with a full scan
    assert 0 < len(changes.upserts) < 40  # open tasks and the completed one, not 300 finished ones
    assert str(task.id) in {r.id for r in changes.upserts}


def test_reset_makes_finished_tasks_open_again(runtime, specs):
    wf = started(runtime, specs)
    store.collect_changes(wf)
    [a] = [t for t in wf.get_tasks(state=TaskState.READY) if t.task_spec.name == "a"]
    runtime.complete_user_task(wf, str(a.id), {})
    store.collect_changes(wf)
    assert "a" not in ready_names(wf)
    wf.reset_from_task_id(a.id)
    assert wf.tasks.full  # the next save compares every task again
    runtime.step(wf)
    assert "a" in ready_names(wf)
    changes = store.collect_changes(wf)
    assert str(a.id) in {r.id for r in changes.upserts}


def test_verification_mode_detects_a_wrong_index(runtime, specs):
    wf = started(runtime, specs)
    store.collect_changes(wf)
    victim = next(iter(wf.tasks.open))
    del wf.tasks.open[victim]  # corrupt: an open task the index no longer knows
    with pytest.raises(IndexMismatch):
        wf.get_tasks(state=TaskState.READY | TaskState.WAITING)


def test_queries_the_index_cannot_answer_use_the_engine_walk(runtime, specs, monkeypatch):
    wf = started(runtime, specs)
    monkeypatch.setattr(indexed, "verifying", lambda: False)
    store.collect_changes(wf)
    # finished tasks are not in the index: such queries must walk the tree
    completed = wf.get_tasks(state=TaskState.COMPLETED)
    assert {t.task_spec.name for t in completed} >= {"prep", "hist", "split"}
    below_root = wf.get_tasks(wf.task_tree.children[0], state=TaskState.READY)
    assert [t.task_spec.name for t in below_root] == ["a", "b", "c"]
