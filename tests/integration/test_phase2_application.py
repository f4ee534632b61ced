"""Acceptance (issue 4): cluster application rules with German field messages, partner
confirmation, DigiCheck reuse, completeness check with a Rückfrage deadline."""

# ruff: noqa: F811 - pytest fixtures imported from the support modules

from __future__ import annotations

from datetime import timedelta

from app.services import timers
from tests.integration.helpers import open_tasks, pdf_text, run_jobs
from tests.integration.phase2_support import (  # noqa: F401 - login fixture
    complete,
    group,
    login,
    one_task,
    seed_digichecks,
    start_application,
    start_call,
    submit_application,
)


def _submit(login, iid: int, lead: str, data: dict):  # noqa: ANN001, ANN202
    user = login(f"kommune-{lead}")
    return user.post(f"/api/tasks/{one_task(user, iid, 'antrag_erfassen')['id']}/complete",
                     json={"data": data})


def _messages(r) -> dict[str, str]:  # noqa: ANN001
    assert r.status_code == 422, r.get_json()
    return {e["path"]: e["message"] for e in r.get_json()["errors"]}


def test_each_rule_violation_is_refused_with_a_german_message_naming_the_field(login, platform):
    start_call(login, platform)
    sued_klein, sued_gross = group("Süd", "klein"), group("Süd", "groß")
    nord_klein = group("Nord", "klein")
    iid, valid = start_application(login, sued_klein)
    lead = sued_klein[0]
    # four members (lead + three partners): the form schema refuses it
    msgs = _messages(_submit(login, iid, lead, {**valid, "partner": valid["partner"][:3]}))
    assert "Partnerkommunen" in msgs["/partner"] and "4" in msgs["/partner"]
    # mixed Landesteile
    mixed = valid["partner"][:3] + [{"ags": nord_klein[1]}]
    msgs = _messages(_submit(login, iid, lead, {**valid, "partner": mixed}))
    assert list(msgs) == ["/partner/3/ags"]
    assert "Landesteil der Partnerkommune 4 (Nord)" in msgs["/partner/3/ags"]
    # mixed size classes
    sized = valid["partner"][:3] + [{"ags": sued_gross[1]}]
    msgs = _messages(_submit(login, iid, lead, {**valid, "partner": sized}))
    assert list(msgs) == ["/partner/3/ags"] and "Größenklasse" in msgs["/partner/3/ags"]
    # Eigenanteil 24.9 %
    volume = 100_000_000
    msgs = _messages(_submit(login, iid, lead, {**valid, "gesamtvolumen": volume,
                                               "eigenanteil": 24_900_000, "foerdersumme": 75_100_000,
                                               "finanzplan": [{"jahr": 2027, "kostenart": "Personal",
                                                               "betrag_cents": volume}]}))
    assert list(msgs) == ["/eigenanteil"]
    assert "Eigenanteil muss mindestens 25 %" in msgs["/eigenanteil"]
    assert "24,90 %" in msgs["/eigenanteil"]
    # 2.5 M€ + 1 ct
    over = 250_000_001
    msgs = _messages(_submit(login, iid, lead, {
        **valid, "foerdersumme": over, "gesamtvolumen": over + 90_000_000,
        "eigenanteil": 90_000_000, "finanzplan": [{"jahr": 2027, "kostenart": "Investitionen",
                                                   "betrag_cents": over + 90_000_000}]}))
    assert list(msgs) == ["/foerdersumme"]
    assert "2.500.000,01 €" in msgs["/foerdersumme"] and "2.500.000,00 €" in msgs["/foerdersumme"]
    # unknown municipality, missing PDF
    msgs = _messages(_submit(login, iid, lead, {**valid, "projektskizze_dokument": 999999,
                                               "partner": valid["partner"][:3] + [{"ags": "06999999"}]}))
    assert set(msgs) == {"/partner/3/ags"}
    msgs = _messages(_submit(login, iid, lead, {**valid, "projektskizze_dokument": 999999}))
    assert "Projektskizze" in msgs["/projektskizze_dokument"]
    assert [t["name"] for t in open_tasks(login(f"kommune-{lead}"), iid)] == ["antrag_erfassen"]
    r = _submit(login, iid, lead, valid)
    assert r.status_code == 200, r.get_json()


def test_partner_declines_and_the_application_is_withdrawn(login, platform):
    start_call(login, platform)
    members = group("Mittel", "groß")
    iid, data = start_application(login, members)
    assert _submit(login, iid, members[0], data).status_code == 200
    run_jobs(platform)
    for i, ags in enumerate(members[1:]):
        partner = login(f"kommune-{ags}")
        [task] = [t for t in open_tasks(partner, iid) if t["name"] == "teilnahme_bestaetigen"]
        assert task["municipality_ags"] == ags  # each partner municipality gets its own task
        complete(partner, task, {"teilnahme": "abgesagt" if i == 2 else "zugesagt"})
    run_jobs(platform)
    detail = login(f"kommune-{members[0]}").get(f"/api/process-instances/{iid}").get_json()
    assert detail["status"] == "completed"
    assert detail["data"]["rueckzug"]["status"] == "zurueckgezogen"


def test_missing_digicheck_runs_as_call_activity_and_rueckfrage_deadline_ends_the_application(
        login, platform):
    start_call(login, platform)
    members = group("Nord", "groß")
    seed_digichecks(platform, members[:4])
    seed_digichecks(platform, members[4:], days_ago=400)  # older than 12 months: not reused
    iid = submit_application(login, platform, members, check=False)
    last = login(f"kommune-{members[4]}")
    task = one_task(last, iid, "digicheck_ausfuellen")
    assert task["municipality_ags"] == members[4]
    assert open_tasks(login("sb1"), iid) == []
    from tests.integration.phase2_support import answers

    complete(last, task, {"antworten": answers(4)})
    run_jobs(platform)
    rows = last.get("/api/digicheck-results", query_string={"municipality": members[4]}).get_json()
    assert [r["gesamt"] for r in rows] == [100, 50]  # the new one first, the old one kept
    sb = login("sb1")
    complete(sb, one_task(sb, iid, "vollstaendigkeit_pruefen"), {
        "pruefergebnis": "rueckfrage", "rueckfrage_text": "Bitte Kostenplan erläutern.",
        "antwortfrist_tage": 7})
    run_jobs(platform)
    lead = login(f"kommune-{members[0]}")
    complete(lead, one_task(lead, iid, "rueckfrage_beantworten"),
             {"antwort": "Personalkosten für zwei Stellen."})
    complete(sb, one_task(sb, iid, "vollstaendigkeit_pruefen"), {
        "pruefergebnis": "rueckfrage", "rueckfrage_text": "Bitte Stellenplan nachreichen.",
        "antwortfrist_tage": 7})
    run_jobs(platform)
    one_task(lead, iid, "rueckfrage_beantworten")
    timers.time_travel(platform, iid, timedelta(days=8))
    timers.fire_due(platform)
    run_jobs(platform)
    detail = sb.get(f"/api/process-instances/{iid}").get_json()
    assert detail["status"] == "completed"
    assert detail["data"]["rueckfragen"] == [
        {"frage": "Bitte Kostenplan erläutern.", "antwort": "Personalkosten für zwei Stellen."}]
    [bescheid] = [d for d in sb.get(f"/api/process-instances/{iid}/documents").get_json()
                  if d["filename"].startswith("Ablehnungsbescheid")]
    assert "nicht innerhalb der Frist beantwortet" in pdf_text(sb.get(bescheid["download_url"]).data)
