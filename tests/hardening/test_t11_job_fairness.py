"""T11 (issue 11, finding 9) — bulk work must not starve a person's service step, and a dead
worker's job must move on quickly while a slow but alive one keeps it. Real Celery worker
processes: the embedded SQLAlchemy broker on the SQLite run, Redis on the PostgreSQL run.

- bulk jobs (a mass start, timers, any batch) go to the bulk queue, a person's step to the
  interactive queue; a worker serving only the interactive queue (as `make run` and
  docker-compose start one) runs it at once, however long the bulk backlog;
- a running job renews a short lease (heartbeat); the relay re-sends a job whose lease ran out, so
  a SIGKILLed worker's job is taken over within the default lease (30 s), its effect still once;
- an operator that runs longer than the lease but is alive is not run a second time.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from app.config import Settings
from app.models import AuditEntry, OperatorEffect, ServiceJob
from app.services import jobs, outbox
from tests.integration.helpers import deploy
from tests.integration.phase1_support import (  # noqa: F401 - clean_masterdata is a fixture
    JAHR,
    clean_masterdata,
    setup_hessen,
)
from tests.integration.test_workers import service_process
from tests.integration.worker_support import CeleryProcess, count_rows, instance_status, wait_for

BULK_JOBS = 200
TEST_SLOW = 0.25  # seconds per bulk job (tests.operators.slow)




def _job(platform, iid: int) -> ServiceJob:  # noqa: ANN001
    with platform.db.unit_of_work() as s:
        job = s.scalar(select(ServiceJob).where(ServiceJob.instance_id == iid))
        s.expunge(job)
        return job


def _start(user, key: str) -> int:  # noqa: ANN001
    r = user.post("/api/process-instances", json={"process_key": key})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def _runs(flag_dir, iid: int) -> int:  # noqa: ANN001
    path = flag_dir / f"runs-{iid}"
    return len(path.read_text().splitlines()) if path.exists() else 0


@pytest.fixture
def workers(worker_env, tmp_path):  # noqa: ANN001, ANN201
    """Starts worker processes with extra arguments (e.g. -Q) and stops them afterwards."""
    started: list[CeleryProcess] = []

    def start(*extra: str, kind: str = "worker", env: dict | None = None) -> CeleryProcess:
        log = tmp_path / f"{kind}-{len(started)}.log"
        proc = CeleryProcess(kind, env or worker_env, log, extra).start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


@pytest.fixture
def cancel_leftovers(platform):  # noqa: ANN001, ANN201
    """Bulk jobs still open when a test ends are cancelled, so no later relay re-sends them."""
    yield
    with platform.db.unit_of_work() as s:
        s.execute(update(ServiceJob).where(ServiceJob.status.in_(("pending", "sent", "running")))
                  .values(status="cancelled"))


def test_interactive_step_does_not_wait_behind_a_bulk_backlog(
        login, platform, worker_env, workers, flag_dir, cancel_leftovers):
    assert deploy(login("modeler1"), {"svc_slow.bpmn": service_process(
        "svc_slow", "test_slow")}).status_code in (200, 201)
    sb = login("sb1")
    with outbox.lane(outbox.BULK):  # what a mass start does
        bulk = [_start(sb, "svc_slow") for _ in range(BULK_JOBS)]
    assert {_job(platform, i).lane for i in bulk[:3]} == {"bulk"}
    workers()  # serves both queues
    workers("-Q", worker_env["CELERY_QUEUE"])  # the interactive queue only
    wait_for(lambda: list(flag_dir.glob("done-*")), 60, message="the bulk backlog is being worked")
    started = time.monotonic()
    iid = _start(sb, "svc_slow")  # a person's step
    assert _job(platform, iid).lane == "interactive"
    wait_for(lambda: instance_status(platform, iid) == "completed", 120, 0.05,
             message="interactive job completed")
    waited = time.monotonic() - started
    open_bulk = count_rows(platform, ServiceJob, ServiceJob.instance_id.in_(bulk),
                       ServiceJob.status != "done")
    print(f"\ninteractive service step: {waited:.2f} s with {open_bulk} of {BULK_JOBS} bulk jobs "
          f"still queued ({TEST_SLOW} s each)")
    assert open_bulk > BULK_JOBS // 2, (waited, open_bulk)


def test_sigkilled_workers_job_is_taken_over_within_the_default_lease_exactly_once(
        login, platform, worker_env, workers, flag_dir, cancel_leftovers):
    defaults = Settings()
    env = {**worker_env, "JOB_RUN_LEASE_SECONDS": str(defaults.JOB_RUN_LEASE_SECONDS),
           "JOB_HEARTBEAT_SECONDS": str(defaults.JOB_HEARTBEAT_SECONDS)}
    assert deploy(login("modeler1"), {"svc_count.bpmn": service_process(
        "svc_count", "test_count_and_block")}).status_code in (200, 201)
    (flag_dir / "block").touch()
    first = workers(env=env)
    iid = _start(login("sb1"), "svc_count")
    wait_for(lambda: _runs(flag_dir, iid) == 1, 60, message="the operator runs")
    workers(env=env)
    workers(kind="beat", env=env)
    time.sleep(2 * min(defaults.JOB_HEARTBEAT_SECONDS, defaults.JOB_RUN_LEASE_SECONDS / 3))
    first.kill()  # mid-operator, no chance to ack or clean up
    killed = time.monotonic()
    wait_for(lambda: _runs(flag_dir, iid) == 2, 90, 0.1, message="another worker took over")
    takeover = time.monotonic() - killed
    print(f"\ntakeover after SIGKILL: {takeover:.1f} s (lease {defaults.JOB_RUN_LEASE_SECONDS} s, "
          f"heartbeat {defaults.JOB_HEARTBEAT_SECONDS} s)")
    assert takeover <= 45, takeover
    (flag_dir / "block").unlink()
    wait_for(lambda: instance_status(platform, iid) == "completed", 60, message="completed")
    assert count_rows(platform, OperatorEffect, OperatorEffect.instance_id == iid) == 1
    assert count_rows(platform, AuditEntry, AuditEntry.instance_id == iid,
                  AuditEntry.action == "service.completed") == 1
    assert _job(platform, iid).attempts == 2


def test_alive_operator_running_longer_than_its_lease_is_not_run_twice(
        login, platform, worker_env, workers, flag_dir, cancel_leftovers):
    lease = platform.settings.JOB_RUN_LEASE_SECONDS  # short in the test environment (4 s)
    assert int(worker_env["JOB_RUN_LEASE_SECONDS"]) == lease <= 5
    assert deploy(login("modeler1"), {"svc_count.bpmn": service_process(
        "svc_count", "test_count_and_block")}).status_code in (200, 201)
    (flag_dir / "block").touch()
    workers()
    iid = _start(login("sb1"), "svc_count")
    wait_for(lambda: _runs(flag_dir, iid) == 1, 60, message="the operator runs")
    workers()  # a second worker and the relay, ready to take over a lapsed lease
    workers(kind="beat")
    time.sleep(3 * lease + 2)
    assert _runs(flag_dir, iid) == 1
    (flag_dir / "block").unlink()
    wait_for(lambda: instance_status(platform, iid) == "completed", 60, message="completed")
    time.sleep(1)
    assert _runs(flag_dir, iid) == 1
    assert _job(platform, iid).attempts == 1
    assert count_rows(platform, OperatorEffect, OperatorEffect.instance_id == iid) == 1
    assert count_rows(platform, AuditEntry, AuditEntry.instance_id == iid,
                  AuditEntry.action == "service.completed") == 1


def test_phase1_release_sends_its_422_bescheide_to_the_bulk_queue(
        login, platform, clean_masterdata, cancel_leftovers):  # noqa: F811
    """The released allocation starts one case per municipality on a worker (the mass start);
    every Zuweisungsbescheid job goes to the bulk queue."""
    setup_hessen(login, platform)
    run = login("sb1").post(f"/api/phase1/years/{JAHR}/release-requests", json={}).get_json()
    assert "id" in run, run
    assert login("sb2").post(f"/api/phase1/runs/{run['id']}/approve").status_code == 200
    with platform.db.unit_of_work() as s:
        starter = s.scalar(select(ServiceJob).where(
            ServiceJob.operator == "phase1_instanzen_starten", ServiceJob.status == "sent")
            .order_by(ServiceJob.id.desc()).limit(1))
        assert starter.lane == "bulk"
        starter_id = starter.id
    assert jobs.execute(platform, starter_id) == "done"  # the mass start, as a worker runs it
    with platform.db.unit_of_work() as s:
        lanes = dict(s.execute(select(ServiceJob.lane, func.count()).where(
            ServiceJob.operator == "phase1_zuweisungsbescheid").group_by(ServiceJob.lane)).all())
    assert lanes == {"bulk": 422}


class _Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []

    def publish(self, job_ids: list[int], lane: str = "interactive") -> None:
        self.sent += [(i, lane) for i in job_ids]


def test_relay_resends_each_job_to_its_lanes_queue_and_only_lapsed_leases(
        login, platform, monkeypatch, cancel_leftovers):
    assert deploy(login("modeler1"), {"svc_slow.bpmn": service_process(
        "svc_slow", "test_slow")}).status_code in (200, 201)
    recorder = _Recorder()
    monkeypatch.setattr(platform, "publisher", recorder)
    sb = login("sb1")
    with outbox.lane(outbox.BULK):
        lost_bulk, dead_bulk = _start(sb, "svc_slow"), _start(sb, "svc_slow")
    lost, alive = _start(sb, "svc_slow"), _start(sb, "svc_slow")
    assert [lane for _, lane in recorder.sent] == ["bulk", "bulk", "interactive", "interactive"]
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    with platform.db.unit_of_work() as s:
        s.execute(update(ServiceJob).where(ServiceJob.instance_id.in_((lost_bulk, lost)))
                  .values(sent_at=long_ago))  # the broker lost them
        s.execute(update(ServiceJob).where(ServiceJob.instance_id == dead_bulk).values(
            status="running", sent_at=long_ago, lease_until=long_ago))  # its worker died
        s.execute(update(ServiceJob).where(ServiceJob.instance_id == alive).values(
            status="running", sent_at=long_ago,  # runs for an hour, its heartbeat keeps it
            lease_until=datetime.now(UTC) + timedelta(seconds=20)))
    recorder.sent.clear()
    outbox.relay(platform)
    by_instance = {_job(platform, i).id: i for i in (lost_bulk, dead_bulk, lost, alive)}
    resent = {by_instance[job_id]: lane for job_id, lane in recorder.sent if job_id in by_instance}
    assert resent == {lost: "interactive", lost_bulk: "bulk", dead_bulk: "bulk"}
    lanes = [lane for _, lane in recorder.sent]
    assert lanes == sorted(lanes, key=lambda lane: lane == "bulk")  # interactive ones first
