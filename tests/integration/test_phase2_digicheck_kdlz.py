"""Acceptance (issue 4): DigiCheck on its own (scores, report PDF, results per municipality)
and the KDLZ advice request (second service: schedule, document, protocol by e-mail)."""

# ruff: noqa: F811 - pytest fixtures imported from the support modules

from __future__ import annotations

from app.domain import digicheck
from tests.integration.helpers import pdf_text, run_jobs
from tests.integration.mail_support import smtp_server  # noqa: F401 - fixture
from tests.integration.phase2_support import answers, complete, login, one_task  # noqa: F401


def test_digicheck_standalone_scores_reports_and_keeps_results_per_municipality(
        login, platform, demo_ags):
    own, other = demo_ags
    kommune = login(f"kommune-{own}")
    r = kommune.post("/api/process-instances", json={"process_key": "digicheck"})
    assert r.status_code == 201, r.get_json()
    iid = r.get_json()["id"]
    task = one_task(kommune, iid, "digicheck_ausfuellen")
    assert task["municipality_ags"] == own
    form = kommune.get(f"/api/tasks/{task['id']}").get_json()["form_schema"]
    assert len(form["properties"]["antworten"]["properties"]) == len(digicheck.QUESTIONS)
    bad = answers(3)
    bad.pop("mobilitaet_1")
    bad["infrastruktur_1"] = 7
    r = kommune.post(f"/api/tasks/{task['id']}/complete", json={"data": {"antworten": bad}})
    assert r.status_code == 422
    paths = {e["path"] for e in r.get_json()["errors"]}
    assert paths == {"/antworten/mobilitaet_1", "/antworten/infrastruktur_1"}
    good = answers(3) | {f"infrastruktur_{i}": 0 for i in range(1, 5)}
    complete(kommune, task, {"antworten": good})
    assert run_jobs(platform) == ["digicheck_auswerten"]
    detail = kommune.get(f"/api/process-instances/{iid}").get_json()
    assert detail["status"] == "completed"
    result = detail["data"]["digicheck_ergebnis"]
    assert result["bereiche"]["mobilitaet"] == 75 and result["bereiche"]["infrastruktur"] == 0
    assert result["gesamt"] == digicheck.score(good)["gesamt"]
    [doc] = kommune.get(f"/api/process-instances/{iid}/documents").get_json()
    text = pdf_text(kommune.get(doc["download_url"]).data)
    assert "Ergebnisbericht DigiCheck" in text and "Infrastruktur" in text
    assert "Dringender Handlungsbedarf" in text
    rows = kommune.get("/api/digicheck-results").get_json()
    assert [(x["municipality_ags"], x["gesamt"]) for x in rows] == [(own, result["gesamt"])]
    assert login(f"kommune-{other}").get("/api/digicheck-results").get_json() == []
    assert login(f"kommune-{other}").get(
        "/api/digicheck-results", query_string={"municipality": own}).status_code == 403
    assert len(login("sb1").get("/api/digicheck-results").get_json()) == 1


def test_kdlz_advice_request_is_scheduled_documented_and_mailed(login, platform, demo_ags,
                                                               smtp_server):
    kommune, sb = login(f"kommune-{demo_ags[0]}"), login("sb1")
    iid = kommune.post("/api/process-instances", json={"process_key": "kdlz_beratung"}).get_json()["id"]
    complete(kommune, one_task(kommune, iid, "anfrage_stellen"), {
        "thema": "strategie", "anliegen": "Wir möchten eine Digitalisierungsstrategie entwickeln.",
        "ansprechperson": "Bürgermeisterin Berg", "email": "rathaus@kommune.example"})
    task = one_task(sb, iid, "termin_planen")
    detail = sb.get(f"/api/process-instances/{iid}").get_json()
    assert detail["data"]["empfohlenes_format"] == "vor_ort"  # DMN
    assert detail["data"]["empfohlene_dauer_stunden"] == 4
    complete(sb, task, {"termin": "2027-02-01T10:00:00+01:00", "beratungsformat": "vor_ort",
                        "berater": "Bernd Berater"})
    run_jobs(platform)
    complete(sb, one_task(sb, iid, "beratung_dokumentieren"), {
        "protokoll": "Bestandsaufnahme und Ziele der Strategie besprochen.",
        "empfehlungen": ["Lenkungskreis einrichten"], "naechste_schritte": "Workshop im März"})
    run_jobs(platform)
    assert sb.get(f"/api/process-instances/{iid}").get_json()["status"] == "completed"
    termin, protokoll = smtp_server.messages
    assert termin["To"] == protokoll["To"] == "rathaus@kommune.example"
    assert "Bernd Berater" in termin.get_body().get_content()
    [att] = list(protokoll.iter_attachments())
    text = pdf_text(att.get_content())
    assert "Lenkungskreis einrichten" in text and "Protokoll der Beratung" in text
