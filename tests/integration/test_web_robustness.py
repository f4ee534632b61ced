"""Hostile or odd input to the web pages never ends in a server error (German pages, 4xx)."""

from __future__ import annotations

from tests.integration.web_support import Browser, start


def test_odd_query_parameters_and_values_get_pages_not_server_errors(app, demo_ags):
    kommune = Browser(app, f"kommune-{demo_ags[0]}")
    for url in ("/aufgaben?seite=99999999999999999999999&sortierung=x&frist=y&ansicht=z",
                "/vorgaenge?seite=-1&status=%00&prozess=%27%3B--",
                "/aufgaben?kommune=%00", "/modellierung/demo_antrag?version=999999999999999999",
                "/aufgaben/00000000-0000-0000-0000-000000000000", "/vorgaenge/99999999999999999999"):
        r = kommune.get(url)
        assert r.status_code < 500, (url, r.status_code)
    url = start(kommune, "demo_antrag")
    kommune.get(url)
    r = kommune.post(url, {"_action": "complete", "f.vorhaben": "A\x00B" * 3, "f.betrag": "9" * 40,
                           "f.thema": "<script>alert(1)</script>", "_rows./x": "99999999"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "die Zahl ist zu groß" in html
    r = kommune.post(url + "/kommentar", {"text": "Nul\x00l"})
    assert r.status_code in (302, 422)
    kommune.get("/aufgaben")
    r = kommune.post("/aufgaben/filter", {"name": "x" * 500})
    assert r.status_code == 422
    anonymous = Browser(app)
    anonymous.get("/anmelden")
    r = anonymous.post("/anmelden", {"username": "\x00" * 100, "password": "x"})
    assert r.status_code in (401, 422)
