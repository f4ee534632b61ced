"""Celery tasks: ids in, a service call, nothing else."""

from __future__ import annotations

from app.services import jobs, outbox, timers

from .celery_app import celery, platform


@celery.task(name="workers.tasks.run_service_job", acks_late=True)
def run_service_job(job_id: int) -> str:
    return jobs.execute(platform(), job_id)


@celery.task(name="workers.tasks.relay_outbox")
def relay_outbox() -> int:
    return outbox.relay(platform())


@celery.task(name="workers.tasks.fire_timers")
def fire_timers() -> int:
    return len(timers.fire_due(platform()))
