"""The case page: diagram with completed/active/failed elements, history from the audit trail,
documents, current tasks and holders, admin actions and incident retry."""

from __future__ import annotations

import json
import re
from io import BytesIO

from app.services import jobs
from app.services.cases import element_id
from tests.integration.helpers import open_tasks
from tests.integration.web_support import (
    PDF,
    Browser,
    start,
    text_of,
)


def _states(html: str) -> dict:
    raw = re.search(r'<script type="application/json" id="diagram-states">(.*?)</script>', html, re.S)
    return json.loads(raw.group(1))


def _demo_case_in_review(app, login, demo_ags) -> int:  # noqa: ANN001
    kommune = login(f"kommune-{demo_ags[0]}")
    iid = kommune.post("/api/process-instances", json={"process_key": "demo_antrag",
                                                         "business_key": "FALL-1"}).get_json()["id"]
    [t] = open_tasks(kommune, iid)
    kommune.post(f"/api/tasks/{t['id']}/complete", json={"data": {
        "vorhaben": "Digitale Bauakte", "betrag": 80000, "thema": "verwaltung"}})
    return iid


def test_engine_task_names_map_to_bpmn_element_ids():
    assert element_id("fachgutachten [child]") == "fachgutachten"
    assert element_id("antrag_pruefen.BoundaryEventSplit") is None
    assert element_id("demo_antrag.EndJoin") is None
    assert element_id("frist_pruefung") == "frist_pruefung"


def test_case_page_marks_completed_and_active_elements_and_lists_history_and_holders(app, login, demo_ags):
    iid = _demo_case_in_review(app, login, demo_ags)
    sb = Browser(app, "sb1")
    task_id = open_tasks(login("sb1"), iid)[0]["id"]
    sb.get(f"/aufgaben/{task_id}")
    sb.post(f"/aufgaben/{task_id}/uebernehmen")
    html = sb.get(f"/vorgaenge/{iid}").get_data(as_text=True)
    states = _states(html)
    assert {"start", "vorbereiten", "antrag_erfassen", "stufe_bestimmen", "gw_stufe"} <= set(states["completed"])
    assert states["active"] == ["fachgutachten"] and states["failed"] == []
    assert 'id="bpmn-xml">&lt;?xml' in html and 'id="diagram"' in html and "viewer.js" in html
    page = text_of(html)
    assert "FALL-1 In Bearbeitung" in page
    assert "Aufgabe erledigt: Antrag erfassen" in page and "Vorgang gestartet" in page
    assert "Aufgabe übernommen" in page
    assert "Fachgutachten abgeben Sachbearbeitung (Auenbach) Sabine Bauer (Sachbearbeitung)" in page
    assert "80.000,00 €" in page and "Verwaltung" in page  # case data with form titles


def test_documents_are_uploaded_listed_and_downloaded_only_by_those_who_see_the_case(app, login, demo_ags):
    iid = _demo_case_in_review(app, login, demo_ags)
    kommune = Browser(app, f"kommune-{demo_ags[0]}")
    kommune.get(f"/vorgaenge/{iid}")
    r = kommune.post(f"/vorgaenge/{iid}/dokumente", [("datei", (BytesIO(PDF), "Kostenplan.pdf"))],
                     content_type="multipart/form-data")
    assert r.headers["Location"].endswith("#dokumente")
    html = kommune.get(f"/vorgaenge/{iid}").get_data(as_text=True)
    assert "Die Datei „Kostenplan.pdf“ wurde abgelegt." in html
    doc_url = re.search(r'href="(/dokumente/\d+)"', html).group(1)
    r = kommune.get(doc_url)
    assert r.status_code == 200 and r.data == PDF and "attachment" in r.headers["Content-Disposition"]
    assert Browser(app, f"kommune-{demo_ags[1]}").get(doc_url).status_code == 404
    assert Browser(app, f"kommune-{demo_ags[1]}").get(f"/vorgaenge/{iid}").status_code == 404
    r = kommune.post(f"/vorgaenge/{iid}/dokumente", [("datei", (BytesIO(b"hallo"), "notiz.txt"))],
                     content_type="multipart/form-data")
    assert "kein zulässiges Format" in kommune.get(f"/vorgaenge/{iid}").get_data(as_text=True)


def test_clerk_suspends_resumes_and_terminates_a_case_the_municipality_cannot(app, login, demo_ags):
    iid = _demo_case_in_review(app, login, demo_ags)
    kommune = Browser(app, f"kommune-{demo_ags[0]}")
    assert "Vorgang steuern" not in kommune.get(f"/vorgaenge/{iid}").get_data(as_text=True)
    r = kommune.post(f"/vorgaenge/{iid}/anhalten")
    assert r.status_code == 403 and "Berechtigung" in r.get_data(as_text=True)
    sb = Browser(app, "sb1")
    sb.get(f"/vorgaenge/{iid}")
    sb.post(f"/vorgaenge/{iid}/anhalten")
    page = text_of(sb.get(f"/vorgaenge/{iid}").get_data(as_text=True))
    assert "Der Vorgang wurde angehalten." in page and "FALL-1 Angehalten" in page
    assert "Vorgang angehalten" in page and "Fortsetzen" in page
    sb.post(f"/vorgaenge/{iid}/fortsetzen")
    sb.get(f"/vorgaenge/{iid}")
    sb.post(f"/vorgaenge/{iid}/beenden")
    html = sb.get(f"/vorgaenge/{iid}").get_data(as_text=True)
    assert "FALL-1 Beendet" in text_of(html) and _states(html)["active"] == []
    assert "Zurzeit gibt es keine offenen Aufgaben." in html


def test_incident_is_marked_failed_and_can_be_retried_from_the_case_page(app, platform, fixture_process):
    fixture_process("stoerung")
    sb = Browser(app, "sb1")
    case_url = start(sb, "web_stoerung")
    iid = int(case_url.split("/")[-1])
    [job] = [j for j in jobs.open_jobs(platform) if j.instance_id == iid]
    ticket = jobs.begin(platform, job.id)
    jobs.fail(platform, ticket, "RuntimeError: Fachverfahren nicht erreichbar", "Traceback …", final=True)
    html = sb.get(case_url).get_data(as_text=True)
    assert _states(html)["failed"] == ["abrufen"]
    page = text_of(html)
    assert "Störung" in page and "Fachverfahren nicht erreichbar" in page and "Erneut ausführen" in page
    incidents = text_of(Browser(app, "admin").get("/verwaltung/stoerungen").get_data(as_text=True))
    assert f"Vorgang {iid}" in incidents and "test_flaky" in incidents
    r = sb.post(f"/stoerungen/{job.id}/wiederholen")
    assert r.headers["Location"] == case_url
    html = sb.get(case_url).get_data(as_text=True)
    assert "Die Service-Aufgabe wird erneut ausgeführt." in html
    states = _states(html)
    assert "s" in states["completed"] and states["active"] == ["abrufen"] and states["failed"] == []


def test_history_shows_business_events_in_words_and_folds_technical_ones(app, login, demo_ags):  # noqa: ANN001
    from app.services import audit
    from app.services.context import SYSTEM

    iid = _demo_case_in_review(app, login, demo_ags)
    platform = app.extensions["platform"]
    with platform.db.unit_of_work() as session:
        audit.record(session, SYSTEM, "timer.due", "process_instance", iid, instance_id=iid)
        audit.record(session, SYSTEM, "aufruf.registriert", "process_instance", iid, instance_id=iid)
    html = Browser(app, "sb1").get(f"/vorgaenge/{iid}").get_data(as_text=True)
    visible, _, folded = html.partition('<details class="fp-technical">')
    assert "Antrag beim Förderaufruf registriert" in text_of(visible)
    assert "Zeitgeber fällig" in text_of(folded) and "Zeitgeber fällig" not in text_of(visible)
    assert "Technische Ereignisse anzeigen (1)" in text_of(folded)
    page = text_of(html)
    assert "aufruf.registriert" not in page and "timer.due" not in page


def test_internal_notes_stay_with_the_bewilligungsstelle_messages_reach_the_applicant(app, login, demo_ags):  # noqa: ANN001
    iid = _demo_case_in_review(app, login, demo_ags)
    sb = Browser(app, "sb1")
    page = sb.get(f"/vorgaenge/{iid}").get_data(as_text=True)
    assert 'value="intern" checked' in page  # staff write internal notes unless they choose
    sb.post(f"/vorgaenge/{iid}/kommentar", {"text": "Haushalt vorab klären.", "sichtbarkeit": "intern"})
    sb.post(f"/vorgaenge/{iid}/kommentar", {"text": "Bitte Nachweis nachreichen.",
                                            "sichtbarkeit": "alle"})
    staff_view = text_of(Browser(app, "sb2").get(f"/vorgaenge/{iid}").get_data(as_text=True))
    assert "Interne Notiz" in staff_view and "Haushalt vorab klären." in staff_view
    kommune = Browser(app, f"kommune-{demo_ags[0]}")
    applicant_view = kommune.get(f"/vorgaenge/{iid}").get_data(as_text=True)
    assert "Bitte Nachweis nachreichen." in applicant_view
    assert "Haushalt vorab klären." not in applicant_view
    assert 'name="sichtbarkeit"' not in applicant_view
    # an applicant cannot smuggle an internal note in
    r = kommune.post(f"/vorgaenge/{iid}/kommentar", {"text": "geheim?", "sichtbarkeit": "intern"})
    assert r.status_code == 403
    assert "geheim?" not in Browser(app, "sb1").get(f"/vorgaenge/{iid}").get_data(as_text=True)
