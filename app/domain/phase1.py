"""Phase 1 case rules: Handlungsfelder, the Maßnahmenplan check and the final settlement.

A municipality plans its measures per Handlungsfeld with planned costs. The planned volume
must reach the Zuweisung divided by the funding share (1 − Eigenanteil; 0.75 with the default
25 %), at least the minimum volume (10,000 € with the defaults) — see
:func:`app.domain.allocation.volumen_cents_for`. After the funding period the
Verwendungsnachweis lists the actual costs per Handlungsfeld; the Zuweisung covers the
eligible spending pro rata (:func:`app.domain.allocation.reclaim_phase1`), the rest is reclaimed.

Amounts in forms are euro strings such as ``"12500"`` or ``"12500,50"`` (no thousands
separators, so ``"12.500"`` is refused rather than misread); internally integer cents.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from app.domain.allocation import (
    AllocationParameters,
    eligible_funding_phase1,
    volumen_cents_for,
)
from app.domain.errors import FieldError, ValidationFailed, pointer
from app.domain.money import format_euro

#: Handlungsfelder of the programme (key → German label). Data, not code paths.
HANDLUNGSFELDER: Mapping[str, str] = {
    "strategieentwicklung": "Strategieentwicklung",
    "digitalisierung_interner_prozesse": "Digitalisierung interner Prozesse",
    "infrastruktur": "Aufbau von Infrastrukturen",
    "beratung": "Beratung",
    "qualifizierung": "Qualifizierung",
}

_EURO_RE = re.compile(r"(0|[1-9][0-9]{0,11})([.,]([0-9]{1,2}))?")
MAX_MASSNAHMEN = 50


def parse_euro(value: object) -> int:
    """``"12500,5"`` → 1250050 cents. Integers are whole euros; floats are refused.

    >>> parse_euro("12500,50"), parse_euro("0.5"), parse_euro(7500)
    (1250050, 50, 750000)
    """
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError("Beträge werden nicht als Gleitkommazahl angenommen.")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("Der Betrag darf nicht negativ sein.")
        return value * 100
    text = str(value).strip().replace("\u00a0", "").replace(" ", "")
    match = _EURO_RE.fullmatch(text)
    if match is None:
        raise ValueError(
            f"„{value}“ ist kein gültiger Eurobetrag (z. B. 12500 oder 12500,50, ohne "
            "Tausenderpunkte).")
    cents = (match.group(3) or "0").ljust(2, "0")
    return int(match.group(1)) * 100 + int(cents)


def funding_params(eigenanteil_percent: Decimal | int | str = 25) -> AllocationParameters:
    """Parameters that only fix the Eigenanteil (for the volume rule of one case)."""
    return AllocationParameters(budget_cents=0, eigenanteil_percent=Decimal(eigenanteil_percent))


def mindestvolumen_cents(zuweisung_cents: int,
                         eigenanteil_percent: Decimal | int | str = 25) -> int:
    """Minimum planned volume: Zuweisung / (1 − Eigenanteil), rounded up, ≥ the minimum volume.

    >>> mindestvolumen_cents(750_000), mindestvolumen_cents(1_000_000)
    (1000000, 1333334)
    """
    return volumen_cents_for(zuweisung_cents, funding_params(eigenanteil_percent))


@dataclass(frozen=True)
class Plan:
    """A checked Maßnahmenplan."""

    volumen_cents: int
    mindestvolumen_cents: int
    je_handlungsfeld: dict[str, int] = field(default_factory=dict)


def _items(value: object, name: str, errors: list[FieldError]) -> list[Mapping]:
    if not isinstance(value, list) or not value:
        errors.append(FieldError(pointer(name), "Bitte geben Sie mindestens eine Maßnahme an."))
        return []
    if len(value) > MAX_MASSNAHMEN:
        errors.append(FieldError(pointer(name),
                                 f"Höchstens {MAX_MASSNAHMEN} Maßnahmen sind möglich."))
        return []
    return value


def _sum_per_field(items: Iterable[object], amount_key: str, list_name: str,
                   errors: list[FieldError]) -> dict[str, int]:
    sums = dict.fromkeys(HANDLUNGSFELDER, 0)
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            errors.append(FieldError(pointer(list_name, index), "Eintrag muss ein Objekt sein."))
            continue
        feld = item.get("handlungsfeld")
        if feld not in HANDLUNGSFELDER:
            errors.append(FieldError(
                pointer(list_name, index, "handlungsfeld"),
                f"„{feld}“ ist kein Handlungsfeld des Programms; zulässig sind "
                + ", ".join(HANDLUNGSFELDER.values()) + "."))
            continue
        try:
            cents = parse_euro(item.get(amount_key))
        except ValueError as exc:
            errors.append(FieldError(pointer(list_name, index, amount_key), str(exc)))
            continue
        sums[feld] += cents
    return sums


def check_massnahmenplan(massnahmen: object, zuweisung_cents: int,
                         eigenanteil_percent: Decimal | int | str = 25) -> Plan:
    """Check the planned measures; raise :class:`ValidationFailed` with German field messages.

    The planned volume must be at least the Zuweisung / (1 − Eigenanteil):

    >>> check_massnahmenplan([{"handlungsfeld": "beratung", "geplante_kosten": "10000"}],
    ...                      750_000).volumen_cents
    1000000
    """
    errors: list[FieldError] = []
    items = _items(massnahmen, "massnahmen", errors)
    sums = _sum_per_field(items, "geplante_kosten", "massnahmen", errors)
    minimum = mindestvolumen_cents(zuweisung_cents, eigenanteil_percent)
    volumen = sum(sums.values())
    if items and not errors and volumen < minimum:
        share = (1 - Decimal(eigenanteil_percent) / 100).normalize()
        errors.append(FieldError(
            "/massnahmen",
            f"Das geplante Gesamtvolumen von {format_euro(volumen)} unterschreitet das "
            f"Mindestvolumen von {format_euro(minimum)} (Zuweisung {format_euro(zuweisung_cents)}"
            f" ÷ {str(share).replace('.', ',')}); es fehlen {format_euro(minimum - volumen)}."))
    if errors:
        raise ValidationFailed("Der Maßnahmenplan erfüllt die Programmregeln nicht.", errors)
    return Plan(volumen, minimum, {k: v for k, v in sums.items() if v})


@dataclass(frozen=True)
class Abrechnung:
    """Final settlement of one Phase 1 case (cents)."""

    zuweisung_cents: int
    geplantes_volumen_cents: int
    ist_kosten_cents: int
    nicht_foerderfaehig_cents: int
    foerderfaehig_cents: int
    anerkannte_zuweisung_cents: int
    rueckforderung_cents: int
    ist_je_handlungsfeld: dict[str, int]

    def as_dict(self) -> dict[str, object]:
        return {
            "zuweisung_cents": self.zuweisung_cents,
            "geplantes_volumen_cents": self.geplantes_volumen_cents,
            "ist_kosten_cents": self.ist_kosten_cents,
            "nicht_foerderfaehig_cents": self.nicht_foerderfaehig_cents,
            "foerderfaehig_cents": self.foerderfaehig_cents,
            "anerkannte_zuweisung_cents": self.anerkannte_zuweisung_cents,
            "rueckforderung_cents": self.rueckforderung_cents,
            "ist_je_handlungsfeld": dict(self.ist_je_handlungsfeld),
            "rueckforderung": format_euro(self.rueckforderung_cents),
            "anerkannte_zuweisung": format_euro(self.anerkannte_zuweisung_cents),
            "ist_kosten": format_euro(self.ist_kosten_cents),
        }


def check_pruefung(ist_massnahmen: object,
                   nicht_foerderfaehig: object = "0") -> tuple[dict[str, int], int]:
    """Actual costs per Handlungsfeld and the ineligible amount (cents), or
    :class:`ValidationFailed`: the ineligible amount cannot exceed the costs shown.

    >>> check_pruefung([{"handlungsfeld": "beratung", "ist_kosten": "100"}], "150")
    Traceback (most recent call last):
    ...
    app.domain.errors.ValidationFailed: Die Abrechnung kann so nicht erstellt werden. \
(/nicht_foerderfaehig: Die nicht förderfähigen Ausgaben (150,00 €) können nicht höher sein als \
die nachgewiesenen Ausgaben (100,00 €).)
    """
    errors: list[FieldError] = []
    items = _items(ist_massnahmen, "ist_massnahmen", errors)
    sums = _sum_per_field(items, "ist_kosten", "ist_massnahmen", errors)
    try:
        ineligible = parse_euro(nicht_foerderfaehig if nicht_foerderfaehig not in (None, "")
                                else "0")
    except ValueError as exc:
        errors.append(FieldError("/nicht_foerderfaehig", str(exc)))
        ineligible = 0
    ist = sum(sums.values())
    if not errors and ineligible > ist:
        errors.append(FieldError(
            "/nicht_foerderfaehig",
            f"Die nicht förderfähigen Ausgaben ({format_euro(ineligible)}) können nicht höher "
            f"sein als die nachgewiesenen Ausgaben ({format_euro(ist)})."))
    if errors:
        raise ValidationFailed("Die Abrechnung kann so nicht erstellt werden.", errors)
    return {k: v for k, v in sums.items() if v}, ineligible


def abrechnung(zuweisung_cents: int, geplantes_volumen_cents: int, ist_massnahmen: object,
               nicht_foerderfaehig: object = "0") -> Abrechnung:
    """Settle a case from the actual costs per Handlungsfeld and the amount the review found
    ineligible. Raises :class:`ValidationFailed` for inconsistent input.

    60 % of the planned volume spent → 40 % of the Zuweisung reclaimed:

    >>> a = abrechnung(750_000, 1_000_000,
    ...                [{"handlungsfeld": "beratung", "ist_kosten": "6000"}])
    >>> a.anerkannte_zuweisung_cents, a.rueckforderung_cents
    (450000, 300000)
    """
    sums, ineligible = check_pruefung(ist_massnahmen, nicht_foerderfaehig)
    ist = sum(sums.values())
    eligible = ist - ineligible
    covered = eligible_funding_phase1(zuweisung_cents, geplantes_volumen_cents, eligible)
    return Abrechnung(
        zuweisung_cents=zuweisung_cents,
        geplantes_volumen_cents=geplantes_volumen_cents,
        ist_kosten_cents=ist,
        nicht_foerderfaehig_cents=ineligible,
        foerderfaehig_cents=eligible,
        anerkannte_zuweisung_cents=covered,
        rueckforderung_cents=zuweisung_cents - covered,
        ist_je_handlungsfeld=sums,
    )


# --------------------------------------------------------------------------- script functions


def _messages(exc: ValidationFailed) -> list[dict[str, str]]:
    return [e.to_dict() for e in exc.errors] or [{"path": "", "message": exc.message}]


def planung_pruefen(massnahmen: object, zuweisung_cents: int,
                    eigenanteil_percent: object = 25) -> dict:
    """For BPMN scripts: ``{"fehler": [...], "volumen_cents": n, ...}``; never raises for
    bad user input (the process loops back to the form and shows ``fehler``)."""
    try:
        plan = check_massnahmenplan(massnahmen, int(zuweisung_cents), str(eigenanteil_percent))
    except ValidationFailed as exc:
        return {"fehler": _messages(exc), "volumen_cents": 0,
                "mindestvolumen_cents": mindestvolumen_cents(int(zuweisung_cents),
                                                             str(eigenanteil_percent))}
    return {"fehler": [], "volumen_cents": plan.volumen_cents,
            "volumen": format_euro(plan.volumen_cents),
            "mindestvolumen_cents": plan.mindestvolumen_cents,
            "je_handlungsfeld": plan.je_handlungsfeld}


def abrechnung_erstellen(zuweisung_cents: int, geplantes_volumen_cents: int,
                         ist_massnahmen: object, nicht_foerderfaehig: object = "0") -> dict:
    """For BPMN scripts: the settlement as a dict, or ``{"fehler": [...]}``."""
    try:
        result = abrechnung(int(zuweisung_cents), int(geplantes_volumen_cents), ist_massnahmen,
                            nicht_foerderfaehig)
    except ValidationFailed as exc:
        return {"fehler": _messages(exc)}
    except ValueError as exc:  # inconsistent amounts (e.g. Zuweisung above the planned volume)
        return {"fehler": [{"path": "", "message": str(exc)}]}
    return {"fehler": [], **result.as_dict()}


def euro(cents: int) -> str:
    """German display of cents for scripts and documents: ``1.234,56 €``."""
    return format_euro(int(cents))


SCRIPT_FUNCTIONS = {
    "phase1_planung_pruefen": planung_pruefen,
    "phase1_abrechnung": abrechnung_erstellen,
    "euro": euro,
}
