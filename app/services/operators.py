"""Service-task operators as plugins: name → function(params, context) → JSON-able result.

Operators live in the modules named by the OPERATOR_MODULES setting (default
`workers.operators`); each exposes REGISTRY: dict[str, Operator]. They are looked up at run time,
so the services never import the worker package.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class BpmnError(Exception):
    """An operator error that the process models: caught by an error boundary event."""

    def __init__(self, code: str, message: str = "", payload: dict | None = None):
        super().__init__(message or code)
        self.code = code
        self.message = message or code
        self.payload = payload or {}


@dataclass(frozen=True)
class OperatorContext:
    instance_id: int
    task_id: str
    attempt: int
    idempotency_key: str
    platform: Any


@dataclass(frozen=True)
class Operator:
    name: str
    fn: Callable[[dict, OperatorContext], Any]
    retries: int = 3
    backoff_seconds: float = 10.0
    description: str = ""
    params: dict = field(default_factory=dict)
    # bulk work (e.g. starting a case per municipality): its job and every job it causes go to
    # the bulk queue, so a person's next service step is never queued behind it
    bulk: bool = False


def load_registry(module_names: str) -> dict[str, Operator]:
    registry: dict[str, Operator] = {}
    for name in filter(None, (m.strip() for m in module_names.split(","))):
        module = importlib.import_module(name)
        registry.update(module.REGISTRY)
    return registry


def load_object(path: str):  # noqa: ANN201
    """`package.module:attribute` → the attribute (plugin lookup without static imports)."""
    module_name, _, attr = path.partition(":")
    return getattr(importlib.import_module(module_name), attr)
