"""Acceptance of the web UI in a real browser (Debian's chromium through Playwright), with axe-core
on every main page and screenshots in test-artifacts/."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.browser.conftest import assert_accessible, screenshot, sign_in
from tests.integration.helpers import open_tasks
from tests.integration.web_support import definition_ids, forget_new_definitions


@dataclass(frozen=True)
class Application:
    """How a municipal user starts and fills the application the acceptance test uses."""

    process_key: str
    start_label: str
    task_title: str
    fill_valid: Callable            # (page) -> None: everything valid except `invalid_label`
    invalid_label: str              # the field filled with an invalid value
    invalid_value: str
    valid_value: str
    error: str                      # the German message expected at the field and in the summary
    api_data: dict                  # data that completes the task through the API
    review_title: str               # the task sachbearbeitung gets next


def _fill_demo(page) -> None:  # noqa: ANN001
    page.get_by_label("Themenbereich").select_option(label="Verwaltung")
    page.get_by_label("Beantragter Betrag (€)").fill("12.500")
    page.get_by_label("Beschreibung").fill("Digitale Bauakte für alle Ortsteile.")


DEMO_APPLICATION = Application(
    process_key="demo_antrag", start_label="Demo-Antrag stellen", task_title="Antrag erfassen",
    fill_valid=_fill_demo, invalid_label="Bezeichnung des Vorhabens", invalid_value="Bau",
    valid_value="Digitale Bauakte",
    error="„Bezeichnung des Vorhabens“ muss mindestens 5 Zeichen lang sein.",
    api_data={"vorhaben": "Digitale Bauakte", "betrag": 12500, "thema": "verwaltung"},
    review_title="Antrag prüfen und entscheiden",
)
# The Phase 2 cluster application ("cluster_antrag", starter lane "kommune") replaces the demo
# process here once it is deployed: define CLUSTER_APPLICATION like DEMO_APPLICATION and switch.
APPLICATION = DEMO_APPLICATION


@pytest.fixture
def clean_definitions(platform):  # noqa: ANN001, ANN201
    before = definition_ids(platform)
    yield
    forget_new_definitions(platform, before)


def test_municipal_user_submits_application_with_one_invalid_field_then_fixes_it(page, demo_ags):
    app = APPLICATION
    page.goto("/anmelden")
    assert_accessible(page, "anmeldung")
    screenshot(page, "01-anmeldung")
    sign_in(page, f"kommune-{demo_ags[0]}")
    assert page.get_by_role("heading", name="Was jetzt ansteht").is_visible()
    assert_accessible(page, "startseite")
    screenshot(page, "02-startseite")

    page.get_by_role("button", name=app.start_label).click()
    page.wait_for_url(re.compile(r".*/aufgaben/[0-9a-f-]{36}$"))
    assert page.get_by_role("heading", name=app.task_title, level=1).is_visible()
    app.fill_valid(page)
    page.get_by_label(app.invalid_label).fill(app.invalid_value)
    page.get_by_role("button", name="Absenden", exact=True).click()
    page.wait_for_load_state()

    summary = page.locator("[data-fp-error-summary]")
    assert summary.is_visible() and app.error in summary.inner_text()
    assert page.evaluate("document.activeElement.hasAttribute('data-fp-error-summary')")
    field = page.get_by_label(app.invalid_label)
    assert field.get_attribute("aria-invalid") == "true"
    error_id = field.get_attribute("aria-describedby")
    assert page.locator(f"#{error_id}").inner_text().strip() == app.error  # inline, at the field
    assert field.input_value() == app.invalid_value  # entered data kept
    assert page.get_by_label("Beantragter Betrag (€)").input_value() == "12.500"
    summary.get_by_role("link", name=app.error).click()
    assert page.evaluate("document.activeElement.id") == field.get_attribute("id")
    assert_accessible(page, "aufgabe")
    screenshot(page, "03-aufgabe-mit-fehler")

    field.fill(app.valid_value)
    page.get_by_role("button", name="Absenden", exact=True).click()
    page.wait_for_url(re.compile(r".*/vorgaenge/\d+$"))
    assert page.get_by_text(f"Die Aufgabe „{app.task_title}“ ist erledigt.").is_visible()
    assert not page.js_errors


def _submitted_application(login, demo_ags) -> int:  # noqa: ANN001
    kommune = login(f"kommune-{demo_ags[0]}")
    iid = kommune.post("/api/process-instances", json={
        "process_key": APPLICATION.process_key, "business_key": "ANTRAG-7"}).get_json()["id"]
    [task] = open_tasks(kommune, iid)
    r = kommune.post(f"/api/tasks/{task['id']}/complete", json={"data": APPLICATION.api_data})
    assert r.status_code == 200, r.get_json()
    return iid


def test_case_page_renders_the_diagram_with_the_active_task_marked(page, login, demo_ags):
    iid = _submitted_application(login, demo_ags)
    sign_in(page, f"kommune-{demo_ags[0]}")
    page.goto(f"/vorgaenge/{iid}")
    page.wait_for_selector("#diagram .djs-element.state-active")
    active = page.locator("#diagram .djs-element.state-active").evaluate_all(
        "els => els.map(e => e.getAttribute('data-element-id'))")
    assert "antrag_pruefen" in active
    done = page.locator("#diagram .djs-element.state-completed").evaluate_all(
        "els => els.map(e => e.getAttribute('data-element-id'))")
    assert {"start", "antrag_erfassen"} <= set(done)
    label = page.locator("#diagram").get_attribute("aria-label")
    assert "Aktiv: Antrag prüfen und entscheiden" in label
    assert page.get_by_role("heading", name="Verlauf", exact=True).is_visible()
    assert_accessible(page, "vorgang")
    screenshot(page, "04-vorgang")
    assert not page.js_errors


def test_clerk_sees_the_task_in_the_group_inbox_claims_and_completes_it(page, login, demo_ags):
    iid = _submitted_application(login, demo_ags)
    sign_in(page, "sb1")
    page.get_by_role("link", name="Aufgaben", exact=True).click()
    page.get_by_role("link", name=re.compile("Aufgaben meiner Gruppen")).click()
    row = page.locator("tr", has=page.get_by_role("link", name="ANTRAG-7"))
    assert row.get_by_role("link", name=APPLICATION.review_title).is_visible()
    assert row.get_by_text("nicht übernommen").is_visible()
    assert_accessible(page, "postkorb")
    screenshot(page, "05-postkorb")
    row.get_by_role("button", name=re.compile("Übernehmen")).click()
    page.wait_for_url(re.compile(r".*/aufgaben/[0-9a-f-]{36}$"))
    assert page.get_by_text("Sie haben die Aufgabe übernommen.").is_visible()
    assert page.get_by_text("Sabine Bauer (Sachbearbeitung)").first.is_visible()
    page.get_by_label("bewilligt").check()
    page.get_by_label("Begründung").fill("Förderfähig, vollständig.")
    page.get_by_role("button", name="Absenden", exact=True).click()
    page.wait_for_url(re.compile(rf".*/vorgaenge/{iid}$"))
    assert page.get_by_text(f"Die Aufgabe „{APPLICATION.review_title}“ ist erledigt.").is_visible()
    page.get_by_role("link", name="Aufgaben", exact=True).click()
    page.get_by_role("link", name=re.compile("Aufgaben meiner Gruppen")).click()
    assert page.locator("tr", has=page.get_by_role("link", name="ANTRAG-7")).count() == 0
    assert not page.js_errors


def _modeler_page(page) -> None:  # noqa: ANN001
    page.wait_for_selector("#canvas[data-ready='1']")


def test_modeler_renames_a_task_saves_deploys_and_lists_the_new_version(page, platform, clean_definitions):
    sign_in(page, "modeler1")
    page.get_by_role("link", name="Modellierung").click()
    versions = page.locator("table[data-process='demo_antrag'] tbody tr")
    before = versions.count()
    page.get_by_role("link", name=re.compile(rf"Öffnen Demo-Antrag .* Version {before}$")).click()
    _modeler_page(page)
    assert page.evaluate("window.foerderModeler.showElement('antrag_erfassen')")  # select it
    panel = page.locator("#properties")
    panel.get_by_text("Förderportal").wait_for()
    # what the platform reads is edited in the "Förderportal" group of the properties panel
    assert panel.get_by_text("Förderportal").is_visible()
    assert panel.get_by_label("Formular (JSON Schema)").input_value() == "demo/antrag.schema.json"
    assert panel.get_by_label("Frist (Tage)").input_value() == "7"
    panel.get_by_text("Allgemein").click()  # open the standard group
    name = panel.get_by_label("Name", exact=True)
    name.fill("Antrag stellen")
    page.wait_for_timeout(400)  # the panel debounces input
    assert_accessible(page, "modellierung")
    screenshot(page, "06-modellierung")
    with page.expect_navigation(url=re.compile(r".*/modellierung/demo_antrag\?datei=.*")):
        page.get_by_role("button", name="Speichern und prüfen").click()
    _modeler_page(page)
    assert page.get_by_text("Der Entwurf ist gültig und kann bereitgestellt werden.").is_visible()
    with page.expect_navigation(url=re.compile(r".*/modellierung#prozess-demo_antrag$")):
        page.get_by_role("button", name="Bereitstellen (neue Version)").click()
    assert page.get_by_text(f"Version {before + 1} von „demo_antrag“ wurde bereitgestellt.").is_visible()
    assert versions.count() == before + 1
    assert versions.first.get_attribute("data-version") == str(before + 1)
    from app.services import modeler
    from app.services.context import SYSTEM

    xml = modeler.workspace(platform, SYSTEM, "demo_antrag")["sources"]["demo/demo_antrag.bpmn"]
    assert 'name="Antrag stellen"' in xml
    assert "<bpmn:loopDataInputRef>gutachten_themen</bpmn:loopDataInputRef>" in xml  # kept
    assert 'spiffworkflow:property name="formJsonSchemaFilename"' in xml
    assert not page.js_errors


def test_broken_diagram_shows_the_validation_error(page, platform):
    from app.services import modeler
    from app.services.context import SYSTEM

    xml = modeler.workspace(platform, SYSTEM, "demo_antrag")["sources"]["demo/demo_antrag.bpmn"]
    broken = re.sub(r'(<bpmn:sequenceFlow id="f_geprueft" sourceRef="antrag_pruefen") targetRef="[^"]+"',
                    r"\1", xml)
    assert broken != xml
    sign_in(page, "modeler1")
    page.goto("/modellierung")
    page.locator("#datei").set_input_files(
        files=[{"name": "demo_antrag.bpmn", "mimeType": "application/xml", "buffer": broken.encode()}])
    page.get_by_role("button", name="Hochladen und prüfen").click()
    _modeler_page(page)
    summary = page.locator("[data-fp-error-summary]")
    assert "Die Prüfung hat" in summary.inner_text()
    assert "f_geprueft" in summary.inner_text() and "targetRef" in summary.inner_text()
    # the flow without target cannot be drawn: its source is marked in the diagram
    assert "antrag_pruefen" in page.locator("#canvas").get_attribute("data-marked").split()
    assert page.locator('#canvas .djs-element.validation-error[data-element-id="antrag_pruefen"]').count() == 1
    screenshot(page, "07-modellierung-fehler")
    with page.expect_navigation():
        page.get_by_role("button", name="Bereitstellen (neue Version)").click()
    assert page.get_by_text("Nicht bereitgestellt").is_visible()
    assert not page.js_errors


def test_form_editor_shows_a_live_preview(page):
    sign_in(page, "modeler1")
    page.goto("/modellierung/demo_antrag/formular?ref=demo/antrag.schema.json")
    preview = page.locator("#form-preview")
    assert preview.get_by_label("Bezeichnung des Vorhabens").is_visible()
    schema = page.get_by_label(re.compile("JSON Schema"))
    schema.fill(schema.input_value().replace("Bezeichnung des Vorhabens", "Titel des Projekts"))
    preview.get_by_label("Titel des Projekts").wait_for()
    schema.fill("{ kaputt")
    preview.get_by_text("Vorschau nicht möglich").wait_for()
    assert not page.js_errors
