"""R8 — timers that fall due while nothing runs fire exactly once after the restart, with two beat
processes scheduling the timer sweep at the same time, for several instances — and again after
the worker itself was killed and restarted while more timers fell due."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import func, select

from app.models import AuditEntry, HumanTask
from app.services import timers
from tests.integration.helpers import open_tasks
from tests.integration.worker_support import wait_for


def _waiting_for_review(kommune, n: int) -> list[int]:  # noqa: ANN001
    """n demo applications waiting in 'antrag_pruefen' (its 14-day timer running)."""
    ids = []
    for i in range(n):
        iid = kommune.post("/api/process-instances", json={"process_key": "demo_antrag"}).get_json()["id"]
        [task] = open_tasks(kommune, iid)
        r = kommune.post(f"/api/tasks/{task['id']}/complete", json={"data": {
            "vorhaben": f"Fristablauf {i}", "betrag": 100, "thema": "umwelt"}})
        assert r.status_code == 200, r.get_json()
        ids.append(iid)
    return ids


def _fired(platform, ids: list[int]) -> dict[int, int]:  # noqa: ANN001
    with platform.db.unit_of_work() as s:
        rows = s.execute(select(AuditEntry.instance_id, func.count()).where(
            AuditEntry.instance_id.in_(ids), AuditEntry.action == "timer.due")
            .group_by(AuditEntry.instance_id)).all()
    counts = dict.fromkeys(ids, 0)
    counts.update(dict(rows))
    return counts


def _escalations(platform, ids: list[int]) -> dict[int, list[str]]:  # noqa: ANN001
    with platform.db.unit_of_work() as s:
        rows = s.execute(select(HumanTask.instance_id, HumanTask.name).where(
            HumanTask.instance_id.in_(ids), HumanTask.completed_at.is_(None))).all()
    result: dict[int, list[str]] = {i: [] for i in ids}
    for iid, name in rows:
        result[iid].append(name)
    return result


def test_timers_due_during_downtime_fire_exactly_once_with_two_beats_and_a_worker_restart(
        as_user, platform, celery_processes):
    kommune = as_user("kommune")
    first = _waiting_for_review(kommune, 4)
    for iid in first:  # the deadline passed while nothing ran
        timers.time_travel(platform, iid, timedelta(days=20))

    worker = celery_processes("worker")
    celery_processes("beat", name="beat-a")
    celery_processes("beat", name="beat-b")  # two overlapping schedulers
    wait_for(lambda: all(n == 1 for n in _fired(platform, first).values()), 60,
             message="every first-wave timer fired")

    # the worker dies; meanwhile more deadlines pass and both beats keep queueing sweeps
    worker.kill()
    second = _waiting_for_review(kommune, 4)
    for iid in second:
        timers.time_travel(platform, iid, timedelta(days=20))
    time.sleep(2)  # several sweeps queue up for the dead worker
    assert all(n == 0 for n in _fired(platform, second).values())
    celery_processes("worker", name="worker-restarted")
    wait_for(lambda: all(n == 1 for n in _fired(platform, second).values()), 60,
             message="every second-wave timer fired after the worker restart")

    time.sleep(3)  # more sweeps from both beats: nothing fires twice
    everyone = first + second
    assert _fired(platform, everyone) == dict.fromkeys(everyone, 1)
    assert _escalations(platform, everyone) == {i: ["eskalation"] for i in everyone}
    sb = as_user("sb1")
    for iid in everyone:
        assert [t["name"] for t in open_tasks(sb, iid)] == ["eskalation"]
