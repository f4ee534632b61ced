"""Acceptance (issue 4): a call with seven applications over three Landesteile and both size
classes; deadline, comparative evaluation, ranking within budget, override with recorded
justification, results by message, Ablehnungsbescheid for the non-selected."""

# ruff: noqa: F811 - pytest fixtures imported from the support modules

from __future__ import annotations

from tests.integration.helpers import open_tasks, pdf_text, run_jobs
from tests.integration.phase2_support import (  # noqa: F401 - login fixture
    complete,
    group,
    login,
    one_task,
    pass_deadline,
    scores,
    seed_digichecks,
    start_application,
    start_call,
    submit_application,
    tasks_named,
)

APP = 187_500_000  # 1.875.000,00 € per cluster (75 % of 2.5 M€)


def test_call_ranks_per_landesteil_and_size_class_within_budget_and_records_override(
        login, platform):
    sb, gutachter = login("sb1"), login("gutachter1")
    # budget for five clusters and a bit: the sixth group winner does not fit any more
    call = start_call(login, platform, budget_cents=5 * APP + 100_000_000)
    seed_digichecks(platform, [m for lt in ("Süd", "Mittel", "Nord") for k in ("klein", "groß")
                               for m in group(lt, k)])
    sued_klein = group("Süd", "klein")
    rotated = sued_klein[1:] + sued_klein[:1]
    apps = {
        "A": submit_application(login, platform, sued_klein, name="Südhessen kompakt"),
        "B": submit_application(login, platform, rotated, name="Südhessen digital"),
        "C": submit_application(login, platform, group("Süd", "groß"), name="Süd groß"),
        "D": submit_application(login, platform, group("Mittel", "klein"), name="Mittel klein"),
        "E": submit_application(login, platform, group("Mittel", "groß"), name="Mittel groß"),
        "F": submit_application(login, platform, group("Nord", "klein"), name="Nord klein"),
        "G": submit_application(login, platform, group("Nord", "groß"), name="Nord groß"),
    }
    calls = sb.get("/api/foerderaufrufe", query_string={"offen": True}).get_json()
    assert [c["kennung"] for c in calls] == ["FA-TEST-1"]

    pass_deadline(platform, call)
    # late: the call no longer accepts applications — a clear German message at submission
    late, data = start_application(login, group("Nord", "klein"), name="Zu spät")
    lead = login(f"kommune-{group('Nord', 'klein')[0]}")
    r = lead.post(f"/api/tasks/{one_task(lead, late, 'antrag_erfassen')['id']}/complete",
                  json={"data": data})
    assert r.status_code == 422
    body = r.get_json()
    assert body["code"] == "call_closed" and "Einreichungsfrist" in body["message"]
    assert "nicht mehr berücksichtigt" in body["message"]

    complete(sb, one_task(sb, call, "bewertung_freigeben"), {"bestaetigt": True})
    run_jobs(platform)
    evaluations = tasks_named(gutachter, "antrag_bewerten")
    assert len(evaluations) == 7
    points = {"A": 7, "B": 8, "C": 9, "D": 6, "E": 7, "F": 5, "G": 8}
    by_id = {v: k for k, v in apps.items()}
    for task in evaluations:
        detail = gutachter.get(f"/api/tasks/{task['id']}").get_json()
        assert set(detail["form_schema"]["properties"]) == {"punkte", "begruendungen",
                                                            "gesamteindruck"}
    for task in evaluations:
        antrag = _antrag_of(platform, task)
        complete(gutachter, task, scores(points[by_id[antrag]]))
    run_jobs(platform)
    ranking = sb.get(f"/api/process-instances/{call}").get_json()["data"]["rangfolge"]
    selected = {by_id[i] for i in ranking["ausgewaehlt"]}
    # best per group; F (Nord klein, lowest score) does not fit the budget any more
    assert selected == {"B", "C", "E", "G", "D"}
    assert ranking["nicht_ausgewaehlt"] == {str(apps["A"]): "rank", str(apps["F"]): "budget"}

    task = one_task(sb, call, "auswahl_bestaetigen")
    r = sb.post(f"/api/tasks/{task['id']}/complete", json={"data": {
        "entscheidung": "abweichen", "aufnehmen": [apps["A"]], "herausnehmen": [apps["B"]],
        "begruendung": "zu kurz"}})
    assert r.status_code == 422 and r.get_json()["errors"][0]["path"] == "/begruendung"
    r = sb.post(f"/api/tasks/{task['id']}/complete", json={"data": {
        "entscheidung": "abweichen", "aufnehmen": [apps["F"]],
        "begruendung": "Die Nordhessen-Kooperation schließt eine Versorgungslücke."}})
    assert r.status_code == 422 and r.get_json()["code"] == "budget_exceeded"
    justification = ("Cluster A erschließt mit einem gemeinsamen Rechenzentrum eine Lösung, die "
                     "anderen kleinen Kommunen unmittelbar als Blaupause dient (Ermessen).")
    complete(sb, task, {"entscheidung": "abweichen", "aufnehmen": [apps["A"]],
                        "herausnehmen": [apps["B"]], "begruendung": justification})
    run_jobs(platform)
    history = sb.get(f"/api/process-instances/{call}").get_json()["history"]
    [override] = [h for h in history if h["action"] == "auswahl.abweichung"]
    assert override["details"]["begruendung"] == justification
    assert override["details"]["entschieden_von"] == "sb1"
    assert override["details"]["aufnehmen"] == [apps["A"]]
    assert sb.get(f"/api/process-instances/{call}").get_json()["status"] == "completed"

    # every application learned its result; the selected ones are in the Ressort consultation
    for key in ("A", "C", "D", "E", "G"):
        data = sb.get(f"/api/process-instances/{apps[key]}").get_json()["data"]
        assert data["auswahl_ergebnis"] == "ausgewaehlt", key
        assert any(t["name"] == "stellungnahme_abgeben"
                   for t in _all_open(login, apps[key])), key
    for key in ("B", "F"):
        detail = sb.get(f"/api/process-instances/{apps[key]}").get_json()
        assert detail["status"] == "completed" and detail["data"]["auswahl_ergebnis"] == \
            "nicht_ausgewaehlt"
        docs = sb.get(f"/api/process-instances/{apps[key]}/documents").get_json()
        [bescheid] = [d for d in docs if d["filename"].startswith("Ablehnungsbescheid")]
        text = pdf_text(sb.get(bescheid["download_url"]).data)
        assert "Ablehnungsbescheid" in text and "nicht ausgewählt" in text
        assert "Rechtsbehelfsbelehrung" in text
        assert detail["data"]["aktenzeichen"] in text


def _antrag_of(platform, task: dict) -> int:  # noqa: ANN001
    from app.engine.runtime import find_task
    from app.models import ProcessInstance
    from app.services import instances

    with platform.db.unit_of_work() as s:
        instance = s.get(ProcessInstance, task["instance_id"])
        wf = instances.load(platform, s, instance).workflow
        return find_task(wf, task["id"]).data["antrag"]["antrag_id"]


def _all_open(login, iid: int) -> list[dict]:  # noqa: ANN001
    result = []
    for user in ("ressort-finanzen", "ressort-innern", "ressort-wirtschaft"):
        result += open_tasks(login(user), iid)
    return result
