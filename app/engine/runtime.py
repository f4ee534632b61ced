"""The engine facade: everything the services need from SpiffWorkflow, nothing about storage.

It works on in-memory workflows; the services load and save them through `store`.
"""

from __future__ import annotations

import copy
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent as StartEventMixin
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from .indexed import IndexedBpmnWorkflow
from .messages import engine_message
from .parser import lane_group
from .specs import DeferredServiceTask
from .timers import DEFAULT_LIMITS, TimerLimits

LIVE = TaskState.NOT_FINISHED_MASK


class EngineError(Exception):
    """The process could not go on: a script, expression or engine rule failed."""

    def __init__(self, message: str, task_id: str | None = None, task_name: str | None = None,
                 detail: str | None = None):
        super().__init__(message)
        self.message = message
        self.task_id = task_id
        self.task_name = task_name
        self.detail = detail


class NotWaiting(Exception):
    """The task or event the caller wanted to act on is no longer waiting."""


@dataclass
class ReadyUserTask:
    id: str
    name: str
    title: str
    lane: str | None
    candidate_group: str | None
    form_schema: str | None
    form_ui_schema: str | None
    documentation: str | None
    due_in_days: int | None
    municipality_expr: str | None
    group_expr: str | None
    data: dict


@dataclass
class StartedServiceTask:
    id: str
    name: str
    operator: str
    params: dict


@dataclass
class WaitingMessage:
    task_id: str
    name: str
    correlation: dict


@dataclass
class Snapshot:
    completed: bool
    user_tasks: list[ReadyUserTask] = field(default_factory=list)
    service_tasks: list[StartedServiceTask] = field(default_factory=list)
    messages: list[WaitingMessage] = field(default_factory=list)
    next_timer_at: datetime | None = None
    error_tasks: list[str] = field(default_factory=list)
    max_depth: int = 0


def all_tasks(workflow: BpmnWorkflow):  # noqa: ANN201
    """Every task of the workflow and its subprocesses — a plain dict walk, no depth limit."""
    yield from workflow.tasks.values()
    for sp in workflow.subprocesses.values():
        yield from sp.tasks.values()


def live_tasks(workflow: BpmnWorkflow) -> list:
    """Every task that is not COMPLETED/CANCELLED (a superset is fine: callers filter by state).
    From the workflow's index when it has one, otherwise by walking all tasks."""
    open_tasks = getattr(workflow, "open_tasks", None)
    tasks = open_tasks() if open_tasks is not None else None
    return tasks if tasks is not None else list(all_tasks(workflow))


def find_task(workflow: BpmnWorkflow, task_id: str):  # noqa: ANN201
    try:
        uid = UUID(str(task_id))
    except ValueError:
        return None
    return workflow.get_task_from_id(uid) if _has_task(workflow, uid) else None


def _has_task(workflow: BpmnWorkflow, uid: UUID) -> bool:
    if uid in workflow.tasks:
        return True
    return any(uid in sp.tasks for sp in workflow.subprocesses.values())


def _depth(task) -> int:  # noqa: ANN001
    depth, t = 0, task
    while t.parent is not None:
        depth += 1
        t = t.parent
    return depth


class Runtime:
    """Runs workflows with a given script engine and guards against the engine's blind spots."""

    def __init__(self, script_engine, max_depth: int = 800,  # noqa: ANN001
                 timer_limits: TimerLimits = DEFAULT_LIMITS):
        self.script_engine = script_engine
        self.max_depth = max_depth
        self.timer_limits = timer_limits
        # every workflow (new or restored) evaluates through this engine: the bounded timer
        # definitions read their limits from it (app/engine/timers.py)
        script_engine.timer_limits = timer_limits

    def new_workflow(self, spec, subprocess_specs) -> BpmnWorkflow:  # noqa: ANN001
        return IndexedBpmnWorkflow(spec, subprocess_specs, script_engine=self.script_engine)

    # -- stepping ---------------------------------------------------------------------------
    def step(self, workflow: BpmnWorkflow) -> None:
        """Run engine tasks to the next wait state; raise EngineError when the process fails."""
        try:
            for _ in range(5):  # timers refreshed at the end of a round may ready more tasks
                workflow.refresh_timers()
                workflow.do_engine_steps()
                if not any(t.state == TaskState.READY and not t.task_spec.manual
                           for t in live_tasks(workflow)):
                    break
        except SpiffWorkflowException as exc:
            raise self._engine_error(exc) from exc
        except Exception as exc:  # noqa: BLE001 - anything a script provoked is a process error
            raise EngineError(
                "Unerwarteter Fehler bei der Ausführung: " + engine_message(str(exc)),
                detail=traceback.format_exc(),
            ) from exc
        self._guard(workflow)

    def _guard(self, workflow: BpmnWorkflow) -> None:
        """The default task iterator stops at depth 1000 and then misses READY tasks silently."""
        for task in live_tasks(workflow):
            if task.state & LIVE and _depth(task) > self.max_depth:
                raise EngineError(
                    "Der Prozess hat die zulässige Schleifentiefe überschritten "
                    f"(mehr als {self.max_depth} Ebenen). Modellieren Sie Wiederholungen als "
                    "Standard-Schleife oder Mehrfachinstanz.",
                    task_id=str(task.id), task_name=task.task_spec.name,
                )
            if task.state == TaskState.READY and not task.task_spec.manual:
                raise EngineError(
                    "Die Engine hat eine bereite Aufgabe nicht ausgeführt "
                    f"({task.task_spec.bpmn_name or task.task_spec.name}).",
                    task_id=str(task.id), task_name=task.task_spec.name,
                )

    @staticmethod
    def _engine_error(exc: SpiffWorkflowException) -> EngineError:
        task = getattr(exc, "task", None)
        notes = getattr(exc, "notes", None) or getattr(exc, "__notes__", None) or []
        message = engine_message(str(exc.args[0]) if exc.args else "", [str(n) for n in notes])
        return EngineError(
            message,
            task_id=str(task.id) if task is not None else None,
            task_name=task.task_spec.name if task is not None else None,
            detail="".join(traceback.format_exception(exc)),
        )

    # -- commands ---------------------------------------------------------------------------
    def complete_user_task(self, workflow: BpmnWorkflow, task_id: str, data: dict) -> None:
        task = find_task(workflow, task_id)
        if task is None or task.state != TaskState.READY or not task.task_spec.manual:
            raise NotWaiting("Die Aufgabe ist nicht mehr offen.")
        mi_parent = task.parent.task_spec if task.parent is not None else None
        is_instance = (isinstance(mi_parent, MultiInstanceTask)
                       and mi_parent.task_spec == task.task_spec.name)
        if is_instance and mi_parent.output_item is not None:
            # The form of a multi-instance task yields one output item; it carries its input
            # item so results can be matched whatever order they complete in.
            item = dict(data)
            if mi_parent.input_item is not None:
                item[mi_parent.input_item.bpmn_id] = task.data.get(mi_parent.input_item.bpmn_id)
            task.data[mi_parent.output_item.bpmn_id] = item
        else:
            for key, value in data.items():
                task.data[key] = value  # top-level keys reassigned, never nested mutation
        try:
            task.run()
        except SpiffWorkflowException as exc:
            raise self._engine_error(exc) from exc
        self.step(workflow)

    def complete_service_task(self, workflow: BpmnWorkflow, task_id: str, result: Any) -> None:
        task = find_task(workflow, task_id)
        if task is None or task.state != TaskState.STARTED:
            raise NotWaiting("Die Service-Aufgabe wartet nicht auf ein Ergebnis.")
        task.data[task.task_spec.result_variable] = result
        try:
            task.complete()
        except SpiffWorkflowException as exc:
            raise self._engine_error(exc) from exc
        self.step(workflow)

    def deliver_message(self, workflow: BpmnWorkflow, task_id: str, payload: dict) -> None:
        task = find_task(workflow, task_id)
        if task is None or task.state != TaskState.WAITING:
            raise NotWaiting("Der Prozess wartet nicht mehr auf diese Nachricht.")
        definition = task.task_spec.event_definition
        if getattr(definition, "message_var", None) is None and isinstance(payload, dict):
            for key, value in payload.items():  # no message variable: payload keys become data
                task.data[key] = value
        workflow.catch(BpmnEvent(definition, payload, dict(workflow.correlations)))
        self.step(workflow)

    def throw_error(self, workflow: BpmnWorkflow, task_id: str, code: str, message: str,
                    payload: dict) -> None:
        """Raise a BPMN error from a service task: an error boundary event with that code (or
        none) takes over; if nothing catches it the process fails."""
        task = find_task(workflow, task_id)
        if task is None or task.state != TaskState.STARTED:
            raise NotWaiting("Die Service-Aufgabe wartet nicht auf ein Ergebnis.")
        catchers = []
        for waiting in workflow.event_manager.tasks.values():
            definition = getattr(waiting.task_spec, "event_definition", None)
            if isinstance(definition, ErrorEventDefinition) and definition.code in (None, code):
                thrown = copy.copy(definition)
                thrown.code = code
                event = BpmnEvent(thrown, {"fehler_code": code, "fehler_text": message, **payload})
                if waiting.task_spec.catches(waiting, event):
                    catchers.append((waiting, event))
        if not catchers:
            raise EngineError(f"BPMN-Fehler „{code}“ wurde nicht abgefangen: {message}",
                              task_id=str(task.id), task_name=task.task_spec.name)
        try:
            for catcher, event in catchers[:1]:  # the innermost / first boundary takes it
                for key, value in event.payload.items():
                    catcher.data[key] = value
                catcher.task_spec.catch(catcher, event)
                catcher.task_spec._update(catcher)
        except SpiffWorkflowException as exc:
            raise self._engine_error(exc) from exc
        self.step(workflow)

    # -- observation ------------------------------------------------------------------------
    def snapshot(self, workflow: BpmnWorkflow) -> Snapshot:
        snap = Snapshot(completed=workflow.completed)
        timers: list[datetime] = []
        for task in live_tasks(workflow):
            spec = task.task_spec
            if task.state == TaskState.READY and spec.manual:
                snap.user_tasks.append(_ready_user_task(task))
            elif task.state == TaskState.STARTED and isinstance(spec, DeferredServiceTask):
                snap.service_tasks.append(StartedServiceTask(
                    id=str(task.id), name=spec.bpmn_name or spec.bpmn_id or spec.name,
                    operator=spec.operation_name,
                    params={k: v["value"] for k, v in spec.evaluate_params(task).items()},
                ))
            elif task.state == TaskState.WAITING:
                definition = getattr(spec, "event_definition", None)
                if isinstance(definition, TimerEventDefinition):
                    due = _timer_due(task)
                    if due is not None:
                        timers.append(due)
                elif isinstance(definition, MessageEventDefinition):
                    snap.messages.append(WaitingMessage(
                        task_id=str(task.id), name=definition.name,
                        correlation=self._correlation_values(task, definition),
                    ))
            elif task.state == TaskState.ERROR:
                snap.error_tasks.append(str(task.id))
        snap.next_timer_at = min(timers) if timers else None
        return snap

    def _correlation_values(self, task, definition) -> dict:  # noqa: ANN001
        values: dict = {}
        for prop in getattr(definition, "correlation_properties", []) or []:
            try:
                values[prop.name] = self.script_engine.environment.evaluate(
                    prop.retrieval_expression, dict(task.data))
            except Exception:  # noqa: BLE001 - a missing variable just means no value yet
                continue
        return values


def _ready_user_task(task) -> ReadyUserTask:  # noqa: ANN001
    spec = task.task_spec
    props = (getattr(spec, "extensions", None) or {}).get("properties", {})
    due = props.get("dueInDays")
    return ReadyUserTask(
        id=str(task.id),
        name=spec.bpmn_id or spec.name,
        title=spec.bpmn_name or spec.bpmn_id or spec.name,
        lane=spec.lane,
        candidate_group=lane_group(props.get("candidateGroup") or spec.lane),
        form_schema=props.get("formJsonSchemaFilename"),
        form_ui_schema=props.get("formUiSchemaFilename"),
        documentation=getattr(spec, "documentation", None),
        due_in_days=int(due) if due and str(due).isdigit() else None,
        municipality_expr=props.get("municipalityExpression"),
        group_expr=props.get("candidateGroupExpression"),
        data=task.data,
    )


def _timer_due(task) -> datetime | None:  # noqa: ANN001
    value = task._get_internal_data("event_value")
    if isinstance(value, dict):
        value = value.get("next")
    if not isinstance(value, str):
        return datetime.now(UTC)  # not evaluated yet: look at it on the next run
    try:
        return TimerEventDefinition.get_datetime(value)
    except ValueError:
        return None


def shift_timers(workflow: BpmnWorkflow, delta) -> int:  # noqa: ANN001
    """Move every waiting timer's due time by `delta` (administrative time travel, tests)."""
    moved = 0
    for task in live_tasks(workflow):
        definition = getattr(task.task_spec, "event_definition", None)
        if task.state == TaskState.WAITING and isinstance(definition, TimerEventDefinition):
            value = task._get_internal_data("event_value")
            if isinstance(value, str):
                new = TimerEventDefinition.get_datetime(value) + delta
                task._set_internal_data(event_value=new.isoformat())
                moved += 1
    return moved


def message_start_names(spec) -> set[str]:  # noqa: ANN001
    """Names of the messages whose start events begin this process."""
    return {
        ts.event_definition.name for ts in spec.task_specs.values()
        if isinstance(ts, StartEventMixin)
        and isinstance(getattr(ts, "event_definition", None), MessageEventDefinition)
    }


def start_properties(spec) -> dict:  # noqa: ANN001
    """The spiffworkflow properties of the process's none start event(s): its start
    declaration (start form, internal); {} when it has none."""
    props: dict = {}
    for ts in spec.task_specs.values():
        if isinstance(ts, StartEventMixin) and isinstance(
                getattr(ts, "event_definition", None), NoneEventDefinition):
            props.update((getattr(ts, "extensions", None) or {}).get("properties", {}))
    return props


def is_message(definition) -> bool:  # noqa: ANN001
    return isinstance(definition, MessageEventDefinition)


def open_effects(workflow: BpmnWorkflow) -> tuple[bool, bool]:
    """(a service task is STARTED, a message catch is WAITING): the only states for which the
    projections of a stored workflow hold open service jobs or message subscriptions."""
    jobs = messages = False
    for task in live_tasks(workflow):
        if task.state == TaskState.STARTED and isinstance(task.task_spec, DeferredServiceTask):
            jobs = True
        elif task.state == TaskState.WAITING and isinstance(
                getattr(task.task_spec, "event_definition", None), MessageEventDefinition):
            messages = True
    return jobs, messages
