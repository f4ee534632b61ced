"""What a process accepts when someone starts it: its start declaration.

A process declares it with `spiffworkflow:properties` on its (none) start event:

- `formJsonSchemaFilename`: the start form, a JSON Schema of the start data. Only the keys it
  declares are accepted; start data is validated like the data of a task form. Without a start
  form the process accepts no start data.
- `internal` = `true`: the process is only started by another process (call activity) or by
  the platform itself; a start through the API or the web is refused and the start lists do
  not offer it.

`municipality_ags` (the case's municipality) is the platform's own start key, accepted for
every process and checked against the actor (`processes._municipality_for_start`). A start
form field that holds a municipality the case acts for is marked `"x-own-municipality": true`:
a municipality's user may only name one of their own municipalities there.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.domain.errors import pointer
from app.engine.runtime import start_properties
from app.models import ProcessDefinition

from . import forms
from .context import Actor
from .errors import Forbidden, Invalid
from .instances import forms_of, specs_of
from .platform import Platform

PLATFORM_KEYS = frozenset({"municipality_ags"})
MAX_LISTED = 50  # unknown keys named one by one in a refusal


@dataclass(frozen=True)
class StartDeclaration:
    internal: bool
    form: str | None


def declaration(platform: Platform, session: Session, definition: ProcessDefinition) -> StartDeclaration:
    spec, _subs = specs_of(platform, session, definition.id)
    props = start_properties(spec)
    return StartDeclaration(internal=str(props.get("internal", "")).strip().lower() == "true",
                            form=props.get("formJsonSchemaFilename") or None)


def ensure_startable(platform: Platform, session: Session,
                     definition: ProcessDefinition) -> StartDeclaration:
    """The declaration of a process a user may start directly; 422 for an internal one."""
    decl = declaration(platform, session, definition)
    if decl.internal:
        name = definition.name or definition.key
        raise Invalid(f"„{name}“ ist ein Teilprozess und wird nur aus einem anderen Vorgang "
                      "heraus gestartet.", code="process_not_startable",
                      errors=[{"path": "/process_key",
                               "message": "Dieser Prozess kann nicht direkt gestartet werden."}])
    return decl


def validated(platform: Platform, session: Session, definition: ProcessDefinition,
              decl: StartDeclaration, data: dict, actor: Actor) -> dict:
    """The start data checked against the start form (with its defaults); 422 otherwise."""
    own = {k: v for k, v in data.items() if k not in PLATFORM_KEYS}
    platform_values = {k: v for k, v in data.items() if k in PLATFORM_KEYS}
    if decl.form is None:
        if own:
            raise Invalid("Dieser Prozess nimmt beim Start keine Daten an.",
                          code="start_data_invalid", errors=_unknown(own))
        return platform_values
    schema = forms_of(platform, session, definition.id).get(decl.form) or {}
    # only what the start form declares, whatever the form says about other keys
    schema = {**schema, "type": "object", "additionalProperties": False}
    try:
        clean = forms.validate(schema, own, {})  # a start has no server-owned values yet
    except Invalid as exc:
        raise Invalid(f"Die Startdaten sind ungültig. {exc.message}", code="start_data_invalid",
                      errors=[{**e, "path": "/data" + e["path"]} for e in exc.errors]) from exc
    _check_tenancy(schema, clean, actor)
    return {**clean, **platform_values}


def _check_tenancy(schema: dict, data: dict, actor: Actor) -> None:
    """Fields marked `x-own-municipality` name one of the actor's municipalities (staff: any)."""
    if actor.is_staff:
        return
    foreign = [k for k, prop in (schema.get("properties") or {}).items()
               if isinstance(prop, dict) and prop.get("x-own-municipality") is True
               and k in data and data[k] not in actor.municipalities]
    if foreign:
        raise Forbidden("Sie dürfen nur für Ihre eigene Kommune Vorgänge anlegen.",
                        code="foreign_municipality",
                        errors=[{"path": pointer("data", k),
                                 "message": "Nur eine Ihrer eigenen Kommunen ist zulässig."}
                                for k in foreign])


def _unknown(keys: dict) -> list[dict]:
    return [{"path": pointer("data", k), "message": f"Das Feld „{k}“ ist beim Start nicht vorgesehen."}
            for k in list(keys)[:MAX_LISTED]]
