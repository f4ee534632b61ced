"""Acceptance: 20 threads completing the same task → exactly one 200, the rest 409."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from app.models import AuditEntry, HumanTask
from tests.integration.helpers import open_tasks


def test_twenty_threads_completing_the_same_task_exactly_one_wins(app, login, demo_ags, platform):
    kommune = login(f"kommune-{demo_ags[0]}")
    r = kommune.post("/api/process-instances", json={"process_key": "demo_antrag"})
    iid = r.get_json()["id"]
    [task] = open_tasks(kommune, iid)
    headers = kommune.headers
    barrier = threading.Barrier(20)
    statuses: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        client = app.test_client()
        barrier.wait()
        resp = client.post(f"/api/tasks/{task['id']}/complete", headers=headers, json={"data": {
            "vorhaben": "Gleichzeitig", "betrag": 100, "thema": "verwaltung"}})
        with lock:
            statuses.append(resp.status_code)

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(statuses) == [200] + [409] * 19, statuses
    with platform.db.unit_of_work() as s:
        audits = s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.instance_id == iid, AuditEntry.action == "task.completed"))
        open_count = s.scalar(select(func.count()).select_from(HumanTask).where(
            HumanTask.instance_id == iid, HumanTask.completed_at.is_(None)))
    assert audits == 1
    assert open_count == 1  # exactly the next task (antrag_pruefen)
    detail = kommune.get(f"/api/process-instances/{iid}").get_json()
    assert detail["status"] == "running"
    assert [t["name"] for t in detail["current_tasks"]] == ["antrag_pruefen"]
