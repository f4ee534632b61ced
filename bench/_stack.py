"""Shared helpers of the benchmarks: environment report, a throwaway PostgreSQL database, the
whole stack (gunicorn + Celery worker + beat) as subprocesses on 127.0.0.1, a keep-alive HTTP
client and latency statistics. Nothing here asserts timings; the scripts print figures.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import platform as _platform
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
HOST = "127.0.0.1"
SECRET = "bench-secret"

# start → script → exclusive gateway → user task → end (the P1 process; lane = candidate group)
SMALL_PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  id="Defs_{pid}" targetNamespace="http://foerderportal.bench">
  <bpmn:process id="{pid}" name="Benchmark {pid}" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="sachbearbeitung">
      <bpmn:flowNodeRef>s</bpmn:flowNodeRef><bpmn:flowNodeRef>rechnen</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>gw</bpmn:flowNodeRef><bpmn:flowNodeRef>pruefen</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>e</bpmn:flowNodeRef><bpmn:flowNodeRef>e_klein</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="rechnen" name="Betrag berechnen"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>betrag = 1200 * 4
stufe = "gross" if betrag &gt; 1000 else "klein"</bpmn:script></bpmn:scriptTask>
    <bpmn:exclusiveGateway id="gw" default="f_klein"><bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f_gross</bpmn:outgoing><bpmn:outgoing>f_klein</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:userTask id="pruefen" name="Antrag prüfen">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="demo/pruefung.schema.json" />
      </spiffworkflow:properties></bpmn:extensionElements><bpmn:incoming>f_gross</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="e_klein"><bpmn:incoming>f_klein</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="rechnen" />
    <bpmn:sequenceFlow id="f2" sourceRef="rechnen" targetRef="gw" />
    <bpmn:sequenceFlow id="f_gross" sourceRef="gw" targetRef="pruefen">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">stufe == "gross"</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_klein" sourceRef="gw" targetRef="e_klein" />
    <bpmn:sequenceFlow id="f3" sourceRef="pruefen" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>
"""


# --------------------------------------------------------------------------- environment

def _cmd(args: list[str]) -> str:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def environment(extra: dict | None = None) -> dict:
    from importlib.metadata import version

    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with contextlib.suppress(OSError):
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    env = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "load average": " ".join(f"{x:.2f}" for x in os.getloadavg())
        + " (1, 5, 15 min; other work on the host skews figures)",
        "host": f"{_platform.system()} {_platform.release()} {_platform.machine()}",
        "cpu": f"{os.cpu_count()} × {cpu}",
        "memory": mem,
        "python": sys.version.split()[0],
        "SpiffWorkflow": version("SpiffWorkflow"),
        "SQLAlchemy": version("SQLAlchemy"),
        "psycopg": version("psycopg"),
        "gunicorn": version("gunicorn"),
        "celery": version("celery"),
        "postgresql": _cmd(["psql", "-h", HOST, "-U", "postgres", "-Atc", "show server_version"]),
        "git": _cmd(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
        + (" (+ uncommitted changes)" if _cmd(["git", "-C", str(ROOT), "status", "--porcelain"]) else ""),
    }
    env.update(extra or {})
    return env


def print_environment(extra: dict | None = None) -> None:
    print("Environment")
    for key, value in environment(extra).items():
        print(f"  {key:<14} {value}")
    print()


# --------------------------------------------------------------------------- databases

@contextlib.contextmanager
def throwaway_pg(prefix: str = "fp_bench") -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards whatever happens."""
    from sqlalchemy import create_engine, text

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        for attempt in range(5):  # the server may just be restarting (another run's R3 test)
            try:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                break
            except Exception:  # noqa: BLE001
                admin.dispose()
                if attempt == 4:
                    print(f"could not drop the throwaway database {name}; drop it by hand")
                time.sleep(2)
        admin.dispose()


def prepare_database(url: str, extra_files: dict[str, bytes] | None = None, *, seed: bool = True):  # noqa: ANN201
    """Migrate, seed the demo users, deploy processes/ plus extra files; returns the app."""
    from app import create_app
    from app.cli import upgrade_database
    from app.services.context import SYSTEM
    from app.services.definitions import deploy_directory, deploy_files
    from app.services.users import seed_demo

    upgrade_database(url)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET, "JOB_PUBLISHER": "",
                      "DOCUMENTS_DIR": str(ROOT / "var" / "bench-documents")})
    platform = app.extensions["platform"]
    if seed:
        seed_demo(platform)
    deploy_directory(platform)
    if extra_files:
        deploy_files(platform, SYSTEM, extra_files)
    return app


# --------------------------------------------------------------------------- the stack

def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Stack:
    """gunicorn (gthread) serving wsgi:app, a Celery worker and beat, all on 127.0.0.1."""

    def __init__(self, database_url: str, *, workers: int = 2, threads: int = 4,
                 celery: bool = True, log_dir: Path | None = None) -> None:
        self.database_url = database_url
        self.workers, self.threads, self.celery = workers, threads, celery
        self.port = free_port()
        self.log_dir = log_dir or ROOT / "var" / "bench-logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.procs: list[subprocess.Popen] = []
        self.env = dict(os.environ)
        self.env.update({
            "DATABASE_URL": database_url, "SECRET_KEY": SECRET, "CELERY_BROKER_URL": REDIS_URL,
            "CELERY_QUEUE": f"fp-bench-{uuid.uuid4().hex[:8]}", "PYTHONPATH": str(ROOT),
            "DOCUMENTS_DIR": str(ROOT / "var" / "bench-documents"),
        })

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def _spawn(self, name: str, args: list[str]) -> None:
        log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        proc._bench_log = log  # type: ignore[attr-defined]
        self.procs.append(proc)

    def start(self) -> Stack:
        bin_dir = Path(sys.executable).parent
        self._spawn("gunicorn", [
            str(bin_dir / "gunicorn"), "--bind", f"{HOST}:{self.port}", "--workers", str(self.workers),
            "--threads", str(self.threads), "--worker-class", "gthread", "--keep-alive", "30",
            "--backlog", "512", "wsgi:app"])
        if self.celery:
            self._spawn("worker", [sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker",
                                   "--loglevel", "WARNING", "--concurrency", "1", "--pool", "solo",
                                   "--without-heartbeat", "--without-gossip", "--without-mingle"])
            self._spawn("beat", [sys.executable, "-m", "celery", "-A", "workers.celery_app", "beat",
                                 "--loglevel", "WARNING",
                                 "--schedule", str(self.log_dir / f"beat-{self.port}.schedule")])
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for proc in self.procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"a stack process exited early, see {self.log_dir}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                status, _ = Http(self.port).request("GET", "/healthz")
                if status == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not become ready")

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
            proc._bench_log.close()  # type: ignore[attr-defined]
        self.procs.clear()

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


def drive(stack: Stack, tok: str, clients: int, seconds: float,
          step: Callable[[Http], bool]) -> tuple[float, dict[str, float]]:
    """Run `step(http)` repeatedly in `clients` threads (one keep-alive connection each) until it
    returns False or `seconds` have passed. Returns the wall time and the CPU seconds spent by
    each part of the stack (see CpuMeter) plus this client process."""
    meter = CpuMeter(stack)
    before, client_cpu = meter.snapshot(), time.process_time()
    stop_at = time.perf_counter() + seconds

    def client() -> None:
        http = Http(stack.port, tok)
        try:
            while time.perf_counter() < stop_at and step(http):
                pass
        finally:
            http.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    cpu = CpuMeter.delta(before, meter.snapshot())
    cpu["client"] = time.process_time() - client_cpu
    return elapsed, cpu


class CpuMeter:
    """CPU seconds used by the stack's processes and by the PostgreSQL backends of its database
    — a measure that other load on the host disturbs far less than wall-clock throughput."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    def _pg_backends(self) -> list[int]:
        from sqlalchemy import create_engine, text

        name = self.stack.database_url.rsplit("/", 1)[1]
        admin = create_engine(PG_ADMIN_URL)
        try:
            with admin.connect() as conn:
                return list(conn.execute(text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"),
                    {"n": name}).scalars())
        finally:
            admin.dispose()

    def snapshot(self) -> dict[str, dict[int, float]]:
        groups: dict[str, dict[int, float]] = {"web": {}, "celery": {}, "postgres": {}}
        for proc in self.stack.procs:
            kind = "web" if "gunicorn" in " ".join(proc.args) else "celery"
            for pid in [proc.pid, *_children(proc.pid)]:
                groups[kind][pid] = _proc_cpu(pid)
        if self.stack.database_url.startswith("postgresql"):
            for pid in self._pg_backends():
                groups["postgres"][pid] = _proc_cpu(pid)
        return groups

    @staticmethod
    def delta(before: dict, after: dict) -> dict[str, float]:
        return {kind: sum(v - before[kind].get(pid, 0.0) for pid, v in after[kind].items())
                for kind in after}


class Http:
    """A keep-alive JSON client on one connection (one per thread)."""

    def __init__(self, port: int, token: str | None = None, timeout: float = 30) -> None:
        self.port, self.token, self.timeout = port, token, timeout
        self.conn = http.client.HTTPConnection(HOST, port, timeout=timeout)

    def request(self, method: str, path: str, body: object = None) -> tuple[int, object]:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=data, headers=headers)
                resp = self.conn.getresponse()
                raw = resp.read()
                if resp.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.conn.close()  # server closed the idle keep-alive connection: reconnect once
                if attempt:
                    raise
        ctype = resp.getheader("Content-Type", "")
        return resp.status, (json.loads(raw) if raw and "json" in ctype else raw)

    def post(self, path: str, body: object = None) -> tuple[int, object]:
        return self.request("POST", path, body if body is not None else {})

    def get(self, path: str) -> tuple[int, object]:
        return self.request("GET", path)

    def close(self) -> None:
        self.conn.close()


def token(port: int, username: str, password: str = "demo") -> str:
    status, body = Http(port).post("/api/auth/token", {"username": username, "password": password})
    if status != 200:
        raise RuntimeError(f"login {username} failed: {status} {body}")
    return body["access_token"]


# --------------------------------------------------------------------------- statistics

def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)

    def pct(p: float) -> float:
        if not ordered:
            return float("nan")
        k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
        return ordered[k]

    return {"n": len(ordered), "mean": statistics.fmean(ordered) if ordered else float("nan"),
            "p50": pct(50), "p95": pct(95), "p99": pct(99), "max": ordered[-1] if ordered else float("nan")}


def fmt_pct(stats: dict[str, float]) -> str:
    return (f"n={stats['n']:<6} mean={stats['mean']:7.2f} ms  p50={stats['p50']:7.2f}  "
            f"p95={stats['p95']:7.2f}  p99={stats['p99']:7.2f}  max={stats['max']:7.2f} ms")


def verdict(ok: bool) -> str:
    return "MET" if ok else "MISSED"
