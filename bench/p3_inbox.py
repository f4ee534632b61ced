"""P3 — inbox latency with 100,000 open human tasks across 50 groups and 1,000 users.

Fills a throwaway PostgreSQL database in bulk (COPY, directly — not through the engine):
1,000 users in 1–3 of 50 groups (10 % municipal users with one municipality each), 10,000
instances with 10 open tasks each (100,000 open tasks, 2,000 per group, 20 % without due date,
10 % claimed) plus 50,000 completed tasks. Then gunicorn serves the app on 127.0.0.1 and one
client measures, for random users:
  * the group inbox, first page:  GET /api/tasks?scope=groups
  * a filtered page:              GET /api/tasks?scope=groups&process_key=…&due_before=…&page=2
  * the personal inbox:           GET /api/tasks?scope=mine
and prints p50/p95/p99 (target p95 ≤ 50 ms), then the same with 4 concurrent clients, and the
query plans of the two inbox queries. Bounded by --requests and --seconds.

    .venv/bin/python bench/p3_inbox.py [--requests 1000] [--seconds 60]
"""

from __future__ import annotations

import argparse
import random
import threading
import time
import types
from datetime import UTC, datetime, timedelta

from _stack import (
    SECRET,
    SMALL_PROCESS,
    Http,
    Stack,
    fmt_pct,
    percentiles,
    prepare_database,
    print_environment,
    throwaway_pg,
    verdict,
)

PID = "bench_p3"
GROUPS = 50
USERS = 1000
INSTANCES = 10_000
TASKS_PER_INSTANCE = 10
COMPLETED = 50_000
PROCESS_KEYS = ["foerderantrag", "verwendungsnachweis", "digicheck", "cluster_antrag", "zwischennachweis"]


def fill(app, seed: int = 7) -> dict:  # noqa: ANN001
    from sqlalchemy import select, text

    from app.models import Group, Municipality, ProcessDefinition
    from app.services.auth import hash_password

    rnd = random.Random(seed)
    platform = app.extensions["platform"]
    now = datetime.now(UTC)
    with platform.db.unit_of_work() as s:
        existing = list(s.scalars(select(Group.name)))
        names = existing + [f"team-{i:02d}" for i in range(1, GROUPS - len(existing) + 1)]
        for name in names[len(existing):]:
            s.add(Group(name=name, title=name))
        s.flush()
        groups = dict(s.execute(select(Group.name, Group.id)).all())
        ags = list(s.scalars(select(Municipality.ags)))
        definition_id = s.scalar(select(ProcessDefinition.id).where(ProcessDefinition.key == PID))
    pw = hash_password("p3-passwort")
    group_names = sorted(groups)
    staff_groups = [g for g in group_names if g != "kommune"]
    raw = platform.db.engine.raw_connection()
    try:
        cur = raw.cursor()
        users = []
        with cur.copy("COPY user_account (username, display_name, email, password_hash, active, created_at) "
                      "FROM STDIN") as copy:
            for i in range(USERS):
                copy.write_row((f"p3-user-{i:04d}", f"P3 {i}", "", pw, True, now))
        cur.execute("SELECT id, username FROM user_account WHERE username LIKE 'p3-user-%' ORDER BY id")
        user_rows = cur.fetchall()
        memberships = []
        municipal = []
        for uid, _name in user_rows:
            if rnd.random() < 0.10:
                municipal.append((uid, rnd.choice(ags)))
                memberships.append((uid, groups["kommune"]))
            else:
                for g in rnd.sample(staff_groups, rnd.randint(1, 3)):
                    memberships.append((uid, groups[g]))
            users.append(uid)
        with cur.copy("COPY user_group (user_id, group_id) FROM STDIN") as copy:
            for row in memberships:
                copy.write_row(row)
        with cur.copy("COPY user_municipality (user_id, ags) FROM STDIN") as copy:
            for row in municipal:
                copy.write_row(row)
        with cur.copy("COPY process_instance (definition_id, process_key, business_key, municipality_ags, "
                      "status, version, engine_meta, task_seq, created_at, updated_at) FROM STDIN") as copy:
            for i in range(INSTANCES):
                copy.write_row((definition_id, rnd.choice(PROCESS_KEYS), f"P3-{i:05d}", rnd.choice(ags),
                                "running", 0, "{}", 0, now, now))
        cur.execute("SELECT id, process_key, municipality_ags FROM process_instance ORDER BY id")
        instances = cur.fetchall()
        seq = 0
        with cur.copy("COPY human_task (instance_id, task_id, process_key, name, title, lane, candidate_group, "
                      "assignee_id, municipality_ags, due_at, created_at, completed_at, outcome) FROM STDIN") as copy:
            for iid, key, inst_ags in instances:
                for j in range(TASKS_PER_INSTANCE):
                    group = group_names[seq % len(group_names)]
                    seq += 1
                    due = None if rnd.random() < 0.2 else now + timedelta(days=rnd.uniform(-60, 60))
                    assignee = rnd.choice(users) if rnd.random() < 0.10 else None
                    copy.write_row((iid, f"{iid:08d}-0000-4000-8000-{j:012d}", key, f"aufgabe_{j}",
                                    f"Aufgabe {j}", group, group, assignee, inst_ags, due, now, None, None))
            for k in range(COMPLETED):
                iid, key, inst_ags = instances[k % len(instances)]
                group = group_names[k % len(group_names)]
                copy.write_row((iid, f"{iid:08d}-1111-4000-8000-{k:012d}", key, "erledigt", "Erledigt", group,
                                group, rnd.choice(users), inst_ags, now - timedelta(days=30), now - timedelta(days=40),
                                now - timedelta(days=rnd.uniform(1, 30)), "completed"))
        raw.commit()
    finally:
        raw.close()
    with platform.db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    per_user: dict[int, int] = {}
    for uid, _gid in memberships:
        per_user[uid] = per_user.get(uid, 0) + 1
    busiest = max((u for u in users if u not in dict(municipal)), key=lambda u: per_user[u])
    return {"users": users, "municipal": {u for u, _ in municipal}, "busiest": busiest}


def explain(app, user_id: int) -> None:  # noqa: ANN001
    """The SQL of the two inbox queries with EXPLAIN ANALYZE for one user."""
    from sqlalchemy import event

    from app.services import tasks
    from app.services.auth import actor_for

    platform = app.extensions["platform"]
    captured: list[tuple[str, object]] = []

    def grab(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        if "FROM human_task" in statement and not executemany:
            captured.append((statement, parameters))

    with platform.db.unit_of_work() as s:
        actor = actor_for(s, user_id)
    event.listen(platform.db.engine, "before_cursor_execute", grab)
    try:
        tasks.list_tasks(platform, actor, scope="groups")
        tasks.list_tasks(platform, actor, scope="groups", process_key=PROCESS_KEYS[1],
                         due_before=datetime.now(UTC) + timedelta(days=10), page=2)
    finally:
        event.remove(platform.db.engine, "before_cursor_execute", grab)
    raw = platform.db.engine.raw_connection()
    try:
        cur = raw.cursor()
        for statement, params in captured:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS OFF, COSTS OFF) " + statement, params)
            lines = [r[0] for r in cur.fetchall()]
            print("  " + " ".join(statement.split())[:160])
            for line in lines:
                print("    " + line)
        raw.rollback()
    finally:
        raw.close()


def measure(port: int, tokens: dict[int, str], kommune: set[int], kind: str, requests: int,
            seconds: float, clients: int, seed: int) -> dict:
    rnd = random.Random(seed)
    users = list(tokens)
    due = (datetime.now(UTC) + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    plan = []
    for _ in range(requests):
        uid = rnd.choice(users)
        if kind == "inbox":
            path = "/api/tasks?scope=groups"
        elif kind == "filtered":
            path = f"/api/tasks?scope=groups&process_key={rnd.choice(PROCESS_KEYS)}&due_before={due}&page=2"
        else:
            path = "/api/tasks?scope=mine"
        plan.append((uid, path))
    lock = threading.Lock()
    latencies: list[float] = []
    errors = {"non_200": 0}
    stop_at = time.perf_counter() + seconds

    def client() -> None:
        conns: dict[int, Http] = {}
        while time.perf_counter() < stop_at:
            with lock:
                if not plan:
                    break
                uid, path = plan.pop()
            http = conns.setdefault(uid % 8, Http(port))
            http.token = tokens[uid]
            t0 = time.perf_counter()
            status, body = http.get(path)
            elapsed = (time.perf_counter() - t0) * 1000
            with lock:
                latencies.append(elapsed)
                if status != 200:
                    errors["non_200"] += 1
        for c in conns.values():
            c.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"latency": percentiles(latencies), **errors}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=1000, help="requests per measurement")
    ap.add_argument("--seconds", type=float, default=60, help="time bound per measurement")
    args = ap.parse_args()
    print_environment({"data": f"{INSTANCES * TASKS_PER_INSTANCE} open + {COMPLETED} completed tasks, "
                               f"{GROUPS} groups, {USERS} users", "server": "gunicorn 2 workers × 4 threads"})
    from app.services.auth import issue_token

    with throwaway_pg() as url:
        app = prepare_database(url, {f"{PID}.bpmn": SMALL_PROCESS.format(pid=PID).encode()})
        t0 = time.perf_counter()
        filled = fill(app)
        print(f"bulk insert + ANALYZE: {time.perf_counter() - t0:.1f} s")
        tokens = {uid: issue_token(types.SimpleNamespace(id=uid), SECRET, 3600) for uid in filled["users"]}
        print("\nquery plans (a staff user in 3 groups, about 6,000 open tasks in the inbox):")
        staff = filled["busiest"]
        explain(app, staff)
        app.extensions["platform"].db.dispose()
        results = {}
        with Stack(url, celery=False) as stack:
            warm = Http(stack.port, tokens[staff])
            for _ in range(30):
                warm.get("/api/tasks?scope=groups")
            warm.close()
            print()
            for clients in (1, 4):
                for kind in ("inbox", "filtered", "mine"):
                    r = measure(stack.port, tokens, filled["municipal"], kind, args.requests, args.seconds,
                                clients, seed=11)
                    results[(clients, kind)] = r
                    print(f"{kind:<9} {clients} client(s): {fmt_pct(r['latency'])}  non-200: {r['non_200']}")
    print()
    for kind in ("inbox", "filtered"):
        p95 = results[(1, kind)]["latency"]["p95"]
        print(f"{kind:<9} p95 = {p95:6.2f} ms (1 client)   target ≤ 50 ms: {verdict(p95 <= 50)}")


if __name__ == "__main__":
    main()
