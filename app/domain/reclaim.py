"""Phase 2 Schlussabrechnung: eligible funding, Rückforderung or Nachzahlung (exact cents).

The grant is an Anteilfinanzierung: the Land pays ``Förderquote = Zuwendung / geplantes
Gesamtvolumen`` (at most 75 % with a 25 % Eigenanteil) of the eligible actual costs, capped at
the approved Zuwendung. Lower actual costs therefore reduce the grant pro rata, and the
Eigenanteil stays at its share:

    zuwendungsfähig = min(Zuwendung, round_half_up(förderfähige Ist-Kosten × Förderquote))
    Rückforderung   = max(0, ausgezahlt − zuwendungsfähig)
    Nachzahlung     = max(0, zuwendungsfähig − ausgezahlt)   (never above the Zuwendung)

Rounding is done once, exactly (integer arithmetic), half up to the cent. Interest on
Rückforderungen (§ 49a HVwVfG) is not part of this calculation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from app.domain.cluster import KOSTENARTEN
from app.domain.errors import FieldError, ValidationFailed, pointer


def _not_int(value: object) -> bool:
    return isinstance(value, bool) or not isinstance(value, int)


def mul_div_round_half_up(value: int, numerator: int, denominator: int) -> int:
    """``round_half_up(value × numerator / denominator)`` for non-negative ints, exactly."""
    if value < 0 or numerator < 0 or denominator <= 0:
        raise ValueError("Nur nicht negative Werte und ein positiver Nenner sind zulässig.")
    return (2 * value * numerator + denominator) // (2 * denominator)


@dataclass(frozen=True)
class Schlussabrechnung:
    zuwendung_cents: int
    geplantes_volumen_cents: int
    ist_kosten_cents: int
    ist_kosten_je_kostenart: dict[str, int]
    foerderquote: Decimal  # display value, e.g. Decimal("0.7500"); computation stays exact
    zuwendungsfaehig_cents: int
    ausgezahlt_cents: int
    rueckforderung_cents: int
    nachzahlung_cents: int

    @property
    def eigenanteil_cents(self) -> int:
        """Share of the actual costs the municipalities carry themselves."""
        return self.ist_kosten_cents - self.zuwendungsfaehig_cents

    @property
    def saldo_cents(self) -> int:
        """Positive: the Land reclaims; negative: the Land pays more."""
        return self.rueckforderung_cents - self.nachzahlung_cents


def schlussabrechnung(
    zuwendung_cents: int,
    geplantes_volumen_cents: int,
    ist_kosten: int | Mapping[str, int],
    ausgezahlt_cents: int,
) -> Schlussabrechnung:
    """Final settlement of a cluster grant.

    ``ist_kosten`` are the eligible actual costs, either a total in cents or per Kostenart
    (``Personal``, ``Sachkosten``, ``Investitionen``). Raises :class:`ValidationFailed` for
    inconsistent input.
    """
    errors: list[FieldError] = []
    for name, path, value in (
        ("Zuwendung", "/zuwendung", zuwendung_cents),
        ("geplantes Gesamtvolumen", "/gesamtvolumen", geplantes_volumen_cents),
        ("ausgezahlter Betrag", "/ausgezahlt", ausgezahlt_cents),
    ):
        if _not_int(value):
            raise TypeError(f"{name} muss in ganzen Cent (int) angegeben werden.")
        if value < 0:
            errors.append(FieldError(path, f"Der Wert „{name}“ darf nicht negativ sein."))
    if isinstance(ist_kosten, Mapping):
        per_type = {k: 0 for k in KOSTENARTEN}
        for k, v in ist_kosten.items():
            if k not in KOSTENARTEN:
                errors.append(
                    FieldError(
                        pointer("ist_kosten", k),
                        f"„{k}“ ist keine Kostenart; zulässig sind {', '.join(KOSTENARTEN)}.",
                    )
                )
            elif _not_int(v) or v < 0:
                errors.append(
                    FieldError(
                        pointer("ist_kosten", k),
                        f"Die Ist-Kosten der Kostenart {k} müssen ein nicht negativer Betrag "
                        f"in Cent sein.",
                    )
                )
            else:
                per_type[k] = v
        ist_total = sum(per_type.values())
    else:
        if _not_int(ist_kosten):
            raise TypeError("Die Ist-Kosten müssen in ganzen Cent (int) angegeben werden.")
        if ist_kosten < 0:
            errors.append(
                FieldError("/ist_kosten", "Die förderfähigen Ist-Kosten dürfen nicht negativ sein.")
            )
        per_type = {}
        ist_total = ist_kosten
    if geplantes_volumen_cents == 0:
        errors.append(
            FieldError("/gesamtvolumen", "Das geplante Gesamtvolumen muss größer als 0 € sein.")
        )
    elif 0 <= geplantes_volumen_cents < zuwendung_cents:
        errors.append(
            FieldError(
                "/zuwendung",
                "Die Zuwendung darf das geplante Gesamtvolumen nicht übersteigen.",
            )
        )
    if errors:
        raise ValidationFailed("Die Schlussabrechnung kann nicht erstellt werden.", errors)

    pro_rata = mul_div_round_half_up(ist_total, zuwendung_cents, geplantes_volumen_cents)
    zuwendungsfaehig = min(zuwendung_cents, pro_rata)
    quote = (Decimal(zuwendung_cents) / Decimal(geplantes_volumen_cents)).quantize(
        Decimal("0.0001"), rounding=ROUND_HALF_UP
    )
    return Schlussabrechnung(
        zuwendung_cents=zuwendung_cents,
        geplantes_volumen_cents=geplantes_volumen_cents,
        ist_kosten_cents=ist_total,
        ist_kosten_je_kostenart=per_type,
        foerderquote=quote,
        zuwendungsfaehig_cents=zuwendungsfaehig,
        ausgezahlt_cents=ausgezahlt_cents,
        rueckforderung_cents=max(0, ausgezahlt_cents - zuwendungsfaehig),
        nachzahlung_cents=max(0, zuwendungsfaehig - ausgezahlt_cents),
    )
