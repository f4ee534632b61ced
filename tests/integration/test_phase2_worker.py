"""Acceptance (issue 4): a Phase 2 scenario through a real Celery worker process — PDF
rendering, document storage and SMTP delivery happen in the worker, exactly once."""

# ruff: noqa: F811 - pytest fixtures imported from the support modules

from __future__ import annotations

from sqlalchemy import func, select

from app.models import Document, OperatorEffect, ProcessInstance
from tests.integration.helpers import open_tasks, pdf_text
from tests.integration.mail_support import smtp_server  # noqa: F401 - fixture
from tests.integration.phase2_support import complete, login, one_task  # noqa: F401
from tests.integration.worker_support import wait_for


def _status(platform, iid: int) -> str:  # noqa: ANN001
    with platform.db.unit_of_work() as s:
        return s.get(ProcessInstance, iid).status


def test_kdlz_advice_through_a_real_worker_renders_and_mails_once(
        login, platform, smtp_server, celery_processes, worker_env, monkeypatch, demo_ags):
    monkeypatch.setattr(platform.settings, "DOCUMENTS_DIR", worker_env["DOCUMENTS_DIR"])
    celery_processes("worker")
    kommune, sb = login(f"kommune-{demo_ags[0]}"), login("sb1")
    iid = kommune.post("/api/process-instances", json={"process_key": "kdlz_beratung"}).get_json()["id"]
    complete(kommune, one_task(kommune, iid, "anfrage_stellen"), {
        "thema": "infrastruktur", "anliegen": "Beratung zum Informationssicherheitskonzept.",
        "ansprechperson": "Herr Netz", "email": "it@kommune.example"})
    complete(sb, one_task(sb, iid, "termin_planen"), {
        "termin": "2027-03-03T09:00:00+01:00", "beratungsformat": "video", "berater": "Frau Rat"})
    smtp_server.wait_for(1, 60)
    wait_for(lambda: any(t["name"] == "beratung_dokumentieren" for t in open_tasks(sb, iid)),
             60, message="the worker completed the mail task")
    complete(sb, one_task(sb, iid, "beratung_dokumentieren"), {
        "protokoll": "Informationssicherheitskonzept nach BSI-Standard 200-1 besprochen.",
        "empfehlungen": ["IT-Grundschutz-Check durchführen"]})
    wait_for(lambda: _status(platform, iid) == "completed", 90, message="instance completed")
    messages = smtp_server.wait_for(2, 30)
    assert [m["To"] for m in messages] == ["it@kommune.example", "it@kommune.example"]
    [att] = list(messages[1].iter_attachments())
    assert "IT-Grundschutz-Check" in pdf_text(att.get_content())
    [doc] = sb.get(f"/api/process-instances/{iid}/documents").get_json()
    assert pdf_text(sb.get(doc["download_url"]).data) == pdf_text(att.get_content())
    with platform.db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(Document).where(
            Document.instance_id == iid)) == 1
        assert s.scalar(select(func.count()).select_from(OperatorEffect).where(
            OperatorEffect.instance_id == iid)) == 3  # two mails, one document
