"""Issue 12, modeler part: the BPMN modeler is used with the mouse like a person would (selection,
double-click label editing, lasso), its palette/panel and the DMN editor speak German, and the case
page's diagram can be zoomed and fitted and names elements by their names.

Every interaction goes through page.mouse / the keyboard at on-screen coordinates; the page's own
JavaScript API is never called."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import assert_accessible, screenshot, sign_in

DEMO = "/modellierung/demo_antrag"
VERSION_1 = f"{DEMO}?version=1"  # the shipped version, also while another test left a draft


def _open_modeler(page, path: str = VERSION_1) -> None:  # noqa: ANN001
    sign_in(page, "modeler1")
    page.goto(path)
    page.wait_for_selector("#canvas[data-ready='1']")


def _center(page, element_id: str) -> tuple[float, float]:  # noqa: ANN001
    box = page.locator(f'#canvas .djs-shape[data-element-id="{element_id}"] .djs-visual').bounding_box()
    assert box, element_id
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def _box(page, element_id: str) -> dict:  # noqa: ANN001
    box = page.locator(f'#canvas .djs-shape[data-element-id="{element_id}"] .djs-visual').bounding_box()
    assert box, element_id
    return box


def _selected(page) -> set[str]:  # noqa: ANN001
    return set(page.locator("#canvas .djs-element.selected").evaluate_all(
        "els => els.map(e => e.getAttribute('data-element-id'))"))


def _panel_id(page) -> str:  # noqa: ANN001
    panel = page.locator("#properties")
    general = panel.locator(".bio-properties-panel-group-header", has_text="Allgemein")
    if "open" not in (general.get_attribute("class") or ""):
        general.click()
    return panel.get_by_label("ID", exact=True).input_value()


def test_clicking_a_task_on_the_canvas_shows_it_in_the_properties_panel(page):
    _open_modeler(page)
    x, y = _center(page, "antrag_erfassen")
    page.mouse.click(x, y)
    header = page.locator("#properties .bio-properties-panel-header-label")
    header.filter(has_text="Antrag erfassen").wait_for()
    assert _selected(page) == {"antrag_erfassen"}
    assert _panel_id(page) == "antrag_erfassen"
    # a second element: the selection follows the click, it does not fall back to the collaboration
    x, y = _center(page, "stufe_bestimmen")
    page.mouse.click(x, y)
    header.filter(has_text=re.compile("Prüfstufe|stufe", re.I)).wait_for()
    assert _selected(page) == {"stufe_bestimmen"}
    assert _panel_id(page) == "stufe_bestimmen"
    screenshot(page, "t12-modeler-auswahl")
    assert not page.js_errors


def _text_of(page, element_id: str) -> str:  # noqa: ANN001
    text = page.locator(f'#canvas .djs-shape[data-element-id="{element_id}"] .djs-visual text').text_content()
    return " ".join((text or "").split())


def test_double_click_on_a_task_edits_its_label_in_place(page):
    _open_modeler(page)
    x, y = _center(page, "antrag_erfassen")
    page.mouse.dblclick(x, y)
    editor = page.locator(".djs-direct-editing-parent")
    editor.wait_for()
    assert " ".join(editor.inner_text().split()) == "Antrag erfassen"
    page.keyboard.press("Control+A")
    page.keyboard.type("Antrag stellen")
    page.keyboard.press("Enter")
    editor.wait_for(state="hidden")
    assert _text_of(page, "antrag_erfassen") == "Antrag stellen"
    # (the second click of a double click deselects again, as in every bpmn-js: click once more)
    page.mouse.click(x, y)
    page.locator("#properties .bio-properties-panel-header-label").filter(has_text="Antrag stellen").wait_for()
    assert _panel_id(page) == "antrag_erfassen"
    assert not page.js_errors


def _drag(page, start: tuple[float, float], end: tuple[float, float]) -> None:  # noqa: ANN001
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move((start[0] + end[0]) / 2, (start[1] + end[1]) / 2, steps=5)
    page.mouse.move(*end, steps=5)
    page.mouse.up()


def _around(page, *element_ids: str, pad: float = 12) -> tuple[tuple[float, float], tuple[float, float]]:  # noqa: ANN001
    boxes = [_box(page, i) for i in element_ids]
    left = min(b["x"] for b in boxes) - pad
    top = min(b["y"] for b in boxes) - pad
    right = max(b["x"] + b["width"] for b in boxes) + pad
    bottom = max(b["y"] + b["height"] for b in boxes) + pad
    return (left, top), (right, bottom)


def test_lasso_tool_from_the_palette_selects_two_elements(page):
    _open_modeler(page)
    lasso = page.locator(".djs-palette .entry[data-action='lasso-tool']")
    assert lasso.get_attribute("aria-label") == "Lasso-Werkzeug aktivieren"
    shapes = page.locator("#canvas .djs-shape").count()
    lasso.click()
    _drag(page, *_around(page, "gw_stufe", "fachgutachten"))
    selected = _selected(page)
    assert {"gw_stufe", "fachgutachten"} <= selected
    assert "stufe_bestimmen" not in selected and "Participant_demo" not in selected
    assert page.locator("#canvas .djs-shape").count() == shapes  # nothing was created or moved
    page.locator("#properties").get_by_text("Mehrere Elemente sind ausgewählt").wait_for()
    screenshot(page, "t12-modeler-lasso")
    assert not page.js_errors


def test_shift_drag_on_the_canvas_selects_two_elements(page):
    _open_modeler(page)
    page.keyboard.down("Shift")
    _drag(page, *_around(page, "stufe_bestimmen", "gw_stufe"))
    page.keyboard.up("Shift")
    selected = _selected(page)
    assert {"stufe_bestimmen", "gw_stufe"} <= selected
    assert "antrag_erfassen" not in selected
    assert not page.js_errors


ENGLISH_PALETTE = {"Activate hand tool", "Activate lasso tool", "Create start event", "Create task",
                   "Create gateway", "Create end event", "Create pool/participant"}


def test_palette_context_pad_and_properties_panel_speak_german(page):
    _open_modeler(page)
    titles = page.locator(".djs-palette .entry[aria-label]").evaluate_all(
        "els => els.map(e => e.getAttribute('aria-label'))")
    assert len(titles) >= 10
    assert not ENGLISH_PALETTE & set(titles), titles
    assert {"Hand-Werkzeug aktivieren", "Startereignis anlegen", "Aufgabe anlegen",
            "Pool/Teilnehmer anlegen"} <= set(titles)
    x, y = _center(page, "antrag_erfassen")
    page.mouse.click(x, y)
    pad = page.locator(".djs-context-pad .entry")
    pad.first.wait_for()
    pad_titles = set(pad.evaluate_all("els => els.map(e => e.title || e.getAttribute('aria-label'))"))
    assert {"Aufgabe anhängen", "Element ändern", "Löschen"} <= pad_titles, pad_titles
    panel = page.locator("#properties")
    assert panel.locator(".bio-properties-panel-header-type").inner_text().strip().lower() == "benutzeraufgabe"
    groups = set(panel.locator(".bio-properties-panel-group-header-title").all_inner_texts())
    assert {"Allgemein", "Förderportal"} <= groups and "General" not in groups, groups
    assert_accessible(page, "t12-modellierung")
    screenshot(page, "t12-modeler-deutsch")
    assert not page.js_errors


def test_dmn_editor_labels_are_german(page):
    sign_in(page, "modeler1")
    page.goto(f"{VERSION_1}&datei=demo/demo_pruefstufe.dmn")
    table = page.locator("#dmn-canvas .tjs-table")
    table.wait_for()
    heads = " ".join(page.locator("#dmn-canvas").inner_text().split())
    assert "Wenn" in heads and "Dann" in heads and "Anmerkungen" in heads, heads
    assert "When" not in heads and "Annotations" not in heads
    assert "Trefferrichtlinie" in heads
    page.locator("#dmn-canvas .add-rule-add").click()  # the "+" row adds a rule
    assert page.locator("#dmn-canvas tbody tr").count() == 3
    screenshot(page, "t12-dmn-deutsch")
    assert_accessible(page, "t12-dmn")
    assert not page.js_errors


def _viewport_transform(page) -> str:  # noqa: ANN001
    return page.locator("#diagram svg g.viewport").first.get_attribute("transform") or ""


def test_case_diagram_zooms_and_fits_and_names_elements_not_ids(page, login, demo_ags):
    from tests.browser.test_acceptance import _submitted_application

    iid = _submitted_application(login, demo_ags)
    sign_in(page, f"kommune-{demo_ags[0]}")
    page.goto(f"/vorgaenge/{iid}")
    page.wait_for_selector("#diagram .djs-element.state-active")
    tools = page.get_by_role("toolbar", name="Ansicht des Diagramms")
    tools.wait_for()
    fitted = _viewport_transform(page)
    tools.get_by_role("button", name="Vergrößern").click()
    zoomed_in = _viewport_transform(page)
    assert zoomed_in != fitted
    tools.get_by_role("button", name="Verkleinern").click()
    tools.get_by_role("button", name="Verkleinern").click()
    assert _viewport_transform(page) not in (fitted, zoomed_in)
    # keyboard: the buttons are reachable and "0" fits again
    tools.get_by_role("button", name="Einpassen").focus()
    page.keyboard.press("Enter")
    assert _viewport_transform(page) == fitted
    tools.get_by_role("button", name="Vergrößern").focus()
    page.keyboard.press("+")
    assert _viewport_transform(page) != fitted
    page.keyboard.press("0")
    assert _viewport_transform(page) == fitted

    label = page.locator("#diagram").get_attribute("aria-label")
    titles = page.locator("#diagram title.fp-state-title").all_text_contents()
    ids = ("gw_zusammen", "gw_stufe", "antrag_erfassen", "stufe_bestimmen", "start")
    for text in [label, *titles]:
        words = set(re.findall(r"[\w-]+", text))
        assert not words & set(ids), text
    assert "Exklusives Gateway" in label and "Antrag begonnen" in label
    assert_accessible(page, "t12-vorgang")
    screenshot(page, "t12-vorgang-zoom")
    assert not page.js_errors


@pytest.fixture
def discard_demo_draft(platform):  # noqa: ANN001, ANN201
    yield
    from app.services import modeler
    from app.services.context import SYSTEM
    from app.services.errors import NotFound

    try:
        modeler.discard_draft(platform, SYSTEM, "demo_antrag")
    except NotFound:
        pass


def test_import_warnings_are_german_and_problem_links_select_their_element(page, platform, discard_demo_draft):
    from app.services import modeler
    from app.services.context import SYSTEM

    xml = modeler.workspace(platform, SYSTEM, "demo_antrag", 1)["sources"]["demo/demo_antrag.bpmn"]
    broken = xml.replace('<bpmn:userTask id="antrag_erfassen" name="Antrag erfassen">',
                         '<bpmn:userTask id="antrag_erfassen" name="Antrag erfassen"><bpmn:quatsch />')
    assert broken != xml
    sign_in(page, "modeler1")
    page.goto("/modellierung")
    page.locator("#datei").set_input_files(
        files=[{"name": "demo_antrag.bpmn", "mimeType": "application/xml", "buffer": broken.encode()}])
    page.get_by_role("button", name="Hochladen und prüfen").click()
    page.wait_for_selector("#canvas[data-ready='1']")
    warnings = page.locator("#import-warnings")
    assert warnings.is_visible()
    text = " ".join(warnings.inner_text().split())
    assert "Nicht lesbarer Inhalt <bpmn:quatsch>" in text and "unbekannter Elementtyp <bpmn:Quatsch>" in text, text
    assert "unparsable" not in text and "unknown" not in text
    # the problem list links to the element; following the link selects it on the canvas
    link = page.locator("[data-fp-error-summary] a[data-fp-show-element='antrag_erfassen']").first
    link.click()
    page.locator("#properties .bio-properties-panel-header-label").filter(has_text="Antrag erfassen").wait_for()
    assert _selected(page) == {"antrag_erfassen"}
    screenshot(page, "t12-modeler-hinweise")
    assert not page.js_errors
