"""P1 — the platform against the raw engine.

The same small process (start → script → exclusive gateway → user task → end) run N times:
  (a) SpiffWorkflow alone, in memory, one process, with a JSON save + load at the wait state;
  (b) the whole stack: gunicorn serving the app on 127.0.0.1, a throwaway PostgreSQL database,
      a real Celery worker and beat — per instance one HTTP start and one HTTP completion.
Prints both rates and b/a (target b/a ≥ 0.25). Stops by itself (count and time bounded).

    .venv/bin/python bench/p1_ratio.py [--n 2000] [--seconds 30] [--clients 1,4,8]
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
    prepare_database,
    print_environment,
    throwaway_pg,
    token,
    verdict,
)

PID = "bench_p1"


def raw_engine_rate(n: int, seconds: float) -> tuple[float, int]:
    from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
    from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
    from SpiffWorkflow.util.task import TaskState

    parser = SpiffBpmnParser()
    parser.add_bpmn_str(SMALL_PROCESS.format(pid=PID).encode(), filename=f"{PID}.bpmn")
    spec = parser.get_spec(PID)
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))

    def one() -> None:
        wf = BpmnWorkflow(spec)
        wf.do_engine_steps()
        wf = serializer.deserialize_json(serializer.serialize_json(wf))  # the wait state
        [task] = wf.get_tasks(state=TaskState.READY, manual=True)
        task.data["entscheidung"] = "bewilligt"
        task.run()
        wf.do_engine_steps()
        assert wf.is_completed()

    for _ in range(50):  # warm-up
        one()
    done, started = 0, time.perf_counter()
    deadline = started + seconds
    while done < n and time.perf_counter() < deadline:
        one()
        done += 1
    return done / (time.perf_counter() - started), done


def stack_rate(stack: Stack, tok: str, clients: int, n: int, seconds: float) -> tuple[float, int, dict]:
    counts = {"ok": 0, "failed": 0}
    lock = threading.Lock()
    remaining = [n]

    def step(http: Http) -> bool:
        with lock:
            if remaining[0] <= 0:
                return False
            remaining[0] -= 1
        ok = run_instance(http)
        with lock:
            counts["ok" if ok else "failed"] += 1
        return True

    elapsed, cpu = drive(stack, tok, clients, seconds, step)
    counts["cpu_ms"] = {k: v * 1000 / max(1, counts["ok"]) for k, v in cpu.items()}
    return counts["ok"] / elapsed, counts["ok"], counts


def run_instance(http: Http) -> bool:
    status, body = http.post("/api/process-instances", {"process_key": PID})
    if status != 201 or body["status"] != "running" or not body["current_tasks"]:
        print("  start failed:", status, body)
        return False
    task_id = body["current_tasks"][0]["id"]
    status, body = http.post(f"/api/tasks/{task_id}/complete", {"data": {"entscheidung": "bewilligt"}})
    if status != 200 or body["instance"]["status"] != "completed":
        print("  complete failed:", status, body)
        return False
    return True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000, help="instances per measurement (upper bound)")
    ap.add_argument("--seconds", type=float, default=20, help="time bound per measurement")
    ap.add_argument("--clients", default="1,4,8", help="concurrent HTTP clients for (b)")
    ap.add_argument("--gunicorn-workers", type=int, default=2)
    ap.add_argument("--gunicorn-threads", type=int, default=4)
    args = ap.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    print_environment({"process": "start → script → exclusive gateway → user task → end",
                       "gunicorn": f"{args.gunicorn_workers} workers × {args.gunicorn_threads} threads (gthread)"})

    a_rate, a_n = raw_engine_rate(args.n, args.seconds)
    print(f"(a) SpiffWorkflow alone, JSON save/load at the wait state: {a_rate:8.1f} instances/s ({a_n} instances)")

    with throwaway_pg() as url:
        app = prepare_database(url, {f"{PID}.bpmn": SMALL_PROCESS.format(pid=PID).encode()})
        app.extensions["platform"].db.dispose()
        with Stack(url, workers=args.gunicorn_workers, threads=args.gunicorn_threads) as stack:
            tok = token(stack.port, "sb1")
            warm = Http(stack.port, tok)
            for _ in range(20):
                run_instance(warm)
            warm.close()
            best, best_cpu = 0.0, float("inf")
            for c in clients:
                rate, done, counts = stack_rate(stack, tok, c, args.n, args.seconds)
                best = max(best, rate)
                cpu = counts["cpu_ms"]
                total = sum(cpu.values())
                best_cpu = min(best_cpu, total)
                print(f"(b) whole stack, {c:>2} client(s): {rate:8.1f} instances/s "
                      f"({done} instances, failed {counts['failed']}); b/a = {rate / a_rate:.3f}")
                print("      CPU ms per instance: " + "  ".join(f"{k} {v:.2f}" for k, v in cpu.items())
                      + f"  total {total:.2f}")
    cores = os.cpu_count() or 1
    print()
    print(f"b/a (best client count) = {best / a_rate:.3f}   target ≥ 0.25: {verdict(best / a_rate >= 0.25)}")
    print(f"CPU-bound capacity of the stack on {cores} idle cores ≈ {cores * 1000 / best_cpu:.0f} instances/s "
          f"→ b/a ≈ {cores * 1000 / best_cpu / a_rate:.3f} (a uses one core)")


if __name__ == "__main__":
    main()
