"""Acceptance: tenancy and role checks in the service layer."""

from __future__ import annotations

from tests.integration.helpers import open_tasks


def _start(user):  # noqa: ANN001, ANN202
    r = user.post("/api/process-instances", json={"process_key": "demo_antrag"})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def test_municipal_user_cannot_read_or_complete_another_municipalitys_case(login, demo_ags):
    own, foreign = login(f"kommune-{demo_ags[0]}"), login(f"kommune-{demo_ags[1]}")
    iid = _start(own)
    [task] = open_tasks(own, iid)
    assert foreign.get(f"/api/process-instances/{iid}").status_code == 404
    assert foreign.get(f"/api/tasks/{task['id']}").status_code == 404
    r = foreign.post(f"/api/tasks/{task['id']}/complete", json={"data": {
        "vorhaben": "Fremder Antrag", "betrag": 10, "thema": "umwelt"}})
    assert r.status_code == 404
    assert iid not in [i["id"] for i in foreign.get("/api/process-instances").get_json()["items"]]
    assert open_tasks(foreign, iid) == []
    assert own.get(f"/api/tasks/{task['id']}").status_code == 200


def test_ressort_user_cannot_complete_a_sachbearbeitung_task(login, demo_ags):
    kommune, ressort = login(f"kommune-{demo_ags[0]}"), login("ressort-wirtschaft")
    iid = _start(kommune)
    [t] = open_tasks(kommune, iid)
    kommune.post(f"/api/tasks/{t['id']}/complete", json={"data": {
        "vorhaben": "Vorhaben X", "betrag": 10, "thema": "umwelt"}})
    [pruefen] = open_tasks(login("sb1"), iid)
    r = ressort.post(f"/api/tasks/{pruefen['id']}/complete", json={"data": {"entscheidung": "bewilligt"}})
    assert r.status_code in (403, 404)
    assert ressort.post(f"/api/tasks/{pruefen['id']}/claim").status_code in (403, 404)


def test_unauthenticated_calls_get_401(client):
    for method, url in [("get", "/api/tasks"), ("get", "/api/process-instances"),
                        ("post", "/api/process-instances"), ("get", "/api/process-definitions")]:
        r = getattr(client, method)(url, json={} if method == "post" else None)
        assert r.status_code == 401, url
        assert r.get_json()["code"] == "unauthenticated"
    r = client.get("/api/tasks", headers={"Authorization": "Bearer kaputt"})
    assert r.status_code == 401 and r.get_json()["code"] == "invalid_token"


def test_wrong_password_is_401_with_german_message(client):
    r = client.post("/api/auth/token", json={"username": "sb1", "password": "falsch"})
    assert r.status_code == 401
    assert r.get_json()["message"] == "Benutzername oder Passwort ist falsch."


def test_only_starter_lane_may_start(login):
    r = login("ressort-finanzen").post("/api/process-instances", json={"process_key": "demo_antrag"})
    assert r.status_code == 403


def test_claimed_task_cannot_be_completed_by_a_colleague(login, demo_ags):
    kommune = login(f"kommune-{demo_ags[0]}")
    iid = _start(kommune)
    [t] = open_tasks(kommune, iid)
    kommune.post(f"/api/tasks/{t['id']}/complete", json={"data": {
        "vorhaben": "Vorhaben Y", "betrag": 10, "thema": "umwelt"}})
    sb1, sb2 = login("sb1"), login("sb2")
    [pruefen] = open_tasks(sb1, iid)
    assert sb1.post(f"/api/tasks/{pruefen['id']}/claim").status_code == 200
    assert sb2.post(f"/api/tasks/{pruefen['id']}/claim").status_code == 409
    r = sb2.post(f"/api/tasks/{pruefen['id']}/complete", json={"data": {"entscheidung": "bewilligt"}})
    assert r.status_code == 403
    mine = sb1.get("/api/tasks", query_string={"scope": "mine"}).get_json()["items"]
    assert [m["id"] for m in mine] == [pruefen["id"]]
    assert sb1.post(f"/api/tasks/{pruefen['id']}/unclaim").status_code == 200
    assert sb2.post(f"/api/tasks/{pruefen['id']}/claim").status_code == 200
