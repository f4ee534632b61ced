"""Issue 11/1 — hard bounds for scripts and expressions: what the worst payloads cost the serving
process, and what a sandbox round trip costs per evaluation compared with the in-process path.

For each worst payload (run through the platform's script engine, as the server does): wall
time until the caller has its error, CPU time of the serving process, growth of its RSS (high
water mark, so a short peak counts) and the error. Then the per-evaluation cost (median of
many, µs) of an in-process expression, the same expression forced through the sandbox, and a
small script through the sandbox.

    .venv/bin/python bench/t11_script_bounds.py [--limit 2] [--memory-mb 512] [--repeat 500]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.engine.sandbox import SandboxConfig, SandboxPool, function_paths  # noqa: E402
from app.engine.scripting import RestrictedEnvironment  # noqa: E402
from app.services.functions import script_functions  # noqa: E402

PAYLOADS = {
    "C-Aufruf sum(map(sum, …))": "sum(map(sum,[range(10**6)]*1500))>0",
    "endloser Generator": "any(l.append(1) for l in [[1]] for x in l)",
    "str() einer geteilten Liste": "len(str([[[0]*1000]*1000]*100))",
    "(0).to_bytes(200 MB)": "(0).to_bytes(200_000_000,'big')",
    "Speicher schrittweise": "[list(range(10**6)) for i in range(200)]",
}


def _max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worst_payloads(environment: RestrictedEnvironment) -> None:
    print(f"{'payload':32} {'wall s':>7} {'CPU s':>6} {'RSS +MiB':>9}  Fehler")
    for name, source in PAYLOADS.items():
        environment.evaluate("1 + 1 if True else euro(1)", {})  # a warm child
        rss, cpu, started = _max_rss_mib(), time.process_time(), time.monotonic()
        try:
            environment.evaluate(source, {})
            error = "—"
        except Exception as exc:  # noqa: BLE001 - the figure is what we print
            error = str(exc)[:90]
        wall = time.monotonic() - started
        print(f"{name:32} {wall:7.2f} {time.process_time() - cpu:6.2f} "
              f"{_max_rss_mib() - rss:9.1f}  {error}")


def _median_us(function, repeat: int) -> float:  # noqa: ANN001
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1e6


def per_evaluation(environment: RestrictedEnvironment, pool: SandboxPool, repeat: int) -> None:
    data = {"stufe": "gross", "betrag": 12000, "liste": list(range(50)),
            "antrag": {"name": "Musterstadt", "posten": [{"betrag": i} for i in range(20)]}}
    condition = 'stufe == "gross" and betrag > 10000'
    in_process = RestrictedEnvironment(script_functions(), environment.time_limit_seconds)
    figures = {
        "Ausdruck im Prozess (schneller Weg)": lambda: environment.evaluate(condition, data),
        "derselbe Ausdruck über die Sandbox": lambda: pool.evaluate(condition, data, None, 2.0),
        "Funktionsaufruf über die Sandbox": lambda: environment.evaluate("euro(betrag)", data),
        "Skript im Prozess (alter Weg)": lambda: in_process.execute("summe = betrag + 1", dict(data)),
        "Skript über die Sandbox": lambda: environment.execute("summe = betrag + 1", dict(data)),
    }
    for label, function in figures.items():
        function()
        print(f"{label:40} {_median_us(function, repeat):9.1f} µs (Median aus {repeat})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=float, default=2.0, help="SCRIPT_TIME_LIMIT_SECONDS")
    ap.add_argument("--memory-mb", type=int, default=512, help="SCRIPT_MEMORY_LIMIT_MB")
    ap.add_argument("--grace", type=float, default=1.0, help="SCRIPT_SANDBOX_GRACE_SECONDS")
    ap.add_argument("--repeat", type=int, default=500)
    args = ap.parse_args()
    functions = script_functions()
    pool = SandboxPool(SandboxConfig(functions=function_paths(functions), memory_mb=args.memory_mb,
                                     grace_seconds=args.grace))
    environment = RestrictedEnvironment(functions, args.limit, sandbox=pool)
    started = time.monotonic()
    environment.evaluate("euro(1)", {})
    print(f"Start eines Sandbox-Prozesses: {time.monotonic() - started:.2f} s "
          f"(Zeitlimit {args.limit:g} s, Karenz {args.grace:g} s, Speicher {args.memory_mb} MiB)\n")
    worst_payloads(environment)
    print()
    per_evaluation(environment, pool, args.repeat)
    pool.close()


if __name__ == "__main__":
    main()
