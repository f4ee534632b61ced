"""Phase 2: comparative evaluation (vergleichende Bewertung) and selection of clusters.

Evaluators score each criterion 0–10; the weighted score is on a 0–100 scale. Applications
are ranked per group (Landesteil × Größenklasse); each group has a quota (default: one cluster
per Landesteil and size class) and all selections together must fit the call budget.
Overrides of the ranking (Ermessen) need a recorded justification.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from app.domain.cluster import LANDESTEILE, SIZE_CLASSES
from app.domain.errors import BudgetExceeded, FieldError, ValidationFailed, pointer
from app.domain.money import format_euro

SCORE_MIN = 0
SCORE_MAX = 10
MIN_JUSTIFICATION_LENGTH = 20
SCORE_QUANT = Decimal("0.01")

REASON_RANK = "rank"
REASON_BUDGET = "budget"
REASON_OVERRIDE = "override"


@dataclass(frozen=True)
class Criterion:
    code: str
    label: str
    weight: int
    description: str = ""


DEFAULT_CRITERIA: tuple[Criterion, ...] = (
    Criterion(
        "innovation",
        "Innovationsgrad",
        20,
        "Wie neuartig ist der Ansatz für hessische Kommunen?",
    ),
    Criterion(
        "nutzen",
        "Nutzen für Bürgerinnen und Bürger",
        25,
        "Welchen konkreten Mehrwert haben Bürgerinnen, Bürger und Unternehmen?",
    ),
    Criterion(
        "uebertragbarkeit",
        "Übertragbarkeit",
        20,
        "Lässt sich das Ergebnis von anderen Kommunen nachnutzen (Blaupause)?",
    ),
    Criterion(
        "zusammenarbeit",
        "Interkommunale Zusammenarbeit",
        15,
        "Wie eng und verbindlich arbeiten die Kommunen des Clusters zusammen?",
    ),
    Criterion(
        "nachhaltigkeit",
        "Nachhaltigkeit",
        10,
        "Ist der Betrieb nach Ende der Förderung gesichert?",
    ),
    Criterion(
        "dokumentation",
        "Dokumentation der Ergebnisse",
        10,
        "Werden die Ergebnisse als Best Practice nachvollziehbar dokumentiert?",
    ),
)

CRITERIA_LABELS: dict[str, str] = {c.code: c.label for c in DEFAULT_CRITERIA}
DEFAULT_WEIGHTS: dict[str, int] = {c.code: c.weight for c in DEFAULT_CRITERIA}

DEFAULT_QUOTA: dict[tuple[str, str], int] = {
    (lt, sc): 1 for lt in LANDESTEILE for sc in SIZE_CLASSES
}


def _label(code: str) -> str:
    return CRITERIA_LABELS.get(code, code)


def _not_int(value: object) -> bool:
    return isinstance(value, bool) or not isinstance(value, int)


def validate_weights(weights: Mapping[str, int | Decimal]) -> None:
    """Weights must be non-negative numbers (no floats) that add up to 100."""
    errors: list[FieldError] = []
    if not weights:
        errors.append(FieldError("/gewichte", "Es ist kein Bewertungskriterium gewichtet."))
    for code, w in weights.items():
        if isinstance(w, bool) or not isinstance(w, int | Decimal) or w < 0:
            errors.append(
                FieldError(
                    pointer("gewichte", code),
                    f"Die Gewichtung des Kriteriums „{_label(code)}“ muss eine nicht "
                    f"negative Zahl sein.",
                )
            )
    if not errors and sum(Decimal(w) for w in weights.values()) != 100:
        total = sum(Decimal(w) for w in weights.values())
        errors.append(
            FieldError(
                "/gewichte",
                f"Die Gewichtungen müssen zusammen 100 ergeben (derzeit {total}).",
            )
        )
    if errors:
        raise ValidationFailed("Die Gewichtung der Bewertungskriterien ist fehlerhaft.", errors)


def _exact_score(
    scores: Mapping[str, int], weights: Mapping[str, int | Decimal], base: str = ""
) -> Fraction:
    validate_weights(weights)
    errors: list[FieldError] = []
    for code in weights:
        if code not in scores:
            errors.append(
                FieldError(
                    f"{base}{pointer(code)}",
                    f"Für das Kriterium „{_label(code)}“ fehlt die Bewertung.",
                )
            )
    for code, value in scores.items():
        if code not in weights:
            errors.append(
                FieldError(
                    f"{base}{pointer(code)}",
                    f"„{_label(code)}“ ist kein Bewertungskriterium dieses Förderaufrufs.",
                )
            )
        elif _not_int(value) or not SCORE_MIN <= value <= SCORE_MAX:
            errors.append(
                FieldError(
                    f"{base}{pointer(code)}",
                    f"Die Bewertung für „{_label(code)}“ muss eine ganze Zahl von "
                    f"{SCORE_MIN} bis {SCORE_MAX} sein.",
                )
            )
    if errors:
        raise ValidationFailed("Die Bewertung ist unvollständig oder fehlerhaft.", errors)
    total_weight = sum(Fraction(w) for w in weights.values())
    weighted = sum(Fraction(scores[c]) * Fraction(w) for c, w in weights.items())
    # 0..SCORE_MAX per criterion -> 0..100 points
    return weighted * 100 / (total_weight * SCORE_MAX)


def _to_decimal(value: Fraction) -> Decimal:
    d = Decimal(value.numerator) / Decimal(value.denominator)
    return d.quantize(SCORE_QUANT, rounding=ROUND_HALF_UP)


def weighted_score(
    scores: Mapping[str, int], weights: Mapping[str, int | Decimal] | None = None
) -> Decimal:
    """Weighted score on a 0–100 scale (two decimals, half-up) from criterion scores 0–10.

    >>> weighted_score({c: 10 for c in DEFAULT_WEIGHTS})
    Decimal('100.00')
    """
    return _to_decimal(_exact_score(scores, DEFAULT_WEIGHTS if weights is None else weights))


@dataclass(frozen=True)
class Aggregate:
    score: Decimal
    per_criterion: dict[str, Decimal]
    evaluator_count: int


def aggregate_evaluations(
    evaluations: Sequence[Mapping[str, int]],
    weights: Mapping[str, int | Decimal] | None = None,
) -> Aggregate:
    """Mean over several evaluators: overall score (0–100) and mean per criterion (0–10)."""
    weights = DEFAULT_WEIGHTS if weights is None else weights
    if not evaluations:
        raise ValidationFailed(
            "Es liegt noch keine Bewertung vor.",
            [FieldError("/bewertungen", "Mindestens eine Gutachterbewertung ist erforderlich.")],
        )
    exact: list[Fraction] = []
    errors: list[FieldError] = []
    for i, ev in enumerate(evaluations):
        try:
            exact.append(_exact_score(ev, weights, pointer("bewertungen", i)))
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(
            "Mindestens eine Bewertung ist unvollständig oder fehlerhaft.", errors
        )
    n = len(evaluations)
    per_criterion = {
        code: _to_decimal(Fraction(sum(ev[code] for ev in evaluations), n)) for code in weights
    }
    return Aggregate(_to_decimal(sum(exact, Fraction(0)) / n), per_criterion, n)


def aggregate_score(
    evaluations: Sequence[Mapping[str, int]],
    weights: Mapping[str, int | Decimal] | None = None,
) -> Decimal:
    """Mean weighted score over several evaluators (0–100, two decimals)."""
    return aggregate_evaluations(evaluations, weights).score


# --- ranking and selection ---------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    id: str
    landesteil: str
    size_class: str
    score: Decimal
    requested_cents: int
    submitted_at: datetime


@dataclass(frozen=True)
class RankEntry:
    id: str
    rank: int
    score: Decimal
    requested_cents: int
    selected: bool
    reason: str | None = None  # None if selected, else "rank", "budget" or "override"


@dataclass(frozen=True)
class Override:
    add: tuple[str, ...]
    remove: tuple[str, ...]
    justification: str


@dataclass(frozen=True)
class Selection:
    selected: tuple[str, ...]
    ranking: dict[tuple[str, str], tuple[RankEntry, ...]]
    not_selected: dict[str, str]
    budget_cents: int | None
    allocated_cents: int
    overrides: tuple[Override, ...] = field(default=())

    @property
    def overridden(self) -> bool:
        return bool(self.overrides)

    @property
    def justification(self) -> str | None:
        """Justification of the latest override (all are kept in ``overrides``)."""
        return self.overrides[-1].justification if self.overrides else None

    @property
    def remaining_cents(self) -> int | None:
        return None if self.budget_cents is None else self.budget_cents - self.allocated_cents

    def entry(self, candidate_id: str) -> RankEntry:
        for entries in self.ranking.values():
            for e in entries:
                if e.id == candidate_id:
                    return e
        raise KeyError(candidate_id)

    def group_of(self, candidate_id: str) -> tuple[str, str]:
        for group, entries in self.ranking.items():
            if any(e.id == candidate_id for e in entries):
                return group
        raise KeyError(candidate_id)


def _sort_key(c: Candidate) -> tuple[Decimal, datetime, str]:
    return (-Decimal(c.score), c.submitted_at, c.id)


def _validate_candidates(apps: Sequence[Candidate]) -> None:
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, c in enumerate(apps):
        base = pointer("antraege", i)
        if c.id in seen:
            errors.append(FieldError(f"{base}/id", f"Der Antrag {c.id} ist doppelt aufgeführt."))
        seen.add(c.id)
        if c.landesteil not in LANDESTEILE:
            errors.append(
                FieldError(
                    f"{base}/landesteil",
                    f"Antrag {c.id}: Der Landesteil muss einer von {', '.join(LANDESTEILE)} sein.",
                )
            )
        if c.size_class not in SIZE_CLASSES:
            errors.append(
                FieldError(
                    f"{base}/size_class",
                    f"Antrag {c.id}: Die Größenklasse muss „klein“ oder „groß“ sein.",
                )
            )
        if isinstance(c.score, bool | float) or not isinstance(c.score, int | Decimal):
            errors.append(
                FieldError(
                    f"{base}/score",
                    f"Antrag {c.id}: Die Punktzahl muss als Dezimalzahl angegeben werden.",
                )
            )
        if _not_int(c.requested_cents) or c.requested_cents < 0:
            errors.append(
                FieldError(
                    f"{base}/requested_cents",
                    f"Antrag {c.id}: Die beantragte Fördersumme muss ein nicht negativer "
                    f"Betrag in Cent sein.",
                )
            )
    if errors:
        raise ValidationFailed("Die Anträge können nicht gereiht werden.", errors)


def rank_applications(
    apps: Iterable[Candidate],
    quota: Mapping[tuple[str, str], int] | None = None,
    budget_cents: int | None = None,
) -> Selection:
    """Rank applications per (Landesteil, Größenklasse) and select within quota and budget.

    Order: higher score first, then earlier submission, then id (fully deterministic). All
    candidates are visited in this global order; a candidate is selected if its group's quota
    is not yet filled and its requested amount fits the remaining budget, otherwise it is
    skipped with reason ``"rank"`` (quota filled) or ``"budget"`` (does not fit) and the next
    one is tried. Groups not in ``quota`` have quota 0. ``budget_cents=None``: no budget limit.
    """
    apps = list(apps)
    _validate_candidates(apps)
    quota = DEFAULT_QUOTA if quota is None else quota
    if budget_cents is not None and (_not_int(budget_cents) or budget_cents < 0):
        raise ValueError("Das Budget muss ein nicht negativer Betrag in Cent sein.")

    ordered = sorted(apps, key=_sort_key)
    filled: dict[tuple[str, str], int] = {}
    remaining = budget_cents
    selected: list[str] = []
    reasons: dict[str, str] = {}
    allocated = 0
    for c in ordered:
        group = (c.landesteil, c.size_class)
        if filled.get(group, 0) >= quota.get(group, 0):
            reasons[c.id] = REASON_RANK
        elif remaining is not None and c.requested_cents > remaining:
            reasons[c.id] = REASON_BUDGET
        else:
            filled[group] = filled.get(group, 0) + 1
            selected.append(c.id)
            allocated += c.requested_cents
            if remaining is not None:
                remaining -= c.requested_cents

    ranking: dict[tuple[str, str], tuple[RankEntry, ...]] = {}
    groups = sorted(
        {(c.landesteil, c.size_class) for c in apps},
        key=lambda g: (LANDESTEILE.index(g[0]), SIZE_CLASSES.index(g[1])),
    )
    for group in groups:
        members = [c for c in ordered if (c.landesteil, c.size_class) == group]
        ranking[group] = tuple(
            RankEntry(
                c.id,
                rank,
                Decimal(c.score),
                c.requested_cents,
                c.id not in reasons,
                reasons.get(c.id),
            )
            for rank, c in enumerate(members, start=1)
        )
    not_selected = {c.id: reasons[c.id] for c in ordered if c.id in reasons}
    return Selection(tuple(selected), ranking, not_selected, budget_cents, allocated)


def apply_override(
    selection: Selection,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
    justification: str = "",
) -> Selection:
    """Deviate from the ranking (Ermessen) with a recorded justification.

    The justification must have at least ``MIN_JUSTIFICATION_LENGTH`` characters. Added
    applications must have been ranked and not selected, removed ones must be selected. The
    quota may be deviated from, the budget may not (:class:`BudgetExceeded`).
    """
    add_t = tuple(dict.fromkeys(add))
    remove_t = tuple(dict.fromkeys(remove))
    errors: list[FieldError] = []
    text = (justification or "").strip()
    if len(text) < MIN_JUSTIFICATION_LENGTH:
        errors.append(
            FieldError(
                "/begruendung",
                f"Eine Abweichung von der Rangfolge muss begründet werden (Ermessen); die "
                f"Begründung muss mindestens {MIN_JUSTIFICATION_LENGTH} Zeichen umfassen.",
            )
        )
    if not add_t and not remove_t:
        errors.append(
            FieldError(
                "/aufnehmen",
                "Es ist weder ein Antrag zur Aufnahme noch zur Herausnahme angegeben.",
            )
        )
    known = {e.id for entries in selection.ranking.values() for e in entries}
    for i, cid in enumerate(add_t):
        if cid not in known:
            errors.append(
                FieldError(pointer("aufnehmen", i), f"Der Antrag {cid} wurde nicht gereiht.")
            )
        elif cid in selection.selected:
            errors.append(
                FieldError(pointer("aufnehmen", i), f"Der Antrag {cid} ist bereits ausgewählt.")
            )
        elif cid in remove_t:
            errors.append(
                FieldError(
                    pointer("aufnehmen", i),
                    f"Der Antrag {cid} kann nicht zugleich aufgenommen und herausgenommen werden.",
                )
            )
    for i, cid in enumerate(remove_t):
        if cid not in selection.selected:
            errors.append(
                FieldError(
                    pointer("herausnehmen", i), f"Der Antrag {cid} ist nicht ausgewählt."
                )
            )
    if errors:
        raise ValidationFailed("Die Abweichung von der Rangfolge ist nicht zulässig.", errors)

    requested = {e.id: e.requested_cents for es in selection.ranking.values() for e in es}
    allocated = (
        selection.allocated_cents
        + sum(requested[c] for c in add_t)
        - sum(requested[c] for c in remove_t)
    )
    if selection.budget_cents is not None and allocated > selection.budget_cents:
        raise BudgetExceeded(
            f"Mit dieser Auswahl würden {format_euro(allocated)} benötigt; verfügbar sind "
            f"nur {format_euro(selection.budget_cents)}.",
            [FieldError("/aufnehmen", "Die Auswahl übersteigt das Budget des Förderaufrufs.")],
            details={"benoetigt_cents": allocated, "budget_cents": selection.budget_cents},
        )

    selected = tuple(c for c in selection.selected if c not in remove_t) + add_t
    not_selected = {k: v for k, v in selection.not_selected.items() if k not in add_t}
    for cid in remove_t:
        not_selected[cid] = REASON_OVERRIDE
    chosen = set(selected)
    ranking = {
        group: tuple(
            replace(e, selected=e.id in chosen, reason=not_selected.get(e.id)) for e in entries
        )
        for group, entries in selection.ranking.items()
    }
    return replace(
        selection,
        selected=selected,
        ranking=ranking,
        not_selected=not_selected,
        allocated_cents=allocated,
        overrides=selection.overrides + (Override(add_t, remove_t, text),),
    )
