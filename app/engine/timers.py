"""Bounded timers: one rule for timer values, checked at deploy (literal values) and at run time
(values computed from process data) BEFORE SpiffWorkflow does its date arithmetic.

SpiffWorkflow 3.2 turns a duration into a due date month by month (`get_timedelta_from_start`
loops once per month): `P99999999Y` keeps a thread busy for many minutes. A value is therefore
parsed here without any per-month work, compared with the configured limits (horizon, minimum
cycle interval, maximum number of repetitions) and only then handed to the engine.

The timer event definition classes below replace SpiffWorkflow's in the parser and (under the
same type names) in the serializer, so specs stored before this check are bounded as well.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.parser.event_parsers import (
    BoundaryEventParser,
    IntermediateCatchEventParser,
    StartEventParser,
)
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.spiff.parser.event_parsers import (
    SpiffBoundaryEventParser,
    SpiffIntermediateCatchEventParser,
    SpiffStartEventParser,
)

DAY = 86_400.0
# upper bounds of a calendar unit in days: enough to refuse a value before any date arithmetic
_UNIT_DAYS = {"years": 366.0, "months": 31.0, "weeks": 7.0, "days": 1.0,
              "hours": 1 / 24, "minutes": 1 / 1440, "seconds": 1 / DAY}
_ISO_DURATION = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$",
                           re.IGNORECASE)


@dataclass(frozen=True)
class TimerLimits:
    """How far ahead a timer may point and how often a cycle may fire (app/config.py)."""

    max_days: float = 3660.0
    min_cycle_seconds: float = 60.0
    max_cycles: int = 1000


DEFAULT_LIMITS = TimerLimits()
KINDS = ("timeDate", "timeDuration", "timeCycle")


class TimerValueError(ValueError):
    """A timer value the platform refuses; the message is German and names no Python type."""


# --- the rule ----------------------------------------------------------------------------------

def check_value(kind: str, value: object, limits: TimerLimits, now: datetime | None = None) -> None:
    """Raise TimerValueError unless `value` is a valid, bounded timer value of `kind`
    (timeDate, timeDuration or timeCycle). Never does per-month arithmetic on unchecked input."""
    if not isinstance(value, str) or not value.strip():
        raise TimerValueError(f"Der Wert ist keine Zeitangabe (erwartet wird ein Text nach "
                              f"ISO 8601, erhalten: {_type_name(value)}).")
    value = value.strip()
    if len(value) > 100:
        raise TimerValueError("Die Zeitangabe ist zu lang (höchstens 100 Zeichen).")
    now = now or datetime.now(UTC)
    if kind == "timeDuration":
        _check_horizon(_duration_days(value), limits)
    elif kind == "timeDate":
        _check_horizon((_date(value) - now).total_seconds() / DAY, limits)
    else:
        _check_cycle(value, limits, now)


def _type_name(value: object) -> str:
    names = {type(None): "nichts", int: "Zahl", float: "Zahl", bool: "Wahrheitswert",
             dict: "Objekt", list: "Liste", datetime: "Datum ohne Text"}
    return names.get(type(value), "kein Text")


def _duration_days(text: str) -> float:
    """Upper bound of a duration in days (PnYnMnWnDTnHnMnS; a fraction only in the last part)."""
    try:
        parsed = TimerEventDefinition.parse_iso_duration(text)
    except Exception as exc:  # noqa: BLE001 - the engine raises a bare Exception
        raise TimerValueError(f"„{text}“ ist keine gültige Dauer nach ISO 8601 "
                              "(z. B. P14D oder PT2H).") from exc
    if not text.upper().startswith("P") or not parsed:
        raise TimerValueError(f"„{text}“ ist keine gültige Dauer nach ISO 8601 "
                              "(z. B. P14D oder PT2H).")
    return sum(float(parsed.get(unit, 0)) * days for unit, days in _UNIT_DAYS.items())


def _date(text: str) -> datetime:
    try:
        if "W" in text.upper() and not text.upper().startswith("P"):
            return TimerEventDefinition.parse_iso_week(text)
        return TimerEventDefinition.get_datetime(text)
    except Exception as exc:  # noqa: BLE001 - ValueError, OverflowError, a failed regex match
        raise TimerValueError(f"„{text}“ ist kein gültiger Zeitpunkt nach ISO 8601 "
                              "(z. B. 2027-04-30T09:00:00+02:00).") from exc


def _check_horizon(days: float, limits: TimerLimits) -> None:
    if days > limits.max_days:
        raise TimerValueError(f"Der Zeitpunkt läge {_days(days)} in der Zukunft; zulässig sind "
                              f"höchstens {_days(limits.max_days)}.")


def _days(days: float) -> str:
    if days >= 1e7:
        return "mehr als 10 Millionen Tage"
    return f"{days:,.0f} Tage".replace(",", ".") if days >= 1 else "weniger als ein Tag"


def _check_cycle(text: str, limits: TimerLimits, now: datetime) -> None:
    """R<n>/<duration>, R<n>/<start>/<duration> or R<n>/<duration>/<end> (as the engine reads it)."""
    parts = text.upper().replace("--", "/").strip("R").split("/")
    if not text.upper().startswith("R") or len(parts) not in (2, 3):
        raise TimerValueError(f"„{text}“ ist keine gültige Wiederholung nach ISO 8601 "
                              "(z. B. R3/P7D).")
    if not parts[0]:
        raise TimerValueError(f"Die Wiederholung „{text}“ nennt keine Anzahl; bitte eine Anzahl "
                              f"angeben (z. B. R3/P7D, höchstens {limits.max_cycles}).")
    if not parts[0].isdigit():
        raise TimerValueError(f"„{text}“ ist keine gültige Wiederholung nach ISO 8601 "
                              "(z. B. R3/P7D).")
    cycles = int(parts[0][:6])
    if len(parts[0]) > 6 or cycles > limits.max_cycles:
        raise TimerValueError(f"Die Wiederholung „{text}“ hat zu viele Durchläufe "
                              f"(höchstens {limits.max_cycles}).")
    durations = [p for p in parts[1:] if p.startswith("P")]
    dates = [p for p in parts[1:] if not p.startswith("P")]
    if len(durations) != 1:
        raise TimerValueError(f"„{text}“ ist keine gültige Wiederholung nach ISO 8601 "
                              "(z. B. R3/P7D).")
    interval = _duration_days(durations[0])
    if interval * DAY < limits.min_cycle_seconds:
        raise TimerValueError(f"Die Wiederholung „{text}“ feuert zu oft: der Abstand muss "
                              f"mindestens {limits.min_cycle_seconds:g} Sekunden betragen.")
    start = (_date(dates[0]) - now).total_seconds() / DAY if dates else interval
    _check_horizon(max(start, 0) + interval * max(cycles, 1), limits)


def literal(expression: str | None) -> str | None:
    """The value of a timer expression that is a plain string literal (else None)."""
    try:
        node = ast.parse((expression or "").strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def looks_unquoted(expression: str | None) -> bool:
    """`P14D` written without quotes: a Python name, not the intended duration."""
    return bool(_ISO_DURATION.match((expression or "").strip()))


# --- run time ----------------------------------------------------------------------------------

def _limits_of(my_task) -> TimerLimits:  # noqa: ANN001
    return getattr(my_task.workflow.script_engine, "timer_limits", None) or DEFAULT_LIMITS


def _evaluate_checked(definition: TimerEventDefinition, my_task, kind: str) -> str:  # noqa: ANN001
    value = my_task.workflow.script_engine.evaluate(my_task, definition.expression)
    try:
        check_value(kind, value, _limits_of(my_task))
    except TimerValueError as exc:
        spec = my_task.task_spec
        name, bpmn_id = (getattr(spec, "bpmn_name", None) or "").strip(), spec.bpmn_id or spec.name
        label = f"„{name}“ ({bpmn_id})" if name and name != bpmn_id else f"„{bpmn_id}“"
        raise WorkflowTaskException(
            f"Der Zeitgeber {label} ist ungültig: {exc}", task=my_task,
        ) from exc
    return value.strip()


class BoundedTimeDateEventDefinition(TimeDateEventDefinition):
    def has_fired(self, my_task):  # noqa: ANN001, ANN201
        if my_task._get_internal_data("event_value") is None:
            value = _evaluate_checked(self, my_task, "timeDate")
            my_task._set_internal_data(event_value=value)
        return super().has_fired(my_task)


class BoundedDurationTimerEventDefinition(DurationTimerEventDefinition):
    def has_fired(self, my_task):  # noqa: ANN001, ANN201
        if my_task._get_internal_data("event_value") is None:
            value = _evaluate_checked(self, my_task, "timeDuration")
            delta = TimerEventDefinition.get_timedelta_from_start(
                TimerEventDefinition.parse_iso_duration(value))
            my_task._set_internal_data(event_value=(datetime.now(UTC) + delta).isoformat())
        return super().has_fired(my_task)


class BoundedCycleTimerEventDefinition(CycleTimerEventDefinition):
    def cycle_complete(self, my_task):  # noqa: ANN001, ANN201
        if my_task._get_internal_data("event_value") is None:
            value = _evaluate_checked(self, my_task, "timeCycle")
            cycles, start, duration = TimerEventDefinition.parse_iso_recurring_interval(value)
            my_task._set_internal_data(event_value={
                "cycles": cycles, "next": start.isoformat(), "duration": duration.total_seconds()})
        return super().cycle_complete(my_task)


BOUNDED = {
    TimeDateEventDefinition: BoundedTimeDateEventDefinition,
    DurationTimerEventDefinition: BoundedDurationTimerEventDefinition,
    CycleTimerEventDefinition: BoundedCycleTimerEventDefinition,
}


# --- parsing -----------------------------------------------------------------------------------

class _BoundedTimerParsing:
    def parse_timer_event(self, event):  # noqa: ANN001, ANN201
        definition = super().parse_timer_event(event)
        bounded = BOUNDED.get(type(definition))
        if bounded is None:
            return definition
        return bounded(definition.name, definition.expression, description=definition.description)


class BoundedStartEventParser(_BoundedTimerParsing, SpiffStartEventParser):
    def create_task(self):  # noqa: ANN201
        return StartEventParser.create_task(self)


class BoundedIntermediateCatchEventParser(_BoundedTimerParsing, SpiffIntermediateCatchEventParser):
    def create_task(self):  # noqa: ANN201
        return IntermediateCatchEventParser.create_task(self)


class BoundedBoundaryEventParser(_BoundedTimerParsing, SpiffBoundaryEventParser):
    def create_task(self):  # noqa: ANN201
        return BoundaryEventParser.create_task(self)

