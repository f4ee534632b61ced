"""flask --app app … commands: db upgrade, deploy, create-user, seed-demo, run-all."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app

ROOT = Path(__file__).resolve().parent.parent


def _platform():  # noqa: ANN202
    return current_app.extensions["platform"]


def alembic_config(url: str):  # noqa: ANN201
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade_database(url: str) -> None:
    from alembic import command

    command.upgrade(alembic_config(url), "heads")


def register_cli(app: Flask) -> None:
    @app.cli.group("db")
    def db_group() -> None:
        """Datenbank-Migrationen."""

    @db_group.command("upgrade")
    def db_upgrade() -> None:
        """Alle Migrationen anwenden."""
        upgrade_database(_platform().settings.DATABASE_URL)
        click.echo("Datenbank ist auf dem neuesten Stand.")

    @app.cli.command("deploy")
    @click.option("--directory", default=None, help="Verzeichnis mit BPMN/DMN (Standard: processes/)")
    def deploy(directory: str | None) -> None:
        """Alle Prozesse aus processes/ bereitstellen (neue Version nur bei Änderungen)."""
        from app.services.definitions import deploy_directory
        from app.services.errors import Invalid

        try:
            results = deploy_directory(_platform(), directory)
        except Invalid as exc:
            for e in exc.errors:
                click.echo(f"FEHLER {e.get('file')}: {e.get('element_id') or ''} {e['message']}", err=True)
            raise SystemExit(1) from exc
        for r in results:
            state = "neu" if r["created"] else "unverändert"
            click.echo(f"{r['key']} v{r['version']} ({state})")

    @app.cli.command("create-user")
    @click.argument("username")
    @click.option("--password", prompt=True, hide_input=True)
    @click.option("--group", "groups", multiple=True, required=True)
    @click.option("--municipality", "municipalities", multiple=True)
    def create_user(username: str, password: str, groups: tuple, municipalities: tuple) -> None:
        """Benutzer anlegen."""
        from app.services.context import SYSTEM
        from app.services.users import create_user as create

        with _platform().db.unit_of_work() as session:
            create(session, SYSTEM, username, password, list(groups), list(municipalities))
        click.echo(f"Benutzer {username} angelegt.")

    @app.cli.command("seed-demo")
    def seed_demo() -> None:
        """Demo-Kommunen und je Rolle einen Demo-Benutzer anlegen."""
        from app.services.users import seed_demo as seed

        result = seed(_platform())
        click.echo(f"{len(result['created_users'])} Demo-Benutzer angelegt.")
