"""Incremental persistence of a running workflow.

A workflow is stored as one row per task (its serialiser dict, data as a delta against the
parent) plus a small metadata document (workflow data, correlations, subprocess headers). A save
writes only tasks whose state, children or data may have changed since the last load/save:

* tasks not yet finished are always rewritten (they are few: the live tokens and predictions);
* finished tasks are rewritten only when their signature (state, last state change, children)
  differs from the one recorded at load time — comparing a tuple, never serialising them.

Finished history therefore costs nothing per step, whatever its length.
"""

from __future__ import annotations

import gc
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from uuid import UUID

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from .indexed import IndexMismatch, TaskIndex, verifying
from .serializer import dumps, serializer

FINISHED = TaskState.COMPLETED | TaskState.CANCELLED | TaskState.ERROR


class NotSerializable(Exception):
    """A task holds data that cannot be stored as JSON (e.g. a script put a function there)."""

    def __init__(self, task_name: str, detail: str):
        super().__init__(
            f"Die Daten der Aufgabe „{task_name}“ lassen sich nicht speichern ({detail}). "
            "Skripte dürfen nur Texte, Zahlen, Wahrheitswerte, Listen und Objekte ablegen.")
        self.task_name = task_name


@dataclass
class TaskRow:
    id: str
    workflow_id: str
    seq: int
    spec_name: str
    state: int
    payload: str


@dataclass
class Changes:
    upserts: list[TaskRow] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    meta: str = "{}"
    next_seq: int = 0


def _signature(task) -> tuple:  # noqa: ANN001
    return (task.state, task.last_state_change, tuple(task._children))


def _all_workflows(workflow: BpmnWorkflow):  # noqa: ANN202
    yield "", workflow
    for sp_id, sp in workflow.subprocesses.items():
        yield str(sp_id), sp


def _workflow_header(workflow, registry) -> dict:  # noqa: ANN001
    return {
        "data": registry.convert(registry.clean(workflow.data)),
        "correlations": workflow.correlations,
        "last_task": str(workflow.last_task.id) if workflow.last_task is not None else None,
        "success": workflow.success,
        "completed": workflow.completed,
        "root": str(workflow.task_tree.id),
    }


def _unchanged(task, sig: tuple, sigs: dict) -> bool:  # noqa: ANN001
    """A finished task whose signature is the one last saved: its row is current."""
    return bool(task.state & FINISHED) and sigs.get(task.id) == sig


def collect_changes(workflow: BpmnWorkflow) -> Changes:
    """What must be written for this workflow since it was loaded or last saved.

    With an `IndexedBpmnWorkflow` only the tasks its index names are looked at (open ones,
    those added or removed since the last save and their parents); otherwise every task's
    signature is compared. Either way finished history is never serialised again.
    """
    s = serializer()
    registry = s.registry
    sigs: dict = getattr(workflow, "_fp_sigs", {})
    seqs: dict = getattr(workflow, "_fp_seqs", {})
    next_seq: int = getattr(workflow, "_fp_next_seq", 0)
    changes = Changes()
    index = workflow.tasks if isinstance(workflow.tasks, TaskIndex) else None
    use_index = index is not None and not index.full and workflow.index_usable
    if use_index:
        ids = index.candidates()
        scopes = [("", workflow, [(tid, dict.get(index, tid)) for tid in ids])]
        gone = [tid for tid in index.removed if tid in sigs]
        if verifying():
            _verify_candidates(workflow, ids, gone, sigs)
    else:
        scopes = [(wf_id, wf, list(wf.tasks.items())) for wf_id, wf in _all_workflows(workflow)]
        seen = {tid for _wf_id, _wf, items in scopes for tid, _task in items}
        gone = [tid for tid in sigs if tid not in seen]
    subprocesses = {}
    for wf_id, wf, items in scopes:
        if wf_id:
            header = _workflow_header(wf, registry)
            header.update(parent_task_id=str(wf.parent_task_id), spec=wf.spec.name)
            subprocesses[wf_id] = header
        for task_id, task in items:
            sig = _signature(task)
            if _unchanged(task, sig, sigs):
                continue
            try:
                payload = dumps(registry.convert(task))
            except (TypeError, ValueError) as exc:
                raise NotSerializable(task.task_spec.bpmn_name or task.task_spec.name, str(exc)) from exc
            if task_id not in seqs:
                seqs[task_id] = next_seq
                next_seq += 1
            changes.upserts.append(
                TaskRow(
                    id=str(task_id),
                    workflow_id=wf_id,
                    seq=seqs[task_id],
                    spec_name=task.task_spec.name,
                    state=task.state,
                    payload=payload,
                )
            )
            sigs[task_id] = sig
    for tid in gone:
        changes.deletes.append(str(tid))
        sigs.pop(tid, None)
        seqs.pop(tid, None)
    meta = _workflow_header(workflow, registry)
    meta["bpmn_events"] = registry.convert(workflow.bpmn_events)
    meta["subprocesses"] = subprocesses
    changes.meta = dumps(meta)
    changes.next_seq = next_seq
    workflow._fp_sigs = sigs
    workflow._fp_seqs = seqs
    workflow._fp_next_seq = next_seq
    if index is not None:
        index.settle()
    return changes


def _verify_candidates(workflow: BpmnWorkflow, ids: list, gone: list, sigs: dict) -> None:
    """Verification mode: the index must name every task a full comparison finds stale."""
    stale = {tid for tid, task in workflow.tasks.items()
             if not _unchanged(task, _signature(task), sigs)}
    missing = stale - set(ids)
    expected_gone = {tid for tid in sigs if tid not in workflow.tasks}
    if missing or expected_gone != set(gone):
        raise IndexMismatch(
            f"store: stale tasks not named by the index {sorted(map(str, missing))}; "
            f"removed {sorted(map(str, gone))} != {sorted(map(str, expected_gone))}")


_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = False


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Defer the cyclic garbage collector while a restore allocates thousands of objects, none of
    them garbage: otherwise collections triggered by the allocation count rescan the growing heap
    and take about half of a large restore. Process-wide and nesting-safe across threads; the
    collector runs again as soon as the last restore ends."""
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


def restore_workflow(spec, subprocess_specs, meta_json: str, rows, script_engine) -> BpmnWorkflow:  # noqa: ANN001
    """Rebuild a workflow from its metadata and task rows (any order; sorted by seq here).

    `rows` are objects with id, workflow_id, seq and payload attributes.
    """
    with _gc_paused():
        return _restore(spec, subprocess_specs, meta_json, rows, script_engine)


def _restore(spec, subprocess_specs, meta_json: str, rows, script_engine) -> BpmnWorkflow:  # noqa: ANN001
    meta = json.loads(meta_json)
    ordered = sorted(rows, key=lambda r: r.seq)
    by_wf: dict[str, dict] = {}
    for row in ordered:
        by_wf.setdefault(row.workflow_id, {})[row.id] = json.loads(row.payload)
    subprocesses = {}
    for sp_id, header in meta.get("subprocesses", {}).items():
        sp = dict(header)
        sp["tasks"] = by_wf.get(sp_id, {})
        sp["typename"] = "BpmnSubWorkflow"
        subprocesses[sp_id] = sp
    dct = {
        "typename": "BpmnWorkflow",
        "spec": spec,
        "subprocess_specs": subprocess_specs,
        "tasks": by_wf.get("", {}),
        "root": meta["root"],
        "last_task": meta.get("last_task"),
        "success": meta.get("success", True),
        "completed": meta.get("completed", False),
        "data": meta.get("data", {}),
        "correlations": meta.get("correlations", {}),
        "bpmn_events": meta.get("bpmn_events", []),
        "subprocesses": subprocesses,
    }
    workflow = serializer().from_dict(dct)
    workflow.script_engine = script_engine
    sigs, seqs = {}, {}
    for row in ordered:
        uid = UUID(row.id)
        seqs[uid] = row.seq
    for _wf_id, wf in _all_workflows(workflow):
        for task_id, task in wf.tasks.items():
            sigs[task_id] = _signature(task)
    workflow._fp_sigs = sigs
    workflow._fp_seqs = seqs
    workflow._fp_next_seq = (ordered[-1].seq + 1) if ordered else 0
    if isinstance(workflow.tasks, TaskIndex):
        workflow.tasks.settle()
    return workflow
