"""Browser modeler (server side): versions, drafts, validation located at elements, deployment
of a new version while running instances keep theirs, uploads from other modelers, forms."""

from __future__ import annotations

import json
import re
from io import BytesIO

import pytest

from app.services import processes
from app.services.context import SYSTEM
from tests.integration.web_support import (
    FIXTURES,
    Browser,
    definition_ids,
    forget_new_definitions,
    text_of,
)


@pytest.fixture
def modeler(app, platform):  # noqa: ANN001, ANN201
    before = definition_ids(platform)
    yield Browser(app, "modeler1")
    forget_new_definitions(platform, before)


def _demo_xml(platform) -> str:  # noqa: ANN001
    from app.services import modeler as service

    ws = service.workspace(platform, SYSTEM, "demo_antrag")
    return ws["sources"][ws["main_file"]]


def _versions(browser, key: str) -> list[int]:  # noqa: ANN001
    html = browser.get("/modellierung").get_data(as_text=True)
    table = re.search(rf'data-process="{key}">(.*?)</table>', html, re.S).group(1)
    return [int(v) for v in re.findall(r'data-version="(\d+)"', table)]


def _problems(html: str) -> list[dict]:
    raw = re.search(r'<script type="application/json" id="validation-problems">(.*?)</script>', html, re.S)
    return json.loads(raw.group(1))


def test_overview_lists_definitions_with_versions_and_is_only_for_modelers(app, modeler):
    page = text_of(modeler.get("/modellierung").get_data(as_text=True))
    assert "Demo-Antrag (Testprozess der Plattform) (demo_antrag)" in page
    assert _versions(modeler, "demo_antrag")[-1] == 1  # newest first
    r = Browser(app, "sb1").get("/modellierung")
    assert r.status_code == 403 and "Prozessverantwortliche" in r.get_data(as_text=True)


def test_editor_page_carries_diagram_palette_and_files(modeler):
    html = modeler.get("/modellierung/demo_antrag").get_data(as_text=True)
    assert 'id="bpmn-xml">&lt;?xml' in html and "modeler.js" in html and 'id="properties"' in html
    palette = json.loads(re.search(r'id="modeler-palette">(.*?)</script>', html, re.S).group(1))
    assert "demo_bescheid" in palette["operators"] and palette["decisions"] == ["demo_pruefstufe"]
    assert "demo/antrag.schema.json" in palette["forms"] and "sachbearbeitung" in palette["groups"]
    assert "Formular: demo/antrag.schema.json" in text_of(html)
    assert "Entscheidung: demo/demo_pruefstufe.dmn" in text_of(html)
    html = modeler.get("/modellierung/demo_antrag?datei=demo/demo_pruefstufe.dmn").get_data(as_text=True)
    assert 'id="dmn-canvas"' in html and 'id="dmn-xml">&lt;?xml' in html and "dmn.js" in html


def test_rename_save_deploy_makes_version_n_plus_1_and_running_instances_keep_theirs(app, platform, modeler, login, demo_ags):
    before = _versions(modeler, "demo_antrag")
    n = before[0]
    running = login(f"kommune-{demo_ags[0]}").post(
        "/api/process-instances", json={"process_key": "demo_antrag"}).get_json()
    xml = _demo_xml(platform).replace('name="Antrag erfassen"', 'name="Antrag stellen"')
    modeler.get("/modellierung/demo_antrag")
    r = modeler.post("/modellierung/demo_antrag/speichern", {
        "datei": "demo/demo_antrag.bpmn", "version": str(n), "xml": xml, "_action": "save"})
    assert r.status_code == 302
    html = modeler.get(r.headers["Location"]).get_data(as_text=True)
    assert "Der Entwurf wurde gespeichert. Die Prüfung war erfolgreich." in html
    assert "Der Entwurf ist gültig und kann bereitgestellt werden." in html
    assert "Antrag stellen" in html and _problems(html) == []
    r = modeler.post("/modellierung/demo_antrag/speichern", {
        "datei": "demo/demo_antrag.bpmn", "version": "", "xml": "", "_action": "deploy"})
    page = text_of(modeler.get(r.headers["Location"].split("#")[0]).get_data(as_text=True))
    assert f"Version {n + 1} von „demo_antrag“ wurde bereitgestellt." in page
    assert "Entwürfe" not in page and _versions(modeler, "demo_antrag") == [n + 1, *before]
    kept = processes.get_instance(platform, SYSTEM, running["id"])
    assert kept["definition"]["version"] == n
    new = login(f"kommune-{demo_ags[0]}").post(
        "/api/process-instances", json={"process_key": "demo_antrag"}).get_json()
    assert new["definition"]["version"] == n + 1
    assert [t["title"] for t in new["current_tasks"]] == ["Antrag stellen"]
    assert [t["title"] for t in kept["current_tasks"]] == ["Antrag erfassen"]


def test_broken_diagram_shows_the_problem_at_its_element_and_is_not_deployed(modeler):
    xml = _demo_xml(modeler.client.application.extensions["platform"])
    broken = xml.replace('<bpmn:sequenceFlow id="f_bescheid" sourceRef="bescheid_erstellen" '
                         'targetRef="warten_auf_bestaetigung" />',
                         '<bpmn:sequenceFlow id="f_bescheid" sourceRef="bescheid_erstellen" />')
    assert broken != xml
    versions_before = _versions(modeler, "demo_antrag")
    modeler.get("/modellierung/demo_antrag")
    r = modeler.post("/modellierung/demo_antrag/speichern", {
        "datei": "demo/demo_antrag.bpmn", "version": "1", "xml": broken, "_action": "save"})
    html = modeler.get(r.headers["Location"]).get_data(as_text=True)
    problems = _problems(html)
    [problem] = [p for p in problems if p["element_id"] == "f_bescheid"]
    assert "targetRef" in problem["message"] and problem["line"]
    assert problem["marker_id"] == "bescheid_erstellen"  # the flow cannot be drawn: mark its source
    assert "Die Prüfung hat" in html and 'data-fp-problem-element="f_bescheid"' in html
    r = modeler.post("/modellierung/demo_antrag/bereitstellen")
    page = text_of(modeler.get(r.headers["Location"]).get_data(as_text=True))
    assert "Nicht bereitgestellt" in page
    assert _versions(modeler, "demo_antrag") == versions_before
    modeler.post("/modellierung/demo_antrag/verwerfen")
    assert "Entwürfe" not in text_of(modeler.get("/modellierung").get_data(as_text=True))


def test_upload_from_another_modeler_becomes_a_draft_fixed_and_deployed(modeler):
    content = (FIXTURES / "fremd" / "camunda_export.bpmn").read_bytes()
    modeler.get("/modellierung")
    r = modeler.post("/modellierung/hochladen", [("datei", (BytesIO(content), "beratung.bpmn"))],
                     content_type="multipart/form-data")
    assert r.headers["Location"].startswith("/modellierung/beratung_fremd")
    html = modeler.get(r.headers["Location"]).get_data(as_text=True)
    [problem] = _problems(html)
    assert problem["element_id"] == "Activity_pruefen" and "kein Formular" in problem["message"]
    # the form reference as the properties panel writes it
    fixed = content.decode().replace(
        'camunda:candidateGroups="sachbearbeitung">',
        'camunda:candidateGroups="sachbearbeitung"><bpmn:extensionElements><spiffworkflow:properties>'
        '<spiffworkflow:property name="formJsonSchemaFilename" value="demo/eskalation.schema.json" />'
        '</spiffworkflow:properties></bpmn:extensionElements>').replace(
        'xmlns:camunda=', 'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" xmlns:camunda=')
    r = modeler.post("/modellierung/beratung_fremd/speichern", {
        "datei": "beratung.bpmn", "xml": fixed, "_action": "deploy"})
    page = text_of(modeler.get(r.headers["Location"].split("#")[0]).get_data(as_text=True))
    assert "Version 1 von „beratung_fremd“ wurde bereitgestellt." in page
    assert "Beratungsanfrage (aus Camunda Modeler) (beratung_fremd)" in page


def test_upload_of_something_that_is_no_bpmn_is_refused_in_german(modeler):
    modeler.get("/modellierung")
    r = modeler.post("/modellierung/hochladen", [("datei", (BytesIO(b"<html/>"), "seite.bpmn"))],
                     content_type="multipart/form-data")
    assert r.status_code == 422
    assert "Die Datei enthält keinen BPMN-Prozess." in r.get_data(as_text=True)


def test_form_editor_validates_json_previews_and_saves_into_the_draft(modeler):
    html = modeler.get("/modellierung/demo_antrag/formular?ref=demo/antrag.schema.json").get_data(as_text=True)
    assert "Bezeichnung des Vorhabens" in html and 'data-fp-preview-form' in html
    assert 'id="feld-vorhaben"' in html  # the preview renders the real form
    r = modeler.post("/modellierung/vorschau", {"text-0": json.dumps({
        "type": "object", "properties": {"summe": {"type": "integer", "title": "Summe"}}}),
        "text-1": json.dumps({"summe": {"ui:widget": "currency"}})})
    assert r.status_code == 200 and 'id="feld-summe"' in r.get_data(as_text=True)
    assert "€" in r.get_data(as_text=True)
    assert "Vorschau nicht möglich" in modeler.post("/modellierung/vorschau", {"text-0": "{"}).get_data(as_text=True)
    r = modeler.post("/modellierung/demo_antrag/formular?ref=demo/antrag.schema.json", {
        "text-0": '{"type": "object", "properties": {"x": {"type": "nix"}}}', "text-1": "{}",
        "_action": "save"})
    assert r.status_code == 422 and "Kein gültiges JSON Schema" in r.get_data(as_text=True)
    schema = json.loads(re.search(r'name="text-0"[^>]*>(.*?)</textarea>',
                                  html, re.S).group(1).replace("&#34;", '"').replace("&amp;", "&"))
    schema["properties"]["vorhaben"]["title"] = "Name des Vorhabens"
    r = modeler.post("/modellierung/demo_antrag/formular?ref=demo/antrag.schema.json", {
        "text-0": json.dumps(schema, ensure_ascii=False), "text-1": "{}", "_action": "save"})
    assert r.status_code == 302
    html = modeler.get(r.headers["Location"]).get_data(as_text=True)
    assert "Das Formular wurde im Entwurf gespeichert." in html and "Name des Vorhabens" in html
    assert "Entwürfe" in text_of(modeler.get("/modellierung").get_data(as_text=True))
