"""Timers: fire those whose stored due time has passed (indexed query, claim per instance)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.engine.runtime import shift_timers
from app.models import ProcessInstance

from . import audit, instances, outbox
from .context import SYSTEM
from .errors import Conflict, NotFound
from .platform import Platform


def due_instance_ids(platform: Platform, at: datetime | None = None, limit: int = 200) -> list[int]:
    at = at or datetime.now(UTC)
    with platform.db.unit_of_work() as session:
        return list(session.scalars(
            select(ProcessInstance.id).where(
                ProcessInstance.next_timer_at <= at, ProcessInstance.status == "running")
            .order_by(ProcessInstance.next_timer_at).limit(limit)))


def fire_due(platform: Platform, at: datetime | None = None, limit: int = 200) -> list[int]:
    """Step every instance with a due timer; each in its own transaction. Returns the ids.
    Timers are batch work: the service jobs they cause go to the bulk queue."""
    fired = []
    with outbox.lane(outbox.BULK):
        for instance_id in due_instance_ids(platform, at, limit):
            try:
                if fire_instance(platform, instance_id, at):
                    fired.append(instance_id)
            except Conflict:
                continue  # another beat/worker got there first
    return fired


def fire_instance(platform: Platform, instance_id: int, at: datetime | None = None) -> bool:
    at = at or datetime.now(UTC)
    with platform.db.unit_of_work() as session:
        instance = session.get(ProcessInstance, instance_id)
        if (instance is None or instance.status != "running" or instance.next_timer_at is None
                or instance.next_timer_at > at):
            return False
        instances.claim(session, instance)
        loaded = instances.load(platform, session, instance)
        audit.record(session, SYSTEM, "timer.due", "process_instance", instance.id,
                     instance_id=instance.id, details={"due": instance.next_timer_at.isoformat()})
        instances.advance(platform, session, SYSTEM, loaded, platform.runtime.step)
        return True


def time_travel(platform: Platform, instance_id: int, delta: timedelta) -> None:
    """Pretend `delta` has passed for this instance's waiting timers (admin tool, tests)."""
    with platform.db.unit_of_work() as session:
        instance = session.get(ProcessInstance, instance_id)
        if instance is None:
            raise NotFound("Vorgang nicht gefunden.")
        instances.claim(session, instance)
        loaded = instances.load(platform, session, instance)
        shift_timers(loaded.workflow, -delta)
        instances.persist(session, loaded)
        snap = platform.runtime.snapshot(loaded.workflow)
        instance.next_timer_at = snap.next_timer_at
        audit.record(session, SYSTEM, "timer.time_travel", "process_instance", instance.id,
                     instance_id=instance.id, details={"seconds": delta.total_seconds()})
