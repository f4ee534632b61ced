"""Web login: session cookie, CSRF on every form, logout, rate-limited failures, safe redirects."""

from __future__ import annotations

from tests.integration.web_support import Browser, csrf_token, text_of


def test_login_page_is_german_and_protected_pages_redirect_to_it(app):
    b = Browser(app)
    r = b.get("/aufgaben")
    assert r.status_code == 302 and r.headers["Location"].startswith("/anmelden?next=/aufgaben")
    page = b.get("/anmelden").get_data(as_text=True)
    assert '<html lang="de"' in page and "Benutzername" in page and "Passwort" in page
    assert b.get("/").status_code == 302


def test_login_sets_the_session_and_follows_only_local_next(app):
    b = Browser(app)
    b.get("/anmelden")
    r = b.post("/anmelden", {"username": "sb1", "password": "demo", "next": "/aufgaben?ansicht=meine"})
    assert r.status_code == 302 and r.headers["Location"] == "/aufgaben?ansicht=meine"
    page = text_of(b.get("/").get_data(as_text=True))
    assert "Angemeldet als Sabine Bauer (Sachbearbeitung) (sb1)" in page
    assert "Willkommen, Sabine Bauer (Sachbearbeitung)! Sie sind angemeldet." in page  # not "sb1"
    other = Browser(app)
    other.get("/anmelden")
    r = other.post("/anmelden", {"username": "sb1", "password": "demo", "next": "https://boese.example/"})
    assert r.headers["Location"] == "/"
    other.get("/")  # a new session has a new CSRF token
    r = other.post("/anmelden", {"username": "sb1", "password": "demo", "next": "//boese.example"})
    assert r.headers["Location"] == "/"


def test_wrong_password_is_refused_in_german_and_failures_are_rate_limited(app):
    b = Browser(app)
    b.get("/anmelden")
    r = b.post("/anmelden", {"username": "sb2", "password": "falsch"})
    assert r.status_code == 401
    assert "Benutzername oder Passwort ist falsch." in r.get_data(as_text=True)
    assert 'value="sb2"' in r.get_data(as_text=True)  # the user name is kept
    for _ in range(4):
        b.post("/anmelden", {"username": "sb2", "password": "falsch"})
    r = b.post("/anmelden", {"username": "sb2", "password": "demo"})  # even the right one
    assert r.status_code == 429
    assert "Zu viele fehlgeschlagene Anmeldeversuche" in r.get_data(as_text=True)
    # other users are not affected
    assert Browser(app, "sb1").get("/").status_code == 200


def test_every_form_needs_the_csrf_token(app):
    b = Browser(app, "sb1")
    r = b.post("/abmelden", csrf=False)
    assert r.status_code == 400
    assert "Das Formular ist abgelaufen" in r.get_data(as_text=True)
    r = b.client.post("/anmelden", data={"username": "sb1", "password": "demo"})
    assert r.status_code == 400
    assert b.get("/").status_code == 200  # still logged in


def test_logout_ends_the_session(app):
    b = Browser(app, "sb1")
    r = b.post("/abmelden")
    assert r.status_code == 302 and r.headers["Location"] == "/anmelden"
    assert b.get("/aufgaben").status_code == 302


def test_api_calls_with_the_session_cookie_need_the_csrf_header_bearer_calls_do_not(app, login):
    b = Browser(app, "sb1")
    r = b.client.post("/api/process-instances/999999/suspend")
    assert r.status_code == 400 and r.get_json()["code"] == "csrf_failed"
    r = b.client.post("/api/process-instances/999999/suspend", headers={"X-CSRFToken": b.token})
    assert r.status_code == 404  # authenticated by the cookie, CSRF ok, instance unknown
    assert b.client.get("/api/tasks").status_code == 200  # reads need no token
    r = login("sb1").post("/api/process-instances/999999/suspend")
    assert r.status_code == 404


def test_pages_send_security_headers_and_errors_are_german_pages(app):
    b = Browser(app, "sb1")
    r = b.get("/gibt-es-nicht")
    assert r.status_code == 404 and "Seite nicht gefunden" in r.get_data(as_text=True)
    assert r.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert r.headers["X-Frame-Options"] == "DENY"
    assert csrf_token(b.get("/").get_data(as_text=True))


def test_language_switch_to_english(app):
    b = Browser(app)
    b.get("/sprache/en?next=/anmelden")
    page = b.get("/anmelden").get_data(as_text=True)
    assert '<html lang="en"' in page and "Sign in" in page and "Username" in page
    b.get("/sprache/de?next=/anmelden")
    assert "Anmelden" in b.get("/anmelden").get_data(as_text=True)
