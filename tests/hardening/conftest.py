"""Shared helpers of the hardening suites (R3–R8): backend switches and a database fingerprint
to prove that a rejected request changed nothing."""

from __future__ import annotations

import hashlib
import http.server
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import select, text

ON_POSTGRES = os.environ.get("TEST_DB", "sqlite") == "postgres"
postgres_only = pytest.mark.skipif(
    not ON_POSTGRES, reason="needs the PostgreSQL server (restarts it); runs in the TEST_DB=postgres pass")


class TokenUser:
    """Like tests.conftest.ApiUser, but with a token issued directly (no argon2 per test)."""

    def __init__(self, client, username: str, token: str):  # noqa: ANN001
        self.client, self.username = client, username
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, url: str, **kw):  # noqa: ANN003, ANN201
        return self.client.get(url, headers=self.headers, **kw)

    def post(self, url: str, **kw):  # noqa: ANN003, ANN201
        return self.client.post(url, headers=self.headers, **kw)

    def patch(self, url: str, **kw):  # noqa: ANN003, ANN201
        return self.client.patch(url, headers=self.headers, **kw)

    def open(self, url: str, **kw):  # noqa: ANN003, ANN201
        headers = {**self.headers, **kw.pop("headers", {})}
        return self.client.open(url, headers=headers, **kw)


_TOKENS: dict[str, str] = {}


@pytest.fixture
def as_user(app, client):  # noqa: ANN001, ANN201
    """as_user("sb1") → a client acting as that demo user; "kommune" = the first demo municipality."""
    from app.domain.demo import demo_municipalities
    from app.models import User
    from app.services.auth import issue_token

    platform = app.extensions["platform"]

    def _as(name: str) -> TokenUser:
        if name == "kommune":
            name = f"kommune-{demo_municipalities()[0]['ags']}"
        elif name == "kommune-fremd":
            name = f"kommune-{demo_municipalities()[1]['ags']}"
        if name not in _TOKENS:
            with platform.db.unit_of_work() as s:
                user = s.scalar(select(User).where(User.username == name))
                assert user is not None, name
                _TOKENS[name] = issue_token(user, platform.settings.SECRET_KEY, 3600)
        return TokenUser(client, name, _TOKENS[name])

    return _as


def fingerprint(platform) -> dict[str, str]:  # noqa: ANN001
    """Row count and a content hash of every table (ordered by primary key)."""
    from app.models import Base

    result = {}
    with platform.db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            exists = conn.execute(text(
                "SELECT 1 FROM information_schema.tables WHERE table_name = :t" if ON_POSTGRES
                else "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :t"),
                {"t": table.name}).first()
            if not exists:
                continue  # a model whose migration is not applied in this run
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            digest = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()[:16]
            result[table.name] = f"{len(rows)}:{digest}"
    return result


def changed(before: dict[str, str], after: dict[str, str]) -> dict[str, tuple]:
    return {t: (before.get(t), after.get(t)) for t in set(before) | set(after)
            if before.get(t) != after.get(t)}


def assert_problem(response, status: int | tuple[int, ...] | None = None) -> dict:  # noqa: ANN001
    """A 4xx in the platform's problem shape with a machine code and a German message."""
    body = response.get_json(silent=True)
    assert response.status_code < 500, (response.status_code, body)
    assert 400 <= response.status_code < 500, (response.status_code, body)
    if status is not None:
        allowed = status if isinstance(status, tuple) else (status,)
        assert response.status_code in allowed, (response.status_code, body)
    assert isinstance(body, dict) and body.get("code") and body.get("message"), body
    assert isinstance(body.get("errors"), list), body
    return body


class TrapServer:
    """A local HTTP server that answers every GET with `body` and records the paths asked for:
    a parser or resolver that fetches anything leaves a hit."""

    def __init__(self, body: bytes, content_type: str) -> None:
        self.hits: list[str] = []
        trap = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                trap.hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:  # noqa: ANN002
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"


@contextmanager
def trap_server(body: bytes, content_type: str = "text/plain") -> Iterator[TrapServer]:
    trap = TrapServer(body, content_type)
    threading.Thread(target=trap.server.serve_forever, daemon=True).start()
    try:
        yield trap
    finally:
        trap.server.shutdown()
        trap.server.server_close()
