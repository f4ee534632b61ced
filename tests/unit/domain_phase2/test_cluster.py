from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.cluster import (
    GROSS,
    KLEIN,
    BudgetLine,
    ClusterRules,
    MemberFacts,
    budget_totals,
    format_percent,
    min_eigenanteil_cents,
    size_class,
    validate_budget_plan,
    validate_cluster_application,
)
from app.domain.errors import ValidationFailed

RULES = ClusterRules()


def member(n: int, landesteil: str = "Süd", einwohner: int = 12_000) -> MemberFacts:
    return MemberFacts(ags=f"06{n:06d}", landesteil=landesteil, einwohner=einwohner)


LEAD = member(1)
PARTNERS = [member(n) for n in range(2, 6)]
# 2,000,000 € funding + 666,666.67 € Eigenanteil = 2,666,666.67 € (Eigenanteil ≥ 25 %)
FUNDING = 200_000_000
EIGEN = 66_666_667
VOLUME = FUNDING + EIGEN


def errors_of(**overrides) -> dict[str, str]:
    args = dict(
        lead=LEAD,
        partners=PARTNERS,
        requested_funding_cents=FUNDING,
        total_volume_cents=VOLUME,
        eigenanteil_cents=EIGEN,
        rules=RULES,
    )
    args.update(overrides)
    try:
        validate_cluster_application(**args)
    except ValidationFailed as exc:
        assert exc.code == "validation_failed"
        return {e.path: e.message for e in exc.errors}
    return {}


def test_defaults():
    assert RULES.members == 5
    assert RULES.size_threshold == 7500
    assert RULES.max_funding_cents == 250_000_000
    assert RULES.eigenanteil_min_percent == Decimal("25")
    assert RULES.term_months == 24


def test_valid_cluster_passes():
    assert errors_of() == {}


def test_size_class_threshold():
    assert size_class(7499) == KLEIN
    assert size_class(7500) == GROSS
    assert size_class(100, threshold=50) == GROSS
    with pytest.raises(ValueError):
        size_class(-1)


def test_wrong_member_count():
    errs = errors_of(partners=PARTNERS[:3])
    assert list(errs) == ["/partner"]
    assert "genau 5 Kommunen" in errs["/partner"]
    assert "/partner" in errors_of(partners=PARTNERS + [member(6)])


def test_duplicate_municipality():
    partners = [PARTNERS[0], PARTNERS[1], member(1), PARTNERS[1]]
    errs = errors_of(partners=partners)
    assert set(errs) == {"/partner/2/ags", "/partner/3/ags"}
    assert "06000001" in errs["/partner/2/ags"]
    assert "federführende Kommune" in errs["/partner/2/ags"]


def test_mixed_landesteil_and_size_reported_together():
    partners = [PARTNERS[0], member(3, "Nord"), member(4, einwohner=7499), PARTNERS[3]]
    errs = errors_of(partners=partners)
    assert set(errs) == {"/partner/1/landesteil", "/partner/2/einwohner"}
    assert "Nord" in errs["/partner/1/landesteil"] and "Süd" in errs["/partner/1/landesteil"]
    assert "7.499" in errs["/partner/2/einwohner"]
    assert "„klein“" in errs["/partner/2/einwohner"]
    assert "7.500" in errs["/partner/2/einwohner"]


def test_small_cluster_is_valid():
    small = [member(n, "Nord", 3000 + n) for n in range(1, 6)]
    assert errors_of(lead=small[0], partners=small[1:]) == {}


def test_invalid_member_facts():
    bad = MemberFacts(ags="07123", landesteil="Ost", einwohner=0)
    errs = errors_of(partners=[bad] + PARTNERS[1:])
    assert set(errs) == {"/partner/0/ags", "/partner/0/landesteil", "/partner/0/einwohner"}


def test_invalid_lead_uses_partner_as_reference():
    lead = MemberFacts(ags="06000001", landesteil="???", einwohner=12_000)
    partners = [PARTNERS[0], member(3, "Nord"), PARTNERS[2], PARTNERS[3]]
    errs = errors_of(lead=lead, partners=partners)
    assert set(errs) == {"/federfuehrend/landesteil", "/partner/1/landesteil"}


def test_funding_limit():
    limit = RULES.max_funding_cents
    ok = errors_of(
        requested_funding_cents=limit,
        eigenanteil_cents=100_000_000,
        total_volume_cents=limit + 100_000_000,
    )
    assert ok == {}
    errs = errors_of(
        requested_funding_cents=limit + 1,
        eigenanteil_cents=100_000_000,
        total_volume_cents=limit + 1 + 100_000_000,
    )
    assert list(errs) == ["/foerdersumme"]
    assert "2.500.000,00 €" in errs["/foerdersumme"]
    assert "2.500.000,01 €" in errs["/foerdersumme"]


def test_eigenanteil_boundaries():
    # exactly 25 % accepted
    assert errors_of(requested_funding_cents=75_000, eigenanteil_cents=25_000,
                     total_volume_cents=100_000) == {}
    # 24.9 % refused
    errs = errors_of(requested_funding_cents=75_100, eigenanteil_cents=24_900,
                     total_volume_cents=100_000)
    assert list(errs) == ["/eigenanteil"]
    assert "25 %" in errs["/eigenanteil"] and "24,90 %" in errs["/eigenanteil"]
    assert "250,00 €" in errs["/eigenanteil"]
    # one cent below an exact quarter refused
    errs = errors_of(requested_funding_cents=300_001, eigenanteil_cents=99_999,
                     total_volume_cents=400_000)
    assert list(errs) == ["/eigenanteil"]


def test_sum_must_match_volume():
    errs = errors_of(total_volume_cents=VOLUME + 1)
    assert "/gesamtvolumen" in errs
    assert "entsprechen" in errs["/gesamtvolumen"]


def test_all_problems_at_once():
    errs = errors_of(
        partners=[PARTNERS[0], member(3, "Mittel")],
        requested_funding_cents=300_000_000,
        eigenanteil_cents=1,
        total_volume_cents=5,
    )
    assert {"/partner", "/partner/1/landesteil", "/foerdersumme", "/eigenanteil",
            "/gesamtvolumen"} <= set(errs)


def test_non_positive_amounts():
    errs = errors_of(requested_funding_cents=0, eigenanteil_cents=-1, total_volume_cents=0)
    assert set(errs) == {"/foerdersumme", "/eigenanteil", "/gesamtvolumen"}


def test_float_amounts_refused():
    with pytest.raises(TypeError):
        validate_cluster_application(LEAD, PARTNERS, 1.0, VOLUME, EIGEN)


def test_configurable_rules():
    rules = ClusterRules.from_mapping({"members": 3, "eigenanteil_min_percent": "30"})
    assert rules.eigenanteil_min_percent == Decimal("30")
    assert errors_of(partners=PARTNERS[:2], rules=rules, requested_funding_cents=70,
                     eigenanteil_cents=30, total_volume_cents=100) == {}
    with pytest.raises(ValueError):
        ClusterRules.from_mapping({"unbekannt": 1})
    with pytest.raises(ValueError):
        ClusterRules(members=1)
    with pytest.raises(TypeError):
        ClusterRules(eigenanteil_min_percent=25.0)


@given(
    volume=st.integers(min_value=1, max_value=10**12),
    eigen=st.integers(min_value=0, max_value=10**12),
)
def test_eigenanteil_rule_matches_exact_arithmetic(volume, eigen):
    eigen = min(eigen, volume)
    funding = volume - eigen
    errs = errors_of(
        requested_funding_cents=max(funding, 1),
        total_volume_cents=volume,
        eigenanteil_cents=eigen,
        rules=ClusterRules(max_funding_cents=10**13),
    )
    assert ("/eigenanteil" in errs) == (eigen * 4 < volume)
    assert (eigen >= min_eigenanteil_cents(volume)) == (eigen * 4 >= volume)


def test_format_percent():
    assert format_percent(Decimal("24.9")) == "24,90 %"
    assert format_percent(Decimal("25"), 0) == "25 %"


# --- budget plan ---------------------------------------------------------------------------


def test_budget_totals():
    lines = [
        {"jahr": 2026, "kostenart": "Personal", "betrag_cents": 100},
        {"jahr": 2025, "kostenart": "Sachkosten", "betrag_cents": 250},
        BudgetLine(2026, "Investitionen", 1_000),
        {"jahr": 2025, "kostenart": "Personal", "betrag_cents": 1},
    ]
    totals = budget_totals(lines)
    assert totals.per_year == {2025: 251, 2026: 1_100}
    assert list(totals.per_year) == [2025, 2026]
    assert totals.per_kostenart == {"Personal": 101, "Sachkosten": 250, "Investitionen": 1_000}
    assert totals.total == 1_351


def test_budget_totals_empty():
    totals = budget_totals([])
    assert totals.total == 0 and totals.per_year == {}
    assert totals.per_kostenart == {"Personal": 0, "Sachkosten": 0, "Investitionen": 0}


def test_budget_totals_reports_all_bad_lines():
    with pytest.raises(ValidationFailed) as info:
        budget_totals(
            [
                {"jahr": "2025", "kostenart": "Reisen", "betrag_cents": -1},
                {"jahr": 2025, "kostenart": "Personal", "betrag_cents": 1.5},
            ]
        )
    paths = [e.path for e in info.value.errors]
    assert paths == [
        "/finanzplan/0/jahr",
        "/finanzplan/0/kostenart",
        "/finanzplan/0/betrag_cents",
        "/finanzplan/1/betrag_cents",
    ]


def test_validate_budget_plan():
    lines = [BudgetLine(2025, "Personal", 600), BudgetLine(2027, "Sachkosten", 400)]
    with pytest.raises(ValidationFailed) as info:
        validate_budget_plan(lines, 1_001, years=[2025, 2026])
    assert [e.path for e in info.value.errors] == ["/finanzplan/1/jahr", "/finanzplan"]
    assert validate_budget_plan(lines, 1_000).total == 1_000


lines_strategy = st.lists(
    st.builds(
        BudgetLine,
        jahr=st.integers(2020, 2030),
        kostenart=st.sampled_from(["Personal", "Sachkosten", "Investitionen"]),
        betrag_cents=st.integers(0, 10**10),
    ),
    max_size=30,
)


@given(lines_strategy)
def test_budget_totals_consistent(lines):
    totals = budget_totals(lines)
    assert sum(totals.per_year.values()) == totals.total
    assert sum(totals.per_kostenart.values()) == totals.total
    assert totals.total == sum(line.betrag_cents for line in lines)
