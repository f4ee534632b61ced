"""What the web UI asks of the inbox: filtered, sorted pages of tasks, counts for the start page,
saved filters, comments, and the task page's view of a task and its case."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from app.models import (
    HumanTask,
    Municipality,
    ProcessDefinition,
    ProcessInstance,
    SavedFilter,
    TaskComment,
    User,
)

from . import audit, case_titles, processes, start_data, tasks
from .context import Actor
from .definitions import can_start
from .errors import Conflict, Forbidden, Invalid, NotFound
from .platform import Platform

SORTS = {
    "due": (HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.id),
    "created": (HumanTask.created_at.desc(), HumanTask.id.desc()),
    "title": (HumanTask.title, HumanTask.id),
    "process": (HumanTask.process_key, HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.id),
    "follow_up": (HumanTask.follow_up_at.is_(None), HumanTask.follow_up_at, HumanTask.id),
}
DUE_FILTERS = ("overdue", "week", "follow_up", "none")
SCOPES = ("mine", "groups")
MAX_FILTERS = 20
MAX_COMMENT = 5000
SOON = timedelta(days=3)


def now() -> datetime:
    return datetime.now(UTC)


# --- inbox ----------------------------------------------------------------------------------------

def _base_query(actor: Actor, scope: str):  # noqa: ANN202
    open_tasks = select(HumanTask).where(HumanTask.completed_at.is_(None))
    if scope == "mine":
        return open_tasks.where(HumanTask.assignee_id == actor.user_id)
    clause = tasks.group_clause(actor)
    return None if clause is None else open_tasks.where(clause)


def list_inbox(platform: Platform, actor: Actor, *, scope: str = "groups",
               process_key: str | None = None, municipality: str | None = None,
               due: str | None = None, unassigned: bool = False, sort: str = "due",
               page: int = 1, per_page: int = 20) -> dict:
    """One page of the actor's open tasks ("mine" or "groups") with filters and sort order."""
    scope = scope if scope in SCOPES else "groups"
    sort = sort if sort in SORTS else "due"
    page, per_page = max(1, page), min(max(1, per_page), 100)
    empty = {"items": [], "total": 0, "page": 1, "per_page": per_page, "pages": 1}
    q = _base_query(actor, scope)
    if q is None:
        return empty
    q = _apply_filters(q, process_key, municipality, due, unassigned)
    with platform.db.unit_of_work() as session:
        total = session.scalar(select(func.count()).select_from(q.subquery()))
        pages = max(1, -(-total // per_page))
        page = min(page, pages)
        rows = session.scalars(q.order_by(*SORTS[sort])
                               .offset((page - 1) * per_page).limit(per_page)).all()
        return {"items": describe_tasks(session, rows), "total": total, "page": page,
                "per_page": per_page, "pages": pages}


def _apply_filters(q, process_key, municipality, due, unassigned):  # noqa: ANN001, ANN202
    if process_key:
        q = q.where(HumanTask.process_key == process_key)
    if municipality:
        q = q.where(HumanTask.municipality_ags == municipality)
    current = now()
    if due == "overdue":
        q = q.where(HumanTask.due_at < current)
    elif due == "week":
        q = q.where(HumanTask.due_at <= current + timedelta(days=7))
    elif due == "follow_up":
        q = q.where(HumanTask.follow_up_at <= current)
    elif due == "none":
        q = q.where(HumanTask.due_at.is_(None))
    if unassigned:
        q = q.where(HumanTask.assignee_id.is_(None))
    return q


def describe_tasks(session: Session, rows: list[HumanTask]) -> list[dict]:
    users = user_names(session, {r.assignee_id for r in rows if r.assignee_id})
    places = municipality_names(session, {r.municipality_ags for r in rows})
    names = process_names(session)
    instances = {i: (key, case_titles.shown(i, title, key)) for i, key, title in session.execute(
        select(ProcessInstance.id, ProcessInstance.business_key, ProcessInstance.title)
        .where(ProcessInstance.id.in_({r.instance_id for r in rows})))} if rows else {}
    current = now()
    items = []
    for r in rows:
        item = tasks.brief(r, {k: v["username"] for k, v in users.items()})
        item.update(
            assignee_name=users.get(r.assignee_id, {}).get("display_name"),
            municipality_name=places.get(r.municipality_ags),
            process_name=names.get(r.process_key, r.process_key),
            business_key=instances.get(r.instance_id, (None, None))[0],
            case_title=instances.get(r.instance_id, (None, None))[1],
            overdue=bool(r.due_at and r.due_at < current),
            due_soon=bool(r.due_at and current <= r.due_at <= current + SOON),
            follow_up_due=bool(r.follow_up_at and r.follow_up_at <= current),
            assignee_id=r.assignee_id,
        )
        items.append(item)
    return items


def user_names(session: Session, ids: set[int]) -> dict[int, dict]:
    if not ids:
        return {}
    rows = session.execute(select(User.id, User.username, User.display_name)
                           .where(User.id.in_(ids))).all()
    return {i: {"username": u, "display_name": d or u} for i, u, d in rows}


def municipality_names(session: Session, codes: set[str | None]) -> dict[str, str]:
    codes = {c for c in codes if c}
    if not codes:
        return {}
    return dict(session.execute(select(Municipality.ags, Municipality.name)
                                .where(Municipality.ags.in_(codes))).all())


def process_names(session: Session) -> dict[str, str]:
    """Name of the latest version of every deployed process."""
    rows = session.execute(select(ProcessDefinition.key, ProcessDefinition.name)
                           .order_by(ProcessDefinition.key, ProcessDefinition.version)).all()
    return {k: n or k for k, n in rows}


def process_choices(platform: Platform) -> list[tuple[str, str]]:
    """(key, name) of every deployed process, sorted by name (for filter forms)."""
    with platform.db.unit_of_work() as session:
        return sorted(process_names(session).items(), key=lambda kv: kv[1])


def counts(platform: Platform, actor: Actor) -> dict:
    """What needs the actor now: own tasks, unclaimed group tasks, overdue, follow-ups due."""
    current = now()
    with platform.db.unit_of_work() as session:
        def count(q) -> int:  # noqa: ANN001
            return session.scalar(select(func.count()).select_from(q.subquery())) if q is not None else 0

        mine = _base_query(actor, "mine")
        groups = _base_query(actor, "groups")
        unclaimed = groups.where(HumanTask.assignee_id.is_(None)) if groups is not None else None
        relevant = mine.where(HumanTask.due_at < current)
        overdue = count(relevant)
        if unclaimed is not None:
            overdue += count(unclaimed.where(HumanTask.due_at < current))
        return {
            "mine": count(mine), "groups": count(unclaimed), "overdue": overdue,
            "follow_up": count(mine.where(HumanTask.follow_up_at <= current)),
        }


def filter_options(platform: Platform, actor: Actor) -> dict:
    """Processes and municipalities that occur in the actor's open tasks (for the filter form)."""
    with platform.db.unit_of_work() as session:
        mine = HumanTask.assignee_id == actor.user_id
        clause = tasks.group_clause(actor)
        visible = or_(mine, clause) if clause is not None else mine
        rows = session.execute(select(HumanTask.process_key, HumanTask.municipality_ags).where(
            HumanTask.completed_at.is_(None), visible).distinct()).all()
        names = process_names(session)
        places = municipality_names(session, {a for _, a in rows})
        return {
            "processes": sorted({(k, names.get(k, k)) for k, _ in rows}, key=lambda p: p[1]),
            "municipalities": sorted(places.items(), key=lambda p: p[1]),
        }


# --- saved filters --------------------------------------------------------------------------------

FILTER_KEY = re.compile(r"^[a-z_]{1,30}$")


def list_filters(platform: Platform, actor: Actor) -> list[dict]:
    with platform.db.unit_of_work() as session:
        rows = session.scalars(select(SavedFilter).where(SavedFilter.user_id == actor.user_id)
                               .order_by(SavedFilter.name)).all()
        return [{"id": f.id, "name": f.name, "params": f.params} for f in rows]


def save_filter(platform: Platform, actor: Actor, name: str, params: dict) -> dict:
    """Save (or overwrite) a named inbox filter of the actor."""
    name = (name or "").strip()
    if not 1 <= len(name) <= 100:
        raise Invalid("Bitte geben Sie dem Filter einen Namen (höchstens 100 Zeichen).",
                      code="invalid_filter_name",
                      errors=[{"path": "/name", "message": "Name fehlt oder ist zu lang."}])
    clean = {k: str(v)[:120] for k, v in list(params.items())[:12]
             if FILTER_KEY.match(k) and v not in (None, "")}
    with platform.db.unit_of_work() as session:
        row = session.scalar(select(SavedFilter).where(
            SavedFilter.user_id == actor.user_id, SavedFilter.name == name))
        if row is None:
            existing = session.scalar(select(func.count()).select_from(SavedFilter).where(
                SavedFilter.user_id == actor.user_id))
            if existing >= MAX_FILTERS:
                raise Conflict(f"Sie können höchstens {MAX_FILTERS} Filter speichern.",
                               code="too_many_filters")
            row = SavedFilter(user_id=actor.user_id, name=name, params=clean)
            session.add(row)
        else:
            row.params = clean
        session.flush()
        return {"id": row.id, "name": row.name, "params": row.params}


def delete_filter(platform: Platform, actor: Actor, filter_id: int) -> None:
    with platform.db.unit_of_work() as session:
        row = session.get(SavedFilter, filter_id)
        if row is None or row.user_id != actor.user_id:
            raise NotFound("Filter nicht gefunden.", code="filter_not_found")
        session.delete(row)


# --- start page -----------------------------------------------------------------------------------

def startable(platform: Platform, actor: Actor) -> list[dict]:
    """The latest version of every process the actor may start."""
    with platform.db.unit_of_work() as session:
        latest = select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("v")) \
            .group_by(ProcessDefinition.key).subquery()
        rows = session.scalars(select(ProcessDefinition).join(latest, and_(
            ProcessDefinition.key == latest.c.key, ProcessDefinition.version == latest.c.v))
            .order_by(ProcessDefinition.name)).all()
        return [{"key": d.key, "name": d.name or d.key, "version": d.version}
                for d in rows if can_start(actor, d)
                and not start_data.declaration(platform, session, d).internal]


def recent_cases(platform: Platform, actor: Actor, *, limit: int = 10, process_key=None,  # noqa: ANN001
                 status=None, municipality=None, page: int = 1) -> dict:  # noqa: ANN001
    """A page of the cases the actor may see, with municipality and process names."""
    result = processes.list_instances(platform, actor, process_key=process_key, status=status,
                                      municipality=municipality, page=max(1, page), per_page=limit)
    with platform.db.unit_of_work() as session:
        places = municipality_names(session, {i["municipality_ags"] for i in result["items"]})
        names = process_names(session)
    for item in result["items"]:
        item["municipality_name"] = places.get(item["municipality_ags"])
        item["process_name"] = names.get(item["process_key"], item["process_key"])
    result["pages"] = max(1, -(-result["total"] // limit))
    return result


def first_task_for(platform: Platform, actor: Actor, instance_id: int) -> str | None:
    """The id of an open task of the instance the actor can work on now (for "start → form")."""
    with platform.db.unit_of_work() as session:
        clause = tasks.group_clause(actor)
        mine = HumanTask.assignee_id == actor.user_id
        unclaimed = and_(HumanTask.assignee_id.is_(None), clause) if clause is not None else None
        who = or_(mine, unclaimed) if unclaimed is not None else mine
        return session.scalar(select(HumanTask.task_id).where(
            HumanTask.instance_id == instance_id, HumanTask.completed_at.is_(None), who)
            .order_by(HumanTask.id).limit(1))


# --- comments -------------------------------------------------------------------------------------

# who reads and writes internal notes: the Bewilligungsstelle (not applicants, Ressorts, evaluators
# or the associations, who see only the messages to all parties)
INTERNAL_NOTE_GROUPS = frozenset({"sachbearbeitung", "bewilligung", "admin"})


def reads_internal_notes(actor: Actor) -> bool:
    return bool(actor.groups & INTERNAL_NOTE_GROUPS)


def add_comment(platform: Platform, actor: Actor, instance_id: int, text: str,
                task_id: str | None = None, *, internal: bool = False) -> dict:
    if internal and not reads_internal_notes(actor):
        raise Forbidden("Interne Notizen schreibt nur die Bewilligungsstelle.",
                        code="internal_note_forbidden")
    text = (text or "").strip()
    if not text:
        raise Invalid("Bitte geben Sie einen Kommentar ein.", code="comment_empty",
                      errors=[{"path": "/text", "message": "Der Kommentar ist leer."}])
    if len(text) > MAX_COMMENT:
        raise Invalid(f"Ein Kommentar darf höchstens {MAX_COMMENT} Zeichen lang sein.",
                      code="comment_too_long",
                      errors=[{"path": "/text", "message": f"Höchstens {MAX_COMMENT} Zeichen."}])
    with platform.db.unit_of_work() as session:
        processes.get_visible(session, actor, instance_id)
        title = None
        if task_id:
            ht = session.scalar(select(HumanTask).where(
                HumanTask.task_id == task_id, HumanTask.instance_id == instance_id))
            if ht is None:
                raise NotFound("Aufgabe nicht gefunden.", code="task_not_found")
            title = ht.title
        row = TaskComment(instance_id=instance_id, task_id=task_id, task_title=title,
                          user_id=actor.user_id, username=actor.username, text=text,
                          internal=internal)
        session.add(row)
        session.flush()
        audit.record(session, actor, "comment.added", "task_comment", row.id,
                     instance_id=instance_id, details={"task": title})
        return comment_dict(row, {})


def comments(session: Session, actor: Actor, instance_id: int) -> list[dict]:
    """The comments this actor may read: internal notes only for the Bewilligungsstelle."""
    query = select(TaskComment).where(TaskComment.instance_id == instance_id)
    if not reads_internal_notes(actor):
        query = query.where(TaskComment.internal.is_(False))
    rows = session.scalars(query.order_by(TaskComment.id)).all()
    users = user_names(session, {r.user_id for r in rows if r.user_id})
    return [comment_dict(r, users) for r in rows]


def comment_dict(r: TaskComment, users: dict[int, dict]) -> dict:
    return {"id": r.id, "task_id": r.task_id, "task_title": r.task_title,
            "username": r.username, "author": users.get(r.user_id, {}).get("display_name", r.username),
            "text": r.text, "created_at": r.created_at, "internal": bool(r.internal)}
