"""Restored workflows kept in process for the next writer of the same instance.

Restoring an instance reads and deserialises all its task rows (O(history)); writes are already
bounded. A writer that claimed an instance (version v → v+1) may therefore take the workflow a
previous writer in this process left behind — but only if that one was stored at exactly version
v with the same engine metadata, i.e. nobody (no other process, no other thread) wrote since.

Rules that keep it correct:
* only writers use it (readers restore; a cached workflow is never shared between threads:
  `take` removes the entry, so the writer that holds the instance's claim owns the object);
* an entry is put back only after a successful commit, and only if everything in memory was
  persisted in that transaction (`Loaded.synced_meta`); any failed transaction loses the entry;
* the size is bounded by the total number of engine tasks held (least recently used go first).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass


@dataclass
class Entry:
    version: int
    meta: str
    workflow: object
    persisted: set[str]
    size: int


def task_count(workflow) -> int:  # noqa: ANN001
    return len(workflow.tasks) + sum(len(sp.tasks) for sp in workflow.subprocesses.values())


class WorkflowCache:
    def __init__(self, max_tasks: int = 20_000) -> None:
        self.max_tasks = max_tasks
        self._items: OrderedDict[int, Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._tasks = 0
        self.hits = 0
        self.misses = 0

    def take(self, instance_id: int, version: int, meta: str) -> Entry | None:
        """Remove and return the entry iff it is exactly the stored state at `version`."""
        with self._lock:
            entry = self._items.pop(instance_id, None)
            if entry is not None:
                self._tasks -= entry.size
            if entry is None or entry.version != version or entry.meta != meta:
                self.misses += 1
                return None
            self.hits += 1
            return entry

    def put(self, instance_id: int, version: int, meta: str, workflow, persisted: set[str]) -> None:  # noqa: ANN001
        size = task_count(workflow)
        if size > self.max_tasks:
            return
        with self._lock:
            old = self._items.pop(instance_id, None)
            if old is not None:
                self._tasks -= old.size
            self._items[instance_id] = Entry(version, meta, workflow, persisted, size)
            self._tasks += size
            while self._tasks > self.max_tasks and self._items:
                _, evicted = self._items.popitem(last=False)
                self._tasks -= evicted.size

    def discard(self, instance_id: int) -> None:
        with self._lock:
            entry = self._items.pop(instance_id, None)
            if entry is not None:
                self._tasks -= entry.size

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._tasks = 0

    def __len__(self) -> int:
        return len(self._items)
