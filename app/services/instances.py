"""Process instances: start, step, persist incrementally, and keep the projections in sync.

Every use case runs in one transaction. Writers first *claim* the instance by bumping its
version counter with `UPDATE … WHERE version = :seen`; a concurrent writer that saw the same
version updates no row and gets 409 without having changed anything.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app.engine import store
from app.engine.parser import lane_group
from app.engine.runtime import (
    EngineError,
    NotWaiting,
    Snapshot,
    is_message,
    message_start_names,
    open_effects,
)
from app.models import (
    EngineTask,
    HumanTask,
    MessageSubscription,
    ProcessDefinition,
    ProcessInstance,
    ServiceJob,
)

from . import audit, case_titles, correlation, due_dates, outbox
from .context import Actor
from .errors import Conflict, NotFound
from .platform import Platform

ACTIVE = ("running",)


def now() -> datetime:
    return datetime.now(UTC)


def _spec_json_loader(session: Session, definition_id: int):  # noqa: ANN202
    return lambda: session.scalar(
        select(ProcessDefinition.spec_json).where(ProcessDefinition.id == definition_id))


def specs_of(platform: Platform, session: Session, definition_id: int) -> tuple:
    """(spec, subprocess specs) of a definition version; its spec_json is read only on a miss."""
    return platform.specs.get(definition_id, _spec_json_loader(session, definition_id))


def task_properties_of(platform: Platform, session: Session, definition_id: int) -> dict:
    """{bpmn id: spiffworkflow properties} of a definition version's tasks (cached)."""
    return platform.specs.task_properties(definition_id, _spec_json_loader(session, definition_id))


def forms_of(platform: Platform, session: Session, definition_id: int) -> dict:
    """{filename: JSON schema} of a definition version (cached like its specs)."""
    return platform.specs.forms(definition_id, lambda: session.scalar(
        select(ProcessDefinition.forms).where(ProcessDefinition.id == definition_id)) or {})


@dataclass
class Loaded:
    instance: ProcessInstance
    workflow: object
    persisted: set[str]
    synced_meta: str | None = None  # set by persist(): the workflow equals what was written


_INSTANCES = ProcessInstance.__table__
_CLAIM = (update(_INSTANCES)
          .where(_INSTANCES.c.id == bindparam("iid"), _INSTANCES.c.version == bindparam("seen"))
          .values(version=_INSTANCES.c.version + 1))


def claim(session: Session, instance: ProcessInstance) -> None:
    """Bump the version iff nobody else did since we read it; else 409, nothing changed."""
    seen = instance.version
    if instance in session.new:
        session.flush()
    result = session.connection().execute(_CLAIM, {"iid": instance.id, "seen": seen})
    if result.rowcount != 1:
        raise Conflict(
            "Der Vorgang wurde zwischenzeitlich von jemand anderem geändert. "
            "Bitte laden Sie ihn neu.", code="concurrent_modification")
    set_committed_value(instance, "version", seen + 1)  # what the UPDATE wrote; no re-SELECT
    session.info.setdefault("claimed", {}).setdefault(instance.id, seen)


def load(platform: Platform, session: Session, instance: ProcessInstance) -> Loaded:
    """The instance's workflow. A writer (who claimed it in this transaction) may get the one
    this process kept after the previous write, if nobody wrote since (see workflow_cache)."""
    same = session.info.get("loaded", {}).get(instance.id)
    if same is not None and same.synced_meta is not None and same.synced_meta == instance.engine_meta:
        return same  # written in this transaction: the workflow in memory is what is stored
    seen = session.info.get("claimed", {}).get(instance.id)
    if seen is not None:
        entry = platform.workflows.take(instance.id, seen, instance.engine_meta)
        if entry is not None:
            return _keep_after_commit(platform, session, Loaded(
                instance, entry.workflow, entry.persisted))
    spec, subs = specs_of(platform, session, instance.definition_id)
    rows = session.execute(
        select(EngineTask.id, EngineTask.workflow_id, EngineTask.seq, EngineTask.payload)
        .where(EngineTask.instance_id == instance.id)
    ).all()
    workflow = store.restore_workflow(
        spec, subs, instance.engine_meta, rows, platform.runtime.script_engine)
    loaded = Loaded(instance, workflow, {r.id for r in rows})
    return _keep_after_commit(platform, session, loaded) if seen is not None else loaded


def _keep_after_commit(platform: Platform, session: Session, loaded: Loaded) -> Loaded:
    """After a successful commit, keep the workflow for this instance's next writer — only if
    all of it was persisted. A failed transaction keeps nothing (the entry was taken)."""
    def keep() -> None:
        instance = loaded.instance
        if loaded.synced_meta is not None and loaded.synced_meta == instance.engine_meta \
                and instance.status in ("running", "incident", "suspended"):
            platform.workflows.put(instance.id, instance.version, loaded.synced_meta,
                                   loaded.workflow, loaded.persisted)

    session.info.setdefault("after_commit", []).append(keep)
    session.info.setdefault("loaded", {})[loaded.instance.id] = loaded
    return loaded


def start(platform: Platform, session: Session, actor: Actor, definition: ProcessDefinition,
          business_key: str | None, municipality_ags: str | None, data: dict) -> ProcessInstance:
    instance = ProcessInstance(
        definition_id=definition.id, process_key=definition.key, business_key=business_key,
        municipality_ags=municipality_ags, status="running", created_by_id=actor.user_id,
        engine_meta="{}",
    )
    session.add(instance)
    session.flush()
    spec, subs = specs_of(platform, session, definition.id)
    workflow = platform.runtime.new_workflow(spec, subs)
    start_data = dict(data)
    start_data.update(
        instance_id=instance.id, business_key=business_key, municipality_ags=municipality_ags)
    workflow.task_tree.data.update(start_data)
    for child in workflow.task_tree.children:
        child.data.update(start_data)
    loaded = _keep_after_commit(platform, session, Loaded(instance, workflow, set()))
    audit.record(session, actor, "instance.started", "process_instance", instance.id,
                 instance_id=instance.id, after="running",
                 details={"process_key": definition.key, "version": definition.version})
    advance(platform, session, actor, loaded, lambda wf: platform.runtime.step(wf))
    return instance


def advance(platform: Platform, session: Session, actor: Actor, loaded: Loaded, action,  # noqa: ANN001
            completed_task_id: str | None = None, depth: int = 0,
            fixed_assignments: dict | None = None) -> Snapshot | None:
    """Run an engine action, then persist what changed and sync the projections. A failure of
    the engine or of a task's assignment puts the case in `error` (an incident), never raises."""
    instance = loaded.instance
    before = instance.status
    error: EngineError | None = None
    events: list = []
    # projections the stored state can hold (a new instance has none): skip pointless queries
    fresh = not loaded.persisted  # created in this transaction: no projection rows exist yet
    had = (False, False) if fresh else open_effects(loaded.workflow)
    try:
        action(loaded.workflow)
        events = loaded.workflow.get_events()
    except EngineError as exc:
        error = exc
    except NotWaiting as exc:
        raise Conflict(str(exc), code="not_waiting") from exc
    try:
        persist(session, loaded)
    except store.NotSerializable as exc:
        # keep the last stored state; the step that produced unstorable data is not saved
        error = EngineError(str(exc), task_name=exc.task_name)
    snapshot = None
    if error is None:
        snapshot = platform.runtime.snapshot(loaded.workflow)
        try:
            sync_projections(platform, session, loaded, snapshot, actor, completed_task_id, had,
                             fresh=fresh, fixed_assignments=fixed_assignments)
        except AssignmentFailed as exc:  # the engine state is stored; the task has no owner
            error, snapshot = exc, None
    if error is None:
        workflow = loaded.workflow
        case_titles.refresh(session, instance, (workflow.last_task or workflow.task_tree).data)
        instance.status = "completed" if snapshot.completed else "running"
        instance.next_timer_at = snapshot.next_timer_at
        instance.error_message = None
        instance.error_task_id = None
        if snapshot.completed:
            instance.completed_at = now()
    else:
        instance.status = "error"
        instance.error_message = error.message
        instance.error_task_id = error.task_id
        instance.next_timer_at = None
        _close_open_tasks(session, instance.id, completed_task_id, actor, outcome="cancelled")
    if error is None and events:
        try:
            dispatch_thrown(platform, session, actor, instance, events, depth)
        except (Conflict, NotFound, EngineError) as exc:
            instance.status = "error"
            instance.error_message = getattr(exc, "message", str(exc))
    instance.updated_at = now()
    if before != instance.status:
        audit.record(session, actor, "instance.status", "process_instance", instance.id,
                     instance_id=instance.id, before=before, after=instance.status,
                     message=instance.error_message,
                     details={"task": error.task_name} if error else None)
    return snapshot


def retry_assignment(platform: Platform, session: Session, actor: Actor, loaded: Loaded,
                     fixed: dict) -> None:
    """Assign the ready user tasks of a case in `error` anew (after an assignment failure)."""
    snapshot = platform.runtime.snapshot(loaded.workflow)
    failed = loaded.instance.error_task_id
    if snapshot.error_tasks or failed not in {t.id for t in snapshot.user_tasks}:
        raise Conflict("Der Fehler liegt im Ablauf selbst (Skript, Bedingung oder Nachricht); "
                       "ein erneuter Versuch würde wieder scheitern. Beenden Sie den Vorgang.",
                       code="not_retryable")
    advance(platform, session, actor, loaded, lambda wf: None, fixed_assignments=fixed)


def persist(session: Session, loaded: Loaded) -> int:
    """Write only the changed task rows and the small metadata document."""
    loaded.synced_meta = None
    changes = store.collect_changes(loaded.workflow)
    iid = loaded.instance.id
    # engine_task rows are never ORM objects in a session: plain statements on the session's
    # connection (same transaction), without flushing the unit of work before each of them
    conn = session.connection()
    table = EngineTask.__table__
    if changes.deletes:
        conn.execute(delete(table).where(
            table.c.instance_id == iid, table.c.id.in_(changes.deletes)))
        loaded.persisted.difference_update(changes.deletes)
    new = [r for r in changes.upserts if r.id not in loaded.persisted]
    old = [r for r in changes.upserts if r.id in loaded.persisted]
    if new:
        conn.execute(insert(table), [
            dict(instance_id=iid, id=r.id, workflow_id=r.workflow_id, seq=r.seq,
                 spec_name=r.spec_name, state=r.state, payload=r.payload) for r in new])
        loaded.persisted.update(r.id for r in new)
    if old:
        conn.execute(update(table).where(
            table.c.instance_id == bindparam("b_instance"), table.c.id == bindparam("b_id")
        ).values(state=bindparam("b_state"), payload=bindparam("b_payload")), [
            dict(b_instance=iid, b_id=r.id, b_state=r.state, b_payload=r.payload) for r in old])
    loaded.instance.engine_meta = changes.meta
    loaded.instance.task_seq = changes.next_seq
    loaded.synced_meta = changes.meta
    return len(changes.upserts) + len(changes.deletes)


def sync_projections(platform: Platform, session: Session, loaded: Loaded, snap: Snapshot,
                     actor: Actor, completed_task_id: str | None,
                     had: tuple[bool, bool] = (True, True), fresh: bool = False,
                     fixed_assignments: dict | None = None) -> None:
    """`had` = open_effects() of the state before the step: (jobs, subscriptions) may exist;
    `fresh`: the instance was created in this transaction and has no human tasks yet;
    `fixed_assignments`: {bpmn id: properties} replacing the assignment properties of the
    instance's own version (a retry after the model was fixed). Raises AssignmentFailed
    before it writes anything when a task's group or municipality cannot be determined."""
    instance = loaded.instance
    _sync_human_tasks(platform, session, instance, snap, actor, completed_task_id, fresh,
                      fixed_assignments)
    if had[0] or snap.service_tasks:
        _sync_service_jobs(platform, session, instance, snap)
    if had[1]:
        session.execute(delete(MessageSubscription).where(
            MessageSubscription.instance_id == instance.id))
    if snap.messages:
        session.execute(insert(MessageSubscription), [
            dict(instance_id=instance.id, task_id=m.task_id, message_name=m.name,
                 correlation=m.correlation) for m in snap.messages])


def _close_open_tasks(session, instance_id, completed_task_id, actor, outcome):  # noqa: ANN001
    open_rows = session.scalars(select(HumanTask).where(
        HumanTask.instance_id == instance_id, HumanTask.completed_at.is_(None))).all()
    for ht in open_rows:
        ht.completed_at = now()
        if ht.task_id == completed_task_id:
            ht.outcome, ht.completed_by_id = "completed", actor.user_id
        else:
            ht.outcome = outcome


def _pending_human_tasks(session: Session, instance_id: int) -> bool:
    """Unflushed HumanTask changes of this instance (then the query below must flush first)."""
    return any(isinstance(o, HumanTask) and o.instance_id == instance_id
               for o in (*session.new, *session.dirty))


def _sync_human_tasks(platform, session, instance, snap, actor, completed_task_id,  # noqa: ANN001
                      fresh=False, fixed=None):  # noqa: ANN001
    query = select(HumanTask).where(
        HumanTask.instance_id == instance.id, HumanTask.completed_at.is_(None))
    if fresh:
        open_rows = {}
    elif _pending_human_tasks(session, instance.id):
        open_rows = {ht.task_id: ht for ht in session.scalars(query)}
    else:
        # nothing of this instance's projection is pending: the rest of the unit of work
        # (audit entries, instance columns) is flushed once at commit, not here
        with session.no_autoflush:
            open_rows = {ht.task_id: ht for ht in session.scalars(query)}
    ready = {t.id: t for t in snap.user_tasks}
    evaluate = platform.runtime.script_engine.environment.evaluate
    owners = {task_id: _assignment(evaluate, instance, t, (fixed or {}).get(t.name))
              for task_id, t in ready.items() if task_id not in open_rows}
    if fixed is not None:  # a retry: rows the error closed are opened again, not duplicated
        owners = _reopen(session, owners, ready)
    for task_id, ht in open_rows.items():
        if task_id not in ready:
            ht.completed_at = now()
            if task_id == completed_task_id:
                ht.outcome, ht.completed_by_id = "completed", actor.user_id
            else:
                ht.outcome = "cancelled"
    properties = task_properties_of(platform, session, instance.definition_id) if owners else {}
    for task_id, (group, ags) in owners.items():
        t = ready[task_id]
        session.add(HumanTask(
            instance_id=instance.id, task_id=task_id, process_key=instance.process_key,
            name=t.name, title=t.title, lane=t.lane, candidate_group=group,
            municipality_ags=ags, form_schema=t.form_schema, form_ui_schema=t.form_ui_schema,
            due_at=due_dates.due_at(properties.get(t.name, {}), t.data, evaluate, now(),
                                    t.due_in_days),
        ))


def _reopen(session: Session, owners: dict, ready: dict) -> dict:
    """Open again the closed rows of ready tasks (with their new owners); returns the owners
    of the tasks that still need a row."""
    closed = session.scalars(select(HumanTask).where(HumanTask.task_id.in_(list(owners)))).all()
    for ht in closed:
        ht.candidate_group, ht.municipality_ags = owners.pop(ht.task_id)
        ht.completed_at = ht.outcome = ht.completed_by_id = None
    return owners


class AssignmentFailed(EngineError):
    """A user task's candidate group or municipality could not be determined."""


_AGS = re.compile(r"\d{8}")
MAX_GROUP = 120  # human_task.candidate_group


def _assignment(evaluate, instance: ProcessInstance, t, props: dict | None) -> tuple:  # noqa: ANN001
    """(candidate group, municipality) of a ready user task; `props` (a fixed model's task
    properties) replace the task's own assignment properties."""
    group_expr, ags_expr, group = t.group_expr, t.municipality_expr, t.candidate_group
    if props is not None:
        group_expr = props.get("candidateGroupExpression")
        ags_expr = props.get("municipalityExpression")
        group = lane_group(props.get("candidateGroup") or t.lane)
    ags = instance.municipality_ags
    if group_expr:
        group = _evaluated(evaluate, t, "candidateGroupExpression", group_expr)
        if len(group) > MAX_GROUP:
            raise _unassignable(t, "candidateGroupExpression",
                                f"der Gruppenname ist länger als {MAX_GROUP} Zeichen")
    if ags_expr:
        ags = _evaluated(evaluate, t, "municipalityExpression", ags_expr)
        if not _AGS.fullmatch(ags):
            raise _unassignable(t, "municipalityExpression",
                                f"„{ags[:40]}“ ist kein Amtlicher Gemeindeschlüssel (8 Ziffern)")
    return group, ags


def _evaluated(evaluate, t, prop: str, expression: str) -> str:  # noqa: ANN001
    try:
        value = evaluate(expression, dict(t.data))
    except Exception as exc:  # noqa: BLE001 - whatever the model's expression raised
        raise _unassignable(t, prop, f"{type(exc).__name__}: {exc}") from exc
    text = "" if value is None else str(value).strip()
    if not text:
        raise _unassignable(t, prop, "der Ausdruck ergibt keinen Wert")
    return text


def _unassignable(t, prop: str, reason: str) -> AssignmentFailed:  # noqa: ANN001
    return AssignmentFailed(
        f"Die Zuständigkeit für die Aufgabe „{t.title}“ konnte nicht bestimmt werden "
        f"({prop}: {reason[:300]}). Korrigieren Sie das Modell, stellen Sie es bereit und "
        "führen Sie den Vorgang erneut aus.", task_id=t.id, task_name=t.name)


def _sync_service_jobs(platform, session, instance, snap):  # noqa: ANN001
    open_jobs = {j.task_id: j for j in session.scalars(select(ServiceJob).where(
        ServiceJob.instance_id == instance.id,
        ServiceJob.status.in_(("pending", "sent", "running", "failed"))))}
    started = {s.id: s for s in snap.service_tasks}
    for task_id, job in open_jobs.items():
        if task_id not in started:
            job.status, job.finished_at = "cancelled", now()
    new = [ServiceJob(
        instance_id=instance.id, task_id=task_id, task_name=s.name, operator=s.operator,
        params=json.loads(json.dumps(s.params, default=str)),
    ) for task_id, s in started.items() if task_id not in open_jobs]
    if new:
        session.add_all(new)
        outbox.mark_sent_after_commit(platform, session, new)


MAX_MESSAGE_DEPTH = 8


def dispatch_thrown(platform: Platform, session: Session, actor: Actor, source: ProcessInstance,
                    events: list, depth: int) -> None:
    """Deliver messages a process threw that nothing inside it caught."""
    for event in events:
        definition = event.event_definition
        if not is_message(definition):
            continue  # signals and escalations do not leave the process
        payload = event.payload if isinstance(event.payload, dict) else {"nachricht": event.payload}
        receiver = route_message(platform, session, actor, definition.name,
                                 correlation.thrown_correlation(event), payload,
                                 exclude=source.id, depth=depth + 1)
        audit.record(session, actor, "message.sent", "process_instance", source.id,
                     instance_id=source.id,
                     details={"message": definition.name, "to_instance": receiver.id})


def route_message(platform: Platform, session: Session, actor: Actor, name: str, corr: dict,
                  payload: dict, exclude: int | None = None, depth: int = 0) -> ProcessInstance:
    """To the one waiting instance that matches, else a new instance of the process whose
    message start event catches it; 404 when neither exists, 409 when ambiguous."""
    if depth > MAX_MESSAGE_DEPTH:
        raise EngineError(f"Nachrichtenkette zu tief (mehr als {MAX_MESSAGE_DEPTH} Stufen).")
    receivers = correlation.find_receivers(session, name, corr, exclude)
    if len(receivers) > 1:
        raise Conflict(f"{len(receivers)} Vorgänge warten auf „{name}“; die Zuordnung ist "
                       "nicht eindeutig.", code="ambiguous_correlation")
    if not receivers:
        definition = message_start_definition(platform, session, name)
        if definition is None:
            raise NotFound(f"Kein Vorgang wartet auf die Nachricht „{name}“ mit dieser Zuordnung.",
                           code="no_receiver")
        instance = start(platform, session, actor, definition, payload.get("business_key"),
                         payload.get("municipality_ags"), payload)
        session.flush()
        receivers = [(s, i) for s, i in correlation.find_receivers(session, name, {})
                     if i.id == instance.id]
        if not receivers:
            return instance
    sub, instance = receivers[0]
    claim(session, instance)
    loaded = load(platform, session, instance)
    audit.record(session, actor, "message.delivered", "process_instance", instance.id,
                 instance_id=instance.id, details={"message": name})
    advance(platform, session, actor, loaded,
            lambda wf: platform.runtime.deliver_message(wf, sub.task_id, payload), depth=depth)
    return instance


def message_start_definition(platform: Platform, session: Session, name: str):  # noqa: ANN201
    """The latest definition whose top-level start event catches message `name`."""
    latest = (select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("v"))
              .group_by(ProcessDefinition.key).subquery())
    rows = session.scalars(select(ProcessDefinition).join(
        latest, (ProcessDefinition.key == latest.c.key) & (ProcessDefinition.version == latest.c.v)))
    for definition in rows:
        spec, _subs = specs_of(platform, session, definition.id)
        if name in message_start_names(spec):
            return definition
    return None
