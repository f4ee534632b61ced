"""The Celery app. Thin: tasks take ids and call services; the platform is built lazily per
worker process (nothing connects at import time).

Broker: CELERY_BROKER_URL, or by default kombu's SQLAlchemy transport on a SQLite file under
var/ — a real broker that needs no server, for the quick start.

Queues: CELERY_QUEUE (default `celery`) carries interactive service jobs and the periodic relay;
`<CELERY_QUEUE>.bulk` carries bulk jobs and the timer sweep. A worker started without -Q serves
both; run at least one worker with `-Q <CELERY_QUEUE>` (as `make run` and docker-compose do) so
an interactive job never waits behind a bulk backlog. Neither the Redis nor the SQLAlchemy
transport orders queues strictly (kombu rotates between them), hence the dedicated worker.
"""

from __future__ import annotations

import os
import threading

from celery import Celery
from kombu import Exchange, Queue

from app.config import ROOT, Settings

_platform = None
_lock = threading.Lock()


def default_broker_url() -> str:
    (ROOT / "var").mkdir(parents=True, exist_ok=True)
    return f"sqla+sqlite:///{ROOT / 'var' / 'celery-broker.db'}"


def broker_url(settings: Settings) -> str:
    return settings.CELERY_BROKER_URL or default_broker_url()


def transport_options(url: str) -> dict:
    """Redis: unacked messages come back after the visibility timeout (acks_late + SIGKILL).
    The SQLAlchemy transport hands its options to create_engine, so it gets none."""
    if url.startswith("sqla+"):
        return {}
    return {
        "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "300")),
        "polling_interval": float(os.environ.get("CELERY_POLLING_INTERVAL", "0.5")),
    }


def queue_names(base: str) -> dict[str, str]:
    """Lane → broker queue."""
    return {"interactive": base, "bulk": f"{base}.bulk"}


def make_celery(settings: Settings) -> Celery:
    app = Celery("foerderportal", broker=broker_url(settings), include=["workers.tasks"])
    base = os.environ.get("CELERY_QUEUE", "celery")
    app.conf.update(
        task_default_queue=base,
        # one direct exchange per queue, as Celery creates a missing queue: no shared bindings
        task_queues=[Queue(name, Exchange(name), routing_key=name)
                     for name in queue_names(base).values()],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        timezone="UTC",
        broker_connection_retry_on_startup=True,
        broker_transport_options=transport_options(broker_url(settings)),
        beat_schedule={
            "relay-outbox": {"task": "workers.tasks.relay_outbox",
                             "schedule": float(os.environ.get("RELAY_INTERVAL", "2"))},
            # a sweep over every due timer is batch work: never in the interactive worker's way
            "fire-timers": {"task": "workers.tasks.fire_timers",
                            "schedule": float(os.environ.get("TIMER_INTERVAL", "5")),
                            "options": {"queue": queue_names(base)["bulk"]}},
        },
    )
    return app


celery = make_celery(Settings.from_env())


def platform():  # noqa: ANN201
    """The worker's platform (database, engine), created on first use in this process."""
    global _platform
    with _lock:
        if _platform is None:
            from app.services.platform import Platform

            _platform = Platform.create(Settings.from_env())
            _platform.publisher = CeleryPublisher()
        return _platform


class CeleryPublisher:
    """Sends job ids to their lane's queue; used by the relay and after commits."""

    def publish(self, job_ids: list[int], lane: str = "interactive") -> None:
        from workers.tasks import run_service_job

        queue = queue_names(celery.conf.task_default_queue)[lane]
        for job_id in job_ids:
            run_service_job.apply_async((job_id,), queue=queue)
