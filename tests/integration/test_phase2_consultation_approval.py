"""Acceptance (issue 4): Ressort consultation (mapped ministries + Finanzen, reminder and
escalation after the deadline) and Bewilligung (four eyes, Haushaltsverfügbarkeit routed to a
clerk's task, Bewilligungsbescheid PDF by e-mail)."""

# ruff: noqa: F811 - pytest fixtures imported from the support modules

from __future__ import annotations

from datetime import date, timedelta

from app.services import timers
from tests.integration.helpers import open_tasks, pdf_text, run_jobs
from tests.integration.mail_support import smtp_server  # noqa: F401 - fixture
from tests.integration.phase2_support import (  # noqa: F401 - login fixture
    budget,
    complete,
    login,
    one_task,
    ressort_tasks,
    to_consultation,
)


def _travel(platform, iid: int, days: int) -> None:  # noqa: ANN001
    timers.time_travel(platform, iid, timedelta(days=days))
    timers.fire_due(platform)
    run_jobs(platform)


def test_consultation_asks_exactly_the_mapped_ministries_then_reminds_and_escalates(
        login, platform, smtp_server):
    _call, app = to_consultation(login, platform, themen=("verwaltung", "mobilitaet", "energie"))
    tasks = ressort_tasks(login, app)
    assert set(tasks) == {"innern", "wirtschaft", "finanzen"}  # mapping + Finanzen, once each
    assert {t["candidate_group"] for t in tasks.values()} == {
        "ressort-innern", "ressort-wirtschaft", "ressort-finanzen"}
    assert open_tasks(login("ressort-gesundheit"), app) == []
    assert login("ressort-gesundheit").get(f"/api/process-instances/{app}").status_code == 404
    complete(login("ressort-wirtschaft"), tasks["wirtschaft"], {
        "votum": "mit_auflagen", "stellungnahme_text": "Grundsätzlich einverstanden.",
        "auflagen": "Offene Mobilitätsdaten sind im Mobilitätsdatenportal bereitzustellen."})
    smtp_server.messages.clear()
    _travel(platform, app, 15)  # the 14-day deadline passes: reminder, no escalation yet
    [reminder] = smtp_server.messages
    assert "Erinnerung" in reminder["Subject"]
    assert set(reminder["To"].split(", ")) == {"poststelle@hmdis.hessen.example",
                                               "poststelle@hmdf.hessen.example"}
    assert [t["name"] for t in open_tasks(login("sb1"), app)] == []
    _travel(platform, app, 7)  # Nachfrist passes: escalation to sachbearbeitung
    sb = login("sb1")
    escalation = one_task(sb, app, "beteiligung_eskalation")
    assert ressort_tasks(login, app) == {}  # the missing opinions' tasks were withdrawn
    complete(sb, escalation, {"eskalation_entscheidung": "ohne_fortfahren",
                              "eskalation_vermerk": "Fortfahren ohne Innern und Finanzen."})
    run_jobs(platform)
    data = sb.get(f"/api/process-instances/{app}").get_json()["data"]
    assert [s["ressort"] for s in data["stellungnahmen"]] == ["wirtschaft"]
    assert sorted(data["fehlende_ressorts"]) == ["finanzen", "innern"]
    task = one_task(sb, app, "bescheid_vorbereiten")
    form = sb.get(f"/api/tasks/{task['id']}").get_json()
    assert form["data"]["nebenbestimmungen_zusatz"] == [
        "Hessisches Ministerium für Wirtschaft, Energie, Verkehr, Wohnen und ländlichen Raum: "
        "Offene Mobilitätsdaten sind im Mobilitätsdatenportal bereitzustellen."]


def _consulted(login, platform) -> int:  # noqa: ANN001
    _call, app = to_consultation(login, platform)
    for code, task in ressort_tasks(login, app).items():
        complete(login(f"ressort-{code}"), task, {"votum": "zustimmend",
                                                  "stellungnahme_text": "Keine Bedenken."})
    run_jobs(platform)
    return app


def test_four_eyes_budget_check_and_bescheid(login, platform, smtp_server):
    app = _consulted(login, platform)
    year = date.today().year + 1
    positions = budget(login, [year, year + 1], ansatz_cents=50_000_000)  # too little in both
    leitung, hmind, sv = login("sb-leitung"), login("hmind1"), login("sv-staedtetag")
    task = one_task(leitung, app, "bescheid_vorbereiten")
    proposal = leitung.get(f"/api/tasks/{task['id']}").get_json()["data"]
    assert proposal["zuwendung_cents"] == 187_500_000
    assert proposal["beginn"] == f"{year}-01-01"
    assert proposal["betraege_je_jahr"] == [{"jahr": year, "betrag_cents": 93_750_000},
                                            {"jahr": year + 1, "betrag_cents": 93_750_000}]
    bad = {**proposal, "bewilligung_begruendung": "Ausgewählt in der vergleichenden Bewertung.",
           "betraege_je_jahr": [{"jahr": year, "betrag_cents": 1}]}
    r = leitung.post(f"/api/tasks/{task['id']}/complete", json={"data": bad})
    assert r.status_code == 422 and r.get_json()["errors"][0]["path"] == "/betraege_je_jahr"
    complete(leitung, task, {**bad, "betraege_je_jahr": proposal["betraege_je_jahr"]})
    run_jobs(platform)
    # Haushaltsverfügbarkeit fails: a clerk's task, not an incident
    detail = leitung.get(f"/api/process-instances/{app}").get_json()
    assert detail["status"] == "running"
    klaeren = one_task(login("sb1"), app, "haushalt_klaeren")
    meldung = login("sb1").get(f"/api/tasks/{klaeren['id']}").get_json()["data"]["haushalt_meldung"]
    assert "reichen nicht" in meldung
    assert login("sb1").get("/api/incidents").get_json() == []
    for pos in positions.values():
        r = login("sb1").patch(f"/api/budget-positions/{pos}", json={
            "ansatz_cents": 1_000_000_000, "vermerk": "Umschichtung aus Titel 883 02"})
        assert r.status_code == 200, r.get_json()
    complete(login("sb1"), klaeren, {"haushalt_entscheidung": "erneut_pruefen",
                                     "haushalt_vermerk": "Mittel wurden umgeschichtet."})
    run_jobs(platform)
    [pos] = login("sb1").get("/api/budget-positions", query_string={"haushaltsjahr": year}).get_json()
    assert pos["gebunden_cents"] == 93_750_000
    # four eyes: the preparer may not approve, even as a member of the group bewilligung
    freigabe = one_task(leitung, app, "bewilligung_freigeben")
    r = leitung.post(f"/api/tasks/{freigabe['id']}/claim")
    assert r.status_code == 403 and r.get_json()["code"] == "four_eyes"
    r = leitung.post(f"/api/tasks/{freigabe['id']}/complete", json={"data": {"freigabe": "freigegeben"}})
    assert r.status_code == 403 and r.get_json()["code"] == "four_eyes"
    complete(hmind, freigabe, {"freigabe": "freigegeben"})
    complete(sv, one_task(sv, app, "mitzeichnung"), {"verband": "staedtetag",
                                                     "mitzeichnung": "mitgezeichnet"})
    run_jobs(platform)
    data = hmind.get(f"/api/process-instances/{app}").get_json()["data"]
    assert data["bewilligt"] is True
    docs = hmind.get(f"/api/process-instances/{app}/documents").get_json()
    [bescheid] = [d for d in docs if d["filename"].startswith("Bewilligungsbescheid")]
    text = pdf_text(hmind.get(bescheid["download_url"]).data)
    assert "1.875.000,00 €" in text and data["aktenzeichen"] in text
    assert "Rechtsbehelfsbelehrung" in text and "ANBest-Gk" in text
    assert "625.000,00 €" in text  # Eigenanteil
    assert f"{year} 937.500,00 €" in text
    assert f"30.04.{year + 1}" in text and f"30.06.{year + 2}" in text  # ZN, VN due dates
    [mail] = [m for m in smtp_server.messages if "Bewilligungsbescheid" in m["Subject"]]
    assert mail["To"] == f"lead-{data['municipality_ags']}@kommune.example"
    [att] = list(mail.iter_attachments())
    assert att.get_filename() == bescheid["filename"]
