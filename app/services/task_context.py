"""What a task is about ("Worum es geht"): one mechanism for every user task.

A user task declares its context in the model with two spiffworkflow properties:

- ``contextJsonSchemaFilename``: a read-only JSON schema in forms/ whose properties name the
  values the decision rests on and title and format them (currency in cents, dates, tables);
- ``contextUiSchemaFilename`` (optional): its UI schema (order, enum names, ``currency``).

The values come from the task's own data; only what the schema declares is returned (objects
keep their declared properties, lists their declared item properties), so a context never
shows more than the model asks for. Where the values live in another case, the task names a
registered provider (``contextProvider``) that adds them — e.g. the application an evaluator
scores lives in the application's case, not in the call's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AufrufAntrag, Foerderaufruf, ProcessInstance

from . import instances
from .platform import Platform

CONTEXT_SCHEMA = "contextJsonSchemaFilename"
CONTEXT_UI = "contextUiSchemaFilename"
CONTEXT_PROVIDER = "contextProvider"
MAX_DEPTH = 16

Provider = Callable[[Platform, Session, dict], dict]


def _resolve(root: dict, node: Any, depth: int = 0) -> dict:
    """A schema node with a local $ref ("#/$defs/x") replaced by its target."""
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and depth < MAX_DEPTH:
        target: Any = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        node, depth = target, depth + 1
    return node if isinstance(node, dict) else {}


def prune(root: dict, node: dict, value: Any, depth: int = 0) -> Any:
    """`value` reduced to what the schema node declares."""
    node = _resolve(root, node)
    if depth > MAX_DEPTH:
        return None
    props = node.get("properties")
    if isinstance(props, dict):
        if not isinstance(value, dict):
            return None
        return {k: prune(root, p, value[k], depth + 1) for k, p in props.items() if k in value}
    if isinstance(node.get("items"), dict):
        if not isinstance(value, list):
            return None
        return [prune(root, node["items"], v, depth + 1) for v in value]
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


# --- providers: values that live outside the task's own case --------------------------------------

def _case_data(platform: Platform, session: Session, instance: ProcessInstance) -> dict:
    if not instance.task_seq:
        return {}
    workflow = instances.load(platform, session, instance).workflow
    task = workflow.last_task or workflow.task_tree
    return json.loads(json.dumps({k: v for k, v in task.data.items() if not callable(v)},
                                 default=str))


def scored_application(platform: Platform, session: Session, data: dict) -> dict:
    """The application an evaluator scores (antrag_bewerten): its case data, if — and only if —
    it belongs to the call of the task (never another case by a made-up id)."""
    antrag = data.get("antrag") if isinstance(data.get("antrag"), dict) else {}
    try:
        antrag_id = int(antrag.get("antrag_id"))
    except (TypeError, ValueError):
        return {}
    row = session.scalar(select(AufrufAntrag).join(
        Foerderaufruf, Foerderaufruf.id == AufrufAntrag.aufruf_id).where(
        Foerderaufruf.kennung == str(data.get("aufruf_kennung")),
        AufrufAntrag.instance_id == antrag_id))
    instance = session.get(ProcessInstance, antrag_id) if row is not None else None
    if instance is None:
        return {}
    return {"antrag_daten": _case_data(platform, session, instance)}


PROVIDERS: dict[str, Provider] = {"bewerteter_antrag": scored_application}


def build(platform: Platform, session: Session, properties: dict, forms_by_name: dict,
          data: dict) -> dict | None:
    """{schema, ui_schema, data} of a task whose model declares a context (else None)."""
    schema = forms_by_name.get(properties.get(CONTEXT_SCHEMA) or "")
    if not isinstance(schema, dict):
        return None
    ui = forms_by_name.get(properties.get(CONTEXT_UI) or "") or {}
    source = dict(data)
    provider = PROVIDERS.get(properties.get(CONTEXT_PROVIDER) or "")
    if provider is not None:
        source.update(provider(platform, session, source))
    values = prune(schema, schema, json.loads(json.dumps(source, default=str))) or {}
    return {"schema": schema, "ui_schema": ui, "data": values}
