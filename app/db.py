"""Database engine and unit of work (plain SQLAlchemy 2, no Flask imports)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker


class Database:
    """Owns the engine and the session factory; created once per app/worker process."""

    def __init__(self, url: str, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict = {"echo": echo, "future": True}
        if self.is_sqlite:
            path = url.split("sqlite:///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        else:
            kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
        self.engine: Engine = create_engine(url, **kwargs)
        if not self.is_sqlite:
            # executemany INSERTs (engine rows, audit entries) as one multi-row INSERT with a
            # cached compiled form ("insertmanyvalues"), also without RETURNING
            self.engine.dialect.use_insertmanyvalues_wo_returning = True
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One transaction: commit on success, roll back on any error.

        Callbacks in session.info["after_commit"] run after a successful commit.
        """
        session = self.session_factory()
        try:
            with session.begin():
                yield session
            for callback in session.info.pop("after_commit", []):
                callback()
        finally:
            session.close()

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A plain connection for a read that needs no ORM session (rolled back on return)."""
        with self.engine.connect() as conn:
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()


def _configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys and BEGIN IMMEDIATE so that concurrent writers queue instead of failing."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # noqa: ANN001
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # noqa: ANN001
        conn.exec_driver_sql("BEGIN IMMEDIATE")
