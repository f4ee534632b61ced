"""Append-only audit trail writer (same transaction as the change it records)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.models import AuditEntry

from .context import Actor


def record(
    session: Session, actor: Actor, action: str, object_type: str, object_id: object, *,
    instance_id: int | None = None, before: str | None = None, after: str | None = None,
    details: dict | None = None, message: str | None = None,
) -> None:
    session.add(AuditEntry(
        user_id=actor.user_id, username=actor.username, action=action, object_type=object_type,
        object_id=str(object_id), instance_id=instance_id, status_before=before,
        status_after=after, details=details, message=message,
    ))
