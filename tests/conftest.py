"""Test fixtures: a real database (SQLite file or a fresh PostgreSQL database per run).

TEST_DB=sqlite (default) or TEST_DB=postgres selects the backend; the README's test command
runs the suite once for each. Runtime tables are emptied after every test; users, groups and
deployed definitions are created once per session (argon2 hashing is deliberately slow).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"  # master data shipped with the repository (data/README.md)
# Every answer of the engine's open-task index is compared with SpiffWorkflow's own tree walk
# (app/engine/indexed.py); worker processes started by fixtures inherit it.
os.environ.setdefault("FP_ENGINE_VERIFY_INDEX", "1")
PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
RUNTIME_TABLES = ["operator_effect", "message_subscription", "service_job", "human_task", "engine_task",
                  "audit_entry", "process_instance"]
# Phase 2 (issue 4): deleted first, they reference process instances
RUNTIME_TABLES = ["aufruf_antrag", "foerderaufruf", "digicheck_result", "blaupause", "document",
                  "budget_booking", "budget_position", *RUNTIME_TABLES]
# Phase 1 (issue 5): cases reference instances and runs; imported municipalities are removed by
# the Phase 1 test fixtures (tests/integration/phase1_support.py)
RUNTIME_TABLES = ["phase1_case", "phase1_allocation_result", "phase1_allocation_run",
                  "phase1_programme_year", "finanzkraft", "municipality_history",
                  "masterdata_import", *RUNTIME_TABLES]
# Web UI (issue 6): comments, saved filters, login attempts, modeler drafts
RUNTIME_TABLES = ["task_comment", "saved_filter", "login_attempt", "definition_draft", *RUNTIME_TABLES]


def _create_pg_database() -> tuple[str, str]:
    from sqlalchemy import create_engine

    name = f"fp_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name, PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def _drop_pg_database(name: str) -> None:
    from sqlalchemy import create_engine

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):  # noqa: ANN001, ANN201
    backend = os.environ.get("TEST_DB", "sqlite")
    if backend == "postgres":
        name, url = _create_pg_database()
        yield url
        _drop_pg_database(name)
    else:
        path = tmp_path_factory.mktemp("db") / "test.db"
        yield f"sqlite:///{path}"


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):  # noqa: ANN001, ANN201
    from app import create_app
    from app.cli import upgrade_database
    from app.services.definitions import deploy_directory
    from app.services.users import seed_demo

    upgrade_database(database_url)
    flask_app = create_app({
        "DATABASE_URL": database_url, "TESTING": True, "SECRET_KEY": "test-secret",
        "DOCUMENTS_DIR": str(tmp_path_factory.mktemp("documents")), "DEMO_PASSWORD": "demo",
        "JOB_PUBLISHER": "", "OPERATOR_MODULES": "workers.operators,tests.operators",
    })
    platform = flask_app.extensions["platform"]
    seed_demo(platform)
    deploy_directory(platform)
    yield flask_app
    platform.db.dispose()


@pytest.fixture
def platform(app):  # noqa: ANN001, ANN201
    return app.extensions["platform"]


@pytest.fixture(autouse=True)
def _clean_runtime(request):  # noqa: ANN001, ANN202
    yield
    if "app" not in request.fixturenames:
        return
    platform = request.getfixturevalue("app").extensions["platform"]
    with platform.db.engine.begin() as conn:
        for table in RUNTIME_TABLES:
            conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def client(app):  # noqa: ANN001, ANN201
    return app.test_client()


class ApiUser:
    """A logged-in API client for one demo user."""

    def __init__(self, client, username: str, password: str = "demo"):  # noqa: ANN001
        self.client = client
        self.username = username
        r = client.post("/api/auth/token", json={"username": username, "password": password})
        assert r.status_code == 200, r.get_json()
        self.headers = {"Authorization": f"Bearer {r.get_json()['access_token']}"}

    def get(self, url: str, **kw):  # noqa: ANN003, ANN201
        return self.client.get(url, headers=self.headers, **kw)

    def post(self, url: str, **kw):  # noqa: ANN003, ANN201
        return self.client.post(url, headers=self.headers, **kw)

    def patch(self, url: str, **kw):  # noqa: ANN003, ANN201
        return self.client.patch(url, headers=self.headers, **kw)


@pytest.fixture
def login(client):  # noqa: ANN001, ANN201
    cache: dict[str, ApiUser] = {}

    def _login(username: str) -> ApiUser:
        if username not in cache:
            cache[username] = ApiUser(client, username)
        return cache[username]

    return _login


@pytest.fixture
def demo_ags():  # noqa: ANN201
    from app.domain.demo import demo_municipalities

    munis = demo_municipalities()
    return munis[0]["ags"], munis[1]["ags"]


# --- real Celery worker processes -------------------------------------------------------------

@pytest.fixture(scope="session")
def broker_url(tmp_path_factory):  # noqa: ANN001, ANN201
    """Redis on the PostgreSQL run, the embedded SQLite broker on the SQLite run. Set in the
    environment before workers.celery_app is first imported by this process."""
    if os.environ.get("TEST_DB", "sqlite") == "postgres":
        url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    else:
        url = f"sqla+sqlite:///{tmp_path_factory.mktemp('broker') / 'broker.db'}"
    os.environ["CELERY_BROKER_URL"] = url
    os.environ["CELERY_VISIBILITY_TIMEOUT"] = "5"
    os.environ["CELERY_POLLING_INTERVAL"] = "0.2"
    return url


@pytest.fixture
def flag_dir(tmp_path):  # noqa: ANN001, ANN201
    path = tmp_path / "flags"
    path.mkdir()
    return path


@pytest.fixture
def worker_env(app, database_url, broker_url, flag_dir, monkeypatch, tmp_path):  # noqa: ANN001, ANN201
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": database_url, "CELERY_BROKER_URL": broker_url,
        "CELERY_QUEUE": f"fp-test-{uuid.uuid4().hex[:8]}", "SECRET_KEY": "test-secret",
        "OPERATOR_MODULES": "workers.operators,tests.operators", "TEST_FLAG_DIR": str(flag_dir),
        "JOB_DISPATCH_LEASE_SECONDS": "2", "JOB_RUN_LEASE_SECONDS": "4",
        "CELERY_VISIBILITY_TIMEOUT": "5", "CELERY_POLLING_INTERVAL": "0.2",
        "RELAY_INTERVAL": "0.5", "TIMER_INTERVAL": "0.5", "DOCUMENTS_DIR": str(tmp_path / "docs"),
        "PYTHONPATH": str(ROOT),
    })
    monkeypatch.setenv("TEST_FLAG_DIR", env["TEST_FLAG_DIR"])
    import workers.celery_app as celery_module

    assert celery_module.celery.conf.broker_url == broker_url
    celery_module.celery.conf.task_default_queue = env["CELERY_QUEUE"]
    platform = app.extensions["platform"]
    settings = platform.settings
    monkeypatch.setattr(settings, "JOB_DISPATCH_LEASE_SECONDS", 2)
    monkeypatch.setattr(settings, "JOB_RUN_LEASE_SECONDS", 4)
    monkeypatch.setattr(platform, "publisher", celery_module.CeleryPublisher())
    return env


@pytest.fixture
def celery_processes(worker_env, tmp_path):  # noqa: ANN001, ANN201
    from tests.integration.worker_support import CeleryProcess

    started = []

    def start(kind: str = "worker", name: str | None = None):  # noqa: ANN202
        proc = CeleryProcess(kind, worker_env, tmp_path / f"{name or kind}-{len(started)}.log").start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()
