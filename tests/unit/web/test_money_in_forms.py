"""People type and read euros: every amount the shipped forms keep in cents is entered and shown
in euros (de_DE, € sign); years and small counts read as written (issue 12)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from werkzeug.datastructures import MultiDict

from app.web import formrender as fr

FORMS = Path(__file__).resolve().parents[3] / "forms"
SCHEMAS = sorted(FORMS.rglob("*.schema.json"))


def _load(path: Path) -> tuple[dict, dict]:
    ui_path = path.with_name(path.name.replace(".schema.json", ".uischema.json"))
    ui = json.loads(ui_path.read_text()) if ui_path.exists() else {}
    return json.loads(path.read_text()), ui


def _integer_fields(node: dict, ui: dict, path: tuple = ()):  # noqa: ANN202
    for name, sub in (node.get("properties") or {}).items():
        sub_ui = ui.get(name, {}) if isinstance(ui, dict) else {}
        if sub.get("type") == "integer":
            yield (*path, name), sub, sub_ui
        if sub.get("type") == "object":
            yield from _integer_fields(sub, sub_ui, (*path, name))
        if sub.get("type") == "array" and isinstance(sub.get("items"), dict):
            yield from _integer_fields(sub["items"], sub_ui.get("items", {}), (*path, name, "*"))


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda p: str(p.relative_to(FORMS)))
def test_no_shipped_form_asks_a_person_for_cents(path: Path) -> None:
    schema, ui = _load(path)
    assert not re.search(r"\bCent\b", json.dumps(schema, ensure_ascii=False)), \
        "a form text still speaks of cents"
    for where, _node, node_ui in _integer_fields(schema, ui):
        if where[-1].endswith("_cents"):
            assert node_ui.get("ui:widget") == "currency", where
            assert (node_ui.get("ui:options") or {}).get("cents") is True, where


def test_a_million_typed_in_euros_is_stored_as_a_million_euros() -> None:
    schema, ui = _load(FORMS / "phase2" / "cluster_antrag.schema.json")
    form = MultiDict({"f.foerdersumme": "1.000.000,00 €", "f.gesamtvolumen": "1.400.000",
                      "f.eigenanteil": "350000,50"})
    data, errors = fr.parse_form(schema, ui, form)
    assert not [e for e in errors if e["path"] in ("/foerdersumme", "/gesamtvolumen",
                                                   "/eigenanteil")]
    assert data["foerdersumme"] == 100_000_000
    assert data["gesamtvolumen"] == 140_000_000
    assert data["eigenanteil"] == 35_000_050
    view = fr.build_form(schema, ui, data, readonly=True)
    shown = {f.pointer: f.display for f in view.fields}
    assert shown["/foerdersumme"] == "1.000.000,00\xa0€"
    assert shown["/eigenanteil"] == "350.000,50\xa0€"


def test_call_amounts_read_in_euros_on_the_case_page() -> None:
    schema, ui = _load(FORMS / "phase2" / "aufruf_festlegen.schema.json")
    view = fr.summary_form({"phase2/aufruf_festlegen.schema.json": schema,
                            "phase2/aufruf_festlegen.uischema.json": ui},
                           {"budget_cents": 7_500_000_000, "foerdersumme_cents": 250_000_000})
    shown = {f.pointer: f.display for f in view.fields}
    assert shown["/budget_cents"] == "75.000.000,00\xa0€"
    assert shown["/foerdersumme_cents"] == "2.500.000,00\xa0€"


@pytest.mark.parametrize(("value", "text"), [(2027, "2027"), (9500, "9500"), (12500, "12.500"),
                                             (-15000, "-15.000"), (None, "")])
def test_years_and_counts_read_as_written(value, text) -> None:  # noqa: ANN001
    assert fr.format_count(value) == text
