"""Acceptance: invalid form data → 422 listing every violated field; valid → 200 and advance."""

from __future__ import annotations

from tests.integration.helpers import open_tasks


def test_invalid_form_data_lists_every_violated_field_and_changes_nothing(login, demo_ags):
    kommune = login(f"kommune-{demo_ags[0]}")
    iid = kommune.post("/api/process-instances", json={"process_key": "demo_antrag"}).get_json()["id"]
    [task] = open_tasks(kommune, iid)
    r = kommune.post(f"/api/tasks/{task['id']}/complete", json={"data": {
        "vorhaben": "Abc", "betrag": "viel", "thema": "raumfahrt", "ansprechperson_email": "x",
        "unbekannt": 1}})
    assert r.status_code == 422
    body = r.get_json()
    assert body["code"] == "validation_failed"
    paths = {e["path"] for e in body["errors"]}
    assert paths == {"/vorhaben", "/betrag", "/thema", "/ansprechperson_email", "/unbekannt"}
    messages = {e["path"]: e["message"] for e in body["errors"]}
    assert "mindestens 5 Zeichen" in messages["/vorhaben"]
    assert "Bezeichnung des Vorhabens" in messages["/vorhaben"]
    r = kommune.post(f"/api/tasks/{task['id']}/complete", json={"data": {}})
    assert {e["path"] for e in r.get_json()["errors"]} == {"/vorhaben", "/betrag", "/thema"}
    assert all("Pflichtfeld" in e["message"] for e in r.get_json()["errors"])
    # nothing changed
    assert [t["id"] for t in open_tasks(kommune, iid)] == [task["id"]]
    r = kommune.post(f"/api/tasks/{task['id']}/complete", json={"data": {
        "vorhaben": "Digitales Bürgerbüro", "betrag": 1000, "thema": "verwaltung"}})
    assert r.status_code == 200
    assert open_tasks(kommune, iid) == []


def test_request_body_errors_are_422_with_code_and_path(login, demo_ags):
    kommune = login(f"kommune-{demo_ags[0]}")
    r = kommune.post("/api/process-instances", json={"process_key": 5, "extra": True})
    assert r.status_code == 422
    body = r.get_json()
    assert body["code"] == "validation_failed"
    assert {e["path"] for e in body["errors"]} == {"/process_key", "/extra"}
    r = kommune.post("/api/process-instances", data="{kaputt", content_type="application/json")
    assert r.status_code in (400, 422)
    assert r.get_json()["code"]


def test_get_task_returns_form_schema_ui_schema_and_data(login, demo_ags):
    kommune = login(f"kommune-{demo_ags[0]}")
    iid = kommune.post("/api/process-instances", json={"process_key": "demo_antrag"}).get_json()["id"]
    [task] = open_tasks(kommune, iid)
    body = kommune.get(f"/api/tasks/{task['id']}").get_json()
    assert body["form_schema"]["title"] == "Antrag erfassen"
    assert body["ui_schema"]["beschreibung"]["ui:widget"] == "textarea"
    assert body["documentation"].startswith("Bitte beschreiben Sie")
    assert body["candidate_group"] == "kommune"
