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
    # Destatis Gemeindeverzeichnis imported on the first start ("" = none); see data/README.md
    MASTERDATA_FILE: str = str(ROOT / "data" / "destatis_auszuggv_hessen.csv")
    DOCUMENTS_DIR: str = str(ROOT / "var" / "documents")
    DEMO_PASSWORD: str = "demo"
    TOKEN_TTL_SECONDS: int = 8 * 3600
    # sign-in rate limit (browser and API token): failures per user name (per address: 4×)
    LOGIN_MAX_FAILURES: int = 5
    LOGIN_WINDOW_SECONDS: int = 15 * 60
    SCRIPT_TIME_LIMIT_SECONDS: float = 2.0
    SCRIPT_SANDBOX: bool = True
    SCRIPT_MEMORY_LIMIT_MB: int = 512
    SCRIPT_SANDBOX_PROCESSES: int = 4
    SCRIPT_SANDBOX_GRACE_SECONDS: float = 1.0
    MAX_TASK_DEPTH: int = 800
    # timers (deploy and run time): how far ahead a timer may point, how often a cycle may fire
    TIMER_MAX_DAYS: int = 3660
    TIMER_MIN_CYCLE_SECONDS: int = 60
    TIMER_MAX_CYCLES: int = 1000
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
