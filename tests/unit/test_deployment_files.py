"""The production deployment (docker-compose.yml + Dockerfile) can start: every command a service
runs exists in the image's Python environment, and the services start in the order they need."""

from __future__ import annotations

import re
import shlex
import tomllib
from importlib.metadata import distribution, entry_points
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES = COMPOSE["services"]
APP_SERVICES = sorted(name for name, s in SERVICES.items() if "build" in s)
# commands of `celery` itself (celery --help); plug-ins add theirs through "celery.commands"
CELERY_BUILTIN = {"worker", "beat", "inspect", "control", "status", "call", "purge", "result",
                  "migrate", "shell", "multi", "events", "graph", "upgrade", "logtool", "amqp",
                  "list", "report"}
SHELL_WORDS = {"sh", "python", "true", "exec"}


def _requirement_name(spec: str) -> str:
    return re.split(r"[\s\[<>=!~;]", spec, maxsplit=1)[0].lower().replace("_", "-")


def _image_requirements() -> set[str]:
    """Distributions the Dockerfile installs: the project's dependencies plus the extras named in
    its `pip install ".[…]"` line."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    line = next(ln for ln in (ROOT / "Dockerfile").read_text().splitlines()
                if ln.startswith("RUN pip install"))
    extras = re.search(r"\.\[([^\]]*)\]", line)
    names = {_requirement_name(d) for d in project["dependencies"]}
    for extra in (extras.group(1).split(",") if extras else []):
        names |= {_requirement_name(d) for d in project["optional-dependencies"][extra.strip()]}
    return names


def _console_scripts(names: set[str]) -> set[str]:
    scripts = set()
    for name in names:
        scripts |= {ep.name for ep in distribution(name).entry_points
                    if ep.group == "console_scripts"}
    return scripts


def _celery_commands(names: set[str]) -> set[str]:
    plugins = {ep.name for ep in entry_points(group="celery.commands")
               if _requirement_name(ep.dist.name) in names}
    return CELERY_BUILTIN | plugins


def _command_lines(command: list[str] | str) -> list[list[str]]:
    words = shlex.split(command) if isinstance(command, str) else list(command)
    if words[:2] == ["sh", "-c"]:
        return [shlex.split(part) for part in re.split(r"&&|;|\|\|", words[2])]
    return [words]


@pytest.mark.parametrize("service", APP_SERVICES)
def test_each_command_of_an_app_service_exists_in_the_image(service: str) -> None:
    installed = _image_requirements()
    scripts = _console_scripts(installed) | SHELL_WORDS
    for words in _command_lines(SERVICES[service]["command"]):
        assert words[0] in scripts, f"{service}: {words[0]!r} is not installed in the image"
        if words[0] == "celery":
            sub = next(w for w in words[1:] if not w.startswith("-") and w != "workers.celery_app")
            assert sub in _celery_commands(installed), (
                f"{service}: 'celery {sub}' needs a package the image does not install")


def test_flower_is_a_dependency_of_the_image() -> None:
    assert "flower" in _image_requirements()


def _depends_on(service: str) -> dict[str, str]:
    deps = SERVICES[service].get("depends_on", {})
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in deps.items()}


def _reaches(service: str, target: str, seen: frozenset = frozenset()) -> bool:
    assert service not in seen, f"depends_on cycle through {service}"
    deps = _depends_on(service)
    return target in deps or any(_reaches(d, target, seen | {service}) for d in deps)


def test_services_start_in_the_order_they_need() -> None:
    for service in SERVICES:
        for dep, condition in _depends_on(service).items():
            assert dep in SERVICES, f"{service} depends on unknown service {dep}"
            if condition == "service_healthy":
                assert "healthcheck" in SERVICES[dep], f"{dep} has no healthcheck ({service})"
    migrate = _depends_on("migrate")
    assert migrate.get("postgres") == "service_healthy"
    for service in APP_SERVICES:
        if service in ("migrate", "flower"):
            continue
        assert _depends_on(service).get("migrate") == "service_completed_successfully", service
        assert _reaches(service, "postgres") and _reaches(service, "redis"), service
    assert _reaches("flower", "redis")
