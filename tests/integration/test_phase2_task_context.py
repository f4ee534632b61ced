"""Acceptance (issue 12): every decision task shows what it decides on — in the API
(`context` of GET /api/tasks/<id>) and on the task page ("Worum es geht") — and partner
municipalities reach their own tasks and the cluster case they belong to."""

# ruff: noqa: F811 - pytest fixtures imported from the support modules

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from tests.integration.helpers import open_tasks, run_jobs
from tests.integration.phase2_support import (  # noqa: F401 - login fixture
    budget,
    complete,
    context_of,
    group,
    login,
    one_task,
    pass_deadline,
    ressort_tasks,
    scores,
    seed_digichecks,
    start_application,
    start_call,
    submit_application,
)
from tests.integration.web_support import Browser, text_of


def _page(app, username: str, task: dict) -> str:  # noqa: ANN001
    r = Browser(app, username).get(f"/aufgaben/{task['id']}")
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    return text_of(r.get_data(as_text=True))


def test_evaluation_selection_consultation_and_approval_show_what_they_decide_on(  # noqa: PLR0915
        login, platform, app):
    members = group("Süd", "klein")
    call = start_call(login, platform)
    seed_digichecks(platform, members)
    iid = submit_application(login, platform, members, name="Odenwald digital")
    pass_deadline(platform, call)
    sb, gutachter = login("sb1"), login("gutachter1")

    # the clerk who starts the evaluation sees the applications of the call
    freigabe = one_task(sb, call, "bewertung_freigeben")
    einreichung = context_of(sb, freigabe)["einreichung"]
    assert einreichung["anzahl"] == einreichung["vollstaendig"] == 1
    assert einreichung["antraege"][0]["cluster_name"] == "Odenwald digital"
    # the API lists the call's applications and filters tasks by case
    [row] = sb.get("/api/foerderaufrufe/FA-TEST-1/antraege").get_json()
    assert (row["antrag_id"], row["cluster_name"], row["landesteil"]) == (iid, "Odenwald digital", "Süd")
    stranger = login(f"kommune-{group('Nord', 'groß')[0]}")
    assert stranger.get("/api/foerderaufrufe/FA-TEST-1/antraege").get_json() == []
    assert sb.get("/api/foerderaufrufe/FA-NIE/antraege").status_code == 404
    listed = sb.get("/api/tasks", query_string={"instance_id": call}).get_json()["items"]
    assert [t["name"] for t in listed] == ["bewertung_freigeben"]
    assert sb.get("/api/tasks", query_string={"instance_id": iid}).get_json()["items"] == []
    complete(sb, freigabe, {"bestaetigt": True})
    run_jobs(platform)

    # the evaluator sees the application it scores (from the application's case), not more
    bewerten = one_task(gutachter, call, "antrag_bewerten")
    ctx = context_of(gutachter, bewerten)
    assert ctx["antrag"]["antrag_id"] == iid and ctx["antrag"]["cluster_name"] == "Odenwald digital"
    assert ctx["antrag_daten"]["projektbeschreibung"].startswith("Gemeinsame digitale Verwaltung")
    assert ctx["antrag_daten"]["foerdersumme"] == 187_500_000
    assert ctx["antrag_daten"]["massnahmen"] == [{"titel": "Digitales Bürgerbüro",
                                                  "beschreibung": "Onlinedienste"}]
    assert ctx["gewichte"]["nutzen"] == 25
    assert "@" not in json.dumps(ctx)  # no contact data for the jury
    text = _page(app, "gutachter1", bewerten)
    assert "Worum es geht" in text and "Gemeinsame digitale Verwaltung" in text
    assert "1.875.000,00 €" in text and "Digitales Bürgerbüro" in text
    complete(gutachter, bewerten, scores(8))
    run_jobs(platform)

    # the clerk confirms a ranking that is on the page: per group, criteria, budget, quota
    auswahl = one_task(sb, call, "auswahl_bestaetigen")
    ctx = context_of(sb, auswahl)
    [entry] = ctx["rangfolge"]["tabellen"]["sued_klein"]
    assert (entry["rang"], entry["cluster_name"], entry["ausgewaehlt"]) == (1, "Odenwald digital", True)
    assert entry["punkte"] == 80.0 and entry["innovation"] == 8.0
    assert ctx["rangfolge"]["tabellen"]["nord_gross"] == []
    assert ctx["rangfolge"]["budget_cents"] == 1_500_000_000
    assert ctx["rangfolge"]["verfuegbar_cents"] == 1_500_000_000 - 187_500_000
    assert ctx["quote"]["sued_klein"] == 1
    text = _page(app, "sb1", auswahl)
    assert "Rangfolge Süd, kleine Kommunen" in text and "Innovationsgrad" in text
    assert "15.000.000,00 €" in text and "13.125.000,00 €" in text
    complete(sb, auswahl, {"entscheidung": "bestaetigen"})
    run_jobs(platform)

    # the ministries see the application; the approval shows amount, period, conditions, opinions
    opinions = ressort_tasks(login, iid)
    ctx = context_of(login("ressort-finanzen"), opinions["finanzen"])
    assert ctx["cluster_name"] == "Odenwald digital" and ctx["auswahl_rang"] == 1
    assert ctx["finanzplan"][0]["betrag_cents"] == 125_000_000
    r = Browser(app, "ressort-finanzen").get(f"/aufgaben/{opinions['finanzen']['id']}")
    html = r.get_data(as_text=True)
    assert "Gemeinsame digitale Verwaltung" in text_of(html) and "1.250.000,00 €" in text_of(html)
    assert 'rows="8"></textarea>' in html and 'name="f.stellungnahme_text"' in html  # multi-line
    assert 'type="radio"' in html and "Zustimmung mit Auflagen" in html  # with a vote
    for code, task in opinions.items():
        votum = {"votum": "mit_auflagen", "auflagen": "Offene Daten sind bereitzustellen."} \
            if code == "wirtschaft" else {"votum": "zustimmend"}
        complete(login(f"ressort-{code}"), task, {**votum, "stellungnahme_text": "Geprüft, keine Bedenken."})
    run_jobs(platform)
    year = date.today().year + 1
    budget(login, [year, year + 1])
    leitung, hmind = login("sb-leitung"), login("hmind1")
    vorbereiten = one_task(leitung, iid, "bescheid_vorbereiten")
    assert {s["ressort"] for s in context_of(leitung, vorbereiten)["stellungnahmen"]} == set(opinions)
    proposal = leitung.get(f"/api/tasks/{vorbereiten['id']}").get_json()["data"]
    complete(leitung, vorbereiten, {**proposal, "bewilligung_begruendung": "Bestbewertet."})
    run_jobs(platform)
    freigeben = one_task(hmind, iid, "bewilligung_freigeben")
    ctx = context_of(hmind, freigeben)
    assert ctx["zuwendung_cents"] == 187_500_000 and ctx["beginn"] == f"{year}-01-01"
    assert ctx["laufzeit_monate"] == 24 and ctx["auswahl_rang"] == 1
    assert ctx["nebenbestimmungen_zusatz"] == [
        "Hessisches Ministerium für Wirtschaft, Energie, Verkehr, Wohnen und ländlichen Raum: "
        "Offene Daten sind bereitzustellen."]
    assert {(s["ressort"], s["votum"]) for s in ctx["stellungnahmen"]} >= {("wirtschaft", "mit_auflagen")}
    text = _page(app, "hmind1", freigeben)
    assert "1.875.000,00 €" in text and "937.500,00 €" in text
    assert f"01.01.{year}" in text and "Zustimmung mit Auflagen" in text
    assert "Offene Daten sind bereitzustellen." in text
    assert "Hessisches Ministerium der Finanzen" in text
    sv = login("sv-staedtetag")
    assert context_of(sv, one_task(sv, iid, "mitzeichnung"))["zuwendung_cents"] == 187_500_000


def test_partner_opens_its_tasks_and_sees_the_cluster_case_and_the_lead_sees_the_rueckfrage(
        login, platform, app):
    members = group("Mittel", "groß")
    start_call(login, platform, kennung="FA-TEST-1")
    seed_digichecks(platform, members[:4])  # the fifth has no DigiCheck yet
    iid, data = start_application(login, members, name="Lahn digital")
    lead = login(f"kommune-{members[0]}")
    complete(lead, one_task(lead, iid, "antrag_erfassen"), data)
    run_jobs(platform)

    partner = login(f"kommune-{members[1]}")
    task = one_task(partner, iid, "teilnahme_bestaetigen")
    detail = partner.get(f"/api/tasks/{task['id']}").get_json()
    assert "ansprechperson" not in detail["data"]  # not prefilled with the lead's contact
    assert detail["context"]["data"]["cluster_name"] == "Lahn digital"
    browser = Browser(app, f"kommune-{members[1]}")
    page = browser.get(f"/aufgaben/{task['id']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'value="Anna Antrag"' not in html and "Lahn digital" in text_of(html)
    home = browser.get("/").get_data(as_text=True)  # "Vorgänge meiner Kommune"
    assert "Vorgänge meiner Kommune" in home and f'href="/vorgaenge/{iid}"' in home
    assert f'href="/vorgaenge/{iid}"' in browser.get("/vorgaenge").get_data(as_text=True)
    assert browser.get(f"/vorgaenge/{iid}").status_code == 200
    assert partner.get(f"/api/process-instances/{iid}").status_code == 200
    r = partner.post(f"/api/process-instances/{iid}/documents", data={
        "file": (__import__("io").BytesIO(b"%PDF-1.4\n%%EOF\n"), "x.pdf")},
        content_type="multipart/form-data")
    assert r.status_code == 403 and r.get_json()["code"] == "not_case_owner"
    outsider = login(f"kommune-{group('Nord', 'klein')[0]}")
    assert outsider.get(f"/api/process-instances/{iid}").status_code == 404
    for ags in members[1:]:
        complete(login(f"kommune-{ags}"), one_task(login(f"kommune-{ags}"), iid,
                                                   "teilnahme_bestaetigen"), {"teilnahme": "zugesagt"})
    run_jobs(platform)

    fifth = login(f"kommune-{members[4]}")
    digicheck = one_task(fifth, iid, "digicheck_ausfuellen")
    assert Browser(app, f"kommune-{members[4]}").get(f"/aufgaben/{digicheck['id']}").status_code == 200
    complete(fifth, digicheck, {"antworten": __import__(
        "tests.integration.phase2_support", fromlist=["answers"]).answers(2)})
    run_jobs(platform)

    sb = login("sb1")
    complete(sb, one_task(sb, iid, "vollstaendigkeit_pruefen"), {
        "pruefergebnis": "rueckfrage", "rueckfrage_text": "Bitte die Betriebskosten erläutern.",
        "antwortfrist_tage": 10})
    run_jobs(platform)
    rueckfrage = one_task(lead, iid, "rueckfrage_beantworten")
    left = datetime.fromisoformat(rueckfrage["due_at"]) - datetime.now(UTC)
    assert timedelta(days=9, hours=23) < left <= timedelta(days=10)  # the answer's deadline
    ctx = context_of(lead, rueckfrage)
    assert ctx["rueckfrage_text"] == "Bitte die Betriebskosten erläutern."
    assert ctx["antwortfrist_tage"] == 10
    text = _page(app, f"kommune-{members[0]}", rueckfrage)
    assert "Bitte die Betriebskosten erläutern." in text
    assert outsider.get(f"/api/tasks/{rueckfrage['id']}").status_code == 404
    assert open_tasks(outsider, iid) == []
