import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.errors import BudgetExceeded, RuleViolation
from app.domain.ledger import (
    LedgerPosition,
    available,
    check_availability,
    pay,
    refund,
    release,
    reserve,
    reserve_per_year,
)


def pos(ansatz=1_000_000_00, gebunden=0, ausgezahlt=0, jahr=2025):
    return LedgerPosition(jahr, "0803 633 01", ansatz, gebunden, ausgezahlt)


def test_availability():
    p = pos(10_000, 3_000, 2_000)
    assert available(p) == p.verfuegbar_cents == 5_000
    assert check_availability(p, 5_000)
    assert not check_availability(p, 5_001)
    assert check_availability(p, 0)
    with pytest.raises(TypeError):
        check_availability(p, 1.0)


def test_reserve_pay_release_refund_cycle():
    p = reserve(pos(10_000), 6_000)
    assert (p.gebunden_cents, p.ausgezahlt_cents, p.verfuegbar_cents) == (6_000, 0, 4_000)
    p = pay(p, 2_500)
    assert (p.gebunden_cents, p.ausgezahlt_cents, p.verfuegbar_cents) == (3_500, 2_500, 4_000)
    p = release(p, 500)
    assert (p.gebunden_cents, p.verfuegbar_cents) == (3_000, 4_500)
    p = refund(p, 1_000)
    assert (p.ausgezahlt_cents, p.verfuegbar_cents) == (1_500, 5_500)


def test_reserve_too_much():
    p = pos(100_000_00, 40_000_00)
    with pytest.raises(BudgetExceeded) as info:
        reserve(p, 60_000_01)
    exc = info.value
    assert exc.code == "budget_exceeded"
    assert "60.000,00 €" in exc.message and "60.000,01 €" in exc.message
    assert "Haushaltsjahr 2025" in exc.message and "0803 633 01" in exc.message
    assert exc.errors[0].path == "/betrag" and "0,01 €" in exc.errors[0].message
    assert exc.details["verfuegbar_cents"] == 60_000_00
    assert reserve(p, 60_000_00).verfuegbar_cents == 0


def test_pay_more_than_bound():
    p = pos(10_000, 1_000)
    with pytest.raises(BudgetExceeded) as info:
        pay(p, 1_001)
    assert "10,01 €" in info.value.message and "10,00 €" in info.value.message


def test_release_and_refund_limits():
    with pytest.raises(RuleViolation):
        release(pos(10_000, 100), 101)
    with pytest.raises(RuleViolation):
        refund(pos(10_000, 0, 100), 101)
    for fn in (reserve, pay, release, refund):
        with pytest.raises(RuleViolation):
            fn(pos(10_000, 100, 100), 0)
        with pytest.raises(RuleViolation):
            fn(pos(10_000, 100, 100), -5)
        with pytest.raises(TypeError):
            fn(pos(10_000, 100, 100), 5.0)


def test_position_invariants():
    with pytest.raises(ValueError):
        pos(100, 60, 41)
    with pytest.raises(ValueError):
        pos(-1)
    with pytest.raises(TypeError):
        LedgerPosition(2025, "x", 1.5)


def test_reserve_per_year_all_or_nothing():
    positions = {2025: pos(1_000, jahr=2025), 2026: pos(500, jahr=2026)}
    result = reserve_per_year(positions, {2025: 1_000, 2026: 400, 2027: 0})
    assert result[2025].verfuegbar_cents == 0 and result[2026].verfuegbar_cents == 100
    assert positions[2025].verfuegbar_cents == 1_000  # untouched
    with pytest.raises(BudgetExceeded) as info:
        reserve_per_year(positions, {2025: 1_001, 2026: 400, 2027: 5})
    assert [e.path for e in info.value.errors] == ["/haushaltsjahre/2025", "/haushaltsjahre/2027"]


ops = st.lists(
    st.tuples(st.sampled_from(["reserve", "pay", "release", "refund"]), st.integers(1, 5_000)),
    max_size=40,
)


@given(st.integers(0, 20_000), ops)
def test_ledger_invariants_hold(ansatz, operations):
    p = pos(ansatz)
    funcs = {"reserve": reserve, "pay": pay, "release": release, "refund": refund}
    for name, amount in operations:
        before = p
        try:
            p = funcs[name](p, amount)
        except (BudgetExceeded, RuleViolation):
            assert p == before
            if name == "reserve":
                assert not check_availability(p, amount)
            continue
        assert p.gebunden_cents >= 0 and p.ausgezahlt_cents >= 0
        assert p.gebunden_cents + p.ausgezahlt_cents + p.verfuegbar_cents == ansatz
        assert p.verfuegbar_cents >= 0
        if name == "pay":
            assert p.gebunden_cents == before.gebunden_cents - amount
            assert p.verfuegbar_cents == before.verfuegbar_cents
