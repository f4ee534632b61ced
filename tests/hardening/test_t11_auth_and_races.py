"""Issue 11, findings 6, 9 (claims, unique keys) and parts of 7: sign-in throttling shared by the
token endpoint and the web login, revocation of tokens and sessions, the last administrator,
exclusive claims, unique-key conflicts as 409, text that is not valid Unicode, and gunicorn's
answers to over-long requests in the problem shape. Runs on SQLite and PostgreSQL (TEST_DB)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.models import AuditEntry, Group, HumanTask, LoginAttempt, User
from app.services import processes, tasks
from app.services.auth import actor_for
from app.services.users import create_user
from tests.conftest import ROOT
from tests.hardening.conftest import assert_problem, changed, fingerprint
from tests.integration.web_support import Browser

PASSWORD = "richtiges-passwort"


def _new_user(platform, groups: list[str], prefix: str = "t11") -> tuple[int, str]:  # noqa: ANN001
    from app.services.context import SYSTEM

    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    with platform.db.unit_of_work() as s:
        return create_user(s, SYSTEM, name, PASSWORD, groups).id, name


def _token(client, username: str, password: str = PASSWORD):  # noqa: ANN001, ANN201
    return client.post("/api/auth/token", json={"username": username, "password": password})


def _bearer(response) -> dict:  # noqa: ANN001
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def _expire_failures(platform, username: str) -> None:  # noqa: ANN001
    """Move the user's failed attempts out of the rate-limit window (as if 16 minutes passed)."""
    with platform.db.unit_of_work() as s:
        for attempt in s.scalars(select(LoginAttempt).where(LoginAttempt.username == username)):
            attempt.at = attempt.at - timedelta(minutes=16)


# --- finding 6: one throttle for the token endpoint and the web login --------------------------

def test_token_endpoint_locks_after_repeated_wrong_passwords(client, platform):
    _, name = _new_user(platform, ["gutachter"])
    statuses = [_token(client, name, f"falsch-{i}").status_code for i in range(40)]
    first_lock = statuses.index(429) if 429 in statuses else None
    assert first_lock is not None and first_lock <= 5, statuses
    assert set(statuses[:first_lock]) == {401} and set(statuses[first_lock:]) == {429}, statuses
    r = _token(client, name)  # the right password is refused as well while locked
    body = assert_problem(r, 429)
    assert body["code"] == "too_many_attempts" and "Zu viele fehlgeschlagene" in body["message"]
    assert 0 < int(r.headers["Retry-After"]) <= 15 * 60
    _expire_failures(platform, name)
    assert _token(client, name).status_code == 200


def test_locked_web_login_refuses_the_token_and_the_other_way_round(app, client, platform):
    _, web_locked = _new_user(platform, ["gutachter"])
    browser = Browser(app)
    for _ in range(5):
        assert browser.post("/anmelden", {"username": web_locked, "password": "falsch"}).status_code == 401
    r = browser.post("/anmelden", {"username": web_locked, "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert assert_problem(_token(client, web_locked), 429)["code"] == "too_many_attempts"

    _, api_locked = _new_user(platform, ["gutachter"])
    for _ in range(5):
        assert _token(client, api_locked, "falsch").status_code == 401
    r = Browser(app).post("/anmelden", {"username": api_locked, "password": PASSWORD})
    assert r.status_code == 429


# --- finding 6: password change, deactivation and forced logout revoke tokens and sessions -----

def test_password_change_revokes_tokens_and_browser_sessions(app, client, platform, as_user):
    uid, name = _new_user(platform, ["sachbearbeitung"])
    old = _bearer(_token(client, name))
    browser = Browser(app, name, PASSWORD)
    assert client.get("/api/tasks", headers=old).status_code == 200
    assert browser.get("/").status_code == 200
    r = as_user("admin").patch(f"/api/users/{uid}", json={"password": "ganz-neues-passwort"})
    assert r.status_code == 200, r.get_json()
    r = client.get("/api/tasks", headers=old)
    assert r.status_code == 401 and r.get_json()["code"] == "invalid_token"
    r = browser.get("/")
    assert r.status_code == 302 and "/anmelden" in r.headers["Location"]
    assert browser.get("/api/tasks").status_code == 401  # the cookie no longer reaches the API
    new = _bearer(_token(client, name, "ganz-neues-passwort"))
    assert client.get("/api/tasks", headers=new).status_code == 200


def test_deactivation_revokes_tokens_for_good_and_admins_can_force_a_logout(app, client, platform, as_user):
    uid, name = _new_user(platform, ["sachbearbeitung"])
    admin = as_user("admin")
    before_deactivation = _bearer(_token(client, name))
    assert admin.patch(f"/api/users/{uid}", json={"active": False}).status_code == 200
    assert client.get("/api/tasks", headers=before_deactivation).status_code == 401
    assert admin.patch(f"/api/users/{uid}", json={"active": True}).status_code == 200
    # reactivation does not bring back what was issued before the deactivation
    assert client.get("/api/tasks", headers=before_deactivation).status_code == 401

    token = _bearer(_token(client, name))
    browser = Browser(app, name, PASSWORD)
    assert as_user("sb1").post(f"/api/users/{uid}/logout").status_code == 403
    r = admin.post(f"/api/users/{uid}/logout")
    assert r.status_code == 200, r.get_json()
    assert client.get("/api/tasks", headers=token).status_code == 401
    assert browser.get("/").status_code == 302
    with platform.db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "user.sessions_revoked", AuditEntry.object_id == str(uid))) == 1
    assert client.get("/api/tasks", headers=_bearer(_token(client, name))).status_code == 200


# --- finding 6: the last active administrator ----------------------------------------------------

def test_the_last_active_admin_cannot_demote_or_deactivate_themselves(client, platform, as_user):
    admin = as_user("admin")
    with platform.db.unit_of_work() as s:
        admin_id = s.scalar(select(User.id).where(User.username == "admin"))
    before = fingerprint(platform)
    r = admin.patch(f"/api/users/{admin_id}", json={"groups": ["sachbearbeitung"]})
    body = assert_problem(r, 409)
    assert body["code"] == "last_admin" and "Administration" in body["message"]
    assert assert_problem(admin.patch(f"/api/users/{admin_id}", json={"active": False}), 409)
    assert changed(before, fingerprint(platform)) == {}

    # with a second administrator, one of them may step down
    second_id, second = _new_user(platform, ["admin"])
    headers = _bearer(_token(client, second))
    r = client.patch(f"/api/users/{second_id}", headers=headers, json={"groups": ["gutachter"]})
    assert r.status_code == 200 and r.get_json()["groups"] == ["gutachter"]


# --- finding 9a: exactly one claim wins ----------------------------------------------------------

def _clerk_task(platform) -> str:  # noqa: ANN001
    """A fresh demo application whose open task waits for the Sachbearbeitung."""
    from app.domain.demo import demo_municipalities

    with platform.db.unit_of_work() as s:
        kommune = actor_for(s, s.scalar(select(User.id).where(
            User.username == f"kommune-{demo_municipalities()[0]['ags']}")))
    started = processes.start_process(platform, kommune, "demo_antrag", None, {})
    tasks.complete(platform, kommune, started["current_tasks"][0]["id"],
                   {"vorhaben": "Gleichzeitig", "betrag": 100, "thema": "verwaltung"})
    with platform.db.unit_of_work() as s:
        return s.scalar(select(HumanTask.task_id).where(
            HumanTask.instance_id == started["id"], HumanTask.completed_at.is_(None)))


def _concurrently(app, requests: list[tuple[str, str, dict, dict | None]]) -> list[int]:  # noqa: ANN001
    """Send the requests (method, url, headers, json) from one thread each, all at once."""
    barrier = threading.Barrier(len(requests))
    statuses: list[int | None] = [None] * len(requests)

    def send(i: int, method: str, url: str, headers: dict, body: dict | None) -> None:
        client = app.test_client()
        barrier.wait()
        statuses[i] = client.open(url, method=method, headers=headers, json=body).status_code

    threads = [threading.Thread(target=send, args=(i, *req)) for i, req in enumerate(requests)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return statuses


def test_concurrent_claims_by_three_clerks_have_exactly_one_winner(app, platform, as_user):
    clerks = [as_user(name) for name in ("sb1", "sb2", "sb-leitung")]
    for _ in range(10):
        task_id = _clerk_task(platform)
        requests = [("POST", f"/api/tasks/{task_id}/claim", clerks[i % 3].headers, None)
                    for i in range(30)]
        statuses = _concurrently(app, requests)
        winners = {clerks[i % 3].username for i, st in enumerate(statuses) if st == 200}
        assert len(winners) == 1, statuses
        losers = [st for i, st in enumerate(statuses) if clerks[i % 3].username not in winners]
        assert losers == [409] * 20, statuses  # a winner's own repeats are answered 200 (no-op)
        with platform.db.unit_of_work() as s:
            assignee = s.scalar(select(User.username).join(HumanTask, HumanTask.assignee_id == User.id)
                                .where(HumanTask.task_id == task_id))
            claims = s.scalar(select(func.count()).select_from(AuditEntry).where(
                AuditEntry.object_id == task_id, AuditEntry.action == "task.claimed"))
        assert {assignee} == winners and claims == 1


# --- finding 9b: a unique-key collision is a conflict, not an unavailable database -------------

def test_concurrent_creation_of_one_user_name_gives_one_201_and_409s(app, as_user, platform):
    name = f"t11-gleich-{uuid.uuid4().hex[:6]}"
    body = {"username": name, "password": "sicheres-passwort", "groups": ["gutachter"]}
    statuses = _concurrently(app, [("POST", "/api/users", as_user("admin").headers, body)] * 20)
    assert sorted(statuses) == [201] + [409] * 19, statuses
    with platform.db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(User).where(User.username == name)) == 1


def test_concurrent_users_with_one_new_group_all_succeed(app, as_user, platform):
    group = f"t11-gruppe-{uuid.uuid4().hex[:6]}"
    requests = [("POST", "/api/users", as_user("admin").headers,
                 {"username": f"t11-g{i}-{uuid.uuid4().hex[:6]}", "password": "sicheres-passwort",
                  "groups": [group]}) for i in range(20)]
    statuses = _concurrently(app, requests)
    assert statuses == [201] * 20, statuses
    with platform.db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(Group).where(Group.name == group)) == 1


def test_database_errors_map_to_409_for_conflicts_and_503_only_when_unreachable():
    """The shared mapping (app/errors.py), for errors no service turned into its own answer."""
    from flask import Flask
    from sqlalchemy.exc import IntegrityError, OperationalError

    from app.errors import register_error_handlers

    bare = Flask("t11")
    register_error_handlers(bare)

    @bare.get("/api/t11/integrity")
    def integrity():  # noqa: ANN202
        raise IntegrityError("INSERT ...", {}, Exception("UNIQUE constraint failed"))

    @bare.get("/api/t11/unreachable")
    def unreachable():  # noqa: ANN202
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    client = bare.test_client()
    body = assert_problem(client.get("/api/t11/integrity"), 409)
    assert body["code"] == "conflict" and "Stand" in body["message"]
    r = client.get("/api/t11/unreachable")
    assert r.status_code == 503 and r.get_json()["code"] == "database_unavailable"


# --- finding 7: text that is not valid Unicode ---------------------------------------------------

SURROGATE_JSON = [
    ("POST", "/api/auth/token", None, '{"username": "sb1", "password": "x\\ud800"}'),
    ("POST", "/api/auth/token", None, '{"username": "x\\udfff", "password": "demo"}'),
    ("POST", "/api/users", "admin",
     '{"username": "t11-sur", "password": "sicheres-passwort", "groups": ["gutachter"], '
     '"display_name": "A\\ud83dB"}'),
    ("POST", "/api/process-instances", "kommune",
     '{"process_key": "demo_antrag", "data": {"vorhaben\\udc00": "x"}}'),
    ("POST", "/api/process-instances", "kommune", '{"process_key": "demo\\ud800"}'),
    ("POST", "/api/messages/demo_empfangsbestaetigung", "sb1",
     '{"correlation": {"business_key": ["a", "\\ude00"]}}'),
]


@pytest.mark.parametrize("method,url,user,raw", SURROGATE_JSON, ids=[f"{c[1]}-{i}" for i, c in enumerate(SURROGATE_JSON)])
def test_lone_surrogates_in_json_bodies_are_refused(method, url, user, raw, client, as_user, platform):
    headers = as_user(user).headers if user else {}
    before = fingerprint(platform)
    r = client.open(url, method=method, headers=headers, data=raw, content_type="application/json")
    body = assert_problem(r, 400)
    assert body["code"] == "invalid_text" and body["errors"][0]["path"]
    assert changed(before, fingerprint(platform)) == {}


def test_escaped_pairs_and_backslashes_are_still_accepted(client, as_user):
    r = client.post("/api/auth/token", data='{"username": "sb1", "password": "\\ud83d\\ude00 \\\\ud800"}',
                    content_type="application/json")
    assert r.status_code == 401  # a wrong password, but valid text


def test_invalid_text_in_query_strings_paths_and_forms_is_refused(app, client, as_user):
    sb = as_user("sb1")
    for url in ["/api/tasks?process_key=%ED%A0%80", "/api/process-instances?municipality=%FF",
                "/api/tasks/%ED%A0%80", "/api/messages/%ED%B0%80"]:
        r = sb.open(url, method="POST" if "messages" in url else "GET", json={} if "messages" in url else None)
        assert assert_problem(r, 400)["code"] == "invalid_text", url
    browser = Browser(app)
    browser.get("/anmelden")
    r = browser.client.post("/anmelden", data=f"username=sb1%ED%A0%80&password=demo&csrf_token={browser.token}",
                            content_type="application/x-www-form-urlencoded")
    assert r.status_code == 400 and "Unicode" in r.get_data(as_text=True)
    r = browser.post("/anmelden", {"username": "sb1", "password": "demo\\udc00"})  # a JSON-style escape
    assert r.status_code == 400


# --- finding 7: gunicorn's own 414/431 answers ----------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _raw_request(port: int, head: bytes) -> tuple[int, dict, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(head)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    header, _, body = data.partition(b"\r\n\r\n")
    lines = header.decode("latin-1").split("\r\n")
    fields = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in fields.items()}, body


@pytest.fixture
def gunicorn(database_url, tmp_path):  # noqa: ANN001, ANN201
    """gunicorn started with the command line of `make run` (app.runner) on a free port."""
    from app.runner import web_command

    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret", "JOB_PUBLISHER": "",
           "DOCUMENTS_DIR": str(tmp_path / "docs"), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(web_command("127.0.0.1", str(port)), cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if _raw_request(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")[0] == 200:
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.terminate()
        pytest.fail("gunicorn did not start")
    yield port
    proc.terminate()
    proc.wait(timeout=30)


def test_over_long_requests_get_the_problem_body_from_gunicorn(gunicorn):
    for length in (5_000, 20_000):
        status, headers, body = _raw_request(
            gunicorn, f"GET /api/tasks?q={'a' * length} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert status == 414 and headers["content-type"].startswith("application/json"), (status, body[:200])
        problem = json.loads(body)
        assert problem["code"] == "uri_too_long" and "zu lang" in problem["message"] and problem["errors"] == []
    status, headers, body = _raw_request(
        gunicorn, f"GET /api/tasks HTTP/1.1\r\nHost: x\r\nX-Gross: {'b' * 20_000}\r\n\r\n".encode())
    assert status == 431 and headers["content-type"].startswith("application/json"), (status, body[:200])
    assert json.loads(body)["code"] == "headers_too_large"
    # an ordinary API error still comes from the app
    status, _, body = _raw_request(gunicorn, b"GET /api/tasks HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status == 401 and json.loads(body)["code"] == "unauthenticated"


def test_no_attempt_rows_linger_after_a_successful_sign_in(client, platform):
    _, name = _new_user(platform, ["gutachter"])
    assert _token(client, name, "falsch").status_code == 401
    assert _token(client, name).status_code == 200
    with platform.db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.username == name)) == 0
