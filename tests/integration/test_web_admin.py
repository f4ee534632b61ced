"""Administration pages: users with groups and municipality membership; groups; incidents."""

from __future__ import annotations

import pytest

from tests.integration.web_support import Browser, retire_user, text_of


@pytest.fixture
def retire(platform):  # noqa: ANN001, ANN201
    names: list[str] = []
    yield names.append
    for name in names:
        retire_user(platform, name)


def test_admin_creates_a_municipal_user_who_can_log_in_and_sees_only_that_municipality(app, demo_ags, retire):
    retire("kaemmerin-web")
    admin = Browser(app, "admin")
    page = text_of(admin.get("/verwaltung/benutzer").get_data(as_text=True))
    assert "sb1 Sabine Bauer (Sachbearbeitung) Sachbearbeitung" in page
    admin.get("/verwaltung/benutzer/neu")
    r = admin.post("/verwaltung/benutzer/neu", [
        ("username", "kaemmerin-web"), ("password", "kurz"), ("groups", "kommune"),
        ("municipalities", "12345, 0649")])
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "Das Passwort muss mindestens 8 Zeichen lang sein." in html
    assert "Ungültiger AGS: 12345, 0649" in html and 'value="kaemmerin-web"' in html
    assert 'href="#password"' in html and 'id="password-fehler"' in html
    r = admin.post("/verwaltung/benutzer/neu", [
        ("username", "kaemmerin-web"), ("password", "sicher-genug"), ("groups", "kommune"),
        ("municipalities", demo_ags[0]), ("display_name", "Kämmerin"), ("email", "k@example.org")])
    assert r.status_code == 302
    page = text_of(admin.get("/verwaltung/benutzer").get_data(as_text=True))
    assert f"kaemmerin-web Kämmerin Kommune {demo_ags[0]} aktiv" in page
    user = Browser(app, "kaemmerin-web", "sicher-genug")
    assert "Demo-Antrag stellen" in user.get("/").get_data(as_text=True)
    r = admin.post("/verwaltung/benutzer/neu", [
        ("username", "kaemmerin-web"), ("password", "sicher-genug"), ("groups", "kommune")])
    assert r.status_code == 422 and "gibt es schon" in r.get_data(as_text=True)


def test_admin_changes_groups_and_deactivates_a_user(app, platform, retire):
    from sqlalchemy import select

    from app.models import User
    from app.services.context import SYSTEM
    from app.services.users import create_user

    with platform.db.unit_of_work() as s:
        user = s.scalar(select(User).where(User.username == "pruefer-web")) or create_user(
            s, SYSTEM, "pruefer-web", "passwort123", ["gutachter"])
        user_id = user.id
    retire("pruefer-web")
    admin = Browser(app, "admin")
    admin.get(f"/verwaltung/benutzer/{user_id}")
    r = admin.post(f"/verwaltung/benutzer/{user_id}", [
        ("groups", "gutachter"), ("groups", "sachbearbeitung"), ("active", "1")])
    assert r.status_code == 302
    assert "Sachbearbeitung" in text_of(admin.get("/verwaltung/benutzer").get_data(as_text=True))
    groups = text_of(admin.get("/verwaltung/gruppen").get_data(as_text=True))
    assert "gutachter Gutachterinnen und Gutachter" in groups
    admin.get(f"/verwaltung/benutzer/{user_id}")
    admin.post(f"/verwaltung/benutzer/{user_id}", [("groups", "gutachter")])  # not active
    login = Browser(app)
    login.get("/anmelden")
    r = login.post("/anmelden", {"username": "pruefer-web", "password": "passwort123"})
    assert r.status_code == 401
    admin.get(f"/verwaltung/benutzer/{user_id}")
    admin.post(f"/verwaltung/benutzer/{user_id}", [("groups", "gutachter"), ("active", "1")])


def test_administration_is_for_admins_only(app):
    sb = Browser(app, "sb1")
    for url in ("/verwaltung/benutzer", "/verwaltung/gruppen", "/verwaltung/benutzer/neu"):
        r = sb.get(url)
        assert r.status_code == 403, url
        assert "Nur die Administration verwaltet Benutzer." in r.get_data(as_text=True)
    assert sb.get("/verwaltung/stoerungen").status_code == 200
    assert Browser(app, "gutachter1").get("/verwaltung/stoerungen").status_code == 403
