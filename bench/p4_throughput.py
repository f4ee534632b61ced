"""P4 — task completions per second over HTTP with concurrent clients.

Prepares N instances of the small process (start → script → gateway → user task → end), each
waiting in its user task, in a throwaway PostgreSQL database (through the service layer, before
the server starts). Then gunicorn serves the app on 127.0.0.1 (with a Celery worker and beat
running, as in production) and C client threads complete the tasks over HTTP as fast as they
can: one POST /api/tasks/<id>/complete per task. Bounded by N and by --seconds.
Target: ≥ 300 completions/s on this 2-core machine.

    .venv/bin/python bench/p4_throughput.py [--n 1500] [--seconds 20] [--clients 4,8,16]
"""

from __future__ import annotations

import argparse
import os
import threading
import time

from _stack import (
    SMALL_PROCESS,
    Http,
    Stack,
    drive,
    fmt_pct,
    percentiles,
    prepare_database,
    print_environment,
    throwaway_pg,
    token,
    verdict,
)

PID = "bench_p4"


def prepare_tasks(app, n: int) -> list[str]:  # noqa: ANN001
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import select

    from app.models import User
    from app.services import processes
    from app.services.auth import actor_for

    platform = app.extensions["platform"]
    with platform.db.unit_of_work() as s:
        actor = actor_for(s, s.scalar(select(User.id).where(User.username == "sb1")))

    def one(_: int) -> str:
        return processes.start_process(platform, actor, PID, None, {})["current_tasks"][0]["id"]

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, range(n)))


def run(stack: Stack, tok: str, task_ids: list[str], clients: int, seconds: float) -> dict:
    lock = threading.Lock()
    queue = list(reversed(task_ids))
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    def step(http: Http) -> bool:
        with lock:
            if not queue:
                return False
            task_id = queue.pop()
        t0 = time.perf_counter()
        status, _ = http.post(f"/api/tasks/{task_id}/complete", {"data": {"entscheidung": "bewilligt"}})
        elapsed = (time.perf_counter() - t0) * 1000
        with lock:
            latencies.append(elapsed)
            statuses[status] = statuses.get(status, 0) + 1
        return True

    elapsed, cpu = drive(stack, tok, clients, seconds, step)
    done = max(1, statuses.get(200, 0))
    return {"rate": statuses.get(200, 0) / elapsed, "statuses": statuses, "latency": percentiles(latencies),
            "used": len(task_ids) - len(queue), "cpu_ms": {k: v * 1000 / done for k, v in cpu.items()}}


def cpu_line(cpu_ms: dict[str, float]) -> str:
    """CPU per completion and what an otherwise idle host could sustain with all its cores."""
    total = sum(cpu_ms.values())
    parts = "  ".join(f"{k} {v:.2f}" for k, v in cpu_ms.items())
    return (f"CPU ms per completion: {parts}  total {total:.2f} → capacity ≈ "
            f"{(os.cpu_count() or 1) * 1000 / total:.0f}/s on {os.cpu_count()} idle cores")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1500, help="open tasks prepared (upper bound of completions)")
    ap.add_argument("--seconds", type=float, default=15, help="time bound per client count")
    ap.add_argument("--clients", default="4,8,16")
    ap.add_argument("--gunicorn-workers", type=int, default=2)
    ap.add_argument("--gunicorn-threads", type=int, default=4)
    args = ap.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    print_environment({"gunicorn": f"{args.gunicorn_workers} workers × {args.gunicorn_threads} threads (gthread)",
                       "request": "POST /api/tasks/<id>/complete (form validated, instance advanced to its end)"})
    with throwaway_pg() as url:
        app = prepare_database(url, {f"{PID}.bpmn": SMALL_PROCESS.format(pid=PID).encode()})
        t0 = time.perf_counter()
        task_ids = prepare_tasks(app, args.n * len(clients))
        print(f"prepared {len(task_ids)} open tasks in {time.perf_counter() - t0:.1f} s")
        app.extensions["platform"].db.dispose()
        best = 0.0
        with Stack(url, workers=args.gunicorn_workers, threads=args.gunicorn_threads) as stack:
            tok = token(stack.port, "sb1")
            for i, c in enumerate(clients):
                share = task_ids[i * args.n:(i + 1) * args.n]
                r = run(stack, tok, share, c, args.seconds)
                best = max(best, r["rate"])
                print(f"{c:>3} clients: {r['rate']:7.1f} completions/s  statuses {r['statuses']}  "
                      f"latency {fmt_pct(r['latency'])}")
                print(f"             {cpu_line(r['cpu_ms'])}")
    print()
    print(f"best: {best:.1f} completions/s   target ≥ 300/s: {verdict(best >= 300)}")


if __name__ == "__main__":
    main()
