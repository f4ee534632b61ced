"""Phase 2: cluster applications (Gemeinschaftsanträge of five municipalities).

Municipality facts come in as plain values (:class:`MemberFacts`): the AGS, the Landesteil
(``"Süd"``, ``"Mittel"``, ``"Nord"``) and the number of inhabitants. All amounts are integer cents.

JSON pointers used in field errors (the cluster application form should use the same names):

* ``/federfuehrend/ags|landesteil|einwohner`` – the lead municipality,
* ``/partner/<i>/ags|landesteil|einwohner`` – partner *i* (0-based),
* ``/foerdersumme``, ``/gesamtvolumen``, ``/eigenanteil`` – the financing,
* ``/finanzplan/<i>/jahr|kostenart|betrag_cents`` – budget plan lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from app.domain.errors import FieldError, ValidationFailed, pointer
from app.domain.money import format_euro

LANDESTEILE: tuple[str, ...] = ("Süd", "Mittel", "Nord")
"""The three Landesteile = Regierungsbezirke Darmstadt, Gießen, Kassel."""

KLEIN = "klein"
GROSS = "groß"
SIZE_CLASSES: tuple[str, ...] = (KLEIN, GROSS)

KOSTENARTEN: tuple[str, ...] = ("Personal", "Sachkosten", "Investitionen")

HESSEN_AGS_PREFIX = "06"

LEAD_PATH = "federfuehrend"
PARTNER_PATH = "partner"
FOERDERSUMME_PATH = "/foerdersumme"
GESAMTVOLUMEN_PATH = "/gesamtvolumen"
EIGENANTEIL_PATH = "/eigenanteil"
FINANZPLAN_PATH = "finanzplan"


@dataclass(frozen=True)
class ClusterRules:
    """Configurable rules of a Phase 2 call (defaults: the programme paper)."""

    members: int = 5
    size_threshold: int = 7500
    max_funding_cents: int = 250_000_000
    eigenanteil_min_percent: Decimal = Decimal("25")
    term_months: int = 24

    def __post_init__(self) -> None:
        if _not_int(self.members) or self.members < 2:
            raise ValueError("Ein Cluster muss aus mindestens zwei Kommunen bestehen.")
        if _not_int(self.size_threshold) or self.size_threshold < 1:
            raise ValueError("Der Schwellenwert der Größenklasse muss positiv sein.")
        if _not_int(self.max_funding_cents) or self.max_funding_cents < 0:
            raise ValueError("Die Förderhöchstsumme darf nicht negativ sein.")
        if _not_int(self.term_months) or self.term_months < 1:
            raise ValueError("Die Laufzeit muss mindestens einen Monat betragen.")
        pct = self.eigenanteil_min_percent
        if isinstance(pct, float) or not isinstance(pct, Decimal | int) or isinstance(pct, bool):
            raise TypeError("Der Eigenanteil in Prozent wird als Decimal angegeben.")
        if not Decimal(0) <= Decimal(pct) <= Decimal(100):
            raise ValueError("Der Eigenanteil muss zwischen 0 und 100 Prozent liegen.")
        object.__setattr__(self, "eigenanteil_min_percent", Decimal(pct))

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> ClusterRules:
        """Build rules from configuration (unknown keys are refused; percent as string ok)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(config) - known)
        if unknown:
            raise ValueError(f"Unbekannte Clusterregel(n): {', '.join(unknown)}")
        values = dict(config)
        if "eigenanteil_min_percent" in values:
            values["eigenanteil_min_percent"] = Decimal(str(values["eigenanteil_min_percent"]))
        return cls(**values)


@dataclass(frozen=True)
class MemberFacts:
    """What the cluster rules need to know about one municipality."""

    ags: str
    landesteil: str
    einwohner: int
    name: str | None = None

    @property
    def label(self) -> str:
        return f"{self.name} (AGS {self.ags})" if self.name else f"AGS {self.ags}"


def _not_int(value: object) -> bool:
    return isinstance(value, bool) or not isinstance(value, int)


def _require_cents(**amounts: object) -> None:
    for name, value in amounts.items():
        if _not_int(value):
            raise TypeError(f"{name} muss in ganzen Cent (int) angegeben werden.")


def size_class(einwohner: int, threshold: int = 7500) -> str:
    """``"klein"`` below the threshold, ``"groß"`` from the threshold on.

    >>> size_class(7499), size_class(7500)
    ('klein', 'groß')
    """
    if _not_int(einwohner) or einwohner < 0:
        raise ValueError("Die Einwohnerzahl muss eine nicht negative ganze Zahl sein.")
    return KLEIN if einwohner < threshold else GROSS


def format_int(value: int) -> str:
    """German thousands separator: ``7.500``."""
    return f"{value:,}".replace(",", ".")


def format_percent(value: Decimal | Fraction, places: int = 2) -> str:
    """German percent notation, e.g. ``24,90 %``."""
    if isinstance(value, Fraction):
        d = Decimal(value.numerator) / Decimal(value.denominator)
    else:
        d = Decimal(value)
    q = d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{q:f}".replace(".", ",") + " %"


def min_eigenanteil_cents(total_volume_cents: int, rules: ClusterRules | None = None) -> int:
    """Smallest Eigenanteil in cents that satisfies the minimum percentage (rounded up)."""
    rules = rules or ClusterRules()
    exact = Fraction(total_volume_cents) * Fraction(rules.eigenanteil_min_percent) / 100
    return -((-exact.numerator) // exact.denominator)


def _member_errors(member: MemberFacts, base: str, who: str) -> list[FieldError]:
    errors: list[FieldError] = []
    ags = member.ags
    if not (
        isinstance(ags, str)
        and len(ags) == 8
        and ags.isascii()
        and ags.isdigit()
        and ags.startswith(HESSEN_AGS_PREFIX)
    ):
        errors.append(
            FieldError(
                f"{base}/ags",
                f"Der Amtliche Gemeindeschlüssel (AGS) {who} muss achtstellig sein "
                f"und mit {HESSEN_AGS_PREFIX} (Hessen) beginnen.",
            )
        )
    if member.landesteil not in LANDESTEILE:
        errors.append(
            FieldError(
                f"{base}/landesteil",
                f"Der Landesteil {who} muss einer von {', '.join(LANDESTEILE)} sein.",
            )
        )
    if _not_int(member.einwohner) or member.einwohner < 1:
        errors.append(
            FieldError(
                f"{base}/einwohner",
                f"Die Einwohnerzahl {who} muss eine positive ganze Zahl sein.",
            )
        )
    return errors


def validate_cluster_application(
    lead: MemberFacts,
    partners: list[MemberFacts],
    requested_funding_cents: int,
    total_volume_cents: int,
    eigenanteil_cents: int,
    rules: ClusterRules | None = None,
) -> None:
    """Check a Gemeinschaftsantrag against the Phase 2 rules.

    Raises :class:`ValidationFailed` listing *all* problems: member count, distinct
    municipalities, one Landesteil, one size class, funding limit, minimum Eigenanteil and
    Fördersumme + Eigenanteil = Gesamtvolumen.
    """
    rules = rules or ClusterRules()
    _require_cents(
        requested_funding_cents=requested_funding_cents,
        total_volume_cents=total_volume_cents,
        eigenanteil_cents=eigenanteil_cents,
    )
    errors: list[FieldError] = []

    # --- members -------------------------------------------------------------------------
    expected_partners = rules.members - 1
    if len(partners) != expected_partners:
        errors.append(
            FieldError(
                pointer(PARTNER_PATH),
                f"Ein Cluster besteht aus genau {rules.members} Kommunen: der federführenden "
                f"Kommune und {expected_partners} Partnerkommunen. Angegeben sind "
                f"{len(partners)} Partnerkommune(n).",
            )
        )
    members: list[tuple[str, str, MemberFacts]] = [
        (pointer(LEAD_PATH), "der federführenden Kommune", lead)
    ] + [
        (pointer(PARTNER_PATH, i), f"der Partnerkommune {i + 1}", p)
        for i, p in enumerate(partners)
    ]
    valid_landesteil: list[bool] = []
    valid_einwohner: list[bool] = []
    for base, who, member in members:
        member_errors = _member_errors(member, base, who)
        errors.extend(member_errors)
        paths = {e.path for e in member_errors}
        valid_landesteil.append(f"{base}/landesteil" not in paths)
        valid_einwohner.append(f"{base}/einwohner" not in paths)

    nominative = ["federführende Kommune"] + [
        f"Partnerkommune {i + 1}" for i in range(len(partners))
    ]
    seen: dict[str, str] = {}
    for (base, _who, member), role in zip(members, nominative, strict=True):
        key = member.ags.strip() if isinstance(member.ags, str) else repr(member.ags)
        if key in seen:
            errors.append(
                FieldError(
                    f"{base}/ags",
                    f"Die Kommune mit AGS {key} ist bereits als {seen[key]} im Cluster "
                    f"enthalten; als {role} muss eine andere Kommune angegeben werden. Ein "
                    f"Cluster besteht aus {rules.members} verschiedenen Kommunen.",
                )
            )
        else:
            seen[key] = role

    # Reference: the lead, or the first partner with valid data if the lead's are invalid.
    ref_lt_idx = next((i for i, ok in enumerate(valid_landesteil) if ok), None)
    ref_size_idx = next((i for i, ok in enumerate(valid_einwohner) if ok), None)
    ref_size = (
        None
        if ref_size_idx is None
        else size_class(members[ref_size_idx][2].einwohner, rules.size_threshold)
    )
    for idx, (base, who, member) in enumerate(members):
        if ref_lt_idx is not None and idx > ref_lt_idx and valid_landesteil[idx]:
            ref_who, ref_member = members[ref_lt_idx][1], members[ref_lt_idx][2]
            if member.landesteil != ref_member.landesteil:
                errors.append(
                    FieldError(
                        f"{base}/landesteil",
                        f"Der Landesteil {who} ({member.landesteil}) weicht vom Landesteil "
                        f"{ref_who} ({ref_member.landesteil}) ab; alle Kommunen eines "
                        f"Clusters müssen im selben Landesteil liegen.",
                    )
                )
        if ref_size_idx is not None and idx > ref_size_idx and valid_einwohner[idx]:
            own = size_class(member.einwohner, rules.size_threshold)
            if own != ref_size:
                ref_who = members[ref_size_idx][1]
                errors.append(
                    FieldError(
                        f"{base}/einwohner",
                        f"Die Einwohnerzahl {who} ({format_int(member.einwohner)}) ergibt die "
                        f"Größenklasse „{own}“, die Einwohnerzahl {ref_who} aber die "
                        f"Größenklasse „{ref_size}“; alle Kommunen eines Clusters müssen "
                        f"derselben Größenklasse angehören (Schwelle: "
                        f"{format_int(rules.size_threshold)} Einwohnerinnen und Einwohner).",
                    )
                )

    # --- financing -------------------------------------------------------------------------
    if requested_funding_cents <= 0:
        errors.append(
            FieldError(FOERDERSUMME_PATH, "Die beantragte Fördersumme muss größer als 0 € sein.")
        )
    elif requested_funding_cents > rules.max_funding_cents:
        errors.append(
            FieldError(
                FOERDERSUMME_PATH,
                f"Die beantragte Fördersumme ({format_euro(requested_funding_cents)}) übersteigt "
                f"die Förderhöchstsumme von {format_euro(rules.max_funding_cents)} je Cluster.",
            )
        )
    if total_volume_cents <= 0:
        errors.append(
            FieldError(GESAMTVOLUMEN_PATH, "Das Gesamtvolumen muss größer als 0 € sein.")
        )
    if eigenanteil_cents < 0:
        errors.append(FieldError(EIGENANTEIL_PATH, "Der Eigenanteil darf nicht negativ sein."))
    elif total_volume_cents > 0:
        pct = rules.eigenanteil_min_percent
        # exact: eigenanteil / volume >= pct / 100
        if Fraction(eigenanteil_cents) * 100 < Fraction(total_volume_cents) * Fraction(pct):
            actual = Fraction(eigenanteil_cents * 100, total_volume_cents)
            errors.append(
                FieldError(
                    EIGENANTEIL_PATH,
                    f"Der Eigenanteil muss mindestens {format_percent(pct, 0)} des "
                    f"Gesamtvolumens betragen, also mindestens "
                    f"{format_euro(min_eigenanteil_cents(total_volume_cents, rules))}; "
                    f"angegeben sind {format_euro(eigenanteil_cents)} "
                    f"({format_percent(actual)}).",
                )
            )
    if (
        total_volume_cents > 0
        and requested_funding_cents + eigenanteil_cents != total_volume_cents
    ):
        errors.append(
            FieldError(
                GESAMTVOLUMEN_PATH,
                f"Das Gesamtvolumen ({format_euro(total_volume_cents)}) muss der Summe aus "
                f"Fördersumme ({format_euro(requested_funding_cents)}) und Eigenanteil "
                f"({format_euro(eigenanteil_cents)}) entsprechen, also "
                f"{format_euro(requested_funding_cents + eigenanteil_cents)}.",
            )
        )

    if errors:
        raise ValidationFailed("Der Clusterantrag erfüllt die Fördervoraussetzungen nicht.", errors)


# --- budget plan (Finanzplan) -----------------------------------------------------------------


@dataclass(frozen=True)
class BudgetLine:
    jahr: int
    kostenart: str
    betrag_cents: int


@dataclass(frozen=True)
class BudgetTotals:
    per_year: dict[int, int]
    per_kostenart: dict[str, int]
    total: int


def _line_value(line: Mapping[str, Any] | BudgetLine, key: str) -> Any:
    if isinstance(line, Mapping):
        return line.get(key)
    return getattr(line, key, None)


def budget_totals(lines: Iterable[Mapping[str, Any] | BudgetLine]) -> BudgetTotals:
    """Sum a budget plan per year, per cost type (all three, in fixed order) and in total.

    Each line has ``jahr`` (int), ``kostenart`` (Personal, Sachkosten, Investitionen) and
    ``betrag_cents`` (int ≥ 0). Invalid lines raise :class:`ValidationFailed` with all problems.
    """
    errors: list[FieldError] = []
    per_year: dict[int, int] = {}
    per_kostenart: dict[str, int] = dict.fromkeys(KOSTENARTEN, 0)
    for i, line in enumerate(lines):
        jahr = _line_value(line, "jahr")
        kostenart = _line_value(line, "kostenart")
        betrag = _line_value(line, "betrag_cents")
        ok = True
        if _not_int(jahr) or not 1900 <= jahr <= 2999:
            errors.append(
                FieldError(
                    pointer(FINANZPLAN_PATH, i, "jahr"),
                    f"Zeile {i + 1} des Finanzplans: Das Jahr muss eine vierstellige "
                    f"Jahreszahl sein.",
                )
            )
            ok = False
        if kostenart not in KOSTENARTEN:
            errors.append(
                FieldError(
                    pointer(FINANZPLAN_PATH, i, "kostenart"),
                    f"Zeile {i + 1} des Finanzplans: Die Kostenart muss eine von "
                    f"{', '.join(KOSTENARTEN)} sein.",
                )
            )
            ok = False
        if _not_int(betrag) or betrag < 0:
            errors.append(
                FieldError(
                    pointer(FINANZPLAN_PATH, i, "betrag_cents"),
                    f"Zeile {i + 1} des Finanzplans: Der Betrag muss ein nicht negativer "
                    f"Betrag in Cent sein.",
                )
            )
            ok = False
        if ok:
            per_year[jahr] = per_year.get(jahr, 0) + betrag
            per_kostenart[kostenart] += betrag
    if errors:
        raise ValidationFailed("Der Finanzplan ist fehlerhaft.", errors)
    per_year = dict(sorted(per_year.items()))
    return BudgetTotals(per_year, per_kostenart, sum(per_kostenart.values()))


def validate_budget_plan(
    lines: Iterable[Mapping[str, Any] | BudgetLine],
    total_volume_cents: int,
    years: Iterable[int] | None = None,
) -> BudgetTotals:
    """Totals of a budget plan that must add up to the Gesamtvolumen (and lie in ``years``)."""
    _require_cents(total_volume_cents=total_volume_cents)
    lines = list(lines)
    totals = budget_totals(lines)
    errors: list[FieldError] = []
    if years is not None:
        allowed = sorted(set(years))
        for i, line in enumerate(lines):
            jahr = _line_value(line, "jahr")
            if jahr not in allowed:
                errors.append(
                    FieldError(
                        pointer(FINANZPLAN_PATH, i, "jahr"),
                        f"Zeile {i + 1} des Finanzplans: Das Jahr {jahr} liegt außerhalb der "
                        f"Projektlaufzeit ({', '.join(map(str, allowed))}).",
                    )
                )
    if totals.total != total_volume_cents:
        errors.append(
            FieldError(
                pointer(FINANZPLAN_PATH),
                f"Die Summe des Finanzplans ({format_euro(totals.total)}) muss dem "
                f"Gesamtvolumen ({format_euro(total_volume_cents)}) entsprechen.",
            )
        )
    if errors:
        raise ValidationFailed("Der Finanzplan ist fehlerhaft.", errors)
    return totals
