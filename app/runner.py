"""`make run`: migrate, deploy processes/, seed demo data, then run web, worker and beat.

Embedded defaults: SQLite under var/, a broker that needs no server (kombu's SQLAlchemy transport
on a SQLite file), two real Celery worker processes and beat: `worker` serves the interactive and
the bulk queue, `worker-interactive` only the interactive one, so a person's service step never
waits behind a mass start. Set DATABASE_URL and CELERY_BROKER_URL to use PostgreSQL and
Redis/RabbitMQ instead.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from app.config import ROOT, Settings


def prepare() -> Settings:
    from app import create_app
    from app.cli import upgrade_database
    from app.services.definitions import deploy_directory
    from app.services.masterdata import import_default_directory
    from app.services.users import seed_demo

    settings = Settings.from_env()
    upgrade_database(settings.DATABASE_URL)
    app = create_app()
    platform = app.extensions["platform"]
    for r in deploy_directory(platform):
        print(f"  Prozess {r['key']} v{r['version']} ({'neu' if r['created'] else 'unverändert'})")
    if os.environ.get("SEED_DEMO", "1") == "1":
        seed_demo(platform)
    imported = import_default_directory(platform)
    if imported:
        print(f"  Gemeindeverzeichnis: {imported['gemeinden_in_datei']} Gemeinden übernommen")
    platform.db.dispose()
    return settings


WORKER_CLASS = "app.gunicorn_worker.ProblemWorker"


def web_command(host: str, port: str) -> list[str]:
    """gunicorn as `make run` starts it (its worker answers over-long requests in JSON)."""
    return [os.path.join(os.path.dirname(sys.executable), "gunicorn"), "--bind", f"{host}:{port}",
            "--workers", "2", "--threads", "4", "--worker-class", WORKER_CLASS,
            "--access-logfile", "-", "wsgi:app"]


def main() -> int:
    print("Förderportal Digitalisierung Hessen — Start")
    prepare()
    env = dict(os.environ)
    host, port = env.get("HOST", "127.0.0.1"), env.get("PORT", "8000")
    commands = {
        "web": web_command(host, port),
        "worker": [sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker",
                   "--loglevel", "INFO", "--concurrency", "2", "--pool", "prefork",
                   "-n", "worker@%h"],
        "worker-interactive": [sys.executable, "-m", "celery", "-A", "workers.celery_app",
                               "worker", "--loglevel", "INFO", "--concurrency", "1",
                               "--pool", "prefork", "-n", "interactive@%h",
                               "-Q", env.get("CELERY_QUEUE", "celery")],
        "beat": [sys.executable, "-m", "celery", "-A", "workers.celery_app", "beat",
                 "--loglevel", "INFO", "--schedule", str(ROOT / "var" / "celerybeat-schedule")],
    }
    procs = {name: subprocess.Popen(cmd, cwd=ROOT, env=env) for name, cmd in commands.items()}
    print(f"Web: http://{host}:{port}/  (Demo-Benutzer z. B. sb1 / {env.get('DEMO_PASSWORD', 'demo')})")

    def stop(*_: object) -> None:
        for p in procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while all(p.poll() is None for p in procs.values()):
            time.sleep(0.5)
    finally:
        stop()
        for p in procs.values():
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
    return max((p.returncode or 0) for p in procs.values())


if __name__ == "__main__":
    raise SystemExit(main())
