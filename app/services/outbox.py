"""The outbox relay: sends service jobs that are due and were never (or too long ago) sent.

Job states: pending → sent (handed to the broker) → running (a worker began) → done | failed,
or back to pending for a retry. A job whose send or run lease ran out is sent again: the web
process may die between commit and publish, a worker may be SIGKILLed mid-operator, a broker
may lose a message. Operators carry an idempotency key; completing the task happens once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, or_, select

from app.models import ServiceJob

from .platform import Platform


def due_jobs_clause(platform: Platform, at: datetime):  # noqa: ANN201
    s = platform.settings
    return or_(
        and_(ServiceJob.status == "pending", ServiceJob.available_at <= at),
        and_(ServiceJob.status == "sent",
             ServiceJob.sent_at < at - timedelta(seconds=s.JOB_DISPATCH_LEASE_SECONDS)),
        and_(ServiceJob.status == "running",
             ServiceJob.sent_at < at - timedelta(seconds=s.JOB_RUN_LEASE_SECONDS)),
    )


def relay(platform: Platform, limit: int = 500) -> int:
    """Mark due jobs as sent and publish them after the commit. Returns how many."""
    at = datetime.now(UTC)
    with platform.db.unit_of_work() as session:
        q = select(ServiceJob).where(due_jobs_clause(platform, at)).order_by(ServiceJob.id).limit(limit)
        if not platform.db.is_sqlite:
            q = q.with_for_update(skip_locked=True)
        jobs = session.scalars(q).all()
        for job in jobs:
            job.status, job.sent_at = "sent", at
        ids = [j.id for j in jobs]
        session.info.setdefault("after_commit", []).append(lambda: platform.publish(ids))
    return len(ids)


def mark_sent_after_commit(platform: Platform, session, jobs: list[ServiceJob]) -> None:  # noqa: ANN001
    """Called in the transaction that created the jobs: publish right after it commits."""
    at = datetime.now(UTC)
    for job in jobs:
        job.status, job.sent_at = "sent", at
    session.flush()
    ids = [j.id for j in jobs]
    session.info.setdefault("after_commit", []).append(lambda: platform.publish(ids))
