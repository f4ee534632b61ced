"""A user task's due date from the model: a fixed number of days (dueInDays, read by the engine)
or — where the deadline is case data — an expression over the task's data:

- ``dueInDaysExpression``: days from now, e.g. ``antwortfrist_tage`` (the Rückfrage's deadline);
- ``dueDateExpression``: an ISO date or date-time, e.g. ``zn["faellig"]`` (a date is due at the
  end of that day, German time).

An expression that fails or yields nothing usable leaves the fixed rule in force: a due date is
a reminder for people, never a reason to stop a process.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")
MAX_DAYS = 3660


def _as_datetime(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=BERLIN)
    text = str(value or "").strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day, time(23, 59), tzinfo=BERLIN)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=BERLIN)


def due_at(props: dict, data: dict, evaluate: Callable[[str, dict], object],
           now: datetime, fixed_days: int | None) -> datetime | None:
    """The due date of a new task (UTC), None when the model sets none."""
    fallback = now + timedelta(days=fixed_days) if fixed_days else None
    try:
        if props.get("dueDateExpression"):
            when = _as_datetime(evaluate(str(props["dueDateExpression"]), dict(data)))
            return when.astimezone(UTC) if when else fallback
        if props.get("dueInDaysExpression"):
            days = int(evaluate(str(props["dueInDaysExpression"]), dict(data)))
            return now + timedelta(days=days) if 0 <= days <= MAX_DAYS else fallback
    except Exception:  # noqa: BLE001 - a broken expression must not stop the process
        return fallback
    return fallback
