"""A BpmnWorkflow that finds its open tasks without walking its whole history.

SpiffWorkflow answers "which tasks are READY / WAITING?" by walking the task tree from the root,
several times per step (`do_engine_steps`, `update_waiting_tasks` after every completed task).
The tree keeps every finished task, so a step in an instance with 2,000 finished tasks costs
~40 times as much as in a fresh one although only a handful of tasks are open.

`IndexedBpmnWorkflow` keeps, next to `workflow.tasks`, the ids of the tasks that may still be
open (every task not COMPLETED or CANCELLED; a superset — entries are checked against the task's
state when read) and the ids touched since the last save. It answers tree queries that can only
match open tasks from that index, in the iterator's depth-first order, and falls back to the
engine's walk for everything else:

* a query starting below the root, or with iterator options (`end_at_spec`, `max_depth`,
  `skip_subprocesses`), or a state mask that includes finished states;
* any workflow with subprocesses (the engine's iterator descends into them; their tasks live in
  separate workflows that are not indexed);
* right after `reset_from_task_id`, the one operation that turns finished tasks back into
  open ones: the index is rebuilt from all tasks.

The invariant the index relies on — a COMPLETED or CANCELLED task never becomes open again except
through `reset_branch` — holds for every state change in SpiffWorkflow 3.2's BPMN specs. With
`FP_ENGINE_VERIFY_INDEX=1` (set by the test suite) every indexed answer is compared with the
engine's own walk and a difference raises `IndexMismatch`.
"""

from __future__ import annotations

import os

from SpiffWorkflow.bpmn.util.task import BpmnTaskFilter
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskIterator, TaskState

CLOSED = TaskState.COMPLETED | TaskState.CANCELLED
_FILTER_KEYS = frozenset({"state", "manual", "spec_name", "spec_class", "lane", "catches_event",
                          "updated_ts"})


class IndexMismatch(AssertionError):
    """The index answered differently from SpiffWorkflow's tree walk (verification mode)."""


def verifying() -> bool:
    return os.environ.get("FP_ENGINE_VERIFY_INDEX") == "1"


class TaskIndex(dict):
    """`workflow.tasks` (id → Task) that records which ids were added or removed.

    `open` and `touched` are insertion-ordered (dicts used as ordered sets): tasks are created
    parents first, and the store assigns storage order from it.
    """

    def __init__(self, tasks: dict | None = None) -> None:
        super().__init__(tasks or {})
        self.open: dict = dict.fromkeys(self)
        self.touched: dict = dict.fromkeys(self)
        self.removed_parents: set = set()
        self.removed: set = set()
        self.full = True  # until settled: everything must be looked at

    def __setitem__(self, key, task) -> None:  # noqa: ANN001
        super().__setitem__(key, task)
        self.open[key] = None
        self.touched[key] = None

    def pop(self, key, *default):  # noqa: ANN001, ANN201
        if key in self:
            task = super().pop(key)
            self._forget(key, task)
            return task
        return super().pop(key, *default)

    def __delitem__(self, key) -> None:  # noqa: ANN001
        task = self[key]
        super().__delitem__(key)
        self._forget(key, task)

    def _forget(self, key, task) -> None:  # noqa: ANN001
        self.open.pop(key, None)
        self.touched.pop(key, None)
        self.removed.add(key)
        parent = getattr(task, "_parent", None)
        if parent is not None:
            self.removed_parents.add(parent)

    def open_tasks(self) -> list:
        """Tasks that are not COMPLETED/CANCELLED, in creation order."""
        get = dict.get
        out = []
        for tid in self.open:
            task = get(self, tid)
            if task is not None and not task._state & CLOSED:
                out.append(task)
        return out

    def candidates(self) -> list:
        """Ids whose stored row may be stale: open at the last save, added or touched since,
        and the parents of added or removed tasks (their children changed). Creation order for
        new tasks, so a parent always precedes its children."""
        get = dict.get
        ids = dict.fromkeys(self.touched)
        for tid in self.open:
            ids[tid] = None
        for tid in list(self.touched):
            task = get(self, tid)
            if task is not None and task._parent is not None:
                ids.setdefault(task._parent, None)
        for parent in self.removed_parents:
            ids.setdefault(parent, None)
        return [tid for tid in ids if tid in self]

    def settle(self) -> None:
        """After a save or a restore: only open tasks stay in the index."""
        get = dict.get
        self.open = {tid: None for tid in self.open
                     if (t := get(self, tid)) is not None and not t._state & CLOSED}
        self.touched = {}
        self.removed_parents = set()
        self.removed = set()
        self.full = False

    def rebuild(self) -> None:
        self.open = dict.fromkeys(self)
        self.touched = dict.fromkeys(self)
        self.full = True


class IndexedBpmnWorkflow(BpmnWorkflow):
    """BpmnWorkflow whose READY/WAITING lookups cost O(open tasks), not O(all tasks)."""

    @property
    def tasks(self) -> TaskIndex:
        return self._task_index

    @tasks.setter
    def tasks(self, value: dict) -> None:
        self._task_index = value if isinstance(value, TaskIndex) else TaskIndex(value)

    @property
    def index_usable(self) -> bool:
        return not getattr(self, "subprocesses", True) and getattr(self, "task_tree", None) is not None

    def open_tasks(self) -> list | None:
        """The tasks not COMPLETED/CANCELLED in creation order, or None when the index cannot
        answer (subprocesses)."""
        return self._task_index.open_tasks() if self.index_usable else None

    # -- ordering ---------------------------------------------------------------------------
    def _depth_first(self, tasks: list) -> list:
        if len(tasks) <= 1:
            return tasks
        get = dict.get
        index = self._task_index
        positions: dict = {}

        def path(task) -> list:  # noqa: ANN001
            steps = []
            while task._parent is not None:
                parent = get(index, task._parent)
                where = positions.get(parent.id)
                if where is None:
                    where = positions[parent.id] = {c: i for i, c in enumerate(parent._children)}
                steps.append(where[task.id])
                task = parent
            steps.reverse()
            return steps

        return sorted(tasks, key=path)

    # -- engine queries ---------------------------------------------------------------------
    def get_tasks_iterator(self, first_task=None, **kwargs):  # noqa: ANN001, ANN201
        answer = self._indexed_query(first_task, kwargs)
        if answer is None:
            return super().get_tasks_iterator(first_task, **kwargs)
        if verifying():
            expected = list(super().get_tasks_iterator(first_task, **kwargs))
            _compare(answer, expected, f"get_tasks({kwargs})")
        return iter(answer)

    def _indexed_query(self, first_task, kwargs: dict) -> list | None:  # noqa: ANN001
        if not self.index_usable or first_task not in (None, self.task_tree):
            return None
        task_filter = kwargs.get("task_filter")
        if task_filter is None:
            if set(kwargs) - _FILTER_KEYS:
                return None
            task_filter = BpmnTaskFilter(**kwargs)
        elif len(kwargs) > 1:
            return None
        if task_filter.state & CLOSED:
            return None
        return self._depth_first([t for t in self._task_index.open_tasks() if task_filter.matches(t)])

    def update_waiting_tasks(self) -> None:
        if not self.index_usable:
            return super().update_waiting_tasks()
        waiting = self._depth_first([t for t in self._task_index.open_tasks()
                                     if t._state == TaskState.WAITING])
        if verifying():
            expected = list(TaskIterator(self.task_tree, state=TaskState.WAITING))
            _compare(waiting, expected, "update_waiting_tasks")
        seen: set = set()
        # The engine's walk is lazy: a WAITING task created while updating another one is
        # visited too. Updating a WAITING task only checks whether it may go on, so visiting
        # newcomers in a second round is equivalent.
        for _round in range(100):
            fresh = [t for t in waiting if t.id not in seen]
            if not fresh:
                break
            for task in fresh:
                seen.add(task.id)
                if task._state == TaskState.WAITING and dict.get(self._task_index, task.id) is task:
                    task.task_spec._update(task)
            if not self.index_usable:
                break
            waiting = self._depth_first([t for t in self._task_index.open_tasks()
                                         if t._state == TaskState.WAITING])
        return None

    def reset_from_task_id(self, task_id, data=None, remove_subprocess=True):  # noqa: ANN001, ANN201
        removed = super().reset_from_task_id(task_id, data, remove_subprocess)
        self._task_index.rebuild()  # finished tasks became open again
        return removed


def _compare(answer: list, expected: list, what: str) -> None:
    got = [t.id for t in answer]
    want = [t.id for t in expected]
    if got != want:
        raise IndexMismatch(f"{what}: index {got} != engine walk {want}")
