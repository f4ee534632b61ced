"""Real Celery worker and beat processes for the tests, on the suite's database and broker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from app.models import ProcessInstance

ROOT = Path(__file__).resolve().parents[2]


class CeleryProcess:
    def __init__(self, kind: str, env: dict, log: Path, extra: tuple[str, ...] = ()):
        self.kind, self.env, self.log, self.extra = kind, env, log, extra
        self.proc: subprocess.Popen | None = None

    def start(self) -> CeleryProcess:
        args = [sys.executable, "-m", "celery", "-A", "workers.celery_app", self.kind,
                "--loglevel", "INFO"]
        if self.kind == "worker":
            args += ["--pool", "solo", "--without-heartbeat", "--without-gossip",
                     "--without-mingle", "-n", f"test-{os.getpid()}-{time.time_ns()}@%h"]
        else:
            args += ["--schedule", str(self.log.with_suffix(".schedule"))]
        args += list(self.extra)
        self._fh = open(self.log, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=self._fh,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def kill(self) -> None:
        """SIGKILL, no chance to ack or clean up."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self._fh.close()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        if not self._fh.closed:
            self._fh.close()


def wait_for(predicate, timeout: float = 60.0, interval: float = 0.2, message: str = ""):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting: {message}")


def instance_status(platform, iid: int) -> str:  # noqa: ANN001
    with platform.db.unit_of_work() as s:
        return s.get(ProcessInstance, iid).status


def count_rows(platform, model, *where) -> int:  # noqa: ANN001
    with platform.db.unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))
