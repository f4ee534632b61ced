"""Settings read from the environment once, in create_app (never at import time)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _default_db_url() -> str:
    return f"sqlite:///{ROOT / 'var' / 'foerderportal.db'}"


@dataclass
class Settings:
    DATABASE_URL: str = field(default_factory=_default_db_url)
    SECRET_KEY: str = ""
    CELERY_BROKER_URL: str = ""
    CELERY_ALWAYS_EAGER: bool = False
    PROCESSES_DIR: str = str(ROOT / "processes")
    FORMS_DIR: str = str(ROOT / "forms")
    DOCUMENTS_DIR: str = str(ROOT / "var" / "documents")
    DEMO_PASSWORD: str = "demo"
    TOKEN_TTL_SECONDS: int = 8 * 3600
    SCRIPT_TIME_LIMIT_SECONDS: float = 2.0
    MAX_TASK_DEPTH: int = 800
    DEPLOY_ON_START: bool = True
    OPERATOR_MODULES: str = "workers.operators"
    JOB_PUBLISHER: str = "workers.celery_app:CeleryPublisher"
    JOB_DISPATCH_LEASE_SECONDS: int = 30
    JOB_RUN_LEASE_SECONDS: int = 30  # a running job's lease, renewed by the worker's heartbeat
    JOB_HEARTBEAT_SECONDS: float = 10.0  # at most a third of the lease is used
    TESTING: bool = False
    SMTP_HOST: str = ""
    SMTP_PORT: int = 25
    SMTP_USER: str = ""
    SMTP_PASSWORD: str = ""
    SMTP_STARTTLS: bool = False
    MAIL_FROM: str = "foerderportal@digitales.hessen.example"
    MAX_UPLOAD_BYTES: int = 20 * 1024 * 1024
    BASE_URL: str = "http://127.0.0.1:8000"

    @classmethod
    def from_env(cls, overrides: dict | None = None) -> Settings:
        values: dict = {}
        for f in fields(cls):
            raw = os.environ.get(f.name)
            if raw is None:
                continue
            if f.type in ("bool", bool):
                values[f.name] = raw.lower() in ("1", "true", "yes", "on")
            elif f.type in ("int", int):
                values[f.name] = int(raw)
            elif f.type in ("float", float):
                values[f.name] = float(raw)
            else:
                values[f.name] = raw
        values.update(overrides or {})
        settings = cls(**values)
        if not settings.SECRET_KEY:
            settings.SECRET_KEY = _persistent_secret()
        return settings

    @property
    def is_sqlite(self) -> bool:
        return self.DATABASE_URL.startswith("sqlite")


def _persistent_secret() -> str:
    """A random key kept in var/ so sessions survive restarts on the quick-start setup."""
    path = ROOT / "var" / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
