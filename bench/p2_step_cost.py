"""P2 — flat step cost: completing a task must not get slower as an instance's history grows.

An instance first runs a parallel multi-instance script task over N items (N finished tasks of
history), then waits in a chain of user tasks. For instances with about 20, 200 and 2,000
finished tasks the script completes the chain's tasks one by one through the service layer
(tasks.complete: permission checks, form validation, claim, load, engine step, incremental
persist, projections — everything but HTTP, which adds a constant) and prints the time per
completion and the rows written per completion. Target: time(2,000) ≤ 1.5 × time(20).

    .venv/bin/python bench/p2_step_cost.py [--db postgres|sqlite] [--instances 4] [--steps 6]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from _stack import prepare_database, print_environment, throwaway_pg, verdict

PID = "bench_p2"
START_FORM = "bench_p2_start.schema.json"  # the start data: how many finished tasks to build
START_SCHEMA = json.dumps({"type": "object", "additionalProperties": False,
                           "properties": {"anzahl": {"type": "integer", "minimum": 0}}}).encode()
SIZES = (20, 200, 2000)


def process(steps: int) -> bytes:
    tasks, flows, refs = [], [], []
    prev = "verlauf"
    for i in range(1, steps + 1):
        tid = f"schritt{i}"
        refs.append(tid)
        tasks.append(f"""
    <bpmn:userTask id="{tid}" name="Schritt {i}">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="demo/pruefung.schema.json" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f_{prev}</bpmn:incoming><bpmn:outgoing>f_{tid}</bpmn:outgoing></bpmn:userTask>""")
        flows.append(f'<bpmn:sequenceFlow id="f_{prev}" sourceRef="{prev}" targetRef="{tid}" />')
        prev = tid
    flows.append(f'<bpmn:sequenceFlow id="f_{prev}" sourceRef="{prev}" targetRef="e" />')
    lane_refs = "".join(f"<bpmn:flowNodeRef>{r}</bpmn:flowNodeRef>"
                        for r in ["s", "vorbereiten", "verlauf", *refs, "e"])
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
  id="Defs_{PID}" targetNamespace="http://foerderportal.bench">
  <bpmn:process id="{PID}" name="Benchmark Schrittkosten" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="sachbearbeitung">{lane_refs}</bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="formJsonSchemaFilename" value="{START_FORM}" />
    </spiffworkflow:properties></bpmn:extensionElements><bpmn:outgoing>f_s</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="vorbereiten" name="Verlauf vorbereiten"><bpmn:incoming>f_s</bpmn:incoming>
      <bpmn:outgoing>f_vorbereiten</bpmn:outgoing>
      <bpmn:script>posten = list(range(anzahl))</bpmn:script></bpmn:scriptTask>
    <bpmn:scriptTask id="verlauf" name="Verlauf"><bpmn:incoming>f_vorbereiten</bpmn:incoming>
      <bpmn:outgoing>f_verlauf</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics>
        <bpmn:loopDataInputRef>posten</bpmn:loopDataInputRef>
        <bpmn:inputDataItem id="posten_nr" name="posten_nr" />
      </bpmn:multiInstanceLoopCharacteristics>
      <bpmn:script>geprueft = posten_nr + 1</bpmn:script></bpmn:scriptTask>
    {"".join(tasks)}
    <bpmn:endEvent id="e"><bpmn:incoming>f_{prev}</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f_s" sourceRef="s" targetRef="vorbereiten" />
    <bpmn:sequenceFlow id="f_vorbereiten" sourceRef="vorbereiten" targetRef="verlauf" />
    {"".join(flows)}
  </bpmn:process>
</bpmn:definitions>
""".encode()


class WriteCounter:
    """Counts rows written (INSERT/UPDATE/DELETE) per table through SQLAlchemy cursor events."""

    def __init__(self, engine) -> None:  # noqa: ANN001
        from sqlalchemy import event

        self.rows: dict[str, int] = {}
        self.active = False
        event.listen(engine, "after_cursor_execute", self._after)

    def _after(self, conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        if not self.active:
            return
        words = statement.lstrip().split(None, 3)
        verb = words[0].upper()
        if verb not in ("INSERT", "UPDATE", "DELETE"):
            return
        table = (words[2] if verb in ("INSERT", "DELETE") else words[1]).strip('"')
        n = cursor.rowcount if cursor.rowcount is not None and cursor.rowcount >= 0 else (
            len(parameters) if executemany else 1)
        self.rows[table] = self.rows.get(table, 0) + n

    @contextmanager
    def counting(self):  # noqa: ANN201
        self.rows = {}
        self.active = True
        try:
            yield self
        finally:
            self.active = False


def finished_tasks(platform, instance_id: int) -> int:  # noqa: ANN001
    from SpiffWorkflow.util.task import TaskState
    from sqlalchemy import func, select

    from app.models import EngineTask

    with platform.db.unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(EngineTask).where(
            EngineTask.instance_id == instance_id,
            EngineTask.state.in_([int(TaskState.COMPLETED), int(TaskState.CANCELLED)])))


def measure(app, instances: int, steps: int) -> list[dict]:  # noqa: ANN001
    from sqlalchemy import select

    from app.models import HumanTask
    from app.services import processes, tasks
    from app.services.auth import actor_for

    platform = app.extensions["platform"]
    with platform.db.unit_of_work() as s:
        from app.models import User

        uid = s.scalar(select(User.id).where(User.username == "sb1"))
        actor = actor_for(s, uid)
    counter = WriteCounter(platform.db.engine)
    base = None
    results = []
    for target in SIZES:
        times, cpu, rows, history, tables = [], [], [], [], {}
        for _ in range(instances):
            if base is None:  # finished tasks of an instance with no history items
                probe = processes.start_process(platform, actor, PID, None, {"anzahl": 0})
                base = finished_tasks(platform, probe["id"])
            items = max(0, target - base)
            started = processes.start_process(platform, actor, PID, None, {"anzahl": items})
            iid = started["id"]
            history.append(finished_tasks(platform, iid))
            for _step in range(steps):
                with platform.db.unit_of_work() as s:
                    task_id = s.scalar(select(HumanTask.task_id).where(
                        HumanTask.instance_id == iid, HumanTask.completed_at.is_(None)))
                with counter.counting():
                    t0, c0 = time.perf_counter(), time.thread_time()
                    result = tasks.complete(platform, actor, task_id, {"entscheidung": "bewilligt"})
                    times.append((time.perf_counter() - t0) * 1000)
                    cpu.append((time.thread_time() - c0) * 1000)
                assert result["instance"]["status"] in ("running", "completed"), result
                rows.append(sum(counter.rows.values()))
                for k, v in counter.rows.items():
                    tables[k] = tables.get(k, 0) + v
        n = len(rows)
        results.append({
            "target": target, "finished": statistics.median(history),
            "median_ms": statistics.median(times), "mean_ms": statistics.fmean(times),
            "min_ms": min(times), "cpu_ms": statistics.median(cpu), "rows": statistics.fmean(rows),
            "tables": {k: round(v / n, 1) for k, v in sorted(tables.items())}, "n": n,
        })
    return results


def engine_only(app, steps: int) -> dict[str, dict[int, float]]:  # noqa: ANN001
    """Median time of one completion in the engine alone (same spec, script engine, no
    persistence) at each history size: SpiffWorkflow's own BpmnWorkflow, and the platform's
    IndexedBpmnWorkflow (app/engine/indexed.py) that the service layer uses."""
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.util.task import TaskState
    from sqlalchemy import select

    from app.models import ProcessDefinition

    platform = app.extensions["platform"]
    with platform.db.unit_of_work() as s:
        definition = s.scalar(select(ProcessDefinition).where(ProcessDefinition.key == PID)
                              .order_by(ProcessDefinition.version.desc()))
        spec, subs = platform.specs.get(definition.id, lambda: definition.spec_json)
    runtime = platform.runtime
    kinds = {
        "SpiffWorkflow BpmnWorkflow": lambda: BpmnWorkflow(spec, subs, script_engine=runtime.script_engine),
        "IndexedBpmnWorkflow": lambda: runtime.new_workflow(spec, subs),
    }
    result: dict[str, dict[int, float]] = {}
    for kind, make in kinds.items():
        result[kind] = {}
        for target in SIZES:
            times = []
            for _ in range(2):
                wf = make()
                wf.task_tree.data["anzahl"] = max(0, target - 8)
                for child in wf.task_tree.children:
                    child.data["anzahl"] = max(0, target - 8)
                runtime.step(wf)
                for _step in range(steps):
                    [task] = [t for t in wf.tasks.values() if t.state == TaskState.READY and t.task_spec.manual]
                    t0 = time.perf_counter()
                    runtime.complete_user_task(wf, str(task.id), {"entscheidung": "bewilligt"})
                    times.append((time.perf_counter() - t0) * 1000)
            result[kind][target] = statistics.median(times)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    ap.add_argument("--instances", type=int, default=4, help="instances per size")
    ap.add_argument("--steps", type=int, default=6, help="completions per instance")
    ap.add_argument("--cache", choices=["on", "off", "both"], default="both",
                    help="in-process workflow cache for writers (off = restore every step: the 'before')")
    args = ap.parse_args()
    print_environment({"database": args.db, "measured": "service layer tasks.complete (no HTTP)"})

    modes = ["off", "on"] if args.cache == "both" else [args.cache]

    def run(url: str) -> None:
        app = prepare_database(url, {f"{PID}.bpmn": process(args.steps), START_FORM: START_SCHEMA})
        cache = app.extensions["platform"].workflows
        default_size = cache.max_tasks
        try:
            for mode in modes:
                cache.clear()
                cache.max_tasks = default_size if mode == "on" else 0
                measure(app, 1, 2)  # warm-up: caches, prepared statements
                cache.hits = cache.misses = 0
                report(mode, measure(app, args.instances, args.steps), cache)
            for kind, raw in engine_only(app, args.steps).items():
                print(f"engine alone, {kind} (in memory, same spec), median per completion: "
                      + ", ".join(f"{k}: {v:.2f} ms" for k, v in raw.items())
                      + f"  → 2,000/20 = {raw[2000] / raw[20]:.2f}")
        finally:
            app.extensions["platform"].db.dispose()

    if args.db == "postgres":
        with throwaway_pg() as url:
            run(url)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            run(f"sqlite:///{Path(tmp) / 'bench.db'}")


def report(mode: str, results: list[dict], cache) -> None:  # noqa: ANN001
    print(f"workflow cache {mode} (writer hits {cache.hits}, misses {cache.misses})")
    print(f"{'history':>10} {'finished':>9} {'median':>9} {'mean':>9} {'min':>9} {'CPU':>9} {'rows/compl.':>12}"
          "  rows per table")
    for r in results:
        print(f"{r['target']:>10} {r['finished']:>9.0f} {r['median_ms']:>7.2f}ms {r['mean_ms']:>7.2f}ms "
              f"{r['min_ms']:>7.2f}ms {r['cpu_ms']:>7.2f}ms {r['rows']:>12.1f}  {r['tables']}")
    small, large = results[0]["median_ms"], results[-1]["median_ms"]
    print(f"time(2,000) / time(20) = {large / small:.2f} (wall-clock medians)   target ≤ 1.5: "
          f"{verdict(large <= 1.5 * small)}")
    small, large = results[0]["cpu_ms"], results[-1]["cpu_ms"]
    print(f"CPU(2,000) / CPU(20)   = {large / small:.2f} (this process's CPU per completion; less "
          f"disturbed by other load)   target ≤ 1.5: {verdict(large <= 1.5 * small)}")
    print()


if __name__ == "__main__":
    main()
