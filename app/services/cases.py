"""The case page and the task page: one permission-checked read model each."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import (
    EngineTask,
    HumanTask,
    ProcessDefinition,
    ProcessInstance,
    ServiceJob,
)

from . import documents, inbox, processes, tasks
from .context import Actor
from .platform import Platform

# SpiffWorkflow task states (SpiffWorkflow.util.task.TaskState)
WAITING, READY, STARTED, COMPLETED, ERROR = 8, 16, 32, 64, 128
ACTIVE_STATES = (WAITING, READY, STARTED)
_CONTROL_SUFFIXES = (".BoundaryEventSplit", ".BoundaryEventJoin", ".EndJoin")
INTERNAL_KEYS = {"instance_id", "business_key", "municipality_ags"}


def element_id(spec_name: str) -> str | None:
    """The BPMN element id of an engine task spec (None for engine-internal control tasks)."""
    if not spec_name or spec_name.endswith(_CONTROL_SUFFIXES):
        return None
    return spec_name.removesuffix(" [child]")


def diagram_states(session: Session, instance: ProcessInstance) -> dict[str, list[str]]:
    """Completed, active and failed BPMN element ids from the stored engine task rows."""
    rows = session.execute(select(EngineTask.id, EngineTask.spec_name, EngineTask.state)
                           .where(EngineTask.instance_id == instance.id)).all()
    completed: set[str] = set()
    active: set[str] = set()
    failed: set[str] = set()
    for task_id, name, state in rows:
        el = element_id(name)
        if el is None:
            continue
        if state == COMPLETED:
            completed.add(el)
        elif state in ACTIVE_STATES:
            active.add(el)
        elif state == ERROR:
            failed.add(el)
        if instance.status in ("error", "incident") and task_id == instance.error_task_id:
            failed.add(el)
    if instance.status in ("completed", "terminated"):
        active.clear()
    return {"completed": sorted(completed), "active": sorted(active - failed),
            "failed": sorted(failed)}


def main_bpmn(definition: ProcessDefinition) -> tuple[str | None, str | None]:
    """(file name, XML) of the BPMN file that declares the definition's process."""
    pattern = re.compile(r"<(?:[\w-]+:)?process\b[^>]*\bid=\"" + re.escape(definition.key) + "\"")
    bpmn = [(n, x) for n, x in sorted((definition.sources or {}).items())
            if n.lower().endswith((".bpmn", ".xml"))]
    for name, xml in bpmn:
        if pattern.search(xml):
            return name, xml
    return bpmn[0] if bpmn else (None, None)


def _incidents(session: Session, actor: Actor, instance_id: int) -> list[dict]:
    if not (actor.is_admin or "sachbearbeitung" in actor.groups):
        return []
    rows = session.scalars(select(ServiceJob).where(
        ServiceJob.instance_id == instance_id, ServiceJob.status == "failed")
        .order_by(ServiceJob.id)).all()
    return [{"id": j.id, "task_name": j.task_name, "operator": j.operator, "attempts": j.attempts,
             "error": j.last_error, "failed_at": j.finished_at} for j in rows]


def case_view(platform: Platform, actor: Actor, instance_id: int) -> dict:
    """Everything the case page shows; 404 unless the actor may see the case."""
    detail = processes.get_instance(platform, actor, instance_id)
    with platform.db.unit_of_work() as session:
        instance = processes.get_visible(session, actor, instance_id)
        definition = session.get(ProcessDefinition, instance.definition_id)
        _, xml = main_bpmn(definition)
        if xml and "BPMNDiagram" not in xml:
            xml = None  # no diagram interchange: nothing to draw
        open_rows = session.scalars(select(HumanTask).where(
            HumanTask.instance_id == instance_id, HumanTask.completed_at.is_(None))
            .order_by(HumanTask.id)).all()
        titles = dict(session.execute(select(HumanTask.name, HumanTask.title).where(
            HumanTask.instance_id == instance_id)).all())
        detail.update(
            diagram_xml=xml, states=diagram_states(session, instance), task_titles=titles,
            comments=inbox.comments(session, actor, instance_id),
            can_write_internal=inbox.reads_internal_notes(actor),
            current_tasks=inbox.describe_tasks(session, list(open_rows)),
            municipality_name=inbox.municipality_names(
                session, {instance.municipality_ags}).get(instance.municipality_ags),
            incidents=_incidents(session, actor, instance_id),
            forms=definition.forms or {},
            can_control=actor.is_admin or "sachbearbeitung" in actor.groups,
            can_upload=not processes.only_participant(actor, instance),
        )
    detail["documents"] = documents.list_documents(platform, actor, instance_id)
    return detail


def task_view(platform: Platform, actor: Actor, task_id: str) -> dict:
    """The task page: form, permissions, case summary, comments, documents, colleagues."""
    task = tasks.get_task(platform, actor, task_id)
    with platform.db.unit_of_work() as session:
        ht = session.scalar(select(HumanTask).where(HumanTask.task_id == task_id))
        instance = session.get(ProcessInstance, ht.instance_id)
        definition = session.get(ProcessDefinition, instance.definition_id)
        clause = tasks.group_clause(actor)
        in_group = clause is not None and session.scalar(
            select(func.count()).select_from(HumanTask).where(HumanTask.id == ht.id, clause)) == 1
        is_open = ht.completed_at is None
        mine = ht.assignee_id == actor.user_id
        editor = is_open and (mine or (ht.assignee_id is None and in_group))
        case = processes.describe(platform, session, actor, instance, with_history=False)
        task.update(
            can_complete=editor and instance.status == "running",
            can_claim=is_open and ht.assignee_id is None and in_group,
            can_unclaim=is_open and (mine or (actor.is_admin and ht.assignee_id is not None)),
            can_hand_over=is_open and (editor or actor.is_admin),
            colleagues=[{"username": u.username, "display_name": u.display_name or u.username}
                        for u in tasks.candidates(session, ht) if u.id != actor.user_id],
            comments=inbox.comments(session, actor, instance.id),
            can_write_internal=inbox.reads_internal_notes(actor),
            case={k: v for k, v in case["data"].items() if k not in INTERNAL_KEYS},
            business_key=instance.business_key, case_title=case["title"],
            process_name=definition.name or definition.key,
            forms=definition.forms or {}, definition_version=definition.version,
            can_upload=not processes.only_participant(actor, instance),
            municipality_name=inbox.municipality_names(
                session, {ht.municipality_ags}).get(ht.municipality_ags),
            assignee_name=(inbox.user_names(session, {ht.assignee_id}).get(ht.assignee_id) or {})
            .get("display_name"),
        )
    task["documents"] = documents.list_documents(platform, actor, task["instance_id"])
    return task
