"""Service jobs: the outbox of service tasks, their execution, retries and incidents.

A job row is written in the same transaction as the engine state that left the service task
STARTED. Execution happens outside any transaction; its result is applied in a new one. The
instance's service task is completed at most once: a job already `done` is never applied again,
and the instance version claim turns a racing duplicate into a no-op.
"""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

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
        lease = timedelta(seconds=platform.settings.JOB_RUN_LEASE_SECONDS)
        if job.status == "running" and job.sent_at and job.sent_at > now() - lease:
            return None  # another worker is on it
        if job.status == "pending" and job.available_at > now():
            return None  # a retry that is not due yet
        job.attempts += 1
        job.status, job.sent_at = "running", now()
        return Ticket(job.id, job.instance_id, job.task_id, job.operator, dict(job.params),
                      job.attempts, f"{job.instance_id}:{job.task_id}:{job.series}")


def execute(platform: Platform, job_id: int) -> str:
    """Run one job now (the worker's body). Returns the job's resulting status."""
    ticket = begin(platform, job_id)
    if ticket is None:
        return "skipped"
    operator = platform.operators.get(ticket.operator)
    if operator is None:
        return fail(platform, ticket, f"Unbekannter Operator „{ticket.operator}“.", "", final=True)
    context = OperatorContext(ticket.instance_id, ticket.task_id, ticket.attempt,
                              ticket.idempotency_key, platform)
    try:
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
