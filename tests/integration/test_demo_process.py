"""Acceptance: the demo process runs from start to end through the HTTP API as the demo users."""

from __future__ import annotations

from datetime import timedelta

from app.services import jobs
from tests.integration.helpers import open_tasks


def _start(kommune):  # noqa: ANN001, ANN202
    r = kommune.post("/api/process-instances", json={"process_key": "demo_antrag",
                                                      "business_key": "DEMO-1"})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_demo_process_runs_start_to_end_through_the_api_as_demo_users(login, demo_ags, platform):
    kommune = login(f"kommune-{demo_ags[0]}")
    sb = login("sb1")
    instance = _start(kommune)
    iid = instance["id"]
    assert instance["status"] == "running"
    assert instance["municipality_ags"] == demo_ags[0]
    # lane "kommune": the municipal user sees the task, the clerk does not
    [erfassen] = open_tasks(kommune, iid)
    assert erfassen["name"] == "antrag_erfassen"
    assert open_tasks(sb, iid) == []
    r = kommune.post(f"/api/tasks/{erfassen['id']}/complete", json={"data": {
        "vorhaben": "Digitale Bauakte", "betrag": 80000, "thema": "verwaltung"}})
    assert r.status_code == 200, r.get_json()
    # DMN: 80,000 € → "gross" → exclusive gateway → parallel multi-instance expert reviews
    gutachten = open_tasks(sb, iid)
    assert sorted(t["name"] for t in gutachten) == ["fachgutachten", "fachgutachten"]
    for t in gutachten:
        assert sb.post(f"/api/tasks/{t['id']}/claim").status_code == 200
        r = sb.post(f"/api/tasks/{t['id']}/complete", json={"data": {"votum": "befuerwortet"}})
        assert r.status_code == 200, r.get_json()
    [pruefen] = open_tasks(sb, iid)
    assert pruefen["name"] == "antrag_pruefen"
    detail = sb.get(f"/api/process-instances/{iid}").get_json()
    assert detail["next_timer_at"] is not None  # boundary timer stored in its indexed column
    results = {g["pruefbereich"]: g["votum"] for g in detail["data"]["gutachten"]}
    assert results == {"Fachlichkeit": "befuerwortet", "Haushalt": "befuerwortet"}
    r = sb.post(f"/api/tasks/{pruefen['id']}/complete", json={"data": {"entscheidung": "bewilligt"}})
    assert r.status_code == 200, r.get_json()
    # the service task is recorded for dispatch; run it as a worker would
    pending = jobs.open_jobs(platform)
    assert [j.operator for j in pending] == ["demo_bescheid"]
    assert pending[0].params == {"betrag": 80000, "entscheidung": "bewilligt"}
    jobs.execute(platform, pending[0].id)
    detail = sb.get(f"/api/process-instances/{iid}").get_json()
    assert detail["status"] == "running" and detail["data"]["bescheid"]["aktenzeichen"]
    # the message completes it
    r = sb.post("/api/messages/demo_empfangsbestaetigung",
                json={"correlation": {"business_key": "DEMO-1"}, "payload": {"bestaetigt": True}})
    assert r.status_code == 200, r.get_json()
    detail = kommune.get(f"/api/process-instances/{iid}").get_json()
    assert detail["status"] == "completed"
    assert detail["data"]["bestaetigt"] is True
    actions = [h["action"] for h in detail["history"]]
    assert actions.count("task.completed") == 4 and "message.delivered" in actions


def test_small_amount_skips_the_expert_review(login, demo_ags):
    kommune, sb = login(f"kommune-{demo_ags[0]}"), login("sb1")
    iid = _start(kommune)["id"]
    [t] = open_tasks(kommune, iid)
    kommune.post(f"/api/tasks/{t['id']}/complete", json={"data": {
        "vorhaben": "Kleines Vorhaben", "betrag": 1000, "thema": "umwelt"}})
    assert [t["name"] for t in open_tasks(sb, iid)] == ["antrag_pruefen"]


def test_boundary_timer_interrupts_the_review_and_escalates(login, demo_ags, platform):
    kommune, sb = login(f"kommune-{demo_ags[0]}"), login("sb1")
    iid = _start(kommune)["id"]
    [t] = open_tasks(kommune, iid)
    kommune.post(f"/api/tasks/{t['id']}/complete", json={"data": {
        "vorhaben": "Kleines Vorhaben", "betrag": 1000, "thema": "umwelt"}})
    from app.services import timers

    timers.time_travel(platform, iid, timedelta(days=15))
    fired = timers.fire_due(platform)
    assert fired == [iid]
    assert [t["name"] for t in open_tasks(sb, iid)] == ["eskalation"]
    assert timers.fire_due(platform) == []  # nothing fires twice


def test_message_without_receiver_is_404_and_ambiguous_is_409(login, demo_ags):
    sb = login("sb1")
    r = sb.post("/api/messages/demo_empfangsbestaetigung", json={"correlation": {"business_key": "x"}})
    assert r.status_code == 404 and r.get_json()["code"] == "no_receiver"
