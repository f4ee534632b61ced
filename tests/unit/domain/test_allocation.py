import random
from collections import Counter
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.allocation import (
    Allocation,
    AllocationDifference,
    AllocationError,
    AllocationParameters,
    allocate,
    apportion,
    average_finanzkraft,
    compare,
    distribution_summary,
    eligible_funding_phase1,
    finanzkraft_factor,
    hfag_factor,
    reclaim_phase1,
    volumen_cents_for,
)
from app.domain.destatis import parse_directory
from app.domain.municipalities import SONDERSTATUS_STAEDTE, Landesteil, Municipality

DATA = Path(__file__).resolve().parents[3] / "data"  # shipped master data (data/README.md)

LANDESTEIL_BY_RB = {"4": Landesteil.SUED, "5": Landesteil.MITTEL, "6": Landesteil.NORD}


def muni(number, einwohner, status=None, rb="4"):
    ags = f"06{rb}{int(number):05d}"
    return Municipality(
        ags=ags,
        name=f"Gemeinde {ags}",
        kreis="Kreis",
        regierungsbezirk="x",
        landesteil=LANDESTEIL_BY_RB[rb],
        einwohner=einwohner,
        hfag_status=status,
    )


def zuweisungen(allocations):
    return {a.ags: a.zuweisung_cents for a in allocations}


# --------------------------------------------------------------------------- parameters


def test_parameter_defaults():
    p = AllocationParameters(budget_cents=1_600_000_000)
    assert p.sockel_cents == 750_000
    assert p.eigenanteil_percent == Decimal("25")
    assert p.min_volumen_cents == 1_000_000
    assert (p.hfag_klein, p.hfag_gross, p.hfag_mittelzentrum, p.hfag_sonderstatus) == (
        Decimal("1.00"),
        Decimal("1.09"),
        Decimal("1.30"),
        Decimal("1.58"),
    )
    assert p.hfag_threshold == 7500
    assert p.elasticity == Decimal(1)


@pytest.mark.parametrize(
    "overrides, error",
    [
        ({"budget_cents": 1.5}, TypeError),
        ({"budget_cents": -1}, ValueError),
        ({"sockel_cents": True}, TypeError),
        ({"eigenanteil_percent": 25.0}, TypeError),
        ({"eigenanteil_percent": Decimal(100)}, ValueError),
        ({"elasticity": Decimal(-1)}, ValueError),
        ({"g_min": Decimal(3)}, ValueError),
        ({"g_min": Decimal(0)}, ValueError),
        ({"hfag_gross": Decimal(0)}, ValueError),
        ({"g_max": Decimal("NaN")}, TypeError),
    ],
)
def test_parameter_validation(overrides, error):
    with pytest.raises(error):
        AllocationParameters(**{"budget_cents": 100, **overrides})


# --------------------------------------------------------------------------- formula parts


def test_hfag_factor_steps_and_status():
    p = AllocationParameters(budget_cents=0)
    assert hfag_factor(7499, None, p) == Decimal("1.00")
    assert hfag_factor(7500, None, p) == Decimal("1.09")
    assert hfag_factor(3000, "mittelzentrum", p) == Decimal("1.30")
    assert hfag_factor(3000, "sonderstatus", p) == Decimal("1.58")
    assert hfag_factor(90_000, "sonderstatus", p) == Decimal("1.58")
    with pytest.raises(ValueError):
        hfag_factor(100, "oberzentrum", p)


def test_finanzkraft_factor_falls_and_is_clamped():
    p = AllocationParameters(budget_cents=0)
    assert finanzkraft_factor(Decimal(1), p) == Decimal(1)
    assert finanzkraft_factor(Decimal("1.25"), p) == Decimal("0.8")
    assert finanzkraft_factor(Decimal("0.8"), p) == Decimal("1.25")
    assert finanzkraft_factor(Decimal("0.1"), p) == p.g_max
    assert finanzkraft_factor(Decimal("0"), p) == p.g_max
    assert finanzkraft_factor(Decimal("10"), p) == p.g_min
    assert finanzkraft_factor(Decimal("1.5"), p) == Decimal("0.666666666667")
    half = replace(p, elasticity=Decimal("0.5"))
    assert finanzkraft_factor(Decimal(4), half) == Decimal("0.5")
    assert finanzkraft_factor(Decimal("1.21"), half) == Decimal("0.909090909091")
    flat = replace(p, elasticity=Decimal(0))
    assert finanzkraft_factor(Decimal(7), flat) == Decimal(1)


def test_average_finanzkraft_is_population_weighted():
    ms = [muni("1", 1000), muni("2", 3000)]
    fk = {ms[0].ags: Decimal(500), ms[1].ags: Decimal(1500)}
    assert average_finanzkraft(ms, fk) == Decimal(1250)  # unweighted would be 1000


def test_volumen_rounded_up_with_minimum():
    p = AllocationParameters(budget_cents=0)
    assert volumen_cents_for(750_000, p) == 1_000_000
    assert volumen_cents_for(750_001, p) == 1_000_002  # 1,000,001.33 rounded up
    assert volumen_cents_for(1_500_000, p) == 2_000_000
    assert volumen_cents_for(0, p) == 1_000_000


def test_apportion_hare_with_tie_key():
    assert apportion(10, {"a": 1, "b": 1, "c": 1}, {"a": 0, "b": 0, "c": 0}) == {
        "a": 4,
        "b": 3,
        "c": 3,
    }
    assert apportion(10, {"a": 1, "b": 1, "c": 1}, {"a": 2, "b": 1, "c": 0}) == {
        "a": 3,
        "b": 3,
        "c": 4,
    }
    assert apportion(0, {"a": 0}, {"a": 0}) == {"a": 0}
    with pytest.raises(AllocationError):
        apportion(5, {"a": 0}, {"a": 0})


# --------------------------------------------------------------------------- allocate


def test_allocate_worked_example():
    """Rest 700 ct over weights 1000 : 8720 : 1580 (quotas 61.95, 540.18, 97.88)."""
    ms = [muni("1", 1000), muni("2", 8000), muni("3", 1000, "sonderstatus")]
    params = AllocationParameters(budget_cents=1000, sockel_cents=100)
    result = allocate(ms, {m.ags: Decimal(1000) for m in ms}, params)
    assert [(a.weight, a.zuweisung_cents) for a in result] == [
        (Decimal(1000), 162),
        (Decimal(8720), 640),
        (Decimal(1580), 198),
    ]
    assert [a.hfag_faktor for a in result] == [Decimal("1.00"), Decimal("1.09"), Decimal("1.58")]
    assert all(a.finanzkraft_faktor == 1 for a in result)
    # volume: zuweisung / 0.75 rounded up, but at least sockel / 0.75 = 134
    assert [(a.volumen_cents, a.eigenanteil_cents) for a in result] == [
        (216, 54),
        (854, 214),
        (264, 66),
    ]


def test_weaker_finanzkraft_gets_more():
    ms = [muni("1", 5000), muni("2", 5000)]
    fk = {ms[0].ags: Decimal(800), ms[1].ags: Decimal(1200)}  # average 1000
    result = allocate(ms, fk, AllocationParameters(budget_cents=2_000_000, sockel_cents=750_000))
    weak, strong = result
    assert weak.finanzkraft_faktor == Decimal("1.25")
    assert strong.finanzkraft_faktor == Decimal("0.833333333333")
    assert weak.zuweisung_cents > strong.zuweisung_cents
    assert weak.zuweisung_cents + strong.zuweisung_cents == 2_000_000


def test_status_override_mapping():
    ms = [muni("1", 1000), muni("2", 1000, "mittelzentrum")]
    fk = dict.fromkeys((m.ags for m in ms), Decimal(1000))
    params = AllocationParameters(budget_cents=2_000, sockel_cents=0)
    assert [a.zuweisung_cents for a in allocate(ms, fk, params)] == [870, 1130]
    overridden = allocate(ms, fk, params, hfag_status={ms[0].ags: "sonderstatus", ms[1].ags: None})
    assert [a.hfag_faktor for a in overridden] == [Decimal("1.58"), Decimal("1.00")]


def test_rest_zero_gives_everyone_the_sockel():
    ms = [muni(str(i), 100 * i) for i in range(1, 5)]
    result = allocate(ms, dict.fromkeys((m.ags for m in ms), 900), AllocationParameters(3_000_000))
    assert {a.zuweisung_cents for a in result} == {750_000}
    assert {a.volumen_cents for a in result} == {1_000_000}
    assert {a.eigenanteil_cents for a in result} == {250_000}


def test_missing_finanzkraft_lists_all_ags():
    ms = [muni("1", 100), muni("2", 100), muni("3", 100)]
    with pytest.raises(AllocationError) as info:
        allocate(ms, {ms[1].ags: Decimal(1)}, AllocationParameters(budget_cents=10**9))
    assert info.value.missing_ags == [ms[0].ags, ms[2].ags]
    assert ms[0].ags in str(info.value) and ms[2].ags in str(info.value)


def test_budget_too_small():
    ms = [muni("1", 100), muni("2", 100)]
    with pytest.raises(AllocationError, match="Budget zu klein"):
        allocate(ms, dict.fromkeys((m.ags for m in ms), 1), AllocationParameters(1_499_999))


@pytest.mark.parametrize(
    "municipalities, finanzkraft, error",
    [
        ([], {}, AllocationError),
        ([muni("1", 10), muni("1", 20)], {"06400001": 1}, AllocationError),
        ([muni("1", 10)], {"06400001": 1.0}, TypeError),
        ([muni("1", 10)], {"06400001": Decimal("-5")}, AllocationError),
        ([muni("1", 0)], {"06400001": 1}, AllocationError),
    ],
)
def test_invalid_inputs(municipalities, finanzkraft, error):
    with pytest.raises(error):
        allocate(municipalities, finanzkraft, AllocationParameters(budget_cents=10**8))


def test_ties_go_to_weaker_finanzkraft_then_ags():
    # g_min == g_max: g is clamped to 1 for everyone, so equal populations give equal weights
    ms = [muni("1", 1000), muni("2", 1000)]
    params = AllocationParameters(
        budget_cents=3, sockel_cents=0, g_min=Decimal(1), g_max=Decimal(1)
    )
    weaker_second = {ms[0].ags: Decimal(20), ms[1].ags: Decimal(10)}
    result = allocate(ms, weaker_second, params)
    assert result[0].weight == result[1].weight
    assert [a.zuweisung_cents for a in result] == [1, 2]  # leftover cent to lower Finanzkraft
    equal = dict.fromkeys(weaker_second, Decimal(10))
    assert [a.zuweisung_cents for a in allocate(ms, equal, params)] == [2, 1]  # then by AGS


# --------------------------------------------------------------------------- properties

statuses = st.sampled_from([None, None, None, "mittelzentrum", "sonderstatus"])
finanzkraft_values = st.integers(min_value=1, max_value=400_000).map(lambda c: Decimal(c) / 100)
entries = st.tuples(st.integers(min_value=1, max_value=300_000), statuses, finanzkraft_values)
parameters = st.builds(
    lambda sockel, extra, elasticity, g_min, span: (
        sockel,
        extra,
        {"elasticity": elasticity, "g_min": g_min, "g_max": g_min + span},
    ),
    st.integers(min_value=0, max_value=1_000_000),
    st.integers(min_value=0, max_value=10**10),
    st.sampled_from([Decimal(0), Decimal("0.5"), Decimal(1), Decimal(2)]),
    st.sampled_from([Decimal("0.1"), Decimal("0.5"), Decimal(1)]),
    st.sampled_from([Decimal(0), Decimal(1), Decimal(3), Decimal(100)]),
)


def build(entry_list, rbs=None):
    ms, fk = [], {}
    for i, (einwohner, status, f) in enumerate(entry_list):
        m = muni(str(i + 1), einwohner, status, rb=(rbs or "456")[i % 3])
        ms.append(m)
        fk[m.ags] = f
    return ms, fk


def make_params(n, param_tuple):
    sockel, extra, shape = param_tuple
    return AllocationParameters(budget_cents=n * sockel + extra, sockel_cents=sockel, **shape)


@settings(max_examples=100, deadline=None)
@given(st.lists(entries, min_size=1, max_size=10), parameters)
def test_property_sum_exact_and_sockel_floor(entry_list, param_tuple):
    ms, fk = build(entry_list)
    params = make_params(len(ms), param_tuple)
    result = allocate(ms, fk, params)
    assert sum(a.zuweisung_cents for a in result) == params.budget_cents
    assert all(a.zuweisung_cents >= params.sockel_cents for a in result)
    assert [a.ags for a in result] == sorted(m.ags for m in ms)
    for a in result:
        assert a.volumen_cents >= params.min_volumen_cents
        assert a.volumen_cents * 3 >= a.zuweisung_cents * 4  # share ≤ 75 %
        assert a.eigenanteil_cents == a.volumen_cents - a.zuweisung_cents
        assert params.g_min <= a.finanzkraft_faktor <= params.g_max


@settings(max_examples=100, deadline=None)
@given(
    st.lists(entries, min_size=0, max_size=8),
    st.integers(min_value=1, max_value=300_000),
    statuses,
    finanzkraft_values,
    finanzkraft_values,
    parameters,
)
def test_property_weaker_finanzkraft_never_gets_less(
    others, einwohner, status, fk_a, fk_b, param_tuple
):
    weak, strong = sorted([fk_a, fk_b])
    ms, fk = build([*others, (einwohner, status, weak), (einwohner, status, strong)])
    params = make_params(len(ms), param_tuple)
    by = zuweisungen(allocate(ms, fk, params))
    if weak < strong:
        assert by[ms[-2].ags] >= by[ms[-1].ags]
    else:  # identical inputs: equal weights, the leftover cent may go either way (by AGS)
        assert abs(by[ms[-2].ags] - by[ms[-1].ags]) <= 1


@settings(max_examples=100, deadline=None)
@given(st.lists(entries, min_size=1, max_size=10), parameters, st.randoms(use_true_random=False))
def test_property_order_does_not_matter(entry_list, param_tuple, rnd):
    ms, fk = build(entry_list)
    params = make_params(len(ms), param_tuple)
    expected = allocate(ms, fk, params)
    shuffled = list(ms)
    rnd.shuffle(shuffled)
    fk_shuffled = dict(sorted(fk.items(), key=lambda _: rnd.random()))
    assert allocate(shuffled, fk_shuffled, params) == expected


@settings(max_examples=100, deadline=None)
@given(
    st.integers(min_value=0, max_value=10**9),
    st.integers(min_value=1, max_value=10**9),
    st.integers(min_value=0, max_value=2 * 10**9),
)
def test_property_reclaim_bounds(zuweisung, volumen, spent):
    zuweisung = min(zuweisung, volumen)
    reclaim = reclaim_phase1(zuweisung, volumen, spent)
    assert 0 <= reclaim <= zuweisung
    if spent >= volumen:
        assert reclaim == 0
    funded = zuweisung - reclaim
    # the funded amount is the share of the spending rounded half up (or capped at the grant)
    exact2 = 2 * spent * zuweisung
    assert funded == zuweisung or (2 * funded - 1) * volumen <= exact2 < (2 * funded + 1) * volumen


# --------------------------------------------------------------------------- summary, compare


def test_distribution_summary():
    ms = [
        muni("1", 1000, rb="4"),
        muni("2", 8000, rb="4"),
        muni("3", 20_000, rb="5"),
        muni("4", 500, rb="6"),
    ]
    amounts = [100, 400, 200, 300]
    allocs = [Allocation(m.ags, Decimal(1), z, 0, 0) for m, z in zip(ms, amounts, strict=True)]
    s = distribution_summary(allocs, ms)
    assert (s.total.count, s.total.sum_cents, s.total.einwohner) == (4, 1000, 29_500)
    assert (s.total.min_cents, s.total.median_cents, s.total.max_cents) == (100, 250, 400)
    sued = s.by_landesteil[Landesteil.SUED]
    assert (sued.count, sued.sum_cents, sued.median_cents) == (2, 500, 250)
    assert s.by_landesteil[Landesteil.MITTEL].count == 1
    assert s.by_landesteil[Landesteil.NORD].sum_cents == 300
    assert (s.by_size_class["klein"].count, s.by_size_class["klein"].sum_cents) == (2, 400)
    assert (s.by_size_class["gross"].count, s.by_size_class["gross"].sum_cents) == (2, 600)
    assert s.by_size_class["gross"].euro_je_einwohner == Decimal("0.00")
    assert distribution_summary(allocs, ms, size_threshold=1000).by_size_class["klein"].count == 1
    empty = distribution_summary(allocs[:1], ms).by_landesteil[Landesteil.NORD]
    assert (empty.count, empty.min_cents, empty.median_cents, empty.euro_je_einwohner) == (
        0,
        None,
        None,
        None,
    )
    with pytest.raises(AllocationError):
        distribution_summary(allocs, ms[:2])


def test_median_even_count_rounds_half_up():
    ms = [muni("1", 1), muni("2", 1)]
    allocs = [
        Allocation(ms[0].ags, Decimal(1), 1, 0, 0),
        Allocation(ms[1].ags, Decimal(1), 2, 0, 0),
    ]
    assert distribution_summary(allocs, ms).total.median_cents == 2


def test_compare():
    previous = {"06400001": 1000, "06400002": 2000, "06400003": 500}
    current = {"06400001": 1000, "06400002": 1500, "06400004": 700}
    assert compare(previous, current) == [
        AllocationDifference("06400002", 2000, 1500, -500, Decimal("-25.00")),
        AllocationDifference("06400003", 500, None, -500, Decimal("-100.00")),
        AllocationDifference("06400004", None, 700, 700, None),
    ]
    assert len(compare(previous, current, include_unchanged=True)) == 4
    allocs = [Allocation("06400001", Decimal(1), 1100, 0, 0)]
    assert compare({"06400001": 1000}, allocs) == [
        AllocationDifference("06400001", 1000, 1100, 100, Decimal("10.00"))
    ]


# --------------------------------------------------------------------------- reclaim


def test_reclaim_brief_example():
    # 7,500 € allocation, 10,000 € volume, 6,000 € (60 %) spent → 4,500 € covered, 3,000 € back
    assert eligible_funding_phase1(750_000, 1_000_000, 600_000) == 450_000
    assert reclaim_phase1(750_000, 1_000_000, 600_000) == 300_000


@pytest.mark.parametrize(
    "args, expected",
    [
        ((750_000, 1_000_000, 1_000_000), 0),
        ((750_000, 1_000_000, 1_500_000), 0),  # overspending does not raise the grant
        ((750_000, 1_000_000, 0), 750_000),
        ((1, 3, 1), 1),  # covered 1/3 ct rounds to 0
        ((2, 3, 2), 1),  # covered 4/3 ct → 1 ct
        ((1, 2, 1), 0),  # covered 1/2 ct rounds half up to 1 ct
        ((1_000_000, 1_333_334, 1_000_000), 250_000),  # covered 749,999.6 ct → 750,000 ct
    ],
)
def test_reclaim_cases(args, expected):
    assert reclaim_phase1(*args) == expected


@pytest.mark.parametrize(
    "args, error",
    [
        ((100, 0, 0), ValueError),
        ((200, 100, 50), ValueError),
        ((-1, 100, 0), ValueError),
        ((100, 200, 50.0), TypeError),
    ],
)
def test_reclaim_validation(args, error):
    with pytest.raises(error):
        reclaim_phase1(*args)


# --------------------------------------------------------------------------- acceptance


@pytest.fixture(scope="module")
def hessen():
    source = DATA / "destatis_auszuggv_hessen.csv"
    return parse_directory(source.read_bytes(), source.name).municipalities


def synthetic_finanzkraft(municipalities, seed=2020):
    """Deterministic Finanzkraft je Einwohner around 1,000 € (600–1,600 €, whole cents)."""
    rng = random.Random(seed)
    return {m.ags: Decimal(rng.randint(60_000, 160_000)) / 100 for m in municipalities}


def test_acceptance_16_million_over_all_hessian_municipalities(hessen):
    assert len(hessen) == 422
    assert Counter(m.landesteil for m in hessen) == {
        Landesteil.SUED: 184,
        Landesteil.MITTEL: 101,
        Landesteil.NORD: 137,
    }
    ms = [
        replace(m, hfag_status="sonderstatus") if m.ags in SONDERSTATUS_STAEDTE else m
        for m in hessen
    ]
    fk = synthetic_finanzkraft(ms)
    params = AllocationParameters(budget_cents=1_600_000_000)
    result = allocate(ms, fk, params)

    assert len(result) == 422
    assert sum(a.zuweisung_cents for a in result) == 1_600_000_000
    assert all(a.zuweisung_cents >= 750_000 for a in result)
    assert all(a.volumen_cents >= 1_000_000 for a in result)
    assert all(a.eigenanteil_cents == a.volumen_cents - a.zuweisung_cents for a in result)
    by = zuweisungen(result)
    assert max(by, key=by.get) == "06412000"  # Frankfurt am Main
    assert sum(a.hfag_faktor == Decimal("1.58") for a in result) == 7

    summary = distribution_summary(result, ms)
    assert summary.total.count == 422
    assert summary.total.sum_cents == 1_600_000_000
    assert {lt: g.count for lt, g in summary.by_landesteil.items()} == {
        Landesteil.SUED: 184,
        Landesteil.MITTEL: 101,
        Landesteil.NORD: 137,
    }
    assert sum(g.sum_cents for g in summary.by_landesteil.values()) == 1_600_000_000
    assert sum(g.sum_cents for g in summary.by_size_class.values()) == 1_600_000_000
    assert summary.total.min_cents >= 750_000

    # same data again: identical; another year's Finanzkraft: differences, budget still exact
    assert allocate(list(reversed(ms)), fk, params) == result
    next_year = allocate(ms, synthetic_finanzkraft(ms, seed=2021), params)
    diffs = compare(by, next_year)
    assert diffs and sum(d.delta_cents for d in diffs) == 0
