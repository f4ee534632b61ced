"""Acceptance (issue 5, release): a second person releases the allocation; one Phase 1
instance and one Zuweisungsbescheid per municipality — exactly once, even when the release is
requested and approved twice and every job is delivered again. Two real Celery workers
generate the 422 PDFs (slow: about a minute)."""

from __future__ import annotations

import os
import time

import pytest
from sqlalchemy import func, select

from app.models import (
    BudgetPosition,
    Document,
    OperatorEffect,
    Phase1Case,
    ProcessInstance,
    ServiceJob,
)
from app.services import allocation
from tests.integration.phase1_support import (
    BUDGET_16_MIO,
    JAHR,
    clean_masterdata,  # noqa: F401 - fixture
    setup_hessen,
)
from tests.integration.worker_support import wait_for


def _scalar(platform, query):  # noqa: ANN001, ANN202
    with platform.db.unit_of_work() as s:
        return s.scalar(query)


def _open_job_ids(platform, operator: str) -> list[int]:  # noqa: ANN001
    with platform.db.unit_of_work() as s:
        return list(s.scalars(select(ServiceJob.id).where(
            ServiceJob.operator == operator, ServiceJob.status.in_(("pending", "sent")))
            .order_by(ServiceJob.id)))


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("TEST_DB", "sqlite") != "postgres",
                    reason="422 PDFs through real workers: run once per CI, on the PostgreSQL pass")
def test_release_twice_starts_422_instances_and_422_bescheide_exactly_once(
        login, platform, clean_masterdata, celery_processes):  # noqa: F811
    setup_hessen(login, platform)
    sb1, sb2 = login("sb1"), login("sb2")
    first = sb1.post(f"/api/phase1/years/{JAHR}/release-requests", json={"note": "Programm"})
    again = sb1.post(f"/api/phase1/years/{JAHR}/release-requests", json={})
    assert (first.status_code, again.status_code) == (201, 200)
    run_id = first.get_json()["id"]
    assert again.get_json()["id"] == run_id and first.get_json()["sum_cents"] == BUDGET_16_MIO

    # two real worker processes share the bulk start and the 422 PDFs (2 cores)
    celery_processes("worker")
    celery_processes("worker")
    started = time.monotonic()
    approved = sb2.post(f"/api/phase1/runs/{run_id}/approve")
    assert approved.status_code == 200, approved.get_json()
    assert approved.get_json()["created"] is True
    for user in ("sb2", "hmind1"):  # the release sent again: nothing new
        repeat = login(user).post(f"/api/phase1/runs/{run_id}/approve").get_json()
        assert repeat["created"] is False and repeat["status"] == "released"
    assert sb1.post(f"/api/phase1/years/{JAHR}/release-requests", json={}).status_code == 409

    def progress() -> dict:
        return sb1.get(f"/api/phase1/runs/{run_id}").get_json()["fortschritt"]

    seen = wait_for(lambda: progress()["gestartet"] == 422 and progress(), 180,
                    message="422 cases started")
    assert seen["gesamt"] == 422 and seen["ausstehend"] == 0
    final = wait_for(lambda: (p := progress())["abgeschlossen"] and p, 300,
                     message="422 Zuweisungsbescheide")
    elapsed = time.monotonic() - started

    # every job delivered once more (a lost acknowledgement, a relay): nothing happens twice
    with platform.db.unit_of_work() as s:
        job_ids = list(s.scalars(select(ServiceJob.id).where(ServiceJob.operator.in_(
            ("phase1_instanzen_starten", "phase1_zuweisungsbescheid")))))
    assert len(job_ids) == 423
    platform.publish(job_ids)
    assert allocation.start_all_pending(platform, run_id)["gestartet"] == 0
    time.sleep(3)
    wait_for(lambda: not _open_job_ids(platform, "phase1_zuweisungsbescheid"), 60,
             message="no open jobs")

    assert _scalar(platform, select(func.count()).select_from(ProcessInstance).where(
        ProcessInstance.process_key == "phase1_zuweisung")) == 422
    assert _scalar(platform, select(func.count(func.distinct(Phase1Case.instance_id))).where(
        Phase1Case.run_id == run_id, Phase1Case.status == "started")) == 422
    assert _scalar(platform, select(func.count()).select_from(Document).where(
        Document.kind == "zuweisungsbescheid")) == 422
    assert _scalar(platform, select(func.count(func.distinct(Document.instance_id))).where(
        Document.kind == "zuweisungsbescheid")) == 422
    assert _scalar(platform, select(func.count()).select_from(OperatorEffect).where(
        OperatorEffect.operator == "phase1_zuweisungsbescheid")) == 422
    assert final["bescheide_erzeugt"] == 422 == progress()["bescheide_erzeugt"]
    # every case bound its Zuweisung: together exactly the budget
    assert _scalar(platform, select(BudgetPosition.gebunden_cents).where(
        BudgetPosition.haushaltsjahr == JAHR,
        BudgetPosition.titel == allocation.PHASE1_TITEL)) == BUDGET_16_MIO
    print(f"\nrelease → 422 cases with Zuweisungsbescheid on 2 workers: {elapsed:.1f} s")
