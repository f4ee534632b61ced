"""Acceptance (issue 4): the whole flow for one cluster — call, application with DigiCheck
(call activity) and Rückfrage, evaluation, Ressort consultation, Bewilligung, reporting
(Mittelabrufe, Zwischennachweis with reminder, Verwendungsnachweis, Schlussabrechnung with
Rückforderung to the cent) and the published Blaupause."""

# ruff: noqa: F811 - pytest fixtures imported from the support modules

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

from app.services import timers
from tests.integration.helpers import open_tasks, pdf_text, run_jobs
from tests.integration.mail_support import smtp_server  # noqa: F401 - fixture
from tests.integration.phase2_support import (  # noqa: F401 - login fixture
    answers,
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
)

VOLUME = 249_999_999  # 2.499.999,99 €
FUNDING = 187_499_999  # 1.874.999,99 €


def _travel_to(platform, iid: int, when: datetime) -> None:  # noqa: ANN001
    timers.time_travel(platform, iid, when - datetime.now(UTC))
    timers.fire_due(platform)
    run_jobs(platform)


def test_whole_flow_from_call_to_published_blaupause(login, platform, smtp_server):  # noqa: PLR0915
    sb, gutachter, hmind, sv = login("sb1"), login("gutachter1"), login("hmind1"), login("sv-staedtetag")
    y = date.today().year + 1
    budget(login, [y, y + 1])
    members = group("Mittel", "klein")
    lead = login(f"kommune-{members[0]}")
    call = start_call(login, platform, kennung="FA-GESAMT")
    seed_digichecks(platform, members[:4])

    # --- application: lead, partners, DigiCheck of the fifth member, Rückfrage, complete
    iid, data = start_application(login, members, kennung="FA-GESAMT", name="Vogelsberg digital",
                                  foerdersumme=FUNDING, gesamtvolumen=VOLUME,
                                  themen=("gesundheit", "gesellschaft"), year=y)
    complete(lead, one_task(lead, iid, "antrag_erfassen"), data)
    run_jobs(platform)
    for ags in members[1:]:
        partner = login(f"kommune-{ags}")
        complete(partner, one_task(partner, iid, "teilnahme_bestaetigen"), {"teilnahme": "zugesagt"})
    run_jobs(platform)
    fifth = login(f"kommune-{members[4]}")
    complete(fifth, one_task(fifth, iid, "digicheck_ausfuellen"), {"antworten": answers(3)})
    run_jobs(platform)
    complete(sb, one_task(sb, iid, "vollstaendigkeit_pruefen"), {
        "pruefergebnis": "rueckfrage", "rueckfrage_text": "Bitte die Betriebskosten erläutern."})
    run_jobs(platform)
    [rueckfrage] = smtp_server.to(data["ansprechperson_email"])
    assert "Rückfrage" in rueckfrage["Subject"]
    rueckfrage_task = one_task(lead, iid, "rueckfrage_beantworten")
    assert context_of(lead, rueckfrage_task)["rueckfrage_text"] == "Bitte die Betriebskosten erläutern."
    complete(lead, rueckfrage_task,
             {"antwort": "Die Betriebskosten tragen die Kommunen ab 2029 selbst."})
    complete(sb, one_task(sb, iid, "vollstaendigkeit_pruefen"), {"pruefergebnis": "vollstaendig"})
    run_jobs(platform)

    # --- comparative evaluation of the call
    pass_deadline(platform, call)
    complete(sb, one_task(sb, call, "bewertung_freigeben"), {"bestaetigt": True})
    run_jobs(platform)
    complete(gutachter, one_task(gutachter, call, "antrag_bewerten"), scores(9))
    run_jobs(platform)
    complete(sb, one_task(sb, call, "auswahl_bestaetigen"), {"entscheidung": "bestaetigen"})
    run_jobs(platform)
    assert sb.get(f"/api/process-instances/{call}").get_json()["status"] == "completed"

    # --- Ressort consultation: Gesundheit, Soziales, Finanzen
    tasks = ressort_tasks(login, iid)
    assert set(tasks) == {"gesundheit", "soziales", "finanzen"}
    for code, task in tasks.items():
        complete(login(f"ressort-{code}"), task, {"votum": "zustimmend",
                                                  "stellungnahme_text": "Wir stimmen zu."})
    run_jobs(platform)

    # --- Bewilligung
    task = one_task(sb, iid, "bescheid_vorbereiten")
    proposal = sb.get(f"/api/tasks/{task['id']}").get_json()["data"]
    complete(sb, task, {**proposal, "bewilligung_begruendung": "Bestbewerteter Cluster."})
    run_jobs(platform)
    complete(hmind, one_task(hmind, iid, "bewilligung_freigeben"), {"freigabe": "freigegeben"})
    complete(sv, one_task(sv, iid, "mitzeichnung"), {"verband": "staedte_gemeindebund",
                                                     "mitzeichnung": "mitgezeichnet"})
    run_jobs(platform)
    detail = lead.get(f"/api/process-instances/{iid}").get_json()
    az = detail["data"]["aktenzeichen"]
    betraege = {b["jahr"]: b["betrag_cents"] for b in proposal["betraege_je_jahr"]}
    assert sum(betraege.values()) == FUNDING

    # --- reporting: due dates follow from the Bescheid (start 1 January y, 24 months)
    bericht = detail["data"]["plan"]  # computed from the Bescheid, the reporting uses the same
    assert bericht["ende"] == f"{y + 1}-12-31"
    assert [(z["jahr"], z["faellig"], z["erinnerung"]) for z in bericht["zwischennachweise"]] == [
        (y, f"{y + 1}-04-30", f"{y + 1}-04-02")]
    assert bericht["verwendungsnachweis"]["faellig"] == f"{y + 2}-06-30"
    assert detail["next_timer_at"].startswith(f"{y + 1}-04-02")

    # Mittelabrufe: more than bound is refused at once; large ones are checked (DMN)
    r = lead.post(f"/api/tasks/{one_task(lead, iid, 'mittelabruf')['id']}/complete",
                  json={"data": {"jahr": y, "betrag_cents": betraege[y] + 1}})
    assert r.status_code == 422 and r.get_json()["errors"][0]["path"] == "/betrag_cents"
    for jahr in (y, y + 1):
        complete(lead, one_task(lead, iid, "mittelabruf"), {"jahr": jahr, "betrag_cents": betraege[jahr],
                                                             "verwendungszweck": "Personal"})
        pruefen = one_task(sb, iid, "mittelabruf_pruefen")
        abruf = context_of(sb, pruefen)  # issue 12: the clerk sees what is called off
        assert (abruf["jahr"], abruf["betrag_cents"], abruf["verwendungszweck"]) == (
            jahr, betraege[jahr], "Personal")
        complete(sb, pruefen, {"abruf_entscheidung": "freigeben"})
        run_jobs(platform)
    complete(lead, one_task(lead, iid, "mittelabruf"), {"abschliessen": True})
    positions = {p["haushaltsjahr"]: p for p in sb.get("/api/budget-positions").get_json()}
    assert positions[y]["ausgezahlt_cents"] == betraege[y] and positions[y]["gebunden_cents"] == 0

    # Zwischennachweis: reminder four weeks before 30 April, then submitted and checked
    smtp_server.messages.clear()
    _travel_to(platform, iid, datetime(y + 1, 4, 2, 1, tzinfo=UTC))
    [erinnerung] = smtp_server.messages
    assert f"Zwischennachweis {y}" in erinnerung["Subject"]
    einreichen = one_task(lead, iid, "zwischennachweis_einreichen")
    assert einreichen["due_at"].startswith(f"{y + 1}-04-30")  # issue 12: the deadline is the due date
    complete(lead, einreichen, {
        "zn_ist_kosten": {"Personal": 90_000_000, "Sachkosten": 0, "Investitionen": 0},
        "zn_sachstand": "Das Bürgerportal ist in Betrieb."})
    pruefen = one_task(sb, iid, "zwischennachweis_pruefen")
    zn = context_of(sb, pruefen)  # issue 12: which year, what was spent
    assert zn["zn"] == {"jahr": y, "faellig": f"{y + 1}-04-30"}
    assert zn["zn_ist_kosten"]["Personal"] == 90_000_000 and zn["aktenzeichen"] == az
    complete(sb, pruefen, {"zn_ergebnis": "ohne_beanstandung"})
    run_jobs(platform)

    # Verwendungsnachweis after the term: 80 % of the volume spent → Rückforderung pro rata
    detail = sb.get(f"/api/process-instances/{iid}").get_json()
    _travel_to(platform, iid, datetime.fromisoformat(detail["next_timer_at"]) + timedelta(hours=1))
    spent = {"Personal": 100_000_000, "Sachkosten": 99_999_999, "Investitionen": 0}  # 80 %
    assert abs(sum(spent.values()) - Fraction(VOLUME) * Fraction(8, 10)) < 1
    vn_task = one_task(lead, iid, "verwendungsnachweis_einreichen")
    assert vn_task["due_at"].startswith(f"{y + 2}-06-30")
    complete(lead, vn_task, {
        "ist_kosten": spent, "sachbericht": "Alle Maßnahmen wurden umgesetzt; Details im Bericht."})
    task = one_task(sb, iid, "verwendungsnachweis_pruefen")
    vn = context_of(sb, task)
    assert vn["ist_kosten"] == spent and vn["sachbericht"].startswith("Alle Maßnahmen")
    r = sb.post(f"/api/tasks/{task['id']}/complete", json={"data": {
        "anerkannte_kosten": {**spent, "Investitionen": 1}, "pruefvermerk": "geprüft"}})
    assert r.status_code == 422 and r.get_json()["errors"][0]["path"] == "/anerkannte_kosten/Investitionen"
    complete(sb, task, {"anerkannte_kosten": spent, "pruefvermerk": "Ohne Beanstandung geprüft."})
    run_jobs(platform)
    eligible = Fraction(sum(spent.values()) * FUNDING, VOLUME)
    eligible_cents = int(eligible + Fraction(1, 2))  # half up
    expected = FUNDING - eligible_cents
    task = one_task(sb, iid, "zahlungseingang")
    assert sb.get(f"/api/tasks/{task['id']}").get_json()["data"]["rueckforderung_cents"] == \
        expected == 37_500_000
    [schluss] = [d for d in sb.get(f"/api/process-instances/{iid}/documents").get_json()
                 if d["filename"].startswith("Schlussbescheid")]
    text = pdf_text(sb.get(schluss["download_url"]).data)
    assert "Rückforderung" in text and "375.000,00 €" in text and az in text
    complete(sb, task, {"eingegangen_am": f"{y + 2}-03-01"})
    run_jobs(platform)
    positions = {p["haushaltsjahr"]: p for p in sb.get("/api/budget-positions").get_json()}
    assert positions[y + 1]["ausgezahlt_cents"] == betraege[y + 1] - expected
    assert positions[y]["gebunden_cents"] == positions[y + 1]["gebunden_cents"] == 0

    # Blaupause, published to the library every municipality can read
    complete(lead, one_task(lead, iid, "blaupause_verfassen"), {
        "bp_titel": "Gemeinsames Bürgerportal kleiner Kommunen",
        "bp_massnahmen": "Ein gemeinsames Bürgerportal mit 40 Onlinediensten wurde aufgebaut.",
        "bp_nachnutzung": "Portalvorlage, Ausschreibungsunterlagen und Betriebskonzept.",
        "bp_kontakt": data["ansprechperson_email"]})
    run_jobs(platform)
    detail = lead.get(f"/api/process-instances/{iid}").get_json()
    assert detail["status"] == "completed"
    abrechnung = detail["data"]["abrechnung"]
    assert abrechnung["zuwendungsfaehig_cents"] == eligible_cents
    assert abrechnung["ausgezahlt_cents"] == FUNDING
    assert abrechnung["rueckforderung_cents"] == expected
    reader = login(f"kommune-{group('Nord', 'groß')[0]}")
    [bp] = reader.get("/api/blaupausen").get_json()
    assert bp["titel"] == "Gemeinsames Bürgerportal kleiner Kommunen"
    assert bp["aktenzeichen"] == az and bp["themenbereiche"] == ["gesundheit", "gesellschaft"]
    assert [m["ags"] for m in bp["mitglieder"]] == members
    assert reader.get("/api/blaupausen", query_string={"thema": "umwelt"}).get_json() == []
    assert reader.get("/api/blaupausen", query_string={"q": "Bürgerportal"}).get_json()[0]["id"] == bp["id"]
    assert open_tasks(lead, iid) == []
