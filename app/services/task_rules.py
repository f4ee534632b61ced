"""Rules a user task declares in its BPMN properties, checked before it is claimed or completed.

* ``excludeCompletersOf`` = "<task id>[, <task id>…]": whoever completed one of these tasks in
  the same case may not claim or complete this one (four-eyes principle) → 403 ``four_eyes``.
* ``validationFunction`` = "<name>": a validator of :data:`VALIDATORS` checks the submitted form
  against the programme rules (things JSON Schema cannot express) → 422 with field errors.
  Validators get ``(session, form_data, task_data)`` and raise a domain ``DomainError`` or a
  service ``Invalid``; task data is what the case knows at this task.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.errors import DomainError
from app.engine.runtime import find_task
from app.models import HumanTask, ProcessInstance

from . import instances, phase1_rules, phase2_rules
from .context import Actor
from .errors import Forbidden, Invalid
from .platform import Platform

Validator = Callable[[Session, dict, dict], None]
VALIDATORS: dict[str, Validator] = {**phase2_rules.VALIDATORS, **phase1_rules.VALIDATORS}


def task_properties(platform: Platform, session: Session, ht: HumanTask) -> dict:
    """The BPMN properties of the task's spec (top-level process or a called/sub process)."""
    instance = session.get(ProcessInstance, ht.instance_id)
    by_id = instances.task_properties_of(platform, session, instance.definition_id)
    return dict(by_id.get(ht.name, {}))


def check_four_eyes(platform: Platform, session: Session, actor: Actor, ht: HumanTask,
                    props: dict | None = None) -> None:
    props = task_properties(platform, session, ht) if props is None else props
    excluded = [n.strip() for n in str(props.get("excludeCompletersOf") or "").split(",")
                if n.strip()]
    if not excluded or actor.user_id is None:
        return
    earlier = session.scalar(select(HumanTask.id).where(
        HumanTask.instance_id == ht.instance_id, HumanTask.name.in_(excluded),
        HumanTask.completed_by_id == actor.user_id, HumanTask.outcome == "completed").limit(1))
    if earlier is not None:
        raise Forbidden(
            "Vier-Augen-Prinzip: Wer die Entscheidung vorbereitet hat, darf sie nicht selbst "
            "freigeben. Bitte lassen Sie die Aufgabe von einer anderen berechtigten Person "
            "bearbeiten.", code="four_eyes")


def validate(props: dict, session: Session, data: dict, task_data: dict) -> None:
    name = props.get("validationFunction")
    if not name:
        return
    validator = VALIDATORS.get(str(name))
    if validator is None:
        raise Invalid(f"Die Prüfregel „{name}“ ist nicht bekannt.", code="unknown_validator")
    try:
        validator(session, data, task_data)
    except DomainError as exc:
        raise Invalid(exc.message, errors=[e.to_dict() for e in exc.errors],
                      code=exc.code) from exc


def before_claim(platform: Platform, session: Session, actor: Actor, ht: HumanTask) -> None:
    check_four_eyes(platform, session, actor, ht)


def before_complete(platform: Platform, session: Session, actor: Actor, ht: HumanTask,
                    workflow, data: dict) -> None:  # noqa: ANN001
    """Four eyes, then the task's validator with the engine task's data."""
    props = task_properties(platform, session, ht)
    check_four_eyes(platform, session, actor, ht, props)
    if props.get("validationFunction"):
        task = find_task(workflow, ht.task_id)
        validate(props, session, data, dict(task.data) if task is not None else {})
