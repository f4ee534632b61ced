from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.errors import BudgetExceeded, ValidationFailed
from app.domain.evaluation import (
    CRITERIA_LABELS,
    DEFAULT_CRITERIA,
    DEFAULT_QUOTA,
    DEFAULT_WEIGHTS,
    MIN_JUSTIFICATION_LENGTH,
    Candidate,
    aggregate_evaluations,
    aggregate_score,
    apply_override,
    rank_applications,
    validate_weights,
    weighted_score,
)

T0 = datetime(2025, 3, 1, 9, 0)
JUSTIFICATION = "Thematische Ausgewogenheit zwischen den Landesteilen sichern."


def cand(cid, lt="Süd", sc="klein", score="50", cents=200_000_000, minutes=0):
    return Candidate(cid, lt, sc, Decimal(score), cents, T0 + timedelta(minutes=minutes))


def full(value: int) -> dict[str, int]:
    return dict.fromkeys(DEFAULT_WEIGHTS, value)


# --- criteria and scores ---------------------------------------------------------------------


def test_default_criteria():
    assert sum(DEFAULT_WEIGHTS.values()) == 100
    assert [c.label for c in DEFAULT_CRITERIA] == [
        "Innovationsgrad",
        "Nutzen für Bürgerinnen und Bürger",
        "Übertragbarkeit",
        "Interkommunale Zusammenarbeit",
        "Nachhaltigkeit",
        "Dokumentation der Ergebnisse",
    ]
    assert set(CRITERIA_LABELS) == set(DEFAULT_WEIGHTS)
    validate_weights(DEFAULT_WEIGHTS)


def test_weighted_score_extremes_and_example():
    assert weighted_score(full(0)) == Decimal("0.00")
    assert weighted_score(full(10)) == Decimal("100.00")
    assert weighted_score(full(7)) == Decimal("70.00")
    scores = full(5) | {"innovation": 10}  # 20 % weight: 5*80 + 10*20 = 600 -> 60 points
    assert weighted_score(scores) == Decimal("60.00")


def test_weighted_score_custom_weights_and_rounding():
    weights = {"a": 33, "b": 33, "c": 34}
    # (1*33 + 0 + 0) * 100 / (100 * 10) = 3.3
    assert weighted_score({"a": 1, "b": 0, "c": 0}, weights) == Decimal("3.30")
    weights = {"a": Decimal("33.3"), "b": Decimal("33.3"), "c": Decimal("33.4")}
    assert weighted_score({"a": 1, "b": 0, "c": 0}, weights) == Decimal("3.33")


def test_weighted_score_validates_all_problems():
    scores = full(5) | {"innovation": 11, "nutzen": -1, "extra": 3}
    del scores["nachhaltigkeit"]
    scores["dokumentation"] = 2.5
    with pytest.raises(ValidationFailed) as info:
        weighted_score(scores)
    msgs = {e.path: e.message for e in info.value.errors}
    assert set(msgs) == {"/innovation", "/nutzen", "/extra", "/nachhaltigkeit", "/dokumentation"}
    assert "Innovationsgrad" in msgs["/innovation"]
    assert "fehlt" in msgs["/nachhaltigkeit"]


def test_weights_must_sum_to_100():
    with pytest.raises(ValidationFailed):
        validate_weights({"a": 50, "b": 49})
    with pytest.raises(ValidationFailed):
        validate_weights({"a": 110, "b": -10})
    with pytest.raises(ValidationFailed):
        validate_weights({"a": 100.0})
    with pytest.raises(ValidationFailed):
        validate_weights({})


def test_aggregate_mean_of_evaluators():
    agg = aggregate_evaluations([full(6), full(9), full(9) | {"innovation": 0}])
    # 60 + 90 + (90 - 18) = 222 / 3 = 74
    assert agg.score == Decimal("74.00")
    assert agg.evaluator_count == 3
    assert agg.per_criterion["innovation"] == Decimal("5.00")
    assert agg.per_criterion["nutzen"] == Decimal("8.00")
    assert aggregate_score([full(1), full(2)]) == Decimal("15.00")
    # rounding happens once, after averaging
    assert aggregate_score([full(1), full(1), full(2)]) == Decimal("13.33")


def test_aggregate_errors():
    with pytest.raises(ValidationFailed):
        aggregate_evaluations([])
    with pytest.raises(ValidationFailed) as info:
        aggregate_evaluations([full(5), full(5) | {"innovation": 12}])
    assert [e.path for e in info.value.errors] == ["/bewertungen/1/innovation"]


@given(st.fixed_dictionaries({c: st.integers(0, 10) for c in DEFAULT_WEIGHTS}))
def test_weighted_score_range(scores):
    s = weighted_score(scores)
    assert Decimal(0) <= s <= Decimal(100)
    assert min(scores.values()) * 10 <= s <= max(scores.values()) * 10


# --- ranking ---------------------------------------------------------------------------------


def test_default_quota():
    assert len(DEFAULT_QUOTA) == 6
    assert set(DEFAULT_QUOTA.values()) == {1}
    assert ("Mittel", "groß") in DEFAULT_QUOTA


def test_best_per_group_selected():
    apps = [
        cand("a", score="70"),
        cand("b", score="80"),
        cand("c", lt="Nord", sc="groß", score="40"),
        cand("d", lt="Nord", sc="groß", score="90"),
        cand("e", lt="Mittel", score="10"),
    ]
    sel = rank_applications(apps)
    assert sel.selected == ("d", "b", "e")
    assert sel.not_selected == {"a": "rank", "c": "rank"}
    assert [(e.id, e.rank, e.selected) for e in sel.ranking[("Süd", "klein")]] == [
        ("b", 1, True),
        ("a", 2, False),
    ]
    assert list(sel.ranking) == [("Süd", "klein"), ("Mittel", "klein"), ("Nord", "groß")]
    assert sel.ranking[("Süd", "klein")][1].reason == "rank"
    assert sel.allocated_cents == 600_000_000
    assert sel.budget_cents is None and sel.remaining_cents is None
    assert not sel.overridden and sel.justification is None


def test_tiebreak_submission_then_id():
    apps = [
        cand("z", score="75", minutes=5),
        cand("y", score="75", minutes=1),
        cand("x", score="75", minutes=1),
    ]
    sel = rank_applications(apps)
    assert [e.id for e in sel.ranking[("Süd", "klein")]] == ["x", "y", "z"]
    assert sel.selected == ("x",)


def test_budget_skips_to_next_that_fits():
    apps = [
        cand("big", score="95", cents=250_000_000),
        cand("small", score="60", cents=100_000_000),
        cand("nord", lt="Nord", score="99", cents=200_000_000),
    ]
    sel = rank_applications(apps, budget_cents=320_000_000)
    # nord (99) first: 200 M -> remaining 120 M; big does not fit -> budget; small fits
    assert sel.selected == ("nord", "small")
    assert sel.not_selected == {"big": "budget"}
    assert sel.allocated_cents == 300_000_000
    assert sel.remaining_cents == 20_000_000
    entry = sel.entry("big")
    assert entry.rank == 1 and entry.reason == "budget" and not entry.selected
    assert sel.group_of("nord") == ("Nord", "klein")


def test_custom_quota_and_missing_group():
    apps = [cand("a", score="9"), cand("b", score="8"), cand("c", score="7"),
            cand("m", lt="Mittel", sc="groß")]
    sel = rank_applications(apps, quota={("Süd", "klein"): 2})
    assert sel.selected == ("a", "b")
    assert sel.not_selected == {"c": "rank", "m": "rank"}


def test_invalid_candidates():
    with pytest.raises(ValidationFailed) as info:
        rank_applications(
            [cand("a"), cand("a"), cand("b", lt="Ost", sc="mittel", cents=-5)]
        )
    paths = {e.path for e in info.value.errors}
    assert paths == {"/antraege/1/id", "/antraege/2/landesteil", "/antraege/2/size_class",
                     "/antraege/2/requested_cents"}
    with pytest.raises(ValidationFailed):
        rank_applications([Candidate("f", "Süd", "klein", 1.5, 1, T0)])
    with pytest.raises(ValueError):
        rank_applications([cand("a")], budget_cents=-1)


candidates = st.lists(
    st.builds(
        Candidate,
        id=st.text("abcdef", min_size=1, max_size=3),
        landesteil=st.sampled_from(["Süd", "Mittel", "Nord"]),
        size_class=st.sampled_from(["klein", "groß"]),
        score=st.integers(0, 20).map(lambda i: Decimal(i) / 2),
        requested_cents=st.integers(0, 300),
        submitted_at=st.integers(0, 5).map(lambda m: T0 + timedelta(minutes=m)),
    ),
    max_size=25,
    unique_by=lambda c: c.id,
)


@settings(max_examples=150)
@given(candidates, st.randoms(use_true_random=False), st.none() | st.integers(0, 1000))
def test_ranking_deterministic_under_shuffling(apps, rnd, budget):
    first = rank_applications(apps, budget_cents=budget)
    shuffled = list(apps)
    rnd.shuffle(shuffled)
    second = rank_applications(shuffled, budget_cents=budget)
    assert first == second


@settings(max_examples=150)
@given(candidates, st.none() | st.integers(0, 1000))
def test_ranking_invariants(apps, budget):
    sel = rank_applications(apps, budget_cents=budget)
    by_id = {c.id: c for c in apps}
    assert set(sel.selected) | set(sel.not_selected) == set(by_id)
    assert not set(sel.selected) & set(sel.not_selected)
    assert sel.allocated_cents == sum(by_id[i].requested_cents for i in sel.selected)
    if budget is not None:
        assert sel.allocated_cents <= budget
    for group, entries in sel.ranking.items():
        assert [e.rank for e in entries] == list(range(1, len(entries) + 1))
        assert sum(e.selected for e in entries) <= DEFAULT_QUOTA[group]
        scores = [e.score for e in entries]
        assert scores == sorted(scores, reverse=True)
        # nobody is left out for rank while the group still has room
        if sum(e.selected for e in entries) < DEFAULT_QUOTA[group]:
            assert all(e.reason != "rank" for e in entries)
        # a budget-skipped application really did not fit at its turn (it does not fit now)
        for e in entries:
            if e.reason == "budget":
                assert budget is not None and e.requested_cents > budget - sel.allocated_cents


# --- overrides (Ermessen) --------------------------------------------------------------------


def base_selection():
    apps = [cand("a", score="80"), cand("b", score="70", cents=100_000_000),
            cand("n", lt="Nord", score="60")]
    return rank_applications(apps, budget_cents=450_000_000)


def test_override_swaps_with_justification():
    sel = base_selection()
    assert sel.selected == ("a", "n")
    new = apply_override(sel, add=["b"], remove=["a"], justification=JUSTIFICATION)
    assert new.selected == ("n", "b")
    assert new.not_selected == {"a": "override"}
    assert new.overridden and new.justification == JUSTIFICATION
    assert new.overrides[0].add == ("b",) and new.overrides[0].remove == ("a",)
    assert new.entry("b").selected and new.entry("b").reason is None
    assert new.entry("a").reason == "override"
    assert new.allocated_cents == 300_000_000
    # the original is unchanged
    assert sel.selected == ("a", "n") and not sel.overridden


def test_override_requires_justification():
    sel = base_selection()
    for text in ("", "   ", "zu kurz", "x" * (MIN_JUSTIFICATION_LENGTH - 1)):
        with pytest.raises(ValidationFailed) as info:
            apply_override(sel, add=["b"], justification=text)
        assert info.value.errors[0].path == "/begruendung"
        assert "Begründung" in info.value.errors[0].message
    apply_override(sel, remove=["a"], justification="x" * MIN_JUSTIFICATION_LENGTH)


def test_override_validates_ids():
    sel = base_selection()
    with pytest.raises(ValidationFailed) as info:
        apply_override(sel, add=["zzz", "a"], remove=["b"], justification=JUSTIFICATION)
    assert [e.path for e in info.value.errors] == [
        "/aufnehmen/0", "/aufnehmen/1", "/herausnehmen/0"
    ]
    with pytest.raises(ValidationFailed):
        apply_override(sel, justification=JUSTIFICATION)


def test_override_cannot_exceed_budget():
    sel = base_selection()  # allocated 400 M of 450 M
    with pytest.raises(BudgetExceeded) as info:
        apply_override(sel, add=["b"], justification=JUSTIFICATION)
    assert "4.500.000,00 €" in info.value.message
    assert info.value.code == "budget_exceeded"


def test_overrides_accumulate():
    sel = base_selection()
    once = apply_override(sel, remove=["n"], justification=JUSTIFICATION)
    twice = apply_override(once, add=["b"], justification="Zweite Begründung mit Länge.")
    assert twice.selected == ("a", "b")
    assert len(twice.overrides) == 2
    assert twice.justification == "Zweite Begründung mit Länge."
