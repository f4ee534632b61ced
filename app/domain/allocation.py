"""Phase 1: allocation of the programme budget to all Hessian municipalities (Finanzausweisung).

The real programme's distribution key was never published; this is our design (BRIEF, Phase 1)::

    Zuweisung_i = max(Sockel, Sockel + Rest · w_i / Σw)          Rest = Budget − n · Sockel
    w_i         = Einwohner_i · h_i · g(Finanzkraft_i / Finanzkraft_avg)

* ``h_i`` — HFAG main weighting: 100 % below 7,500 inhabitants, 109 % from 7,500 on, 130 % for
  Mittelzentren, 158 % for Sonderstatus-Städte. The status is an input per municipality
  (``Municipality.hfag_status`` or the ``hfag_status`` mapping of :func:`allocate`) and takes
  precedence over the population step.
* ``g(x) = clamp(x ** −elasticity, g_min, g_max)`` — falls as Finanzkraft rises; ``x ≤ 0`` gives
  ``g_max``. Computed in ``Decimal`` (40 digits) and fixed to 12 decimal places, so the reported
  weight reproduces the result exactly.
* ``Finanzkraft_avg`` is the **population-weighted** average, Σ(E_i · F_i) / ΣE_i (exact, so
  independent of input order), i.e. the Finanzkraft per inhabitant of all municipalities taken
  together (the Land average). An
  unweighted mean would let the many small municipalities define "average" and shift the key
  towards the cities; municipalities with 0 inhabitants do not count.
* Rounding: ``Rest`` is distributed in whole cents by the largest-remainder (Hare) method on exact
  rational quotas, so Σ Zuweisung == Budget to the cent and every Zuweisung ≥ Sockel. Leftover
  cents go to the largest remainders; equal remainders are ordered by lower Finanzkraft first
  (keeps the key monotone when g is clamped), then by AGS.
* Volumen = Zuweisung / (1 − Eigenanteil), rounded up to the cent, at least Sockel / (1 −
  Eigenanteil) (10,000 € with the defaults); Eigenanteil = Volumen − Zuweisung.

All parameters live in :class:`AllocationParameters` (held per programme year by the callers).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import (
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from fractions import Fraction

from app.domain.municipalities import (
    DEFAULT_SIZE_THRESHOLD,
    GROSS,
    KLEIN,
    HfagStatus,
    Landesteil,
    Municipality,
    parse_hfag_status,
    size_class,
)

_CONTEXT = Context(
    prec=40, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow]
)
#: Precision of g (and therefore of the weights).
G_QUANTUM = Decimal("1e-12")


class AllocationError(ValueError):
    """The allocation cannot be computed; ``missing_ags`` lists municipalities without data."""

    def __init__(self, message: str, missing_ags: Sequence[str] = ()):
        super().__init__(message)
        self.missing_ags = list(missing_ags)


def _require_int(name: str, value: object, minimum: int = 0) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} muss eine ganze Zahl (Cent) sein.")
    if value < minimum:
        raise ValueError(f"{name} darf nicht kleiner als {minimum} sein.")


def _require_decimal(name: str, value: object) -> None:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise TypeError(f"{name} muss als endliche Decimal-Zahl angegeben werden.")


@dataclass(frozen=True, slots=True)
class AllocationParameters:
    """Parameters of one programme year. Amounts in integer cents, factors as ``Decimal``.

    ``hfag_*`` are the HFAG main-weighting factors (1.09 = 109 %); ``hfag_threshold`` is the
    population from which the ``hfag_gross`` step applies. ``elasticity``, ``g_min`` and
    ``g_max`` shape the Finanzkraft factor ``g(x) = clamp(x ** −elasticity, g_min, g_max)``
    (elasticity 0 switches the Finanzkraft dependency off).
    """

    budget_cents: int
    sockel_cents: int = 750_000
    eigenanteil_percent: Decimal = Decimal("25")
    hfag_threshold: int = DEFAULT_SIZE_THRESHOLD
    hfag_klein: Decimal = Decimal("1.00")
    hfag_gross: Decimal = Decimal("1.09")
    hfag_mittelzentrum: Decimal = Decimal("1.30")
    hfag_sonderstatus: Decimal = Decimal("1.58")
    elasticity: Decimal = Decimal("1")
    g_min: Decimal = Decimal("0.5")
    g_max: Decimal = Decimal("2")

    def __post_init__(self) -> None:
        _require_int("Budget", self.budget_cents)
        _require_int("Sockelzuschuss", self.sockel_cents)
        _require_int("HFAG-Schwelle", self.hfag_threshold)
        for name in (
            "eigenanteil_percent",
            "hfag_klein",
            "hfag_gross",
            "hfag_mittelzentrum",
            "hfag_sonderstatus",
            "elasticity",
            "g_min",
            "g_max",
        ):
            _require_decimal(name, getattr(self, name))
        if not Decimal(0) <= self.eigenanteil_percent < Decimal(100):
            raise ValueError("Eigenanteil muss zwischen 0 und unter 100 % liegen.")
        for name in ("hfag_klein", "hfag_gross", "hfag_mittelzentrum", "hfag_sonderstatus"):
            if getattr(self, name) <= 0:
                raise ValueError(f"HFAG-Gewicht {name} muss positiv sein.")
        if self.elasticity < 0:
            raise ValueError("Die Elastizität darf nicht negativ sein (g muss fallen).")
        if not Decimal(0) < self.g_min <= self.g_max:
            raise ValueError("Es muss 0 < g_min ≤ g_max gelten.")

    @property
    def funding_share(self) -> Fraction:
        """Zuweisung / Volumen = 1 − Eigenanteil, exact."""
        return 1 - Fraction(self.eigenanteil_percent) / 100

    @property
    def min_volumen_cents(self) -> int:
        """Sockel / (1 − Eigenanteil), rounded up: 1,000,000 cents with the defaults."""
        return math.ceil(Fraction(self.sockel_cents) / self.funding_share)


@dataclass(frozen=True, slots=True)
class Allocation:
    ags: str
    weight: Decimal
    zuweisung_cents: int
    volumen_cents: int
    eigenanteil_cents: int
    hfag_faktor: Decimal | None = None
    finanzkraft_faktor: Decimal | None = None


# --------------------------------------------------------------------------- formula parts


def hfag_factor(
    einwohner: int, status: HfagStatus | str | None, params: AllocationParameters
) -> Decimal:
    """HFAG main weighting h: status (Sonderstatus, Mittelzentrum) first, else population step."""
    status = parse_hfag_status(status)
    if status is HfagStatus.SONDERSTATUS:
        return params.hfag_sonderstatus
    if status is HfagStatus.MITTELZENTRUM:
        return params.hfag_mittelzentrum
    return params.hfag_gross if einwohner >= params.hfag_threshold else params.hfag_klein


def finanzkraft_factor(ratio: Decimal, params: AllocationParameters) -> Decimal:
    """g(x) = clamp(x ** −elasticity, g_min, g_max), x = Finanzkraft / Durchschnitt.

    Non-increasing in x; x ≤ 0 (no Finanzkraft at all) gives g_max. Result to 12 places.
    """
    with localcontext(_CONTEXT):
        if ratio <= 0:
            g = params.g_max
        elif params.elasticity == 0:
            g = Decimal(1)
        else:
            g = ratio ** (-params.elasticity)
        g = min(max(g, params.g_min), params.g_max)
        return g.quantize(G_QUANTUM)


def _average_finanzkraft_exact(
    municipalities: Iterable[Municipality], finanzkraft: Mapping[str, Decimal | int]
) -> Fraction:
    total_e = 0
    total_f = Fraction(0)
    for m in municipalities:
        total_e += m.einwohner
        total_f += m.einwohner * Fraction(finanzkraft[m.ags])
    if total_e == 0:
        raise AllocationError("Die Gemeinden haben zusammen keine Einwohner.")
    return total_f / total_e


def _to_decimal(value: Fraction) -> Decimal:
    with localcontext(_CONTEXT):
        return Decimal(value.numerator) / Decimal(value.denominator)


def average_finanzkraft(
    municipalities: Iterable[Municipality], finanzkraft: Mapping[str, Decimal | int]
) -> Decimal:
    """Population-weighted average Finanzkraft per inhabitant: Σ(E_i · F_i) / ΣE_i.

    Summed exactly (independent of the order), rounded once to 40 significant digits.
    """
    return _to_decimal(_average_finanzkraft_exact(municipalities, finanzkraft))


def volumen_cents_for(zuweisung_cents: int, params: AllocationParameters) -> int:
    """Total volume for an allocation: Zuweisung / (1 − Eigenanteil), rounded up to the cent,
    at least :attr:`AllocationParameters.min_volumen_cents`."""
    _require_int("Zuweisung", zuweisung_cents)
    return max(
        math.ceil(Fraction(zuweisung_cents) / params.funding_share), params.min_volumen_cents
    )


def apportion(
    total: int, weights: Mapping[str, Fraction | Decimal | int], tie_key: Mapping[str, object]
) -> dict[str, int]:
    """Largest-remainder (Hare) apportionment of ``total`` cents proportional to ``weights``.

    Exact (rational arithmetic). Leftover cents go to the largest remainders; equal remainders
    are ordered by ``tie_key[key]`` then by key. Σ result == total. Requires Σ weights > 0
    unless total is 0.
    """
    exact = {k: Fraction(w) for k, w in weights.items()}
    if any(w < 0 for w in exact.values()):
        raise AllocationError("Gewichte dürfen nicht negativ sein.")
    weight_sum = sum(exact.values(), Fraction(0))
    if weight_sum == 0:
        if total == 0:
            return dict.fromkeys(exact, 0)
        raise AllocationError("Die Summe der Gewichte ist 0; der Rest kann nicht verteilt werden.")
    shares: dict[str, int] = {}
    remainders: dict[str, Fraction] = {}
    for k, w in exact.items():
        quota = total * w / weight_sum
        shares[k] = quota.numerator // quota.denominator
        remainders[k] = quota - shares[k]
    leftover = total - sum(shares.values())
    order = sorted(exact, key=lambda k: (-remainders[k], tie_key[k], k))
    for k in order[:leftover]:
        shares[k] += 1
    return shares


# --------------------------------------------------------------------------- allocation


def allocate(
    municipalities: Sequence[Municipality],
    finanzkraft: Mapping[str, Decimal | int],
    params: AllocationParameters,
    hfag_status: Mapping[str, HfagStatus | str | None] | None = None,
) -> list[Allocation]:
    """Allocate ``params.budget_cents`` to all ``municipalities``; result sorted by AGS.

    ``finanzkraft`` maps AGS → Finanzkraft je Einwohner (€, ``Decimal``); every municipality
    needs a value (else :class:`AllocationError` listing the missing AGS). ``hfag_status``
    optionally overrides ``Municipality.hfag_status`` per AGS. The order of the inputs does
    not matter.
    """
    if not municipalities:
        raise AllocationError("Keine Gemeinden für die Zuweisung angegeben.")
    by_ags: dict[str, Municipality] = {}
    duplicates: set[str] = set()
    for m in municipalities:
        if m.ags in by_ags:
            duplicates.add(m.ags)
        by_ags[m.ags] = m
    if duplicates:
        dup = sorted(duplicates)
        raise AllocationError("Gemeindeschlüssel doppelt: " + ", ".join(dup), dup)
    missing = sorted(ags for ags in by_ags if ags not in finanzkraft)
    if missing:
        raise AllocationError(
            f"Für {len(missing)} Gemeinde(n) fehlt die Finanzkraft: " + ", ".join(missing), missing
        )
    fk: dict[str, Decimal] = {}
    for ags in by_ags:
        value = finanzkraft[ags]
        if isinstance(value, bool) or not isinstance(value, Decimal | int):
            raise TypeError(f"Finanzkraft für {ags} muss Decimal oder int sein, nicht {value!r}.")
        fk[ags] = Decimal(value)
        if not fk[ags].is_finite():
            raise AllocationError(f"Finanzkraft für {ags} ist keine endliche Zahl.", [ags])

    n = len(by_ags)
    rest = params.budget_cents - n * params.sockel_cents
    if rest < 0:
        raise AllocationError(
            f"Budget zu klein: {n} Gemeinden × Sockelzuschuss {params.sockel_cents} ct ="
            f" {n * params.sockel_cents} ct > Budget {params.budget_cents} ct."
        )

    avg = _average_finanzkraft_exact(by_ags.values(), fk)
    if avg <= 0:
        raise AllocationError("Die durchschnittliche Finanzkraft muss positiv sein.")

    h: dict[str, Decimal] = {}
    g: dict[str, Decimal] = {}
    weights: dict[str, Decimal] = {}
    with localcontext(_CONTEXT):
        for ags, m in by_ags.items():
            status = m.hfag_status
            if hfag_status is not None and ags in hfag_status:
                status = parse_hfag_status(hfag_status[ags])
            h[ags] = hfag_factor(m.einwohner, status, params)
            g[ags] = finanzkraft_factor(_to_decimal(Fraction(fk[ags]) / avg), params)
            weights[ags] = m.einwohner * h[ags] * g[ags]

    shares = apportion(rest, weights, tie_key=fk)
    result = []
    for ags in sorted(by_ags):
        zuweisung = params.sockel_cents + shares[ags]
        volumen = volumen_cents_for(zuweisung, params)
        result.append(
            Allocation(
                ags=ags,
                weight=weights[ags],
                zuweisung_cents=zuweisung,
                volumen_cents=volumen,
                eigenanteil_cents=volumen - zuweisung,
                hfag_faktor=h[ags],
                finanzkraft_faktor=g[ags],
            )
        )
    return result


# --------------------------------------------------------------------------- reporting


@dataclass(frozen=True, slots=True)
class GroupSummary:
    """Zuweisungen of one group; min/median/max are ``None`` for an empty group.

    The median of an even count is the mean of the two middle values, rounded half up to the
    cent.
    """

    count: int
    sum_cents: int
    einwohner: int
    min_cents: int | None
    median_cents: int | None
    max_cents: int | None

    @property
    def euro_je_einwohner(self) -> Decimal | None:
        if self.einwohner == 0:
            return None
        return (Decimal(self.sum_cents) / 100 / self.einwohner).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )


@dataclass(frozen=True, slots=True)
class DistributionSummary:
    total: GroupSummary
    by_landesteil: dict[Landesteil, GroupSummary]
    by_size_class: dict[str, GroupSummary]


def _median(values: Sequence[int]) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    pair = Decimal(ordered[mid - 1] + ordered[mid]) / 2
    return int(pair.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _group(items: Sequence[tuple[int, int]]) -> GroupSummary:
    amounts = [a for a, _ in items]
    return GroupSummary(
        count=len(items),
        sum_cents=sum(amounts),
        einwohner=sum(e for _, e in items),
        min_cents=min(amounts, default=None),
        median_cents=_median(amounts),
        max_cents=max(amounts, default=None),
    )


def distribution_summary(
    allocations: Iterable[Allocation],
    municipalities: Iterable[Municipality],
    size_threshold: int = DEFAULT_SIZE_THRESHOLD,
) -> DistributionSummary:
    """Counts, sums, min/median/max of the Zuweisungen: overall, per Landesteil, per size class
    (``"klein"``/``"gross"`` at ``size_threshold``). All groups are always present."""
    by_ags = {m.ags: m for m in municipalities}
    allocations = list(allocations)
    unknown = sorted(a.ags for a in allocations if a.ags not in by_ags)
    if unknown:
        raise AllocationError("Zuweisung für unbekannte Gemeinden: " + ", ".join(unknown), unknown)
    rows = [(a.zuweisung_cents, by_ags[a.ags]) for a in allocations]
    return DistributionSummary(
        total=_group([(z, m.einwohner) for z, m in rows]),
        by_landesteil={
            lt: _group([(z, m.einwohner) for z, m in rows if m.landesteil is lt])
            for lt in Landesteil
        },
        by_size_class={
            sc: _group(
                [(z, m.einwohner) for z, m in rows if size_class(m.einwohner, size_threshold) == sc]
            )
            for sc in (KLEIN, GROSS)
        },
    )


@dataclass(frozen=True, slots=True)
class AllocationDifference:
    """One change between two allocations; ``None`` = the AGS is absent on that side."""

    ags: str
    previous_cents: int | None
    current_cents: int | None
    delta_cents: int
    #: change relative to the previous amount in percent (2 places); None without a base
    change_percent: Decimal | None


def compare(
    previous: Mapping[str, int],
    current: Mapping[str, int] | Iterable[Allocation],
    include_unchanged: bool = False,
) -> list[AllocationDifference]:
    """Differences between a previous allocation (AGS → cents) and the current one, by AGS.

    Municipalities present on one side only are included (delta against 0).
    """
    if isinstance(current, Mapping):
        now = dict(current)
    else:
        now = {a.ags: a.zuweisung_cents for a in current}
    result = []
    for ags in sorted(set(previous) | set(now)):
        before, after = previous.get(ags), now.get(ags)
        delta = (after or 0) - (before or 0)
        if delta == 0 and before is not None and after is not None and not include_unchanged:
            continue
        percent = None
        if before:
            percent = (Decimal(delta) * 100 / before).quantize(
                Decimal("0.01"), rounding=ROUND_HALF_UP
            )
        result.append(AllocationDifference(ags, before, after, delta, percent))
    return result


# --------------------------------------------------------------------------- reclaim


def eligible_funding_phase1(
    zuweisung_cents: int, volumen_planned_cents: int, eligible_spent_cents: int
) -> int:
    """Funding covered by the eligible spending: share Zuweisung/Volumen of it, rounded half up
    to the cent (once, exactly), at most the Zuweisung. Same rounding as the Phase 2
    Schlussabrechnung (``app.domain.reclaim``)."""
    _require_int("Zuweisung", zuweisung_cents)
    _require_int("Geplantes Volumen", volumen_planned_cents, minimum=1)
    _require_int("Förderfähige Ausgaben", eligible_spent_cents)
    if zuweisung_cents > volumen_planned_cents:
        raise ValueError("Die Zuweisung darf das geplante Volumen nicht übersteigen.")
    covered = (2 * eligible_spent_cents * zuweisung_cents + volumen_planned_cents) // (
        2 * volumen_planned_cents
    )
    return min(covered, zuweisung_cents)


def reclaim_phase1(
    zuweisung_cents: int, volumen_planned_cents: int, eligible_spent_cents: int
) -> int:
    """Rückforderung (cents) after the Verwendungsnachweis of Phase 1 (Anteilfinanzierung).

    The funding share ``Zuweisung / geplantes Volumen`` applies pro rata to the eligible
    spending; the funding so covered is rounded half up to the cent and capped at the Zuweisung
    (spending above the planned volume does not raise the grant). Everything of the Zuweisung
    not covered is reclaimed.

    Example: Zuweisung 7,500 €, Volumen 10,000 € (share 75 %), eligible spending 6,000 € (60 %)
    → covered funding 4,500 €, Rückforderung 3,000 €:

    >>> reclaim_phase1(750_000, 1_000_000, 600_000)
    300000
    """
    return zuweisung_cents - eligible_funding_phase1(
        zuweisung_cents, volumen_planned_cents, eligible_spent_cents
    )
