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

    register_phase1_cli(app)


def register_phase1_cli(app: Flask) -> None:
    """Phase 1 master data: import-municipalities FILE, import-finanzkraft FILE (as system)."""

    def _report_errors(exc) -> None:  # noqa: ANN001
        click.echo(f"FEHLER: {exc.message}", err=True)
        for e in exc.errors:
            click.echo(f"  {e['message']}", err=True)
        raise SystemExit(1) from exc

    @app.cli.command("import-municipalities")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    @click.option("--gebietsstand", default=None, help="Gebietsstand JJJJ-MM-TT, falls die Datei "
                  "ihn nicht nennt.")
    def import_municipalities(file: str, gebietsstand: str | None) -> None:
        """Gemeindeverzeichnis (Destatis AuszugGV, CSV oder XLSX) importieren."""
        from datetime import date

        from app.services.context import SYSTEM
        from app.services.errors import Invalid
        from app.services.masterdata import import_directory

        path = Path(file)
        try:
            stand = date.fromisoformat(gebietsstand) if gebietsstand else None
            result = import_directory(_platform(), SYSTEM, path.read_bytes(), path.name, stand)
        except ValueError as exc:
            raise click.BadParameter("Datum im Format JJJJ-MM-TT angeben.",
                                     param_hint="--gebietsstand") from exc
        except Invalid as exc:
            _report_errors(exc)
        click.echo(f"{result['gemeinden_in_datei']} Gemeinden in der Datei: {result['angelegt']} "
                   f"neu, {result['geaendert']} geändert, {result['reaktiviert']} reaktiviert, "
                   f"{result['deaktiviert']} deaktiviert, {result['unveraendert']} unverändert.")
        for skipped in result["ausgelassen"]:
            click.echo(f"  ausgelassen (Zeile {skipped['line']}): {skipped['message']}")

    @app.cli.command("import-finanzkraft")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    def import_finanzkraft(file: str) -> None:
        """Finanzkraft je Einwohner (CSV: ags, jahr, finanzkraft_je_einwohner) importieren."""
        from app.services.context import SYSTEM
        from app.services.errors import Invalid
        from app.services.masterdata import import_finanzkraft as run_import

        path = Path(file)
        try:
            result = run_import(_platform(), SYSTEM, path.read_bytes(), path.name)
        except Invalid as exc:
            _report_errors(exc)
        click.echo(f"{result['werte']} Werte für {', '.join(map(str, result['jahre']))}: "
                   f"{result['angelegt']} neu, {result['geaendert']} geändert.")
        for jahr, missing in result["fehlende_gemeinden"].items():
            if missing:
                click.echo(f"  {jahr}: Finanzkraft fehlt für {len(missing)} Gemeinde(n): "
                           + ", ".join(missing[:20]) + (" …" if len(missing) > 20 else ""))
