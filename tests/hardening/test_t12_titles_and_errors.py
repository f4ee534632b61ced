# ruff: noqa: F811 - pytest fixtures imported from the support modules
"""Issue 12: every role finishes its work in the browser — a failed case shows the applying
municipality a plain German message, never the engine's error text; staff still read it."""

from __future__ import annotations

import re

from app.services import inbox
from app.services.context import PLAIN_ERROR
from tests.integration.helpers import deploy, run_jobs, script_process, with_start_form
from tests.integration.phase2_support import (  # noqa: F401 - login fixture
    complete,
    group,
    login,
    one_task,
    start_application,
    start_call,
)
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




def _submitted_cluster_application(login, platform, name: str = "Nordlicht"):  # noqa: ANN001, ANN202
    start_call(login, platform)
    members = group("Mittel", "groß")
    iid, data = start_application(login, members, name=name)
    lead = login(f"kommune-{members[0]}")
    complete(lead, one_task(lead, iid, "antrag_erfassen"), data)
    run_jobs(platform)
    return iid, members


def test_the_partner_confirmations_of_a_cluster_each_name_their_municipality(
        app, login, platform):  # noqa: ANN001
    iid, members = _submitted_cluster_application(login, platform)
    with platform.db.unit_of_work() as session:
        names = inbox.municipality_names(session, set(members[1:]))
    for who in (f"kommune-{members[0]}", "sb1"):
        page = Browser(app, who).get(f"/vorgaenge/{iid}").get_data(as_text=True)
        rows = [text_of(r) for r in re.findall(r"<tr class=\"kern-table__row\">(.*?)</tr>", page, re.S)
                if "Teilnahme am Cluster bestätigen" in r]
        assert len(rows) == 4, rows
        for ags in members[1:]:
            assert sum(names[ags] in r for r in rows) == 1, (names[ags], rows)


def test_a_cluster_application_is_titled_by_cluster_name_and_file_number(app, login, platform):  # noqa: ANN001
    iid, members = _submitted_cluster_application(login, platform, name="Nordlicht")
    detail = login("sb1").get(f"/api/process-instances/{iid}").get_json()
    aktenzeichen = detail["data"]["aktenzeichen"]
    title = f"Clusterantrag „Nordlicht“ ({aktenzeichen})"
    assert detail["title"] == title
    lead = Browser(app, f"kommune-{members[0]}")
    for url in (f"/vorgaenge/{iid}", "/vorgaenge", "/"):
        page = text_of(lead.get(url).get_data(as_text=True))
        assert title in page and f"Vorgang {iid}" not in page, (url, page[:2000])
    partner = Browser(app, f"kommune-{members[1]}")
    task = one_task(login(f"kommune-{members[1]}"), iid, "teilnahme_bestaetigen")
    for url in (f"/aufgaben/{task['id']}", "/aufgaben?bereich=gruppen"):
        page = text_of(partner.get(url).get_data(as_text=True))
        assert title in page and f"Vorgang {iid}" not in page, (url, page[:2000])
