"""Human tasks: inbox queries on the projection table, claim, and completion with validation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app.engine.runtime import find_task
from app.models import Group, HumanTask, Municipality, ProcessInstance, User

from . import audit, forms, instances, task_context, task_rules
from .context import Actor
from .errors import Conflict, Forbidden, Invalid, NotFound
from .platform import Platform


def _group_clause(actor: Actor):  # noqa: ANN202
    """Open tasks of the actor's groups; municipal tasks only for the actor's municipalities."""
    groups = [g for g in actor.groups if g != "kommune"]
    clauses = []
    if groups:
        clauses.append(HumanTask.candidate_group.in_(groups))
    if "kommune" in actor.groups and actor.municipalities:
        clauses.append(and_(HumanTask.candidate_group == "kommune",
                            HumanTask.municipality_ags.in_(actor.municipalities)))
    return or_(*clauses) if clauses else None


def _visible_clause(actor: Actor):  # noqa: ANN202
    mine = HumanTask.assignee_id == actor.user_id
    groups = _group_clause(actor)
    return or_(mine, groups) if groups is not None else mine


def list_tasks(platform: Platform, actor: Actor, *, scope: str = "groups", process_key=None,  # noqa: ANN001
               municipality=None, due_before: datetime | None = None, page: int = 1,
               per_page: int = 25, include_completed: bool = False,
               instance_id: int | None = None) -> dict:
    with platform.db.unit_of_work() as session:
        if scope == "mine":
            q = select(HumanTask).where(HumanTask.assignee_id == actor.user_id)
        else:
            clause = _group_clause(actor)
            if clause is None:
                return {"items": [], "total": 0, "page": page, "per_page": per_page}
            q = select(HumanTask).where(clause)
        if not include_completed:
            q = q.where(HumanTask.completed_at.is_(None))
        if process_key:
            q = q.where(HumanTask.process_key == process_key)
        if municipality:
            q = q.where(HumanTask.municipality_ags == municipality)
        if instance_id:
            q = q.where(HumanTask.instance_id == instance_id)
        if due_before:
            q = q.where(HumanTask.due_at <= due_before)
        total = session.scalar(select(func.count()).select_from(q.subquery()))
        rows = session.scalars(
            q.order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.id)
            .offset((page - 1) * per_page).limit(per_page)).all()
        users = _usernames(session, {r.assignee_id for r in rows if r.assignee_id})
        return {"items": [brief(r, users) for r in rows], "total": total, "page": page,
                "per_page": per_page}


def _usernames(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.username).where(User.id.in_(ids))).all())


def brief(t: HumanTask, users: dict[int, str]) -> dict:
    return {
        "id": t.task_id, "instance_id": t.instance_id, "process_key": t.process_key,
        "name": t.name, "title": t.title, "candidate_group": t.candidate_group,
        "assignee": users.get(t.assignee_id) if t.assignee_id else None,
        "municipality_ags": t.municipality_ags, "due_at": t.due_at, "created_at": t.created_at,
        "completed_at": t.completed_at, "follow_up_at": t.follow_up_at,
    }


def _in_candidate_group(actor: Actor, ht: HumanTask) -> bool:
    """_group_clause for one loaded task: the actor belongs to its candidate group (municipal
    tasks: also to its municipality)."""
    if ht.candidate_group is None:
        return False
    if ht.candidate_group == "kommune":
        return "kommune" in actor.groups and ht.municipality_ags in actor.municipalities
    return ht.candidate_group in actor.groups


def _visible(actor: Actor, ht: HumanTask) -> bool:
    """_visible_clause for one loaded task (the two must agree; tests/unit/test_task_visibility)."""
    return (ht.assignee_id is not None and ht.assignee_id == actor.user_id) \
        or _in_candidate_group(actor, ht)


def _ensure_visible(actor: Actor, ht: HumanTask | None) -> HumanTask:
    """404 alike for unknown and foreign tasks."""
    if ht is None or not _visible(actor, ht):
        raise NotFound("Aufgabe nicht gefunden.", code="task_not_found")
    return ht


_TASK_BY_ID = select(HumanTask).where(HumanTask.task_id == bindparam("task_id"))
_TASK_AND_INSTANCE = (select(HumanTask, ProcessInstance)
                      .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
                      .where(HumanTask.task_id == bindparam("task_id")))


def _get_visible_task(session: Session, actor: Actor, task_id: str) -> HumanTask:
    """The task if the actor may see it; 404 alike for unknown and foreign tasks."""
    return _ensure_visible(actor, session.scalar(_TASK_BY_ID, {"task_id": str(task_id)}))


def get_task(platform: Platform, actor: Actor, task_id: str) -> dict:
    with platform.db.unit_of_work() as session:
        ht = _get_visible_task(session, actor, task_id)
        instance = session.get(ProcessInstance, ht.instance_id)
        forms_by_name = instances.forms_of(platform, session, instance.definition_id)
        schema = forms_by_name.get(ht.form_schema) if ht.form_schema else None
        ui_schema = forms_by_name.get(ht.form_ui_schema) if ht.form_ui_schema else None
        data: dict = {}
        documentation = context = None
        if ht.completed_at is None and instance.status == "running":
            loaded = instances.load(platform, session, instance)
            engine_task = find_task(loaded.workflow, ht.task_id)
            if engine_task is not None:
                documentation = getattr(engine_task.task_spec, "documentation", None)
                # the loaded spec's own properties (a multi-instance task keeps them on its
                # child spec, which the per-definition map by BPMN id does not see)
                task_props = (getattr(engine_task.task_spec, "extensions", None) or {}).get(
                    "properties") or task_rules.task_properties(platform, session, ht)
                data = _prefill(schema, task_props, engine_task.data)
                context = task_context.build(platform, session, task_props, forms_by_name,
                                             engine_task.data)
        if ht.draft:  # a draft never overrides what the server owns (readOnly)
            data = forms.server_values(schema or {}, {**data, **ht.draft}, data)
        result = brief(ht, _usernames(session, {ht.assignee_id} if ht.assignee_id else set()))
        result.update(form_schema=schema, ui_schema=ui_schema, data=data,
                      documentation=documentation, instance_status=instance.status,
                      context=context)
        return result


def _engine_data(workflow, task_id: str) -> dict:  # noqa: ANN001
    task = find_task(workflow, task_id)
    return dict(task.data) if task is not None else {}


def _prefill(schema: dict | None, task_props: dict, data: dict) -> dict:
    """The form starts with the case's values of its fields — unless the model says the form
    asks someone else than the case's author (prefillForm="false", e.g. a partner's reply
    whose field names equal the lead's)."""
    if str(task_props.get("prefillForm", "true")).lower() == "false":
        return {}
    props = (schema or {}).get("properties", {})
    return {k: v for k, v in data.items() if k in props}


def claim(platform: Platform, actor: Actor, task_id: str) -> dict:
    """Take an open task (again taking one's own is a no-op); of concurrent claims by
    different users exactly one wins, the others get 409."""
    with platform.db.unit_of_work() as session:
        ht = _get_visible_task(session, actor, task_id)
        _ensure_open(ht)
        if ht.assignee_id not in (None, actor.user_id):
            raise _already_claimed()
        if not _in_candidate_group(actor, ht):
            raise Forbidden("Sie gehören nicht zur zuständigen Gruppe.", code="not_candidate")
        task_rules.before_claim(platform, session, actor, ht)  # four eyes (BPMN property)
        if ht.assignee_id is None:
            _take(session, actor, ht)
        return brief(ht, {actor.user_id: actor.username})


def _take(session: Session, actor: Actor, ht: HumanTask) -> None:
    """Assign the task only if it is still open and free: the assignee read before may be
    stale (PostgreSQL re-checks the condition after a concurrent commit; SQLite writers queue)."""
    taken = session.execute(
        update(HumanTask).where(HumanTask.id == ht.id, HumanTask.completed_at.is_(None),
                                HumanTask.assignee_id.is_(None))
        .values(assignee_id=actor.user_id).execution_options(synchronize_session=False))
    if taken.rowcount != 1:
        if session.scalar(select(HumanTask.assignee_id).where(HumanTask.id == ht.id)) != actor.user_id:
            raise _already_claimed()
    else:
        audit.record(session, actor, "task.claimed", "human_task", ht.task_id,
                     instance_id=ht.instance_id, after=actor.username)
    set_committed_value(ht, "assignee_id", actor.user_id)


def _already_claimed() -> Conflict:
    return Conflict("Die Aufgabe wurde bereits von jemand anderem übernommen.", code="already_claimed")


def unclaim(platform: Platform, actor: Actor, task_id: str) -> dict:
    with platform.db.unit_of_work() as session:
        ht = _get_visible_task(session, actor, task_id)
        _ensure_open(ht)
        if ht.assignee_id != actor.user_id and not actor.is_admin:
            raise Forbidden("Nur die bearbeitende Person kann die Aufgabe zurückgeben.",
                            code="not_assignee")
        before = ht.assignee_id
        ht.assignee_id = None
        audit.record(session, actor, "task.unclaimed", "human_task", ht.task_id,
                     instance_id=ht.instance_id, before=str(before))
        return brief(ht, {})


def _ensure_open(ht: HumanTask) -> None:
    if ht.completed_at is not None:
        raise Conflict("Die Aufgabe ist bereits erledigt.", code="task_completed")


def complete(platform: Platform, actor: Actor, task_id: str, data: object) -> dict:
    with platform.db.unit_of_work() as session:
        row = session.execute(_TASK_AND_INSTANCE, {"task_id": str(task_id)}).first()
        ht = _ensure_visible(actor, row[0] if row else None)
        instance = row[1]
        _ensure_open(ht)
        if ht.assignee_id not in (None, actor.user_id):
            raise Forbidden("Die Aufgabe wird von einer anderen Person bearbeitet.",
                            code="claimed_by_other")
        # An unassigned task is visible only through the actor's candidate groups
        # (_visible_clause): membership is already proven, no second query.
        if instance.status != "running":
            raise Conflict(f"Der Vorgang ist im Status „{instance.status}“.",
                           code="instance_not_running")
        forms_by_name = instances.forms_of(platform, session, instance.definition_id)
        schema = forms_by_name.get(ht.form_schema) if ht.form_schema else None
        if not isinstance(data, dict):
            raise Invalid("Die Formulardaten müssen ein Objekt sein.",
                          errors=[{"path": "", "message": "Objekt erwartet."}])
        instances.claim(session, instance)
        loaded = instances.load(platform, session, instance)
        if schema is not None:  # readOnly values are compared with the task's own data
            data = forms.validate(schema, data, _engine_data(loaded.workflow, ht.task_id))
        task_rules.before_complete(platform, session, actor, ht, loaded.workflow, data)
        audit.record(session, actor, "task.completed", "human_task", ht.task_id,
                     instance_id=instance.id, before="open", after="completed",
                     details={"task": ht.name})
        instances.advance(
            platform, session, actor, loaded,
            lambda wf: platform.runtime.complete_user_task(wf, ht.task_id, data),
            completed_task_id=ht.task_id)
        ht.draft = None
        return {"task": brief(ht, {}), "instance": {
            "id": instance.id, "status": instance.status,
            "error_message": actor.error_text(instance.error_message)}}


# --- used by the web UI (drafts, hand-over, follow-up) ------------------------------------------

MAX_DRAFT_BYTES = 256 * 1024


def group_clause(actor: Actor):  # noqa: ANN201
    """Public form of the group-inbox condition (None when the actor has no group inbox)."""
    return _group_clause(actor)


def _ensure_editor(actor: Actor, ht: HumanTask) -> None:
    """The assignee, or (unassigned) a member of the candidate group, may work on the task."""
    if ht.assignee_id == actor.user_id:
        return
    if ht.assignee_id is not None:
        raise Forbidden("Die Aufgabe wird von einer anderen Person bearbeitet.",
                        code="claimed_by_other")
    if not _in_candidate_group(actor, ht):
        raise Forbidden("Sie gehören nicht zur zuständigen Gruppe.", code="not_candidate")


def save_draft(platform: Platform, actor: Actor, task_id: str, data: dict) -> dict:
    """Keep unvalidated form input as the task's draft (shown again when the form is opened)."""
    if not isinstance(data, dict):
        raise Invalid("Der Entwurf muss ein Objekt sein.",
                      errors=[{"path": "", "message": "Objekt erwartet."}])
    if len(str(data)) > MAX_DRAFT_BYTES:
        raise Invalid("Der Entwurf ist zu groß.", code="payload_too_large")
    with platform.db.unit_of_work() as session:
        ht = _get_visible_task(session, actor, task_id)
        _ensure_open(ht)
        _ensure_editor(actor, ht)
        ht.draft = data
        audit.record(session, actor, "task.draft_saved", "human_task", ht.task_id,
                     instance_id=ht.instance_id)
        return brief(ht, _usernames(session, {ht.assignee_id} if ht.assignee_id else set()))


def candidates(session: Session, ht: HumanTask) -> list[User]:
    """Active users who belong to the task's candidate group (and, for municipal tasks, to its
    municipality)."""
    if not ht.candidate_group:
        return []
    q = select(User).join(User.groups).where(Group.name == ht.candidate_group, User.active)
    if ht.candidate_group == "kommune":
        q = q.join(User.municipalities).where(Municipality.ags == ht.municipality_ags)
    return list(session.scalars(q.order_by(User.username)).unique())


def colleagues(platform: Platform, actor: Actor, task_id: str) -> list[dict]:
    """Who the task can be handed over to (the candidate group without the actor)."""
    with platform.db.unit_of_work() as session:
        ht = _get_visible_task(session, actor, task_id)
        return [{"username": u.username, "display_name": u.display_name or u.username}
                for u in candidates(session, ht) if u.id != actor.user_id]


def hand_over(platform: Platform, actor: Actor, task_id: str, username: str) -> dict:
    """Assign the task to a colleague of its candidate group."""
    with platform.db.unit_of_work() as session:
        ht = _get_visible_task(session, actor, task_id)
        _ensure_open(ht)
        if not actor.is_admin:
            _ensure_editor(actor, ht)
        target = next((u for u in candidates(session, ht) if u.username == username), None)
        if target is None:
            raise Invalid("Die Aufgabe kann nur an ein Mitglied der zuständigen Gruppe "
                          "übergeben werden.", code="not_a_colleague",
                          errors=[{"path": "/username", "message": "Bitte wählen Sie eine Person "
                                   "aus der zuständigen Gruppe."}])
        before = ht.assignee_id
        ht.assignee_id = target.id
        audit.record(session, actor, "task.handed_over", "human_task", ht.task_id,
                     instance_id=ht.instance_id, before=str(before) if before else None,
                     after=target.username)
        return brief(ht, {target.id: target.username})


def set_follow_up(platform: Platform, actor: Actor, task_id: str, when: datetime | None) -> dict:
    """Set or clear the follow-up date (Wiedervorlage) of an open task."""
    with platform.db.unit_of_work() as session:
        ht = _get_visible_task(session, actor, task_id)
        _ensure_open(ht)
        _ensure_editor(actor, ht)
        ht.follow_up_at = when
        audit.record(session, actor, "task.follow_up", "human_task", ht.task_id,
                     instance_id=ht.instance_id, after=when.isoformat() if when else None)
        return brief(ht, _usernames(session, {ht.assignee_id} if ht.assignee_id else set()))
