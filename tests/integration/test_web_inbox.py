"""Start page per role and the inbox: filters, sort, pagination, claim, hand over, follow-up,
due/overdue marking and saved filters."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from app.models import HumanTask
from app.services import inbox
from app.services.auth import actor_for
from tests.integration.helpers import open_tasks
from tests.integration.web_support import Browser, result_count, start, text_of


def _actor(platform, username):  # noqa: ANN001, ANN202
    from sqlalchemy import select

    from app.models import User

    with platform.db.unit_of_work() as s:
        return actor_for(s, s.scalar(select(User.id).where(User.username == username)))


def test_start_page_shows_counts_start_actions_and_the_municipalitys_cases(app, demo_ags):
    kommune = Browser(app, f"kommune-{demo_ags[0]}")
    page = text_of(kommune.get("/").get_data(as_text=True))
    assert "Was jetzt ansteht" in page and "Demo-Antrag stellen" in page
    assert "Vorgänge meiner Kommune" in page and "Es gibt noch keine Vorgänge." in page
    task_url = start(kommune, "demo_antrag")
    assert task_url.startswith("/aufgaben/")  # straight to the first form
    page = text_of(kommune.get("/").get_data(as_text=True))
    assert "0 Meine Aufgaben 1 Offene Aufgaben meiner Gruppen 0 Überfällig" in page
    assert "Demo-Antrag (Testprozess der Plattform)" in page and "In Bearbeitung" in page
    # another municipality sees neither the case nor the task
    other = text_of(Browser(app, f"kommune-{demo_ags[1]}").get("/").get_data(as_text=True))
    assert "0 Offene Aufgaben meiner Gruppen" in other and "Es gibt noch keine Vorgänge." in other
    # the clerk cannot start the municipal process, the admin can start everything
    assert "Demo-Antrag stellen" not in text_of(Browser(app, "sb1").get("/").get_data(as_text=True))


def _sb_tasks(app, login, demo_ags, n: int) -> list[str]:  # noqa: ANN001
    """n demo cases whose review task ("Antrag prüfen und entscheiden") waits for sachbearbeitung."""
    ids = []
    for i in range(n):
        k = login(f"kommune-{demo_ags[i % 2]}")
        iid = k.post("/api/process-instances", json={"process_key": "demo_antrag",
                                                       "business_key": f"W-{i}"}).get_json()["id"]
        [t] = open_tasks(k, iid)
        k.post(f"/api/tasks/{t['id']}/complete", json={"data": {
            "vorhaben": f"Vorhaben {i}", "betrag": 1000 + i, "thema": "umwelt"}})
        ids.extend(t["id"] for t in open_tasks(login("sb1"), iid))
    return ids


def test_group_inbox_filters_sorts_pages_and_marks_overdue(app, platform, login, demo_ags):
    ids = _sb_tasks(app, login, demo_ags, 3)
    with platform.db.unit_of_work() as s:  # one overdue, one due soon
        s.execute(update(HumanTask).where(HumanTask.task_id == ids[0])
                  .values(due_at=inbox.now() - timedelta(days=2)))
        s.execute(update(HumanTask).where(HumanTask.task_id == ids[1])
                  .values(due_at=inbox.now() + timedelta(days=1)))
    sb = Browser(app, "sb1")
    html = sb.get("/aufgaben?ansicht=gruppen").get_data(as_text=True)
    page = text_of(html)
    assert result_count(html) == "3 Aufgaben" and "überfällig" in page and "bald fällig" in page
    assert html.index(ids[0]) < html.index(ids[1]) < html.index(ids[2])  # earliest due first
    assert "fp-row--overdue" in html
    html = sb.get("/aufgaben?ansicht=gruppen&frist=ueberfaellig").get_data(as_text=True)
    assert result_count(html) == "1 Aufgabe"
    html = sb.get(f"/aufgaben?ansicht=gruppen&kommune={demo_ags[1]}").get_data(as_text=True)
    assert result_count(html) == "1 Aufgabe"
    html = sb.get("/aufgaben?ansicht=gruppen&sortierung=neu").get_data(as_text=True)
    assert html.index(ids[2]) < html.index(ids[0])
    result = inbox.list_inbox(platform, _actor(platform, "sb1"), scope="groups", per_page=2, page=2)
    assert result["total"] == 3 and result["pages"] == 2 and len(result["items"]) == 1
    assert 'rel="next"' not in html  # 20 per page in the browser: one page


def test_claim_unclaim_and_hand_over_to_a_colleague(app, login, demo_ags):
    [tid] = _sb_tasks(app, login, demo_ags, 1)
    sb1 = Browser(app, "sb1")
    sb1.get("/aufgaben?ansicht=gruppen")
    r = sb1.post(f"/aufgaben/{tid}/uebernehmen", {"next": "/aufgaben?ansicht=meine"})
    assert r.headers["Location"] == "/aufgaben?ansicht=meine"
    page = text_of(sb1.get("/aufgaben?ansicht=meine").get_data(as_text=True))
    assert "Sie haben die Aufgabe übernommen." in page and "Antrag prüfen und entscheiden" in page
    html = sb1.get(f"/aufgaben/{tid}").get_data(as_text=True)
    assert "An die Gruppe zurückgeben" in html and 'value="sb2"' in html  # colleague offered
    assert 'value="gutachter1"' not in html
    r = sb1.post(f"/aufgaben/{tid}/uebergeben", {"username": "gutachter1"})
    assert r.status_code == 422 and "zuständigen Gruppe" in r.get_data(as_text=True)
    sb1.get(f"/aufgaben/{tid}")
    r = sb1.post(f"/aufgaben/{tid}/uebergeben", {"username": "sb2"})
    assert r.status_code == 302
    sb2 = Browser(app, "sb2")
    assert result_count(sb2.get("/aufgaben?ansicht=meine").get_data(as_text=True)) == "1 Aufgabe"
    history = login("sb2").get(f"/api/tasks/{tid}").get_json()
    assert history["assignee"] == "sb2"
    sb2.get(f"/aufgaben/{tid}")
    sb2.post(f"/aufgaben/{tid}/zurueckgeben")
    assert login("sb2").get(f"/api/tasks/{tid}").get_json()["assignee"] is None
    # someone else's claimed task cannot be claimed
    sb1.get("/")
    sb1.post(f"/aufgaben/{tid}/uebernehmen")
    sb2.get("/")
    r = sb2.post(f"/aufgaben/{tid}/uebernehmen")
    assert r.status_code == 409 and "bereits von jemand anderem" in r.get_data(as_text=True)


def test_follow_up_date_is_set_shown_and_filtered(app, platform, login, demo_ags):
    [tid] = _sb_tasks(app, login, demo_ags, 1)
    sb = Browser(app, "sb1")
    sb.get(f"/aufgaben/{tid}")
    sb.post(f"/aufgaben/{tid}/uebernehmen")
    sb.get(f"/aufgaben/{tid}")
    r = sb.post(f"/aufgaben/{tid}/wiedervorlage", {"datum": "2020-01-02"})
    assert r.status_code == 302
    html = sb.get("/aufgaben?ansicht=meine&frist=wiedervorlage").get_data(as_text=True)
    assert result_count(html) == "1 Aufgabe" and "02.01.2020" in html
    assert "1 Wiedervorlage fällig" in text_of(sb.get("/").get_data(as_text=True))
    r = sb.post(f"/aufgaben/{tid}/wiedervorlage", {"datum": "31.02.2020"})
    assert r.status_code == 422 and "gültiges Datum" in r.get_data(as_text=True)
    sb.get("/")
    sb.post(f"/aufgaben/{tid}/wiedervorlage", {"datum": ""})
    assert "0 Wiedervorlage fällig" in text_of(sb.get("/").get_data(as_text=True))


def test_saved_filters_are_kept_per_user_on_the_server(app, login, demo_ags):
    _sb_tasks(app, login, demo_ags, 2)
    sb = Browser(app, "sb1")
    sb.get("/aufgaben")
    r = sb.post("/aufgaben/filter", {"name": "Auenbach überfällig", "ansicht": "gruppen",
                                     "kommune": demo_ags[0], "frist": "ueberfaellig"})
    assert r.status_code == 302 and "kommune=" in r.headers["Location"]
    html = sb.get("/aufgaben").get_data(as_text=True)
    assert "Auenbach überfällig" in html and "frist=ueberfaellig" in html
    r = sb.post("/aufgaben/filter", {"name": "", "ansicht": "meine"})
    assert r.status_code == 422
    other = Browser(app, "sb2")
    assert "Auenbach überfällig" not in other.get("/aufgaben").get_data(as_text=True)
    [saved] = inbox.list_filters(app.extensions["platform"], _actor(app.extensions["platform"], "sb1"))
    r = other.post(f"/aufgaben/filter/{saved['id']}/loeschen")
    assert r.status_code == 404
    sb.get("/aufgaben")
    sb.post(f"/aufgaben/filter/{saved['id']}/loeschen")
    assert "Auenbach überfällig" not in sb.get("/aufgaben").get_data(as_text=True)
