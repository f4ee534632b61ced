"""Phase 1 form validators (BPMN property ``validationFunction``): programme rules that JSON
Schema cannot express, checked when the task is completed (422 with German field errors,
nothing changes). Each gets ``(session, form_data, task_data)`` and raises a DomainError."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from app.domain import phase1 as rules


def _zuweisung(task_data: dict) -> int:
    bescheid = task_data.get("zuweisungsbescheid") or {}
    return int(bescheid.get("zuweisung_cents", task_data.get("zuweisung_cents", 0)))


def massnahmenplan(session: Session, data: dict, task_data: dict) -> None:
    """The planned volume must reach Zuweisung / (1 − Eigenanteil)."""
    rules.check_massnahmenplan(data.get("massnahmen"), _zuweisung(task_data),
                               str(task_data.get("eigenanteil_percent", "25")))


def pruefung(session: Session, data: dict, task_data: dict) -> None:
    """The ineligible amount must not exceed the spending shown in the Verwendungsnachweis."""
    rules.check_pruefung(task_data.get("ist_massnahmen"), data.get("nicht_foerderfaehig", "0"))


VALIDATORS: dict[str, Callable[[Session, dict, dict], None]] = {
    "phase1_massnahmenplan": massnahmenplan,
    "phase1_pruefung": pruefung,
}
