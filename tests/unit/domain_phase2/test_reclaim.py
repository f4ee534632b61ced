from decimal import ROUND_HALF_UP, Decimal, localcontext

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from app.domain.errors import ValidationFailed
from app.domain.reclaim import mul_div_round_half_up, schlussabrechnung


def independent_eligible(approved: int, volume: int, actual: int) -> int:
    with localcontext() as ctx:
        ctx.prec = 80
        exact = Decimal(actual) * Decimal(approved) / Decimal(volume)
        return min(approved, int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP)))


def test_example_two_million_eighty_percent_spent():
    approved = 200_000_000  # 2,000,000.00 €
    volume = 266_666_667  # 2,666,666.67 €
    # 80 % of the volume spent: 2,133,333.336 € -> 2,133,333.34 €
    actual = int((Decimal(volume) * Decimal("0.8")).quantize(Decimal(1), ROUND_HALF_UP))
    assert actual == 213_333_334
    result = schlussabrechnung(approved, volume, actual, ausgezahlt_cents=approved)
    # 213,333,334 × 200,000,000 / 266,666,667 = 160,000,000.3… cents
    expected = independent_eligible(approved, volume, actual)
    assert expected == 160_000_000
    assert result.zuwendungsfaehig_cents == expected
    assert result.rueckforderung_cents == 40_000_000  # 400,000.00 €
    assert result.nachzahlung_cents == 0
    assert result.eigenanteil_cents == actual - expected
    assert result.foerderquote == Decimal("0.7500")
    assert result.saldo_cents == 40_000_000


def test_per_cost_type_input():
    result = schlussabrechnung(
        75_000, 100_000, {"Personal": 40_000, "Sachkosten": 20_001}, ausgezahlt_cents=40_000
    )
    assert result.ist_kosten_cents == 60_001
    assert result.ist_kosten_je_kostenart == {
        "Personal": 40_000, "Sachkosten": 20_001, "Investitionen": 0
    }
    # 60,001 × 0.75 = 45,000.75 -> 45,001
    assert result.zuwendungsfaehig_cents == 45_001
    assert result.nachzahlung_cents == 5_001
    assert result.rueckforderung_cents == 0
    assert result.saldo_cents == -5_001


def test_half_cent_rounds_up():
    # 3 × 1/2 = 1.5 -> 2
    assert schlussabrechnung(1, 2, 3, 0).zuwendungsfaehig_cents == 1  # capped at approved
    assert schlussabrechnung(50, 100, 3, 0).zuwendungsfaehig_cents == 2
    assert mul_div_round_half_up(5, 1, 2) == 3
    assert mul_div_round_half_up(4, 1, 3) == 1


def test_overspending_is_capped_at_approved():
    result = schlussabrechnung(75_000, 100_000, 150_000, ausgezahlt_cents=60_000)
    assert result.zuwendungsfaehig_cents == 75_000
    assert result.nachzahlung_cents == 15_000


def test_validation():
    with pytest.raises(ValidationFailed) as info:
        schlussabrechnung(-1, 0, {"Reisen": 5, "Personal": -3}, -2)
    paths = {e.path for e in info.value.errors}
    assert paths == {"/zuwendung", "/gesamtvolumen", "/ausgezahlt", "/ist_kosten/Reisen",
                     "/ist_kosten/Personal"}
    with pytest.raises(ValidationFailed):
        schlussabrechnung(101, 100, 50, 0)  # Zuwendung above volume
    with pytest.raises(ValidationFailed):
        schlussabrechnung(10, 100, -1, 0)
    with pytest.raises(TypeError):
        schlussabrechnung(10, 100, 5.0, 0)
    with pytest.raises(TypeError):
        schlussabrechnung(10.0, 100, 5, 0)


@given(
    volume=st.integers(1, 10**11),
    approved_frac=st.fractions(0, 1),
    actual=st.integers(0, 2 * 10**11),
    paid=st.integers(0, 10**11),
)
def test_reclaim_properties(volume, approved_frac, actual, paid):
    approved = int(volume * approved_frac)
    assume(approved <= volume)
    r = schlussabrechnung(approved, volume, actual, paid)
    assert r.zuwendungsfaehig_cents == independent_eligible(approved, volume, actual)
    assert 0 <= r.zuwendungsfaehig_cents <= approved
    assert 0 <= r.rueckforderung_cents <= paid
    assert r.nachzahlung_cents >= 0
    assert r.rueckforderung_cents == 0 or r.nachzahlung_cents == 0
    assert paid - r.rueckforderung_cents + r.nachzahlung_cents == r.zuwendungsfaehig_cents
    if paid <= approved:
        assert paid + r.nachzahlung_cents <= approved
    # spending the whole plan keeps the full grant
    if actual >= volume:
        assert r.zuwendungsfaehig_cents == approved
