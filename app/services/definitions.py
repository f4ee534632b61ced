"""Deploying process definitions: parse, validate, version by content hash."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.engine.parser import DefinitionInvalid, ParsedDefinition, parse_definitions
from app.engine.serializer import spec_to_json
from app.models import Group, ProcessDefinition

from . import audit, forms
from .context import SYSTEM, Actor
from .errors import Forbidden, Invalid, NotFound
from .platform import Platform, timer_limits
from .users import GROUP_TITLES

DEPLOYERS = {"prozessverantwortliche", "admin"}
MAX_FILES = 50


def deploy_files(platform: Platform, actor: Actor, files: dict[str, bytes]) -> list[dict]:
    """Deploy uploaded BPMN/DMN/form files; returns one entry per process (new or unchanged)."""
    if not (actor.groups & DEPLOYERS):
        raise Forbidden("Nur Prozessverantwortliche dürfen Prozesse bereitstellen.")
    if not files:
        raise Invalid("Es wurden keine Dateien übergeben.", code="no_files",
                      errors=[{"path": "/files", "message": "Mindestens eine Datei ist nötig."}])
    if len(files) > MAX_FILES:
        raise Invalid(f"Höchstens {MAX_FILES} Dateien je Bereitstellung.", code="too_many_files")
    parsed, problems = check_files(platform, files)
    if problems:
        raise Invalid(f"Die Prozessdefinition ist ungültig ({_count(problems)}).",
                      code="definition_invalid", errors=problems)
    with platform.db.unit_of_work() as session:
        return [_store(session, actor, d) for d in parsed]


def check_files(platform: Platform, files: dict[str, bytes]) -> tuple[list[ParsedDefinition], list[dict]]:
    """Parse the files and run every deploy check: (definitions, all problems as error dicts).

    The engine's checks (XML safety, schema, timers, expressions, lanes and groups, forms,
    operators) run in `parse_definitions`; CHECKS adds those that need the database or settings
    and run on each parsed definition."""
    try:
        parsed = parse_definitions(files, platform.form_lookup, platform.operator_names(),
                                   known_groups(platform), timer_limits(platform.settings))
    except DefinitionInvalid as exc:
        return [], [_problem(p) for p in exc.problems]
    problems = [problem for d in parsed for check in CHECKS for problem in check(platform, d)]
    return parsed, problems + forms.deploy_problems(parsed)


def known_groups(platform: Platform) -> set[str]:
    """The groups a lane or candidateGroup may name: the platform's own and those created."""
    with platform.db.unit_of_work() as session:
        return set(GROUP_TITLES) | set(session.scalars(select(Group.name)))


def _count(problems: list[dict]) -> str:
    return "1 Problem" if len(problems) == 1 else f"{len(problems)} Probleme"


# column sizes of process_definition and human_task: refuse at deploy, not at the first start
LIMITS = (("key", "Prozess-ID", 120), ("name", "Prozessname", 300))
TASK_LIMITS = (("bpmn_id", "ID", 255), ("bpmn_name", "Name", 300), ("lane", "Lane", 120))


def _too_long(platform: Platform, d: ParsedDefinition) -> list[dict]:
    found = [{"path": f"/process/{d.key[:120]}", "message": f"{label} ist zu lang (höchstens {n} Zeichen)."}
             for attr, label, n in LIMITS if len(getattr(d, attr) or "") > n]
    for spec in [d.spec, *d.subprocess_specs.values()]:
        for ts in spec.task_specs.values():
            if not getattr(ts, "manual", False):
                continue
            found.extend({"path": f"/process/{d.key[:120]}#{str(ts.bpmn_id)[:255]}",
                          "message": f"{label} der Benutzeraufgabe ist zu lang (höchstens {n} Zeichen)."}
                         for attr, label, n in TASK_LIMITS if len(getattr(ts, attr, None) or "") > n)
    return found


# checks on each parsed definition: (platform, definition) -> problems as error dicts
CHECKS: list[Callable[[Platform, ParsedDefinition], list[dict]]] = [_too_long]


def deploy_directory(platform: Platform, directory: str | None = None) -> list[dict]:
    """Deploy everything under processes/ (CLI and start-up)."""
    root = Path(directory or platform.settings.PROCESSES_DIR)
    files = {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*")) if p.suffix in (".bpmn", ".dmn") and p.is_file()
    }
    return deploy_files(platform, SYSTEM, files) if files else []


def _problem(p) -> dict:  # noqa: ANN001
    path = f"/files/{p.file}" + (f"#{p.element_id}" if p.element_id else "")
    return {"path": path, **p.as_dict()}


def _store(session: Session, actor: Actor, d: ParsedDefinition) -> dict:
    existing = session.scalar(
        select(ProcessDefinition).where(
            ProcessDefinition.key == d.key, ProcessDefinition.content_hash == d.content_hash
        )
    )
    if existing is not None:
        return {"key": d.key, "version": existing.version, "id": existing.id, "created": False}
    version = (session.scalar(
        select(func.max(ProcessDefinition.version)).where(ProcessDefinition.key == d.key)
    ) or 0) + 1
    row = ProcessDefinition(
        key=d.key, version=version, name=d.name, content_hash=d.content_hash,
        sources=d.sources, forms=d.forms, spec_json=spec_to_json(d.spec, d.subprocess_specs),
        starter_groups=d.starter_groups, deployed_by_id=actor.user_id,
    )
    session.add(row)
    session.flush()
    audit.record(session, actor, "definition.deployed", "process_definition", row.id,
                 after=f"v{version}", details={"key": d.key, "hash": d.content_hash})
    return {"key": d.key, "version": version, "id": row.id, "created": True}


def latest(session: Session, key: str) -> ProcessDefinition:
    row = session.scalar(
        select(ProcessDefinition).where(ProcessDefinition.key == key)
        .order_by(ProcessDefinition.version.desc()).limit(1)
    )
    if row is None:
        raise NotFound(f"Prozess „{key}“ ist nicht bereitgestellt.", code="definition_not_found")
    return row


def list_definitions(platform: Platform, actor: Actor) -> list[ProcessDefinition]:
    with platform.db.unit_of_work() as session:
        rows = session.scalars(
            select(ProcessDefinition).order_by(ProcessDefinition.key, ProcessDefinition.version)
        ).all()
        return list(rows)


def can_start(actor: Actor, definition: ProcessDefinition) -> bool:
    if actor.is_admin:
        return True
    groups = set(definition.starter_groups or [])
    if not groups:
        return actor.is_staff
    return bool(groups & actor.groups)
