"""The task page: form from JSON Schema + UI schema, German errors at the top and at each field
with the input kept, drafts, file upload, read-only parts, instructions, comments."""

from __future__ import annotations

import re

from app.services import processes
from app.services.context import SYSTEM
from tests.integration.web_support import (
    PDF,
    Browser,
    retire_user,
    start,
    task_id_of,
    text_of,
)


def test_invalid_submit_shows_german_errors_in_summary_and_inline_and_keeps_the_input(app, demo_ags):
    kommune = Browser(app, f"kommune-{demo_ags[0]}")
    url = start(kommune, "demo_antrag")
    html = kommune.get(url).get_data(as_text=True)
    assert "Bitte beschreiben Sie Ihr Vorhaben" in html  # instructions from the BPMN documentation
    assert 'id="feld-vorhaben"' in html and 'name="f.betrag"' in html
    r = kommune.post(url, {"_action": "complete", "f.vorhaben": "Digi", "f.betrag": "80.000",
                           "f.thema": "", "f.ansprechperson_email": "keine-mail"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    summary = html[html.index("data-fp-error-summary"):html.index("</ul>", html.index("data-fp-error-summary"))]
    links = re.findall(r'href="#([^"]+)">([^<]+)<', summary)
    assert [target for target, _ in links] == ["feld-vorhaben", "feld-thema", "feld-ansprechperson_email"]
    assert "„Bezeichnung des Vorhabens“ muss mindestens 5 Zeichen lang sein." in links[0][1]
    assert links[1][1].strip() == "„Themenbereich“ ist ein Pflichtfeld."
    assert 'id="feld-vorhaben-fehler"' in html and 'aria-invalid="true"' in html
    assert 'aria-describedby="feld-vorhaben-fehler"' in html
    assert 'value="Digi"' in html and 'value="80.000"' in html and 'value="keine-mail"' in html
    assert "<title>Fehler: Antrag erfassen" in html
    r = kommune.post(url, {"_action": "complete", "f.vorhaben": "Digitale Bauakte",
                           "f.betrag": "80.000", "f.thema": "verwaltung"})
    assert r.status_code == 302 and r.headers["Location"].startswith("/vorgaenge/")
    page = text_of(kommune.get(r.headers["Location"]).get_data(as_text=True))
    assert "Die Aufgabe „Antrag erfassen“ ist erledigt." in page
    assert "80.000,00 €" in page and "Fachgutachten abgeben" in page  # DMN: ≥ 50.000 € → review


def test_draft_keeps_unvalidated_input_until_the_form_is_opened_again(app, login, demo_ags):
    kommune = Browser(app, f"kommune-{demo_ags[0]}")
    url = start(kommune, "demo_antrag")
    kommune.get(url)
    r = kommune.post(url, {"_action": "draft", "f.vorhaben": "Halb", "f.betrag": "zwölf"})
    assert r.status_code == 302
    html = kommune.get(url).get_data(as_text=True)
    assert "Ihre Eingaben wurden als Entwurf gespeichert." in html
    assert 'value="Halb"' in html and 'value="zwölf"' in html
    api = login(f"kommune-{demo_ags[0]}").get(f"/api/tasks/{task_id_of(url)}").get_json()
    assert api["data"]["vorhaben"] == "Halb"


def _rich_task(app, fixture_process):  # noqa: ANN001, ANN202
    fixture_process("alles")
    sb = Browser(app, "sb1")
    url = start(sb, "web_alles")
    return sb, url


def test_all_widgets_rows_upload_and_read_only_fields_end_up_as_typed_data(app, platform, fixture_process):
    sb, url = _rich_task(app, fixture_process)
    html = sb.get(url).get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in html and 'type="date"' in html
    assert 'type="radio"' in html and "<select" in html and 'type="file"' in html
    assert "AZ-2026-0001" in html and 'name="f.aktenzeichen"' not in html  # read-only
    assert "Weitere Position hinzufügen" in html and "Position 1" in html
    fields = [("f.titel", "Breitband"), ("f.betrag", "2.500,50"), ("f.beginn", "2027-01-15"),
              ("f.art", "neu"), ("f.land", "mittel"), ("f.themen", "energie"),
              ("f.themen", "verwaltung"), ("f.zustimmung", "true"), ("_rows./budget", "1"),
              ("f.budget.0.bezeichnung", "Personal"), ("f.budget.0.kostenart", "personal"),
              ("f.budget.0.kosten", "1.000")]
    # add a row: nothing is submitted, the input stays, the new row gets the focus
    r = sb.post(url, [*fields, ("_action", "add:/budget")])
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "Position 2" in html and 'value="Breitband"' in html
    assert re.search(r'name="f\.budget\.1\.bezeichnung"[^>]*autofocus', html)
    # remove it again
    html = sb.post(url, [*fields, ("_rows./budget", "2"), ("_action", "remove:/budget/1")]).get_data(as_text=True)
    assert "Position 2" not in html
    upload = (__import__("io").BytesIO(PDF), "skizze.pdf")
    r = sb.post(url, [*fields, ("_action", "complete"), ("f.skizze", upload)],
                content_type="multipart/form-data")
    assert r.status_code == 302, text_of(r.get_data(as_text=True))[:1500]
    case = processes.get_instance(platform, SYSTEM, int(r.headers["Location"].split("/")[-1]))
    data = case["data"]
    assert data["betrag"] == 250050 and data["beginn"] == "2027-01-15"
    assert data["themen"] == ["energie", "verwaltung"] and data["zustimmung"] is True
    assert data["budget"] == [{"bezeichnung": "Personal", "kostenart": "personal", "kosten": 100000}]
    assert data["aktenzeichen"] == "AZ-2026-0001" and isinstance(data["skizze"], int)
    page = text_of(sb.get(r.headers["Location"]).get_data(as_text=True))
    assert "skizze.pdf" in page and "2.500,50 €" in page and "15.01.2027" in page
    assert "Personal Personal 1.000,00 €" in page  # budget rows as a table, money in de_DE


def test_upload_error_and_parse_errors_show_at_their_fields(app, fixture_process):
    sb, url = _rich_task(app, fixture_process)
    sb.get(url)
    r = sb.post(url, [("f.titel", "X"), ("f.betrag", "viel"), ("_action", "complete"),
                      ("f.skizze", (__import__("io").BytesIO(b"MZ nope"), "virus.exe"))],
                content_type="multipart/form-data")
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "„Betrag“: keine gültige Zahl." in html and 'value="viel"' in html
    assert "kein zulässiges Format" in html and 'id="feld-skizze-fehler"' in html
    assert "„Titel“ muss mindestens 3 Zeichen lang sein." in html
    assert "„Budgetplan“ braucht mindestens 1 Einträge." in html


def _colleague(platform, ags: str) -> str:  # noqa: ANN001
    """A second user of the same municipality (created once per test database)."""
    from sqlalchemy import select

    from app.models import Municipality, User
    from app.services.users import create_user, ensure_group

    name = f"kollegin-{ags}"
    with platform.db.unit_of_work() as s:
        user = s.scalar(select(User).where(User.username == name))
        if user is None:
            create_user(s, SYSTEM, name, "demo", ["kommune"], [ags])
        else:  # retired by an earlier test of this session
            user.groups, user.municipalities, user.active = [ensure_group(s, "kommune")], [
                s.get(Municipality, ags)], True
    return name


def test_comments_on_the_task_page_and_read_only_view_for_others(app, platform, demo_ags):
    colleague_name = _colleague(platform, demo_ags[0])
    try:
        _comments_and_read_only(app, demo_ags, colleague_name)
    finally:
        retire_user(platform, colleague_name)


def _comments_and_read_only(app, demo_ags, colleague_name: str) -> None:  # noqa: ANN001
    kommune = Browser(app, f"kommune-{demo_ags[0]}")
    url = start(kommune, "demo_antrag")
    kommune.get(url)
    r = kommune.post(url + "/kommentar", {"text": "Bitte Rückruf unter 0611-123."})
    assert r.headers["Location"].endswith("#kommentare")
    html = kommune.get(url).get_data(as_text=True)
    assert "Bitte Rückruf unter 0611-123." in html and "Ihr Kommentar wurde gespeichert." in html
    kommune.post(url + "/kommentar", {"text": "   "})
    assert "Bitte geben Sie einen Kommentar ein." in kommune.get(url).get_data(as_text=True)
    kommune.post(url + "/uebernehmen")
    # a colleague of the same municipality sees the claimed task read-only
    colleague = Browser(app, colleague_name)
    html = colleague.get(url).get_data(as_text=True)
    assert "Die Aufgabe wird von einer anderen Person bearbeitet." in html
    assert 'name="f.vorhaben"' not in html
    r = colleague.post(url, {"_action": "complete", "f.vorhaben": "Fremd"})
    assert r.status_code == 302
    assert "Sie können diese Aufgabe zurzeit nicht bearbeiten." in colleague.get(url).get_data(as_text=True)


def test_another_municipality_gets_not_found(app, demo_ags):
    url = start(Browser(app, f"kommune-{demo_ags[0]}"), "demo_antrag")
    r = Browser(app, f"kommune-{demo_ags[1]}").get(url)
    assert r.status_code == 404 and "Aufgabe nicht gefunden." in r.get_data(as_text=True)


def test_attachments_are_uploaded_from_the_task_page_and_listed_with_their_number(app, demo_ags):
    kommune = Browser(app, f"kommune-{demo_ags[0]}")
    url = start(kommune, "demo_antrag")
    html = kommune.get(url).get_data(as_text=True)
    iid = re.search(r'action="/vorgaenge/(\d+)/dokumente"', html).group(1)
    r = kommune.post(f"/vorgaenge/{iid}/dokumente", [
        ("datei", (__import__("io").BytesIO(PDF), "Projektskizze.pdf")), ("next", url + "#dokumente")],
        content_type="multipart/form-data")
    assert r.headers["Location"] == url + "#dokumente"
    page = text_of(kommune.get(url).get_data(as_text=True))
    assert re.search(r"Projektskizze\.pdf Nr\. \d+ · Upload", page)
