"""Append-only audit trail writer (same transaction as the change it records).

Entries are collected on the session and written in one multi-row INSERT just before the
transaction commits (no ORM objects: nothing reads an entry back before the commit, and the
insert needs no generated keys). A rolled-back transaction drops them with everything else.
"""

from __future__ import annotations

from sqlalchemy import event, insert
from sqlalchemy.orm import Session

from app.models import AuditEntry
from app.models.base import utcnow

from .context import Actor

_PENDING = "audit_pending"
_TABLE = AuditEntry.__table__


def record(
    session: Session, actor: Actor, action: str, object_type: str, object_id: object, *,
    instance_id: int | None = None, before: str | None = None, after: str | None = None,
    details: dict | None = None, message: str | None = None,
) -> None:
    pending = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = []
    pending.append(dict(
        at=utcnow(), user_id=actor.user_id, username=actor.username, action=action,
        object_type=object_type, object_id=str(object_id), instance_id=instance_id,
        status_before=before, status_after=after, details=details, message=message,
    ))


def write_pending(session: Session) -> None:
    """Write the entries recorded in this transaction so far (before reading the trail)."""
    rows = session.info.pop(_PENDING, None)
    if rows:
        session.connection().execute(insert(_TABLE), rows)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    write_pending(session)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous_transaction) -> None:  # noqa: ANN001
    if not session.in_transaction():
        session.info.pop(_PENDING, None)
