"""Helpers for the Phase 2 scenario tests: API walkthroughs by the right demo users."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from app.domain import digicheck
from app.domain.demo import demo_municipalities
from app.models import DigiCheckResult
from app.services import timers
from tests.integration.helpers import open_tasks, run_jobs

CRITERIA = ("innovation", "nutzen", "uebertragbarkeit", "zusammenarbeit", "nachhaltigkeit",
            "dokumentation")


def municipalities() -> list[dict]:
    return demo_municipalities()


def group(landesteil: str, klasse: str) -> list[str]:
    """The five demo municipalities of a Landesteil and size class (alternating in the data)."""
    return [m["ags"] for m in municipalities() if m["landesteil"] == landesteil
            and (m["einwohner"] < 7500) == (klasse == "klein")]


def complete(user, task: dict, data: dict, status: int = 200) -> dict:  # noqa: ANN001
    r = user.post(f"/api/tasks/{task['id']}/complete", json={"data": data})
    assert r.status_code == status, r.get_json()
    return r.get_json()


def one_task(user, iid: int, name: str) -> dict:  # noqa: ANN001
    tasks = [t for t in open_tasks(user, iid) if t["name"] == name]
    assert len(tasks) == 1, (name, [t["name"] for t in open_tasks(user, iid)])
    return tasks[0]


def tasks_named(user, name: str) -> list[dict]:  # noqa: ANN001
    r = user.get("/api/tasks", query_string={"scope": "groups", "per_page": 200})
    return [t for t in r.get_json()["items"] if t["name"] == name]


def answers(level: int = 2) -> dict:
    return dict.fromkeys(digicheck.QUESTIONS, level)


def seed_digichecks(platform, ags_list: list[str], days_ago: int = 30) -> None:  # noqa: ANN001
    """Earlier DigiCheck results (so applications can reuse them)."""
    with platform.db.unit_of_work() as s:
        for ags in ags_list:
            scores = digicheck.score(answers())
            s.add(DigiCheckResult(municipality_ags=ags, completed_at=datetime.now(UTC) - timedelta(
                days=days_ago), gesamt=scores["gesamt"], scores=scores, answers=answers(),
                recommendations=[]))


def start_call(login, platform, kennung: str = "FA-TEST-1", budget_cents: int = 0,  # noqa: ANN001
               frist_days: int = 10) -> int:
    sb = login("sb1")
    r = sb.post("/api/process-instances", json={"process_key": "foerderaufruf",
                                                "business_key": kennung})
    assert r.status_code == 201, r.get_json()
    iid = r.get_json()["id"]
    frist = (datetime.now(UTC) + timedelta(days=frist_days)).replace(microsecond=0)
    complete(sb, one_task(sb, iid, "aufruf_festlegen"), {
        "titel": "Cluster-Förderung Digitalisierung 2027", "einreichungsfrist": frist.isoformat(),
        "budget_cents": budget_cents})
    run_jobs(platform)
    return iid


def upload_pdf(user, iid: int) -> int:  # noqa: ANN001
    import io

    from app.services import pdf

    content = pdf.render_pdf("mitteilung.html", {"betreff": "Projektskizze", "absaetze": ["x"]})
    r = user.post(f"/api/process-instances/{iid}/documents",
                  data={"file": (io.BytesIO(content), "Projektskizze.pdf")},
                  content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def application(members: list[str], kennung: str = "FA-TEST-1", name: str = "Cluster",
                foerdersumme: int = 187_500_000, gesamtvolumen: int = 250_000_000,
                themen: tuple = ("verwaltung", "mobilitaet"), year: int | None = None) -> dict:
    year = year or date.today().year + 1
    eigen = gesamtvolumen - foerdersumme
    half = gesamtvolumen // 2
    return {
        "aufruf": kennung, "cluster_name": name,
        "partner": [{"ags": a} for a in members[1:]],
        "themenbereiche": list(themen),
        "projektbeschreibung": "Gemeinsame digitale Verwaltung für fünf Kommunen.",
        "massnahmen": [{"titel": "Digitales Bürgerbüro", "beschreibung": "Onlinedienste"}],
        "finanzplan": [
            {"jahr": year, "kostenart": "Personal", "betrag_cents": half},
            {"jahr": year + 1, "kostenart": "Sachkosten", "betrag_cents": gesamtvolumen - half}],
        "gesamtvolumen": gesamtvolumen, "foerdersumme": foerdersumme, "eigenanteil": eigen,
        "ansprechperson": "Anna Antrag", "ansprechperson_email": f"lead-{members[0]}@kommune.example",
    }


def start_application(login, members: list[str], **kw) -> tuple[int, dict]:  # noqa: ANN001
    lead = login(f"kommune-{members[0]}")
    r = lead.post("/api/process-instances", json={"process_key": "cluster_antrag"})
    assert r.status_code == 201, r.get_json()
    iid = r.get_json()["id"]
    doc_id = upload_pdf(lead, iid)
    data = application(members, **kw)
    data["projektskizze_dokument"] = doc_id
    return iid, data


def submit_application(login, platform, members: list[str], check: bool = True, **kw) -> int:  # noqa: ANN001
    """Lead submits, partners confirm, (reused DigiChecks), SB confirms completeness."""
    iid, data = start_application(login, members, **kw)
    lead = login(f"kommune-{members[0]}")
    complete(lead, one_task(lead, iid, "antrag_erfassen"), data)
    run_jobs(platform)
    for ags in members[1:]:
        partner = login(f"kommune-{ags}")
        complete(partner, one_task(partner, iid, "teilnahme_bestaetigen"), {"teilnahme": "zugesagt"})
    run_jobs(platform)
    if check:
        sb = login("sb1")
        complete(sb, one_task(sb, iid, "vollstaendigkeit_pruefen"), {"pruefergebnis": "vollstaendig"})
        run_jobs(platform)
    return iid


def pass_deadline(platform, call_iid: int, days: int = 11) -> None:  # noqa: ANN001
    timers.time_travel(platform, call_iid, timedelta(days=days))
    timers.fire_due(platform)
    run_jobs(platform)


def scores(value: int) -> dict:
    return {"punkte": dict.fromkeys(CRITERIA, value),
            "begruendungen": dict.fromkeys(CRITERIA, "Nachvollziehbar begründet.")}


_TOKENS: dict[str, dict] = {}


@pytest.fixture
def login(client, platform):  # noqa: ANN001, ANN201
    """Like conftest's `login`, but the token is issued by the auth service without checking
    the password (argon2 is slow on purpose; these scenarios act as dozens of users) and kept
    for the session. The password login itself is covered by the platform's tests."""
    from sqlalchemy import select

    from app.models import User
    from app.services import auth
    from tests.conftest import ApiUser

    def _login(username: str) -> ApiUser:
        if username not in _TOKENS:
            with platform.db.unit_of_work() as s:
                user = s.scalar(select(User).where(User.username == username))
                assert user is not None, username
                token = auth.issue_token(user, platform.settings.SECRET_KEY,
                                         platform.settings.TOKEN_TTL_SECONDS)
            _TOKENS[username] = {"Authorization": f"Bearer {token}"}
        user = ApiUser.__new__(ApiUser)
        user.client, user.username, user.headers = client, username, _TOKENS[username]
        return user

    return _login


def budget(login, years: list[int], ansatz_cents: int = 1_000_000_000) -> dict[int, int]:  # noqa: ANN001
    sb = login("sb1")
    ids = {}
    for jahr in years:
        existing = sb.get("/api/budget-positions", query_string={
            "haushaltsjahr": jahr, "titel": "0702-88301"}).get_json()
        if existing:  # the demo seed of the session's first test
            r = sb.patch(f"/api/budget-positions/{existing[0]['id']}", json={
                "ansatz_cents": ansatz_cents, "vermerk": "Testhaushalt"})
            assert r.status_code == 200, r.get_json()
        else:
            r = sb.post("/api/budget-positions", json={
                "haushaltsjahr": jahr, "titel": "0702-88301", "ansatz_cents": ansatz_cents})
            assert r.status_code == 201, r.get_json()
        ids[jahr] = r.get_json()["id"]
    return ids


def to_consultation(login, platform, members: list[str] | None = None, **kw) -> tuple[int, int]:  # noqa: ANN001
    """A call with one application that is selected: returns (call, application) ids with the
    application waiting in the Ressort consultation."""
    members = members or group("Süd", "klein")
    call = start_call(login, platform)
    seed_digichecks(platform, members)
    app = submit_application(login, platform, members, **kw)
    pass_deadline(platform, call)
    sb, gutachter = login("sb1"), login("gutachter1")
    complete(sb, one_task(sb, call, "bewertung_freigeben"), {"bestaetigt": True})
    run_jobs(platform)
    complete(gutachter, one_task(gutachter, call, "antrag_bewerten"), scores(8))
    run_jobs(platform)
    complete(sb, one_task(sb, call, "auswahl_bestaetigen"), {"entscheidung": "bestaetigen"})
    run_jobs(platform)
    return call, app


def ressort_tasks(login, iid: int) -> dict[str, dict]:  # noqa: ANN001
    result = {}
    for code in ("wirtschaft", "gesundheit", "umwelt", "innern", "soziales", "finanzen"):
        for t in open_tasks(login(f"ressort-{code}"), iid):
            if t["name"] == "stellungnahme_abgeben":
                result[code] = t
    return result


def context_of(user, task: dict) -> dict:  # noqa: ANN001
    """The values a task shows as its context ("Worum es geht") in GET /api/tasks/<id>."""
    r = user.get(f"/api/tasks/{task['id']}")
    assert r.status_code == 200, r.get_json()
    return (r.get_json()["context"] or {}).get("data") or {}
