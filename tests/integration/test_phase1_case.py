"""Acceptance (issue 5, the Phase 1 process of one municipality): Zuweisungsbescheid, plan
with the volume rule, payment against the ledger, Zwischennachweis deadline with reminder and
escalation, Verwendungsnachweis with 60 % spent → Rückforderung, refund."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.domain.demo import demo_municipalities
from app.models import BudgetPosition, Document, ServiceJob, User
from app.services import documents, jobs, timers
from app.services.allocation import PHASE1_TITEL
from app.services.context import SYSTEM
from tests.integration.helpers import open_tasks, pdf_text
from tests.integration.phase1_support import (
    JAHR,
    clean_imported,
    finanzkraft_csv,
    import_finanzkraft,
    put,
)

AGS = "06490001"  # demo municipality with the demo user kommune-06490001
KOMMUNE = f"kommune-{AGS}"


def _run_jobs(platform, instance_id: int | None = None, operator: str | None = None) -> list:  # noqa: ANN001
    ran = []
    for _ in range(10):
        with platform.db.unit_of_work() as s:
            q = select(ServiceJob.id, ServiceJob.operator).where(
                ServiceJob.status.in_(("pending", "sent")))
            if instance_id is not None:
                q = q.where(ServiceJob.instance_id == instance_id)
            if operator is not None:
                q = q.where(ServiceJob.operator == operator)
            pending = s.execute(q.order_by(ServiceJob.id)).all()
        if not pending:
            return ran
        for job_id, op in pending:
            assert jobs.execute(platform, job_id) == "done", op
            ran.append(op)
    return ran


@pytest.fixture
def released(login, platform):  # noqa: ANN001, ANN201
    """A released allocation over the 30 demo municipalities; the case of AGS is started."""
    clean_imported(platform)
    demo = [m["ags"] for m in demo_municipalities()]
    assert import_finanzkraft(login("admin"), finanzkraft_csv(demo)).status_code == 201
    assert put(login("sb1"), f"/api/phase1/years/{JAHR}",
               {"budget_cents": 100_000_000, "include_demo": True}).status_code == 200
    run = login("sb1").post(f"/api/phase1/years/{JAHR}/release-requests", json={}).get_json()
    assert login("sb2").post(f"/api/phase1/runs/{run['id']}/approve").status_code == 200
    assert _run_jobs(platform, operator="phase1_instanzen_starten") == ["phase1_instanzen_starten"]
    cases = {i["municipality_ags"]: i["id"] for i in login("sb1").get(
        "/api/process-instances", query_string={"process_key": "phase1_zuweisung",
                                                "per_page": 100}).get_json()["items"]}
    assert len(cases) == 30
    yield run, cases[AGS]
    clean_imported(platform)


def _task(user, iid: int, name: str) -> dict:  # noqa: ANN001
    tasks = [t for t in open_tasks(user, iid) if t["name"] == name]
    assert len(tasks) == 1, [t["name"] for t in open_tasks(user, iid)]
    return tasks[0]


def _complete(user, task: dict, data: dict):  # noqa: ANN001, ANN201
    return user.post(f"/api/tasks/{task['id']}/complete", json={"data": data})


def _data(login, iid: int) -> dict:  # noqa: ANN001
    return login("sb1").get(f"/api/process-instances/{iid}").get_json()["data"]


def _position(platform) -> BudgetPosition:  # noqa: ANN001
    with platform.db.unit_of_work() as s:
        return s.scalar(select(BudgetPosition).where(BudgetPosition.haushaltsjahr == JAHR,
                                                     BudgetPosition.titel == PHASE1_TITEL))


def test_plan_payment_reports_and_reclaim_after_60_percent_spent(login, platform, released):  # noqa: ANN001
    _run, iid = released
    assert _run_jobs(platform, iid) == ["phase1_zuweisungsbescheid"]
    data = _data(login, iid)
    bescheid = data["zuweisungsbescheid"]
    zuweisung = bescheid["zuweisung_cents"]
    assert zuweisung >= 750_000 and bescheid["aktenzeichen"] == f"P1-{JAHR}-{AGS}"

    kommune = login(KOMMUNE)
    doc, content = documents.read(platform, SYSTEM, bescheid["document_id"])
    assert doc.kind == "zuweisungsbescheid"
    text = pdf_text(content)
    assert bescheid["aktenzeichen"] in text and "Rechtsbehelfsbelehrung" in text
    assert f"{zuweisung // 100:,}".replace(",", ".") in text  # amount in German format

    # the plan: schema errors and the volume rule are refused with German field messages
    planen = _task(kommune, iid, "massnahmen_planen")
    r = _complete(kommune, planen, {"massnahmen": [
        {"handlungsfeld": "beratung", "bezeichnung": "Beratung", "geplante_kosten": "12.500"}]})
    assert r.status_code == 422
    assert r.get_json()["errors"][0]["path"] == "/massnahmen/0/geplante_kosten"
    mindest = data["mindestvolumen_cents"]
    too_small = (mindest - 100) // 100
    r = _complete(kommune, planen, {"massnahmen": [
        {"handlungsfeld": "beratung", "bezeichnung": "Beratung", "geplante_kosten": str(too_small)}]})
    assert r.status_code == 422  # the domain rule, checked when the task is completed
    error = r.get_json()["errors"][0]
    assert error["path"] == "/massnahmen" and "unterschreitet das Mindestvolumen" in error["message"]
    assert _task(kommune, iid, "massnahmen_planen")["id"] == planen["id"]  # nothing changed

    volumen = (2 * mindest // 1000 + 1) * 1000  # whole tens of euros: 60 % is exact
    half = volumen // 2
    r = _complete(kommune, planen, {"massnahmen": [
        {"handlungsfeld": "strategieentwicklung", "bezeichnung": "Digitalstrategie",
         "geplante_kosten": f"{half // 100},{half % 100:02d}"},
        {"handlungsfeld": "qualifizierung", "bezeichnung": "Schulungen",
         "geplante_kosten": f"{(volumen - half) // 100},{(volumen - half) % 100:02d}"}]})
    assert r.status_code == 200, r.get_json()
    assert _data(login, iid)["geplantes_volumen_cents"] == volumen

    position_before = _position(platform)
    assert _run_jobs(platform, iid) == ["book_payment"]
    position = _position(platform)
    assert position.ausgezahlt_cents - position_before.ausgezahlt_cents == zuweisung
    assert position_before.gebunden_cents - position.gebunden_cents == zuweisung

    zn = _task(kommune, iid, "zwischennachweis")
    assert _complete(kommune, zn, {"sachstand": "Strategie in Arbeit, Schulungen geplant.",
                                   "ausgaben_bisher": "1000", "bestaetigung": True}).status_code == 200

    # Verwendungsnachweis: 60 % of the planned volume spent
    spent = volumen * 60 // 100
    assert spent * 100 == volumen * 60
    vn = _task(kommune, iid, "verwendungsnachweis")
    r = _complete(kommune, vn, {"ist_massnahmen": [
        {"handlungsfeld": "strategieentwicklung", "bezeichnung": "Digitalstrategie",
         "ist_kosten": f"{spent // 100},{spent % 100:02d}"}],
        "sachbericht": "Die Digitalstrategie wurde erarbeitet; Schulungen entfielen.",
        "bestaetigung": True})
    assert r.status_code == 200, r.get_json()

    sb = login("sb1")
    pruefen = _task(sb, iid, "vn_pruefen")
    nachweis = sb.get(f"/api/tasks/{pruefen['id']}").get_json()["context"]["data"]  # issue 12
    assert nachweis["ist_massnahmen"][0]["bezeichnung"] == "Digitalstrategie"
    assert nachweis["sachbericht"].startswith("Die Digitalstrategie wurde erarbeitet")
    r = _complete(sb, pruefen, {"ergebnis": "teilweise_anerkannt", "pruefvermerk": "Belege.",
                                "nicht_foerderfaehig": str(spent // 100 + 1)})
    assert r.status_code == 422
    assert {e["path"] for e in r.get_json()["errors"]} == {"/begruendung"}  # schema: if/then
    r = _complete(sb, pruefen, {"ergebnis": "teilweise_anerkannt", "pruefvermerk": "Belege.",
                                "begruendung": "Rechnung ohne Bezug zur Maßnahme.",
                                "nicht_foerderfaehig": str(spent // 100 + 1)})
    assert r.status_code == 422  # more ineligible than spent
    assert r.get_json()["errors"][0]["path"] == "/nicht_foerderfaehig"
    assert _complete(sb, pruefen, {"ergebnis": "anerkannt", "nicht_foerderfaehig": "0",
                                   "pruefvermerk": "Belege geprüft."}).status_code == 200
    abrechnung = _data(login, iid)["abrechnung"]
    # Anteilfinanzierung: the Zuweisung covers 60 % of itself (rounded half up), 40 % back
    expected = zuweisung - (60 * zuweisung + 50) // 100
    assert abrechnung["rueckforderung_cents"] == expected
    assert abrechnung["ist_kosten_cents"] == spent

    assert _run_jobs(platform, iid) == ["render_document"]
    with platform.db.unit_of_work() as s:
        rf = s.scalar(select(Document).where(Document.instance_id == iid,
                                             Document.kind == "rueckforderungsbescheid"))
        rf_id = rf.id
    text = pdf_text(documents.read(platform, SYSTEM, rf_id)[1])
    euros = f"{expected // 100:,}".replace(",", ".") + f",{expected % 100:02d} €"
    assert euros in text and "Rückforderung" in text

    zahlung = _task(sb, iid, "rueckzahlung_bestaetigen")
    assert _complete(sb, zahlung, {"eingang_am": f"{JAHR + 2}-08-01"}).status_code == 200
    before_refund = _position(platform)
    assert _run_jobs(platform, iid) == ["book_refund"]
    assert before_refund.ausgezahlt_cents - _position(platform).ausgezahlt_cents == expected
    detail = sb.get(f"/api/process-instances/{iid}").get_json()
    assert detail["status"] == "completed"


class Clock:
    """Time travel for one instance: timers move by the difference to the last jump."""

    def __init__(self, platform, iid: int):  # noqa: ANN001
        self.platform, self.iid, self.shifted = platform, iid, timedelta(0)

    def travel_to(self, when: datetime) -> None:
        delta = when - datetime.now(UTC) - self.shifted
        timers.time_travel(self.platform, self.iid, delta)
        self.shifted += delta
        timers.fire_due(self.platform)


def test_missed_zwischennachweis_gives_a_reminder_then_an_escalation_task(
        login, platform, released):  # noqa: ANN001
    _run, iid = released
    with platform.db.unit_of_work() as s:
        user = s.scalar(select(User).where(User.username == KOMMUNE))
        user.email = "digital@auenbach.example"
    try:
        _run_jobs(platform, iid)
        data = _data(login, iid)
        kommune = login(KOMMUNE)
        planen = _task(kommune, iid, "massnahmen_planen")
        assert _complete(kommune, planen, {"massnahmen": [
            {"handlungsfeld": "infrastruktur", "bezeichnung": "WLAN im Rathaus",
             "geplante_kosten": str(data["mindestvolumen_cents"] // 100 + 1)}]}).status_code == 200
        assert _run_jobs(platform, iid) == ["book_payment"]
        assert _task(kommune, iid, "zwischennachweis")["due_at"] is None

        reminder_at = datetime.fromisoformat(data["zwischennachweis_erinnerung"])
        due_at = datetime.fromisoformat(data["zwischennachweis_faellig"])
        assert (reminder_at.date().isoformat(), due_at.date().isoformat()) == (
            f"{JAHR + 1}-04-02", f"{JAHR + 1}-05-01")

        clock = Clock(platform, iid)
        clock.travel_to(reminder_at - timedelta(hours=1))  # not yet
        assert _run_jobs(platform, iid) == []

        clock.travel_to(reminder_at + timedelta(minutes=1))
        assert _run_jobs(platform, iid) == ["phase1_erinnerung"]
        erinnerung = _data(login, iid)["erinnerung_zwischennachweis"]
        assert erinnerung["gesendet"] is True
        assert erinnerung["empfaenger"] == ["digital@auenbach.example"]
        assert f"30.04.{JAHR + 1}" in erinnerung["betreff"]
        sb = login("sb1")
        assert not [t for t in open_tasks(sb, iid) if t["name"] == "zn_eskalation"]

        # the deadline passes without a Zwischennachweis: an escalation task for sachbearbeitung
        clock.travel_to(due_at + timedelta(minutes=1))
        eskalation = _task(sb, iid, "zn_eskalation")
        assert eskalation["candidate_group"] == "sachbearbeitung"
        assert eskalation["title"] == "Zwischennachweis überfällig: nachfassen"
        assert _run_jobs(platform, iid) == []  # no second reminder

        # the municipality can still submit; sachbearbeitung documents the follow-up
        zn = _task(kommune, iid, "zwischennachweis")
        assert _complete(kommune, zn, {"sachstand": "Verspätet, aber vollständig.",
                                       "ausgaben_bisher": "0", "bestaetigung": True}
                         ).status_code == 200
        assert _complete(sb, eskalation, {"massnahme": "erinnert",
                                          "vermerk": "Telefonisch erinnert."}).status_code == 200
        assert _task(kommune, iid, "verwendungsnachweis")
    finally:
        with platform.db.unit_of_work() as s:
            s.scalar(select(User).where(User.username == KOMMUNE)).email = ""


def test_other_municipalities_cannot_see_the_case(login, platform, released):  # noqa: ANN001
    _run, iid = released
    _run_jobs(platform, iid)
    other = login("kommune-06490002")
    assert other.get(f"/api/process-instances/{iid}").status_code == 404
    assert other.get(f"/api/phase1/years/{JAHR}/cases").status_code == 403
    cases = login("sb1").get(f"/api/phase1/years/{JAHR}/cases").get_json()
    assert cases["total"] == 30
    mine = next(c for c in cases["items"] if c["ags"] == AGS)
    assert (mine["instance_id"], mine["status"], mine["instance_status"]) == (iid, "started",
                                                                             "running")
    assert mine["aktenzeichen"] == f"P1-{JAHR}-{AGS}" and mine["gemeinde"] == "Auenbach"
    assert not open_tasks(other, iid)
    assert open_tasks(login(KOMMUNE), iid)
