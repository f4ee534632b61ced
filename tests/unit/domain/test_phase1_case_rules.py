"""Phase 1 case rules: euro input, Maßnahmenplan volume rule, settlement (Rückforderung)."""

import doctest

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain import phase1
from app.domain.errors import ValidationFailed
from app.domain.phase1 import (
    HANDLUNGSFELDER,
    abrechnung,
    check_massnahmenplan,
    mindestvolumen_cents,
    parse_euro,
    planung_pruefen,
)


def test_doctests():
    assert doctest.testmod(phase1).failed == 0


@pytest.mark.parametrize("text, cents", [
    ("0", 0), ("1", 100), ("12500", 1_250_000), ("12500,5", 1_250_050), ("12500.05", 1_250_005),
    (" 7 500,00 ", 750_000), (42, 4200),
])
def test_parse_euro(text, cents):
    assert parse_euro(text) == cents


@pytest.mark.parametrize("text", ["12.500", "1.234,56", "-5", "01", "1,234", "abc", "", 1.5, True])
def test_parse_euro_refuses_ambiguous_or_invalid(text):
    with pytest.raises(ValueError):
        parse_euro(text)


def _plan(*amounts):
    felder = list(HANDLUNGSFELDER)
    return [{"handlungsfeld": felder[i % len(felder)], "bezeichnung": f"M{i}",
             "geplante_kosten": a} for i, a in enumerate(amounts)]


def test_plan_volume_must_reach_the_allocation_divided_by_0_75():
    assert mindestvolumen_cents(1_500_000) == 2_000_000
    plan = check_massnahmenplan(_plan("12000", "8000"), 1_500_000)
    assert plan.volumen_cents == 2_000_000 and plan.mindestvolumen_cents == 2_000_000
    with pytest.raises(ValidationFailed) as exc:
        check_massnahmenplan(_plan("12000", "7999,99"), 1_500_000)
    [error] = exc.value.errors
    assert error.path == "/massnahmen"
    assert "19.999,99 € unterschreitet das Mindestvolumen von 20.000,00 €" in error.message
    assert "÷ 0,75" in error.message and "es fehlen 0,01 €" in error.message


def test_plan_reports_every_bad_field():
    with pytest.raises(ValidationFailed) as exc:
        check_massnahmenplan([{"handlungsfeld": "tourismus", "geplante_kosten": "1"},
                              {"handlungsfeld": "beratung", "geplante_kosten": "1.000"}], 750_000)
    assert [e.path for e in exc.value.errors] == ["/massnahmen/0/handlungsfeld",
                                                  "/massnahmen/1/geplante_kosten"]
    with pytest.raises(ValidationFailed):
        check_massnahmenplan([], 750_000)


def test_script_function_returns_messages_instead_of_raising():
    result = planung_pruefen(_plan("100"), 750_000)
    assert result["fehler"] and result["volumen_cents"] == 0
    ok = planung_pruefen(_plan("5000", "5000"), 750_000, "25.00")
    assert ok["fehler"] == [] and ok["volumen_cents"] == 1_000_000


def test_sixty_percent_spent_reclaims_forty_percent():
    result = abrechnung(750_000, 1_000_000, [
        {"handlungsfeld": "beratung", "ist_kosten": "4000"},
        {"handlungsfeld": "qualifizierung", "ist_kosten": "2000"}])
    assert (result.ist_kosten_cents, result.anerkannte_zuweisung_cents,
            result.rueckforderung_cents) == (600_000, 450_000, 300_000)
    assert result.ist_je_handlungsfeld == {"beratung": 400_000, "qualifizierung": 200_000}


def test_ineligible_spending_reduces_the_grant_and_cannot_exceed_the_spending():
    result = abrechnung(750_000, 1_000_000, [{"handlungsfeld": "beratung", "ist_kosten": "10000"}],
                        "2000")
    assert result.foerderfaehig_cents == 800_000 and result.rueckforderung_cents == 150_000
    with pytest.raises(ValidationFailed) as exc:
        abrechnung(750_000, 1_000_000, [{"handlungsfeld": "beratung", "ist_kosten": "10"}], "11")
    assert exc.value.errors[0].path == "/nicht_foerderfaehig"


@given(zuweisung=st.integers(750_000, 50_000_000), extra=st.integers(0, 50_000_000),
       spent=st.integers(0, 200_000_000))
def test_settlement_never_pays_more_than_the_grant_and_is_monotone(zuweisung, extra, spent):
    volumen = mindestvolumen_cents(zuweisung) + extra
    items = [{"handlungsfeld": "infrastruktur",
              "ist_kosten": f"{spent // 100},{spent % 100:02d}"}]
    a = abrechnung(zuweisung, volumen, items)
    assert 0 <= a.rueckforderung_cents <= zuweisung
    assert a.anerkannte_zuweisung_cents + a.rueckforderung_cents == zuweisung
    if spent >= volumen:
        assert a.rueckforderung_cents == 0
    more = abrechnung(zuweisung, volumen, [{"handlungsfeld": "infrastruktur",
                                            "ist_kosten": f"{spent // 100 + 1},{spent % 100:02d}"}])
    assert more.rueckforderung_cents <= a.rueckforderung_cents
