"""Issue 12, modeler part: the BPMN modeler is used with the mouse like a person would (selection,
double-click label editing, lasso), its palette/panel and the DMN editor speak German, and the case
page's diagram can be zoomed and fitted and names elements by their names.

Every interaction goes through page.mouse / the keyboard at on-screen coordinates; the page's own
JavaScript API is never called."""

from __future__ import annotations

import re

from tests.browser.conftest import assert_accessible, screenshot, sign_in

DEMO = "/modellierung/demo_antrag"


def _open_modeler(page, path: str = DEMO) -> None:  # noqa: ANN001
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
