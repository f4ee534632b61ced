from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.deadlines import (
    add_months,
    reminder_date,
    term_end,
    verwendungsnachweis_due,
    zwischennachweis_due,
    zwischennachweis_years,
)


def test_zwischennachweis_due():
    assert zwischennachweis_due(2025) == date(2026, 4, 30)
    with pytest.raises(TypeError):
        zwischennachweis_due("2025")


def test_verwendungsnachweis_due():
    assert verwendungsnachweis_due(date(2026, 12, 31)) == date(2027, 6, 30)
    assert verwendungsnachweis_due(date(2026, 6, 30)) == date(2026, 12, 30)
    assert verwendungsnachweis_due(date(2026, 8, 31)) == date(2027, 2, 28)
    assert verwendungsnachweis_due(date(2027, 8, 31)) == date(2028, 2, 29)


def test_term_end():
    assert term_end(date(2025, 1, 1), 24) == date(2026, 12, 31)
    assert term_end(date(2025, 7, 1), 24) == date(2027, 6, 30)
    assert term_end(date(2025, 3, 15), 24) == date(2027, 3, 14)
    assert term_end(date(2025, 3, 31), 1) == date(2025, 4, 30)
    assert term_end(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert term_end(date(2024, 1, 30), 1) == date(2024, 2, 29)
    with pytest.raises(ValueError):
        term_end(date(2025, 1, 1), 0)
    with pytest.raises(TypeError):
        term_end(datetime(2025, 1, 1), 24)


def test_reminder_date():
    due = date(2026, 4, 30)
    assert reminder_date(due) == date(2026, 4, 2)
    assert reminder_date(due, weeks=0) == due
    assert reminder_date(due, 2) == date(2026, 4, 16)
    with pytest.raises(ValueError):
        reminder_date(due, -1)


def test_zwischennachweis_years():
    assert zwischennachweis_years(date(2025, 1, 1), date(2026, 12, 31)) == [2025]
    assert zwischennachweis_years(date(2025, 7, 1), date(2027, 6, 30)) == [2025, 2026]
    assert zwischennachweis_years(date(2025, 3, 1), date(2025, 12, 31)) == []
    with pytest.raises(ValueError):
        zwischennachweis_years(date(2025, 3, 1), date(2025, 1, 1))


def test_add_months_negative():
    assert add_months(date(2025, 3, 31), -1) == date(2025, 2, 28)


@given(st.dates(date(2000, 1, 1), date(2100, 12, 31)), st.integers(1, 120))
def test_term_end_properties(start, months):
    end = term_end(start, months)
    assert end >= start
    # the next period would start the day after the end
    nxt = end + timedelta(days=1)
    assert nxt.year * 12 + nxt.month - (start.year * 12 + start.month) in (months, months + 1)
    # chaining: two periods of m months == one of 2m months when starting on the 1st
    if start.day == 1:
        assert term_end(nxt, months) == term_end(start, 2 * months)
    assert verwendungsnachweis_due(end) > end
    assert reminder_date(verwendungsnachweis_due(end)) < verwendungsnachweis_due(end)
