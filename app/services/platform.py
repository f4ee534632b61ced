"""The service container: database, engine runtime and shared caches, built once per process."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.config import Settings
from app.db import Database
from app.engine.runtime import Runtime
from app.engine.sandbox import SandboxConfig, SandboxPool, function_paths, shared_pool
from app.engine.scripting import make_script_engine
from app.engine.serializer import spec_from_json
from app.engine.timers import TimerLimits

from .functions import script_functions
from .operators import load_object, load_registry
from .workflow_cache import WorkflowCache

log = logging.getLogger(__name__)


class SpecCache:
    """What a definition version yields once and never changes: the restored specs (shared by
    all its instances), its forms, and the BPMN properties of its tasks. LRU by definition id;
    loaders run only on a miss (the definition row's large columns are read only then)."""

    def __init__(self, size: int = 128) -> None:
        self._items: OrderedDict[tuple[str, int], object] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def _memo(self, kind: str, definition_id: int, compute: Callable[[], object]):  # noqa: ANN202
        key = (kind, definition_id)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = compute()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size * 3:
                self._items.popitem(last=False)
        return value

    def get(self, definition_id: int, loader: Callable[[], str]) -> tuple:
        """(spec, subprocess specs); `loader` returns the definition's spec_json."""
        return self._memo("spec", definition_id, lambda: spec_from_json(loader()))

    def forms(self, definition_id: int, loader: Callable[[], dict]) -> dict:
        """{filename: JSON schema}; `loader` returns the definition's forms."""
        return self._memo("forms", definition_id, loader)

    def task_properties(self, definition_id: int, loader: Callable[[], str]) -> dict[str, dict]:
        """{bpmn id: spiffworkflow properties} of every task in the process and its
        subprocesses (the first occurrence of an id wins)."""
        def compute() -> dict[str, dict]:
            spec, subprocess_specs = self.get(definition_id, loader)
            found: dict[str, dict] = {}
            for s in (spec, *subprocess_specs.values()):
                for ts in s.task_specs.values():
                    bpmn_id = getattr(ts, "bpmn_id", None)
                    if bpmn_id and bpmn_id not in found:
                        found[bpmn_id] = dict((getattr(ts, "extensions", None) or {}).get("properties", {}))
            return found
        return self._memo("props", definition_id, compute)


def script_sandbox(settings: Settings, functions: dict) -> SandboxPool | None:
    """This process's pool of sandbox processes for scripts (None: everything in-process)."""
    if not settings.SCRIPT_SANDBOX:
        return None
    return shared_pool(SandboxConfig(
        functions=function_paths(functions),
        memory_mb=settings.SCRIPT_MEMORY_LIMIT_MB,
        max_processes=settings.SCRIPT_SANDBOX_PROCESSES,
        grace_seconds=settings.SCRIPT_SANDBOX_GRACE_SECONDS,
    ))


def timer_limits(settings: Settings) -> TimerLimits:
    return TimerLimits(max_days=settings.TIMER_MAX_DAYS, max_cycles=settings.TIMER_MAX_CYCLES,
                       min_cycle_seconds=settings.TIMER_MIN_CYCLE_SECONDS)


@dataclass
class Platform:
    settings: Settings
    db: Database
    runtime: Runtime
    specs: SpecCache = field(default_factory=SpecCache)
    workflows: WorkflowCache = field(default_factory=WorkflowCache)  # restored, for writers
    _operators: dict | None = None
    publisher: object | None = None
    # called after a commit that created service jobs (the outbox relay; issue 3 wires Celery)
    on_jobs_committed: Callable[[list[int]], None] | None = None

    @classmethod
    def create(cls, settings: Settings) -> Platform:
        functions = script_functions()
        engine = make_script_engine(
            functions, time_limit_seconds=settings.SCRIPT_TIME_LIMIT_SECONDS,
            sandbox=script_sandbox(settings, functions),
        )
        return cls(
            settings=settings,
            db=Database(settings.DATABASE_URL),
            runtime=Runtime(engine, max_depth=settings.MAX_TASK_DEPTH,
                            timer_limits=timer_limits(settings)),
        )

    def publish(self, job_ids: list[int], lane: str = "interactive") -> None:
        """Hand job ids to the broker (the queue of their lane); failures are left to the outbox
        relay."""
        if self.publisher is None and self.settings.JOB_PUBLISHER:
            self.publisher = load_object(self.settings.JOB_PUBLISHER)()
        if self.publisher is None or not job_ids:
            return
        try:
            self.publisher.publish(job_ids, lane)
        except Exception:  # noqa: BLE001 - the relay re-sends what was not published
            log.warning("publishing jobs %s failed; the relay will re-send them", job_ids,
                        exc_info=True)

    @property
    def operators(self) -> dict:
        if self._operators is None:
            self._operators = load_registry(self.settings.OPERATOR_MODULES)
        return self._operators

    def operator_names(self) -> set[str]:
        return set(self.operators)

    def form_lookup(self, ref: str) -> bytes | None:
        base = Path(self.settings.FORMS_DIR).resolve()
        path = (base / ref).resolve()
        if base not in path.parents or not path.is_file():
            return None
        return path.read_bytes()
