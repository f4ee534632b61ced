"""Benchmark Phase 1 (not a test; prints figures, asserts nothing about time).

Stages: import the 422 Hessian municipalities from data/destatis_auszuggv_hessen.csv,
synthesise and import Finanzkraft, compute the allocation of 16 M€, request and approve the
release, then let real Celery worker processes start the 422 cases and generate the 422
Zuweisungsbescheide (PDF). Each stage's wall time is printed, plus the environment.

    .venv/bin/python bench/phase1/run.py                      # SQLite + embedded broker
    .venv/bin/python bench/phase1/run.py --db postgres        # PostgreSQL + Redis
    .venv/bin/python bench/phase1/run.py --workers 4
    .venv/bin/python bench/phase1/run.py --interactive-workers 0   # no dedicated worker

While the Bescheide are generated, a clerk starts one small case whose first step is a service
task (the interactive lane); its wait is printed. Besides `--workers` (serving the interactive and
the bulk queue) one worker serves only the interactive queue, as `make run` and docker-compose do.

Everything runs in a throwaway database and directory; nothing of var/ is touched.
"""

from __future__ import annotations

import argparse
import os
import platform as _platform
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
from _stack import REDIS_URL, throwaway_pg  # noqa: E402 - bench/ is not a package

DATA = ROOT / "data" / "destatis_auszuggv_hessen.csv"
BUDGET_CENTS = 1_600_000_000


def environment(args: argparse.Namespace, db_url: str, broker: str) -> dict:
    from importlib.metadata import version

    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    return {
        "python": sys.version.split()[0], "platform": _platform.platform(),
        "cpu": os.cpu_count(), "load_avg_1m": round(load[0], 2) if load[0] != "?" else "?",
        "database": db_url.split("@")[-1] if "@" in db_url else db_url.split("///")[0] + "///…",
        "broker": broker.split("@")[-1].split("///")[0], "workers": args.workers,
        "SpiffWorkflow": version("SpiffWorkflow"), "weasyprint": version("weasyprint"),
        "SQLAlchemy": version("SQLAlchemy"), "celery": version("celery"),
    }


@contextmanager
def database(kind: str, tmp: Path):
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'bench.db'}"
        return
    with throwaway_pg("fp_bench_phase1") as url:
        yield url


class Stages:
    def __init__(self) -> None:
        self.rows: list[tuple[str, float, str]] = []

    @contextmanager
    def stage(self, name: str):
        note: list[str] = []
        started = time.perf_counter()
        yield note
        elapsed = time.perf_counter() - started
        self.rows.append((name, elapsed, " ".join(note)))
        print(f"  {name:<44} {elapsed:8.2f} s  {' '.join(note)}", flush=True)


def synthetic_finanzkraft(ags: list[str], jahr: int, seed: int = 2020) -> bytes:
    rng = random.Random(seed)
    lines = ["ags,jahr,finanzkraft_je_einwohner"]
    lines += [f"{a},{jahr},{Decimal(rng.randint(60_000, 160_000)) / 100}" for a in ags]
    return ("\n".join(lines) + "\n").encode()


def start_workers(n: int, env: dict, tmp: Path, *extra: str) -> list[subprocess.Popen]:
    procs = []
    for i in range(n):
        log = open(tmp / f"worker-{i}{'-'.join(extra)}.log", "ab")  # noqa: SIM115
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker", "--pool", "solo",
             "--loglevel", "WARNING", "--without-heartbeat", "--without-gossip", "--without-mingle",
             "-n", f"bench-p1-{i}-{uuid.uuid4().hex[:6]}@%h", *extra],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
    return procs


PROBE = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
  id="Defs_probe" targetNamespace="http://foerderportal.bench">
  <bpmn:process id="bench_probe" name="Einzelfall" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="sachbearbeitung">
      <bpmn:flowNodeRef>s</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="svc" name="Aktenzeichen vergeben">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="demo_bescheid" resultVariable="ergebnis">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="betrag" type="int" value="1" />
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="svc" />
    <bpmn:sequenceFlow id="f2" sourceRef="svc" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>"""


def interactive_probe(platform, actor, timeout: float) -> tuple[float, int]:  # noqa: ANN001
    """A clerk starts one case whose first step is a service task: seconds until it completed,
    and how many Zuweisungsbescheide were still open when it did."""
    from sqlalchemy import func, select

    from app.models import ProcessInstance, ServiceJob
    from app.services import instances
    from app.services.definitions import latest

    started = time.perf_counter()
    with platform.db.unit_of_work() as s:
        iid = instances.start(platform, s, actor, latest(s, "bench_probe"), None, None, {}).id

    def completed() -> bool:
        with platform.db.unit_of_work() as s:
            return s.get(ProcessInstance, iid).status == "completed"

    wait_until(completed, timeout, 0.05)
    waited = time.perf_counter() - started
    with platform.db.unit_of_work() as s:
        open_jobs = s.scalar(select(func.count()).select_from(ServiceJob).where(
            ServiceJob.operator == "phase1_zuweisungsbescheid", ServiceJob.status != "done"))
    return waited, open_jobs


def stop_workers(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


def wait_until(predicate, timeout: float, interval: float = 0.25):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise SystemExit("Zeitüberschreitung beim Warten auf die Worker (siehe worker-*.log).")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--interactive-workers", type=int, default=1)
    parser.add_argument("--jahr", type=int, default=date.today().year)
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))

    with tempfile.TemporaryDirectory(prefix="bench-phase1-") as tmpdir, \
            database(args.db, Path(tmpdir)) as db_url:
        tmp = Path(tmpdir)
        broker = REDIS_URL if args.db == "postgres" else f"sqla+sqlite:///{tmp / 'broker.db'}"
        queue = f"bench-p1-{uuid.uuid4().hex[:6]}"
        env = dict(os.environ, DATABASE_URL=db_url, CELERY_BROKER_URL=broker, CELERY_QUEUE=queue,
                   SECRET_KEY="bench", DOCUMENTS_DIR=str(tmp / "documents"),
                   PYTHONPATH=str(ROOT), DEPLOY_ON_START="false")
        os.environ.update({k: env[k] for k in ("CELERY_BROKER_URL", "CELERY_QUEUE")})
        print("Phase 1 benchmark")
        for key, value in environment(args, db_url, broker).items():
            print(f"  {key:<14} {value}")
        run_stages(args, env, tmp, db_url)


def run_stages(args: argparse.Namespace, env: dict, tmp: Path, db_url: str) -> None:
    from sqlalchemy import func, select

    from app import create_app
    from app.cli import upgrade_database
    from app.domain.money import format_euro
    from app.models import AllocationRun, Municipality, User
    from app.services import allocation, masterdata
    from app.services.auth import actor_for
    from app.services.context import SYSTEM
    from app.services.definitions import deploy_directory, deploy_files
    from app.services.users import seed_demo

    stages = Stages()
    with stages.stage("setup: migrate, deploy, demo users") as note:
        upgrade_database(db_url)
        app = create_app({"DATABASE_URL": db_url, "SECRET_KEY": "bench",
                          "DOCUMENTS_DIR": env["DOCUMENTS_DIR"]})
        platform = app.extensions["platform"]
        seed_demo(platform)
        deploy_directory(platform)
        deploy_files(platform, SYSTEM, {"bench_probe.bpmn": PROBE})
        with platform.db.unit_of_work() as s:
            ids = {u.username: u.id for u in s.scalars(select(User).where(
                User.username.in_(("sb1", "sb2"))))}
            sb1, sb2 = actor_for(s, ids["sb1"]), actor_for(s, ids["sb2"])
        note.append("(not part of Phase 1)")

    with stages.stage("import 422 municipalities (Destatis CSV)") as note:
        result = masterdata.import_directory(platform, SYSTEM, DATA.read_bytes(), DATA.name)
        note.append(f"{result['angelegt']} angelegt, {len(result['ausgelassen'])} ausgelassen")
    with platform.db.unit_of_work() as s:
        ags = list(s.scalars(select(Municipality.ags).where(
            Municipality.demo.is_(False), Municipality.active.is_(True)).order_by(Municipality.ags)))

    with stages.stage("synthesise + import Finanzkraft") as note:
        content = synthetic_finanzkraft(ags, args.jahr)
        result = masterdata.import_finanzkraft(platform, SYSTEM, content, "finanzkraft.csv")
        note.append(f"{result['werte']} Werte")

    with stages.stage("compute allocation (simulation, 16 M€)") as note:
        allocation.put_year(platform, sb1, args.jahr, {"budget_cents": BUDGET_CENTS})
        run = allocation.simulate(platform, sb1, args.jahr, include_items=True)
        amounts = [i["zuweisung_cents"] for i in run["zuweisungen"]]
        note.append(f"Summe {format_euro(sum(amounts))}, min {format_euro(min(amounts))}, "
                    f"max {format_euro(max(amounts))}")

    with stages.stage("release requested (sb1)") as note:
        request = allocation.request_release(platform, sb1, args.jahr)
        note.append(f"Berechnung {request['id']}")

    workers = start_workers(args.workers, env, tmp)
    workers += start_workers(args.interactive_workers, env, tmp, "-Q", env["CELERY_QUEUE"])
    try:
        time.sleep(3)  # let the workers connect before the first job is published
        from workers.celery_app import CeleryPublisher

        platform.publisher = CeleryPublisher()
        started = time.perf_counter()
        with stages.stage("approved (sb2) → 422 cases started on worker") as note:
            allocation.approve_release(platform, sb2, request["id"])

            def progress() -> dict:
                with platform.db.unit_of_work() as s:
                    return allocation.progress(s, s.get(AllocationRun, request["id"]))

            wait_until(lambda: progress()["gestartet"] == 422, args.timeout)
            note.append(f"{progress()['bescheide_erzeugt']} Bescheide schon fertig")
        with stages.stage(f"422 Zuweisungsbescheide (PDF) on {args.workers} worker(s)") as note:
            time.sleep(2)  # the backlog is being worked
            waited, still_open = interactive_probe(platform, sb1, args.timeout)
            final = wait_until(lambda: (p := progress())["abgeschlossen"] and p, args.timeout)
            note.append(f"{final['bescheide_erzeugt']} PDFs; a clerk's service step meanwhile "
                        f"{waited:.2f} s ({still_open} Bescheide still open)")
        total = time.perf_counter() - started
    finally:
        stop_workers(workers)
    from app.models import Document

    with platform.db.unit_of_work() as s:
        sizes = s.scalar(select(func.sum(Document.size)).where(Document.kind == "zuweisungsbescheid"))
    print(f"  {'release → all PDFs, total':<44} {total:8.2f} s  "
          f"({422 / total:.1f} Bescheide/s, {sizes / 422 / 1024:.0f} KiB je PDF)")
    platform.db.dispose()


if __name__ == "__main__":
    main()
