"""Issue 12: every role finishes its work in the browser — a failed case shows the applying
municipality a plain German message, never the engine's error text; staff still read it."""

from __future__ import annotations

from app.services.context import PLAIN_ERROR
from tests.integration.helpers import deploy, script_process, with_start_form
from tests.integration.web_support import Browser, text_of


def _failed_case_of_a_municipality(as_user) -> int:  # noqa: ANN001
    files = with_start_form(script_process("t12_kaputt", "ergebnis = 1 / teiler", lane="kommune"),
                            "t12_kaputt", {"teiler": {"type": "integer", "title": "Teiler"}})
    assert deploy(as_user("modeler1"), files).status_code == 201
    r = as_user("kommune").post("/api/process-instances",
                                json={"process_key": "t12_kaputt", "data": {"teiler": 0}})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["status"] == "error"
    assert r.get_json()["error_message"] == PLAIN_ERROR
    return r.get_json()["id"]


def test_a_failed_case_shows_the_municipality_a_plain_message_and_staff_the_engine_text(
        app, as_user):  # noqa: ANN001
    iid = _failed_case_of_a_municipality(as_user)
    technical = as_user("sb1").get(f"/api/process-instances/{iid}").get_json()["error_message"]
    assert technical and technical != PLAIN_ERROR
    assert technical in text_of(Browser(app, "sb1").get(f"/vorgaenge/{iid}").get_data(as_text=True))
    kommune = as_user("kommune")
    body = kommune.get(f"/api/process-instances/{iid}").get_data(as_text=True)
    listed = kommune.get("/api/process-instances").get_data(as_text=True)
    page = Browser(app, kommune.username).get(f"/vorgaenge/{iid}").get_data(as_text=True)
    for text in (body, listed, page):
        assert technical not in text and "Error" not in text, text[:3000]
    assert PLAIN_ERROR in text_of(page)
    assert kommune.get(f"/api/process-instances/{iid}").get_json()["error_message"] == PLAIN_ERROR

