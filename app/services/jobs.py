"""Service jobs: the outbox of service tasks, their execution, retries and incidents.

A job row is written in the same transaction as the engine state that left the service task
STARTED. Execution happens outside any transaction; its result is applied in a new one. The
instance's service task is completed at most once: a job already `done` is never applied again,
and the instance version claim turns a racing duplicate into a no-op.

While the operator runs, a heartbeat thread renews the job's short lease (JOB_RUN_LEASE_SECONDS);
the relay hands a job whose lease ran out (its worker died) to another worker. The job runs in
its own lane, so the jobs it causes go to the same queue (see outbox).
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from app.models import HumanTask, ProcessInstance, ServiceJob

from . import audit, instances, outbox
from .context import SYSTEM, Actor
from .errors import Conflict, Forbidden, NotFound
from .operators import BpmnError, OperatorContext
from .platform import Platform

log = logging.getLogger(__name__)


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Ticket:
    job_id: int
    instance_id: int
    task_id: str
    operator: str
    params: dict
    attempt: int
    idempotency_key: str
    lane: str = outbox.INTERACTIVE


def open_jobs(platform: Platform, limit: int = 100) -> list[ServiceJob]:
    """Jobs not yet finished (pending, sent or running)."""
    with platform.db.unit_of_work() as session:
        return list(session.scalars(select(ServiceJob).where(
            ServiceJob.status.in_(("pending", "sent", "running")))
            .order_by(ServiceJob.id).limit(limit)))


def begin(platform: Platform, job_id: int) -> Ticket | None:
    """Count an attempt; None when the job needs no (more) execution."""
    with platform.db.unit_of_work() as session:
        job = session.get(ServiceJob, job_id, with_for_update=not platform.db.is_sqlite)
        if job is None or job.status in ("done", "cancelled", "failed"):
            return None
        if job.status == "running" and _lease_end(platform, job) > now():
            return None  # another worker is on it (its heartbeat keeps the lease)
        if job.status == "pending" and job.available_at > now():
            return None  # a retry that is not due yet
        job.attempts += 1
        job.status, job.sent_at = "running", now()
        job.lease_until = now() + timedelta(seconds=platform.settings.JOB_RUN_LEASE_SECONDS)
        return Ticket(job.id, job.instance_id, job.task_id, job.operator, dict(job.params),
                      job.attempts, f"{job.instance_id}:{job.task_id}:{job.series}",
                      job.lane or outbox.INTERACTIVE)


def _lease_end(platform: Platform, job: ServiceJob) -> datetime:
    if job.lease_until is not None:
        return job.lease_until
    return (job.sent_at or now()) + timedelta(seconds=platform.settings.JOB_RUN_LEASE_SECONDS)


def renew_lease(platform: Platform, ticket: Ticket) -> bool:
    """Extend the lease of a job this worker runs; False when the job is no longer ours."""
    until = now() + timedelta(seconds=platform.settings.JOB_RUN_LEASE_SECONDS)
    with platform.db.unit_of_work() as session:
        renewed = session.execute(
            update(ServiceJob).where(ServiceJob.id == ticket.job_id,
                                     ServiceJob.status == "running",
                                     ServiceJob.attempts == ticket.attempt)
            .values(lease_until=until).execution_options(synchronize_session=False))
        return renewed.rowcount == 1


class Heartbeat:
    """Renews a running job's lease in a background thread until stopped."""

    def __init__(self, platform: Platform, ticket: Ticket):
        s = platform.settings
        self.interval = max(0.2, min(s.JOB_HEARTBEAT_SECONDS, s.JOB_RUN_LEASE_SECONDS / 3))
        self.platform, self.ticket = platform, ticket
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{ticket.job_id}",
                                        daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                if not renew_lease(self.platform, self.ticket):
                    return  # finished, cancelled or taken over: nothing left to keep
            except Exception:  # noqa: BLE001 - database away: try again on the next beat
                log.warning("lease of job %s not renewed", self.ticket.job_id, exc_info=True)


def execute(platform: Platform, job_id: int) -> str:
    """Run one job now (the worker's body). Returns the job's resulting status."""
    ticket = begin(platform, job_id)
    if ticket is None:
        return "skipped"
    with outbox.lane(ticket.lane):
        return _run(platform, ticket)


def _run(platform: Platform, ticket: Ticket) -> str:
    operator = platform.operators.get(ticket.operator)
    if operator is None:
        return fail(platform, ticket, f"Unbekannter Operator „{ticket.operator}“.", "", final=True)
    context = OperatorContext(ticket.instance_id, ticket.task_id, ticket.attempt,
                              ticket.idempotency_key, platform)
    try:
        with Heartbeat(platform, ticket):
            result = operator.fn(ticket.params, context)
    except BpmnError as exc:
        return throw_bpmn_error(platform, ticket, exc)
    except Exception as exc:  # noqa: BLE001 - every operator failure is recorded
        final = ticket.attempt >= operator.retries
        return fail(platform, ticket, f"{type(exc).__name__}: {exc}", traceback.format_exc(),
                    final=final, backoff=operator.backoff_seconds)
    return complete(platform, ticket, result)


def complete(platform: Platform, ticket: Ticket, result: object) -> str:
    """Apply the operator's result; a concurrent change of the instance is retried."""
    for attempt in range(6):
        try:
            return _complete_once(platform, ticket, result)
        except Conflict:
            time.sleep(0.05 * 2 ** attempt)
    return _complete_once(platform, ticket, result)


def _complete_once(platform: Platform, ticket: Ticket, result: object) -> str:
    with platform.db.unit_of_work() as session:
        job = session.get(ServiceJob, ticket.job_id)
        if job.status in ("done", "cancelled"):
            return job.status
        instance = session.get(ProcessInstance, job.instance_id)
        if instance.status == "suspended":
            job.status, job.available_at = "pending", now() + timedelta(seconds=30)
            return "deferred"  # the operator's effects are idempotent; apply after resume
        if instance.status not in ("running", "incident"):
            job.status, job.finished_at = "cancelled", now()
            return job.status
        instances.claim(session, instance)
        if instance.status == "incident":
            instance.status = "running"
        loaded = instances.load(platform, session, instance)
        job.status, job.finished_at, job.last_error = "done", now(), None
        audit.record(session, SYSTEM, "service.completed", "service_job", job.id,
                     instance_id=instance.id, details={"operator": job.operator,
                                                       "attempt": ticket.attempt})
        instances.advance(platform, session, SYSTEM, loaded,
                          lambda wf: platform.runtime.complete_service_task(wf, job.task_id, result))
        return "done"


def throw_bpmn_error(platform: Platform, ticket: Ticket, exc: BpmnError) -> str:
    with platform.db.unit_of_work() as session:
        job = session.get(ServiceJob, ticket.job_id)
        instance = session.get(ProcessInstance, job.instance_id)
        instances.claim(session, instance)
        loaded = instances.load(platform, session, instance)
        job.status, job.finished_at, job.last_error = "done", now(), f"BPMN-Fehler {exc.code}: {exc.message}"
        audit.record(session, SYSTEM, "service.bpmn_error", "service_job", job.id,
                     instance_id=instance.id, details={"code": exc.code, "message": exc.message})
        instances.advance(platform, session, SYSTEM, loaded, lambda wf: platform.runtime.throw_error(
            wf, job.task_id, exc.code, exc.message, exc.payload))
        return "done"


def fail(platform: Platform, ticket: Ticket, message: str, tb: str, *, final: bool,
         backoff: float = 10.0) -> str:
    with platform.db.unit_of_work() as session:
        job = session.get(ServiceJob, ticket.job_id)
        if job.status != "running" or job.attempts != ticket.attempt:
            return "superseded"  # another worker took the job over (or finished it)
        job.last_error, job.traceback = message, tb
        if not final:
            job.status = "pending"
            job.available_at = now() + timedelta(seconds=backoff * 2 ** (ticket.attempt - 1))
            audit.record(session, SYSTEM, "service.retry", "service_job", job.id,
                         instance_id=job.instance_id, message=message,
                         details={"attempt": ticket.attempt, "next": job.available_at.isoformat()})
            return "retry"
        job.status, job.finished_at = "failed", now()
        instance = session.get(ProcessInstance, job.instance_id)
        before = instance.status
        instances.claim(session, instance)
        instance.status = "incident"
        instance.error_message = message
        instance.error_task_id = job.task_id
        audit.record(session, SYSTEM, "incident.created", "service_job", job.id,
                     instance_id=instance.id, before=before, after="incident", message=message)
        return "failed"


def retry_incident(platform: Platform, actor: Actor, job_id: int) -> ServiceJob:
    """Re-dispatch a failed job with a fresh attempt series."""
    if not (actor.is_admin or "sachbearbeitung" in actor.groups):
        raise Forbidden("Nur Administration und Sachbearbeitung dürfen Störungen wiederholen.")
    with platform.db.unit_of_work() as session:
        job = session.get(ServiceJob, job_id)
        if job is None:
            raise NotFound("Störung nicht gefunden.", code="incident_not_found")
        if job.status != "failed":
            raise Conflict("Nur gescheiterte Service-Aufgaben können wiederholt werden.",
                           code="not_an_incident")
        job.status, job.attempts, job.series = "pending", 0, job.series + 1
        job.available_at, job.finished_at = now(), None
        instance = session.get(ProcessInstance, job.instance_id)
        if instance.status == "incident":
            instances.claim(session, instance)
            instance.status, instance.error_message = "running", None
        session.flush()
        outbox.mark_sent_after_commit(platform, session, [job])
        audit.record(session, actor, "incident.retried", "service_job", job.id,
                     instance_id=job.instance_id)
        return job


def list_incidents(platform: Platform, actor: Actor) -> list[dict]:
    if not (actor.is_admin or "sachbearbeitung" in actor.groups):
        raise Forbidden("Nur Administration und Sachbearbeitung sehen Störungen.")
    with platform.db.unit_of_work() as session:
        rows = session.scalars(select(ServiceJob).where(ServiceJob.status == "failed")
                               .order_by(ServiceJob.id)).all()
        failed = [{"id": j.id, "kind": "service", "instance_id": j.instance_id,
                   "task_id": j.task_id, "task_name": j.task_name, "operator": j.operator,
                   "attempts": j.attempts, "error": j.last_error, "traceback": j.traceback,
                   "failed_at": j.finished_at} for j in rows]
        return failed + _failed_instances(session)


def _failed_instances(session) -> list[dict]:  # noqa: ANN001
    """Cases the engine stopped (`error`): a failed script, expression or task assignment."""
    rows = session.scalars(select(ProcessInstance).where(ProcessInstance.status == "error")
                           .order_by(ProcessInstance.id).limit(500)).all()
    titles = dict(session.execute(select(HumanTask.task_id, HumanTask.title).where(
        HumanTask.task_id.in_([i.error_task_id for i in rows if i.error_task_id]))).all())
    return [{"id": i.id, "kind": "instance", "instance_id": i.id, "task_id": i.error_task_id,
             "task_name": titles.get(i.error_task_id) or i.process_key, "operator": None,
             "attempts": None, "error": i.error_message, "traceback": None,
             "failed_at": i.updated_at} for i in rows]
