"""Forms from JSON Schema + UI schema: widgets, German input, rows, errors at their fields."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from werkzeug.datastructures import MultiDict

from app.web import formrender as fr

FIXTURES = Path(__file__).resolve().parents[2] / "integration" / "web_fixtures" / "alles"
SCHEMA = json.loads((FIXTURES / "alles.schema.json").read_text())
UI = json.loads((FIXTURES / "alles.uischema.json").read_text())


def _by_pointer(fields, ptr):  # noqa: ANN001, ANN202
    for f in fields:
        if f.pointer == ptr:
            return f
        found = _by_pointer(f.children + f.rows, ptr)
        if found:
            return found
    return None


def test_every_widget_kind_is_chosen_from_schema_and_ui_schema():
    view = fr.build_form(SCHEMA, UI, {"aktenzeichen": "AZ-1"})
    kinds = {f.path[0]: f.kind for f in view.fields}
    assert kinds == {
        "aktenzeichen": "text", "titel": "text", "begruendung": "textarea", "anzahl": "number",
        "betrag": "currency", "beginn": "date", "art": "radio", "land": "select",
        "themen": "checkboxes", "zustimmung": "checkbox", "budget": "array", "partner": "array",
        "skizze": "file",
    }
    # ui:order with "*": listed first, the rest in schema order, skizze last
    assert [f.path[0] for f in view.fields][:3] == ["aktenzeichen", "titel", "begruendung"]
    assert view.fields[-1].path == ("skizze",)
    assert view.multipart
    assert _by_pointer(view.fields, "/aktenzeichen").readonly
    assert _by_pointer(view.fields, "/aktenzeichen").display == "AZ-1"
    land = _by_pointer(view.fields, "/land")
    assert [label for _, label, _ in land.options][:2] == ["Süd", "Mittel"]
    # an array of objects starts with one empty row ($ref resolved, titles from the UI schema)
    budget = _by_pointer(view.fields, "/budget")
    assert [r.title for r in budget.rows] == ["Position 1"]
    assert [c.kind for c in budget.rows[0].children] == ["text", "radio", "currency"]
    assert budget.add_label == "Weitere Position hinzufügen"
    assert not budget.can_remove  # minItems 1


def test_german_numbers_money_in_cents_and_dates_are_parsed():
    form = MultiDict([
        ("f.titel", "Digitale Bauakte"), ("f.betrag", "1.234,56"), ("f.anzahl", "12"),
        ("f.beginn", "01.03.2027"), ("f.art", "neu"), ("f.themen", "energie"),
        ("f.themen", "mobilitaet"), ("f.zustimmung", "true"), ("_rows./budget", "2"),
        ("f.budget.0.bezeichnung", "Personal"), ("f.budget.0.kosten", "80.000"),
        ("f.budget.1.bezeichnung", ""), ("f.budget.1.kosten", ""),
    ])
    data, errors = fr.parse_form(SCHEMA, UI, form, {"aktenzeichen": "AZ-1"})
    assert errors == []
    assert data == {
        "aktenzeichen": "AZ-1", "titel": "Digitale Bauakte", "anzahl": 12, "betrag": 123456,
        "beginn": "2027-03-01", "art": "neu", "themen": ["mobilitaet", "energie"],
        "zustimmung": True, "budget": [{"bezeichnung": "Personal", "kosten": 8000000}],
        "partner": [],
    }
    # and back: the input shows German formatting, the read-only view Euro
    view = fr.build_form(SCHEMA, UI, data)
    assert _by_pointer(view.fields, "/betrag").display == "1.234,56"
    ro = fr.build_form(SCHEMA, UI, data, readonly=True)
    assert _by_pointer(ro.fields, "/betrag").display == "1.234,56\xa0€"
    assert _by_pointer(ro.fields, "/beginn").display == "01.03.2027"
    assert _by_pointer(ro.fields, "/themen").display == "Mobilität, Energie"


@pytest.mark.parametrize(("raw", "integer", "expected"), [
    ("80.000", True, 80000), ("80000", True, 80000), ("1.234,5", False, 1234.5),
    ("1234.5", False, 1234.5), ("  2 500 € ", True, 2500), ("-3", True, -3),
])
def test_number_input(raw, integer, expected):  # noqa: ANN001
    assert fr.parse_number(raw, integer=integer) == expected


def test_unreadable_input_is_kept_and_reported_at_its_field():
    form = MultiDict([("f.betrag", "zwölf"), ("f.anzahl", "1,5"), ("f.beginn", "31.02.2027"),
                      ("f.budget.0.kosten", "12,345")])
    data, errors = fr.parse_form(SCHEMA, UI, form, {})
    assert data["betrag"] == "zwölf" and data["beginn"] == "31.02.2027"
    messages = {e["path"]: e["message"] for e in errors}
    assert messages == {
        "/betrag": "„Betrag“: keine gültige Zahl.",
        "/anzahl": "„Anzahl Beteiligte“: muss eine ganze Zahl sein.",
        "/beginn": "„Beginn“: kein gültiges Datum (TT.MM.JJJJ).",
        "/budget/0/kosten": "„Kosten (Cent)“: darf höchstens zwei Nachkommastellen haben.",
    }
    view = fr.build_form(SCHEMA, UI, data, errors)
    assert _by_pointer(view.fields, "/betrag").display == "zwölf"  # entered data kept


def test_errors_are_summarised_in_field_order_and_shown_inline():
    errors = [{"path": "/budget/0/kosten", "message": "Kosten fehlen."},
              {"path": "/titel", "message": "Titel fehlt."},
              {"path": "/gibtsnicht/x", "message": "Unbekannt."},
              {"path": "", "message": "Insgesamt ungültig."}]
    view = fr.build_form(SCHEMA, UI, {"budget": [{}]}, errors)
    # problems without a field of their own link to the form and come first, then form order
    assert view.summary == [("#formular", "Unbekannt."), ("#formular", "Insgesamt ungültig."),
                            ("#feld-titel", "Titel fehlt."),
                            ("#feld-budget-0-kosten", "Kosten fehlen.")]
    kosten = _by_pointer(view.fields, "/budget/0/kosten")
    assert kosten.errors == ["Kosten fehlen."]
    assert kosten.described_by == "feld-budget-0-kosten-fehler"


def test_rows_are_added_and_removed_without_losing_input():
    form = MultiDict([("_rows./budget", "1"), ("f.budget.0.bezeichnung", "Sachkosten"),
                      ("f.titel", "Behalten")])
    data, _ = fr.parse_form(SCHEMA, UI, form, {}, keep_empty_rows=True)
    new_row = fr.add_row(SCHEMA, data, "/budget")
    assert new_row == "/budget/1"
    assert data["budget"] == [{"bezeichnung": "Sachkosten"}, {}]
    view = fr.build_form(SCHEMA, UI, data, focus=new_row)
    budget = _by_pointer(view.fields, "/budget")
    assert len(budget.rows) == 2 and budget.can_remove
    assert _by_pointer(view.fields, "/budget/1/bezeichnung").autofocus
    assert fr.remove_row(data, "/budget/0") == "/budget"
    assert data == {"titel": "Behalten", "budget": [{}], "partner": [], "themen": [],
                    "zustimmung": False}
    # empty rows are dropped when the form is submitted for real
    data, _ = fr.parse_form(SCHEMA, UI, MultiDict([("_rows./budget", "3")]), {})
    assert data["budget"] == []


def test_read_only_fields_keep_the_stored_value_whatever_is_posted():
    data, _ = fr.parse_form(SCHEMA, UI, MultiDict([("f.aktenzeichen", "GEFÄLSCHT")]),
                            {"aktenzeichen": "AZ-7"})
    assert data["aktenzeichen"] == "AZ-7"


def test_file_widget_stores_the_upload_and_keeps_it_on_redisplay():
    class Upload:
        filename = "skizze.pdf"

    stored = []

    def store(path, upload):  # noqa: ANN001, ANN202
        stored.append((path, upload.filename))
        return 42

    data, _ = fr.parse_form(SCHEMA, UI, MultiDict(), {}, files={"f.skizze": Upload()}, store_file=store)
    assert data["skizze"] == 42 and stored == [(("skizze",), "skizze.pdf")]
    view = fr.build_form(SCHEMA, UI, data, file_label=fr.document_labeler(
        [{"id": 42, "filename": "skizze.pdf"}]))
    skizze = _by_pointer(view.fields, "/skizze")
    assert skizze.display == "skizze.pdf" and skizze.options == ["42"]
    again, _ = fr.parse_form(SCHEMA, UI, MultiDict([("f.skizze.__keep", "42")]), {})
    assert again["skizze"] == 42


def test_summary_of_a_case_uses_titles_from_all_forms():
    forms = {"web/alles.schema.json": SCHEMA, "web/alles.uischema.json": UI}
    view = fr.summary_form(forms, {"betrag": 500, "intern": 1, "budget": [
        {"bezeichnung": "Personal", "kosten": 250000}]})
    assert [f.title for f in view.fields] == ["Betrag", "Budgetplan"]
    assert view.fields[0].display == "5,00\xa0€"
    budget = view.fields[1]
    assert budget.columns == [("bezeichnung", "Bezeichnung"), ("kostenart", "Kostenart"),
                              ("kosten", "Kosten (Cent)")]
    assert fr.summary_form(forms, {"intern": 1}) is None


def test_date_time_fields_use_local_time_in_the_input_and_rfc3339_in_the_data():
    schema = {"type": "object", "properties": {"termin": {"type": "string", "format": "date-time",
                                                          "title": "Termin"}}}
    data, errors = fr.parse_form(schema, {}, MultiDict([("f.termin", "2027-03-01T09:30")]), {})
    assert errors == [] and data == {"termin": "2027-03-01T09:30:00+01:00"}
    view = fr.build_form(schema, {}, data)
    assert view.fields[0].kind == "datetime" and view.fields[0].display == "2027-03-01T09:30"
    assert fr.build_form(schema, {}, {"termin": "2027-07-01T08:00:00Z"}, readonly=True) \
        .fields[0].display == "01.07.2027, 10:00 Uhr"
    _, errors = fr.parse_form(schema, {}, MultiDict([("f.termin", "morgen")]), {})
    assert errors == [{"path": "/termin", "message": "„Termin“: kein gültiger Zeitpunkt (TT.MM.JJJJ HH:MM)."}]


def test_checkbox_labels_may_sit_on_the_items_of_the_ui_schema():
    schema = {"type": "object", "properties": {"themen": {"type": "array", "title": "Themen",
              "items": {"type": "string", "enum": ["a", "b"]}}}}
    ui = {"themen": {"ui:widget": "checkboxes", "items": {"ui:enumNames": ["Alpha", "Beta"]}}}
    assert [label for _, label, _ in fr.build_form(schema, ui, {}).fields[0].options] == ["Alpha", "Beta"]


def test_absurdly_large_numbers_are_refused_not_stored():
    with pytest.raises(fr.ParseError):
        fr.parse_number("1e999999", integer=True)
    with pytest.raises(fr.ParseError):
        fr.parse_number("NaN", integer=False)


def test_a_new_form_opens_with_the_schema_defaults_but_keeps_what_is_there():
    schema = {"type": "object", "properties": {
        "foerdersumme_cents": {"type": "integer", "default": 250_000_000},
        "laufzeit": {"type": "integer", "default": 24},
        "gewichte": {"type": "object", "properties": {"a": {"type": "integer", "default": 1},
                                                      "b": {"type": "integer"}}},
        "name": {"type": "string"},
        "tief": {"$ref": "#"},
    }}
    assert fr.with_defaults(schema, {}) == {"foerdersumme_cents": 250_000_000, "laufzeit": 24,
                                            "gewichte": {"a": 1}}
    assert fr.with_defaults(schema, {"laufzeit": 12, "gewichte": {"a": 3}}) == {
        "foerdersumme_cents": 250_000_000, "laufzeit": 12, "gewichte": {"a": 3}}


def test_the_call_form_proposes_its_defaults_in_euros():
    forms = Path(__file__).resolve().parents[3] / "forms" / "phase2"
    schema = json.loads((forms / "aufruf_festlegen.schema.json").read_text())
    ui = json.loads((forms / "aufruf_festlegen.uischema.json").read_text())
    view = fr.build_form(schema, ui, fr.with_defaults(schema, {}))
    assert _by_pointer(view.fields, "/foerdersumme_cents").display == "2.500.000,00"
    assert _by_pointer(view.fields, "/laufzeit_monate").display == "24"
