"""Use cases around process instances (permission-checked, one transaction each)."""

from __future__ import annotations

import json

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from app.models import AuditEntry, HumanTask, ProcessDefinition, ProcessInstance, User

from . import audit, case_titles, instances, start_data
from .context import Actor
from .definitions import can_start, latest
from .errors import Conflict, Forbidden, Invalid, NotFound
from .platform import Platform

MAX_DATA_BYTES = 256 * 1024


def visible_instances(actor: Actor):  # noqa: ANN201
    """A SELECT of the instances the actor may see."""
    q = select(ProcessInstance)
    if actor.is_staff:
        return q
    conditions = []
    if actor.municipalities:
        conditions.append(ProcessInstance.municipality_ags.in_(actor.municipalities))
    if actor.is_ressort:
        conditions.append(exists().where(
            HumanTask.instance_id == ProcessInstance.id,
            HumanTask.candidate_group.in_(actor.groups)))
    if "kommune" in actor.groups and actor.municipalities:
        # a partner municipality sees the (lead's) case it was asked to take part in
        conditions.append(exists().where(
            HumanTask.instance_id == ProcessInstance.id, HumanTask.candidate_group == "kommune",
            HumanTask.municipality_ags.in_(actor.municipalities)))
    if actor.user_id is not None:
        conditions.append(ProcessInstance.created_by_id == actor.user_id)
    if not conditions:
        return q.where(False)
    return q.where(or_(*conditions))


def only_participant(actor: Actor, instance: ProcessInstance) -> bool:
    """The actor sees the case only as a partner municipality (another municipality leads it):
    it may read the case and work on its own tasks, not add to the lead's files."""
    return not (actor.is_staff or actor.is_ressort) \
        and instance.municipality_ags not in actor.municipalities \
        and (actor.user_id is None or instance.created_by_id != actor.user_id)


def get_visible(session: Session, actor: Actor, instance_id: int) -> ProcessInstance:
    q = visible_instances(actor).where(ProcessInstance.id == instance_id)
    instance = session.scalar(q)
    if instance is None:
        raise NotFound("Vorgang nicht gefunden.", code="instance_not_found")
    return instance


def start_process(platform: Platform, actor: Actor, process_key: str, business_key: str | None,
                  data: dict | None) -> dict:
    data = data or {}
    if len(str(data)) > MAX_DATA_BYTES:
        raise Invalid("Die Startdaten sind zu groß.", code="payload_too_large")
    with platform.db.unit_of_work() as session:
        definition = latest(session, process_key)
        declared = start_data.ensure_startable(platform, session, definition)
        if not can_start(actor, definition):
            raise Forbidden("Sie dürfen diesen Prozess nicht starten.", code="start_forbidden")
        data = start_data.validated(platform, session, definition, declared, data, actor)
        ags = _municipality_for_start(actor, data)
        instance = instances.start(platform, session, actor, definition, business_key, ags, data)
        session.flush()
        return describe(platform, session, actor, instance, with_history=False)


def _municipality_for_start(actor: Actor, data: dict) -> str | None:
    requested = data.get("municipality_ags")
    if actor.is_staff:
        return str(requested) if requested else None
    if requested:
        if requested not in actor.municipalities:
            raise Forbidden("Sie dürfen nur für Ihre eigene Kommune Vorgänge anlegen.",
                            code="foreign_municipality")
        return str(requested)
    if len(actor.municipalities) == 1:
        return next(iter(actor.municipalities))
    if actor.municipalities:
        raise Invalid("Bitte geben Sie an, für welche Kommune Sie den Vorgang starten.",
                      errors=[{"path": "/data/municipality_ags",
                               "message": "Kommune (AGS) angeben."}])
    return None


def list_instances(platform: Platform, actor: Actor, *, process_key=None, status=None,  # noqa: ANN001
                   municipality=None, page=1, per_page=25) -> dict:
    with platform.db.unit_of_work() as session:
        q = visible_instances(actor)
        if process_key:
            q = q.where(ProcessInstance.process_key == process_key)
        if status:
            q = q.where(ProcessInstance.status == status)
        if municipality:
            q = q.where(ProcessInstance.municipality_ags == municipality)
        total = session.scalar(select(func.count()).select_from(q.subquery()))
        rows = session.scalars(q.order_by(ProcessInstance.id.desc())
                               .offset((page - 1) * per_page).limit(per_page)).all()
        return {"items": [summary(r, actor) for r in rows], "total": total, "page": page,
                "per_page": per_page}


def summary(i: ProcessInstance, actor: Actor) -> dict:
    return {
        "id": i.id, "process_key": i.process_key, "business_key": i.business_key,
        "title": case_titles.shown(i.id, i.title, i.business_key),
        "municipality_ags": i.municipality_ags, "status": i.status, "version": i.version,
        "error_message": actor.error_text(i.error_message), "created_at": i.created_at,
        "updated_at": i.updated_at,
        "completed_at": i.completed_at, "next_timer_at": i.next_timer_at,
    }


def get_instance(platform: Platform, actor: Actor, instance_id: int) -> dict:
    with platform.db.unit_of_work() as session:
        instance = get_visible(session, actor, instance_id)
        return describe(platform, session, actor, instance, with_history=True)


def describe(platform: Platform, session: Session, actor: Actor, instance: ProcessInstance,
             with_history: bool) -> dict:
    definition = session.get(ProcessDefinition, instance.definition_id)
    tasks = session.scalars(select(HumanTask).where(
        HumanTask.instance_id == instance.id, HumanTask.completed_at.is_(None))
        .order_by(HumanTask.id)).all()
    result = summary(instance, actor)
    result["definition"] = {"key": definition.key, "version": definition.version,
                            "name": definition.name}
    result["current_tasks"] = [_task_brief(session, t) for t in tasks]
    result["data"] = _instance_data(platform, session, instance)
    if with_history:
        audit.write_pending(session)  # this transaction's own entries too
        entries = session.scalars(select(AuditEntry).where(
            AuditEntry.instance_id == instance.id).order_by(AuditEntry.id)).all()
        result["history"] = [{
            "at": e.at, "user": e.username, "action": e.action, "status_before": e.status_before,
            "status_after": e.status_after, "details": e.details,
            "message": actor.error_text(e.message) if e.status_after in FAILED else e.message,
        } for e in entries]
    return result


FAILED = ("error", "incident")


def _task_brief(session: Session, t: HumanTask) -> dict:
    assignee = session.get(User, t.assignee_id) if t.assignee_id else None
    return {"id": t.task_id, "name": t.name, "title": t.title,
            "candidate_group": t.candidate_group,
            "assignee": assignee.username if assignee else None, "due_at": t.due_at}


def _instance_data(platform: Platform, session: Session, instance: ProcessInstance) -> dict:
    """The data of the most recently completed task: what the case knows so far."""
    if not instance.task_seq:
        return {}  # the first step failed before anything could be stored
    workflow = instances.load(platform, session, instance).workflow
    task = workflow.last_task or workflow.task_tree
    return json.loads(json.dumps(
        {k: v for k, v in task.data.items() if not callable(v)}, default=str))


def set_status(platform: Platform, actor: Actor, instance_id: int, action: str) -> dict:
    if not (actor.is_admin or "sachbearbeitung" in actor.groups):
        raise Forbidden("Nur Administration und Sachbearbeitung dürfen Vorgänge steuern.")
    transitions = {
        "suspend": ({"running", "error", "incident"}, "suspended"),
        "resume": ({"suspended"}, None),
        "terminate": ({"running", "error", "incident", "suspended"}, "terminated"),
    }
    allowed, target = transitions[action]
    with platform.db.unit_of_work() as session:
        instance = get_visible(session, actor, instance_id)
        if instance.status not in allowed:
            verb = {"suspend": "angehalten", "resume": "fortgesetzt", "terminate": "beendet"}[action]
            raise Conflict(f"Ein Vorgang im Status „{instance.status}“ kann nicht {verb} werden.",
                           code="invalid_transition")
        instances.claim(session, instance)
        before = instance.status
        if action == "suspend":
            instance.status_before_suspend = before
            instance.status = "suspended"
        elif action == "resume":
            instance.status = instance.status_before_suspend or "running"
            instance.status_before_suspend = None
        else:
            instance.status = target
            instance.next_timer_at = None
            instances._close_open_tasks(session, instance.id, None, actor, "cancelled")
        instance.updated_at = instances.now()
        audit.record(session, actor, f"instance.{action}", "process_instance", instance.id,
                     instance_id=instance.id, before=before, after=instance.status)
        return summary(instance, actor)


def retry(platform: Platform, actor: Actor, instance_id: int) -> dict:
    """Run a case in `error` again: its open user tasks are assigned anew, with the assignment
    properties of the newest deployed version of its process (the fixed model). 409 when the
    error lies in the flow itself (a failed script or expression), which a retry cannot mend."""
    if not (actor.is_admin or "sachbearbeitung" in actor.groups):
        raise Forbidden("Nur Administration und Sachbearbeitung dürfen Vorgänge erneut ausführen.")
    with platform.db.unit_of_work() as session:
        instance = get_visible(session, actor, instance_id)
        if instance.status != "error":
            raise Conflict(f"Ein Vorgang im Status „{instance.status}“ kann nicht erneut "
                           "ausgeführt werden.", code="invalid_transition")
        instances.claim(session, instance)
        fixed = instances.task_properties_of(platform, session,
                                             latest(session, instance.process_key).id)
        instances.retry_assignment(platform, session, actor, instances.load(platform, session, instance),
                                   fixed)
        audit.record(session, actor, "instance.retried", "process_instance", instance.id,
                     instance_id=instance.id, after=instance.status)
        return summary(instance, actor)
