"""Reporting deadlines (VV zu § 44 LHO, ANBest-Gk) and term calculation (§§ 187, 188 BGB).

* Zwischennachweis: within four months after the end of each budget year, i.e. by 30 April
  of the following year, for every budget year that ends before the funding period does.
* Verwendungsnachweis: within six months after the end of the funding period.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta

ZWISCHENNACHWEIS_MONTH = 4
ZWISCHENNACHWEIS_DAY = 30
VERWENDUNGSNACHWEIS_MONTHS = 6
#: programme (budget) years the platform computes with; outside, date arithmetic is meaningless
FIRST_YEAR, LAST_YEAR = 1990, 2100


def is_programme_year(jahr: object) -> bool:
    """
    >>> is_programme_year(2025), is_programme_year(9999), is_programme_year(0)
    (True, False, False)
    """
    return not _not_int(jahr) and FIRST_YEAR <= jahr <= LAST_YEAR


def _not_int(value: object) -> bool:
    return isinstance(value, bool) or not isinstance(value, int)


def _check_date(value: object, name: str) -> None:
    # datetime is a subclass of date; refuse it to keep calendar days unambiguous
    if not isinstance(value, date) or isinstance(value, datetime):
        raise TypeError(f"{name} muss ein Datum (date) sein.")


def add_months(day: date, months: int) -> date:
    """Same day number ``months`` later; the last day of the month if it does not exist.

    >>> add_months(date(2025, 8, 31), 6)
    datetime.date(2026, 2, 28)
    """
    _check_date(day, "Das Datum")
    if _not_int(months):
        raise TypeError("Die Anzahl der Monate muss eine ganze Zahl sein.")
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def term_end(start: date, months: int) -> date:
    """Last day of a funding period of ``months`` months beginning on ``start`` (inclusive).

    § 187 Abs. 2, § 188 Abs. 2 and 3 BGB: the period ends with the day before the day that
    corresponds to ``start`` in the final month; if that day does not exist, with the last day
    of that month.

    >>> term_end(date(2025, 1, 1), 24)
    datetime.date(2026, 12, 31)
    >>> term_end(date(2025, 3, 31), 1)
    datetime.date(2025, 4, 30)
    """
    _check_date(start, "Der Beginn")
    if _not_int(months) or months < 1:
        raise ValueError("Die Laufzeit muss mindestens einen Monat betragen.")
    index = start.year * 12 + (start.month - 1) + months
    year, month0 = divmod(index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    if start.day > last:
        return date(year, month0 + 1, last)
    return date(year, month0 + 1, start.day) - timedelta(days=1)


def zwischennachweis_due(budget_year: int) -> date:
    """Zwischennachweis for a budget year: due 30 April of the following year."""
    if _not_int(budget_year):
        raise TypeError("Das Haushaltsjahr muss eine ganze Zahl sein.")
    return date(budget_year + 1, ZWISCHENNACHWEIS_MONTH, ZWISCHENNACHWEIS_DAY)


def zwischennachweis_years(start: date, end: date) -> list[int]:
    """Budget years needing a Zwischennachweis: those ending before the funding period ends.

    The last (partial) year is covered by the Verwendungsnachweis.

    >>> zwischennachweis_years(date(2025, 1, 1), date(2026, 12, 31))
    [2025]
    """
    _check_date(start, "Der Beginn")
    _check_date(end, "Das Ende")
    if end < start:
        raise ValueError("Das Ende des Förderzeitraums liegt vor dessen Beginn.")
    return [y for y in range(start.year, end.year + 1) if date(y, 12, 31) < end]


def verwendungsnachweis_due(term_end: date) -> date:
    """Verwendungsnachweis: due six months after the end of the funding period.

    >>> verwendungsnachweis_due(date(2026, 12, 31))
    datetime.date(2027, 6, 30)
    """
    return add_months(term_end, VERWENDUNGSNACHWEIS_MONTHS)


def reminder_date(due: date, weeks: int = 4) -> date:
    """Date on which to remind of a deadline ``weeks`` weeks ahead."""
    _check_date(due, "Die Frist")
    if _not_int(weeks) or weeks < 0:
        raise ValueError("Der Vorlauf der Erinnerung muss eine nicht negative Anzahl Wochen sein.")
    return due - timedelta(weeks=weeks)
