"""The outbox relay: sends service jobs that are due and were never (or too long ago) sent.

Job states: pending → sent (handed to the broker) → running (a worker began) → done | failed,
or back to pending for a retry. A job whose send lease or run lease ran out is sent again: the
web process may die between commit and publish, a worker may be SIGKILLed mid-operator, a broker
may lose a message. A running job's lease is short and renewed by the worker's heartbeat, so a
dead worker's job moves on quickly while a slow but alive operator keeps it. Operators carry an
idempotency key; completing the task happens once.

Lanes: a job is `interactive` (a person's step) or `bulk` (a mass start, timers, any batch) and
is sent to that lane's queue, so a person's next service step never waits behind a backlog. Bulk
work runs inside `lane(BULK)` (or is an operator marked `bulk`); a job's follow-up jobs inherit
the lane of the job being executed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, case, or_, select

from app.models import ServiceJob

from .platform import Platform

INTERACTIVE, BULK = "interactive", "bulk"
LANES = (INTERACTIVE, BULK)

_lane: ContextVar[str] = ContextVar("job_lane", default=INTERACTIVE)


@contextmanager
def lane(name: str) -> Iterator[None]:
    """Jobs created inside this block go to the queue of lane `name`."""
    if name not in LANES:
        raise ValueError(f"unknown job lane {name!r}")
    token = _lane.set(name)
    try:
        yield
    finally:
        _lane.reset(token)


def current_lane() -> str:
    return _lane.get()


def lane_of(platform: Platform, job: ServiceJob) -> str:
    operator = platform.operators.get(job.operator)
    return BULK if (operator is not None and operator.bulk) else current_lane()


def due_jobs_clause(platform: Platform, at: datetime):  # noqa: ANN201
    s = platform.settings
    return or_(
        and_(ServiceJob.status == "pending", ServiceJob.available_at <= at),
        and_(ServiceJob.status == "sent",
             ServiceJob.sent_at < at - timedelta(seconds=s.JOB_DISPATCH_LEASE_SECONDS)),
        and_(ServiceJob.status == "running", or_(
            ServiceJob.lease_until < at,
            and_(ServiceJob.lease_until.is_(None),
                 ServiceJob.sent_at < at - timedelta(seconds=s.JOB_RUN_LEASE_SECONDS)))),
    )


def relay(platform: Platform, limit: int = 500) -> int:
    """Mark due jobs as sent and publish them, each to its lane's queue, after the commit.
    Returns how many."""
    at = datetime.now(UTC)
    with platform.db.unit_of_work() as session:
        bulk_last = case((ServiceJob.lane == BULK, 1), else_=0)
        q = (select(ServiceJob).where(due_jobs_clause(platform, at))
             .order_by(bulk_last, ServiceJob.id).limit(limit))
        if not platform.db.is_sqlite:
            q = q.with_for_update(skip_locked=True)
        jobs = session.scalars(q).all()
        for job in jobs:
            job.status, job.sent_at = "sent", at
        _publish_after_commit(platform, session, jobs)
    return len(jobs)


def mark_sent_after_commit(platform: Platform, session, jobs: list[ServiceJob]) -> None:  # noqa: ANN001
    """Called in the transaction that created the jobs: choose their lane and publish them right
    after it commits."""
    at = datetime.now(UTC)
    for job in jobs:
        job.status, job.sent_at = "sent", at
        job.lane = lane_of(platform, job)
    session.flush()
    _publish_after_commit(platform, session, jobs)


def _publish_after_commit(platform: Platform, session, jobs: list[ServiceJob]) -> None:  # noqa: ANN001
    by_lane = {name: [j.id for j in jobs if (j.lane or INTERACTIVE) == name] for name in LANES}
    for name, ids in by_lane.items():
        if ids:
            session.info.setdefault("after_commit", []).append(
                lambda ids=ids, name=name: platform.publish(ids, name))
