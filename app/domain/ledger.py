"""Budget ledger (Haushaltsüberwachung) per Haushaltsjahr and Titel — integer cents only.

A :class:`LedgerPosition` holds the Ansatz (appropriation) and what is bound (Bindungen,
i.e. reservations for approved grants) and paid out (Auszahlungen). A payment consumes a
binding; ``verfuegbar = Ansatz − Bindungen − Auszahlungen``. All operations return a new
position; they never mutate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from app.domain.errors import BudgetExceeded, FieldError, RuleViolation
from app.domain.money import format_euro


def _not_int(value: object) -> bool:
    return isinstance(value, bool) or not isinstance(value, int)


def _check_amount(amount_cents: int) -> None:
    if _not_int(amount_cents):
        raise TypeError("Beträge werden in ganzen Cent (int) angegeben.")
    if amount_cents <= 0:
        raise RuleViolation(
            "Der Betrag muss größer als 0 € sein.",
            [FieldError("/betrag", "Der Betrag muss größer als 0 € sein.")],
        )


@dataclass(frozen=True)
class LedgerPosition:
    haushaltsjahr: int
    titel: str
    ansatz_cents: int
    gebunden_cents: int = 0
    ausgezahlt_cents: int = 0

    def __post_init__(self) -> None:
        for name in ("haushaltsjahr", "ansatz_cents", "gebunden_cents", "ausgezahlt_cents"):
            if _not_int(getattr(self, name)):
                raise TypeError(f"{name} muss eine ganze Zahl sein.")
        if self.ansatz_cents < 0 or self.gebunden_cents < 0 or self.ausgezahlt_cents < 0:
            raise ValueError("Ansatz, Bindungen und Auszahlungen dürfen nicht negativ sein.")
        if self.gebunden_cents + self.ausgezahlt_cents > self.ansatz_cents:
            raise ValueError("Bindungen und Auszahlungen dürfen den Ansatz nicht übersteigen.")

    @property
    def verfuegbar_cents(self) -> int:
        return self.ansatz_cents - self.gebunden_cents - self.ausgezahlt_cents

    @property
    def bezeichnung(self) -> str:
        return f"Haushaltsjahr {self.haushaltsjahr}, Titel {self.titel}"


def available(position: LedgerPosition) -> int:
    """Freely available amount in cents."""
    return position.verfuegbar_cents


def check_availability(position: LedgerPosition, amount_cents: int) -> bool:
    """Whether ``amount_cents`` can still be bound on this position."""
    if _not_int(amount_cents):
        raise TypeError("Beträge werden in ganzen Cent (int) angegeben.")
    return 0 <= amount_cents <= position.verfuegbar_cents


def reserve(position: LedgerPosition, amount_cents: int) -> LedgerPosition:
    """Bind (reserve) an amount; :class:`BudgetExceeded` if not enough is available."""
    _check_amount(amount_cents)
    if amount_cents > position.verfuegbar_cents:
        raise BudgetExceeded(
            f"{position.bezeichnung}: Es sind nur {format_euro(position.verfuegbar_cents)} "
            f"verfügbar; für die Bindung werden {format_euro(amount_cents)} benötigt.",
            [
                FieldError(
                    "/betrag",
                    f"Der Betrag übersteigt die verfügbaren Mittel um "
                    f"{format_euro(amount_cents - position.verfuegbar_cents)}.",
                )
            ],
            details=_details(position, amount_cents),
        )
    return replace(position, gebunden_cents=position.gebunden_cents + amount_cents)


def release(position: LedgerPosition, amount_cents: int) -> LedgerPosition:
    """Release (part of) a binding, e.g. when a grant is reduced or withdrawn."""
    _check_amount(amount_cents)
    if amount_cents > position.gebunden_cents:
        raise RuleViolation(
            f"{position.bezeichnung}: Es sind nur {format_euro(position.gebunden_cents)} "
            f"gebunden; {format_euro(amount_cents)} können nicht freigegeben werden.",
            [FieldError("/betrag", "Der Betrag übersteigt die bestehenden Bindungen.")],
            details=_details(position, amount_cents),
        )
    return replace(position, gebunden_cents=position.gebunden_cents - amount_cents)


def pay(position: LedgerPosition, amount_cents: int) -> LedgerPosition:
    """Pay out against an existing binding: the binding falls, the payments rise.

    Paying more than is bound raises :class:`BudgetExceeded`.
    """
    _check_amount(amount_cents)
    if amount_cents > position.gebunden_cents:
        raise BudgetExceeded(
            f"{position.bezeichnung}: Die Auszahlung von {format_euro(amount_cents)} "
            f"übersteigt die Bindungen von {format_euro(position.gebunden_cents)}.",
            [
                FieldError(
                    "/betrag",
                    f"Der Auszahlungsbetrag übersteigt die Bindungen um "
                    f"{format_euro(amount_cents - position.gebunden_cents)}.",
                )
            ],
            details=_details(position, amount_cents),
        )
    return replace(
        position,
        gebunden_cents=position.gebunden_cents - amount_cents,
        ausgezahlt_cents=position.ausgezahlt_cents + amount_cents,
    )


def refund(position: LedgerPosition, amount_cents: int) -> LedgerPosition:
    """Book a repayment (Rückzahlung after a Rückforderung) in the same budget year."""
    _check_amount(amount_cents)
    if amount_cents > position.ausgezahlt_cents:
        raise RuleViolation(
            f"{position.bezeichnung}: Es wurden nur {format_euro(position.ausgezahlt_cents)} "
            f"ausgezahlt; eine Rückzahlung von {format_euro(amount_cents)} ist nicht möglich.",
            [FieldError("/betrag", "Der Betrag übersteigt die Auszahlungen.")],
            details=_details(position, amount_cents),
        )
    return replace(position, ausgezahlt_cents=position.ausgezahlt_cents - amount_cents)


def reserve_per_year(
    positions: Mapping[int, LedgerPosition], amounts: Mapping[int, int]
) -> dict[int, LedgerPosition]:
    """Bind a multi-year plan all-or-nothing (e.g. a 2-year cluster grant).

    ``positions`` and ``amounts`` are keyed by Haushaltsjahr. If any year lacks a position or
    money, :class:`BudgetExceeded` lists every such year and nothing is bound.
    """
    errors: list[FieldError] = []
    result = dict(positions)
    for jahr in sorted(amounts):
        amount = amounts[jahr]
        if amount == 0:
            continue
        pos = positions.get(jahr)
        if pos is None:
            errors.append(
                FieldError(
                    f"/haushaltsjahre/{jahr}",
                    f"Für das Haushaltsjahr {jahr} ist kein Haushaltstitel eingerichtet.",
                )
            )
            continue
        try:
            result[jahr] = reserve(pos, amount)
        except BudgetExceeded:
            errors.append(
                FieldError(
                    f"/haushaltsjahre/{jahr}",
                    f"Haushaltsjahr {jahr}: benötigt {format_euro(amount)}, verfügbar "
                    f"{format_euro(pos.verfuegbar_cents)}.",
                )
            )
    if errors:
        raise BudgetExceeded(
            "Die Haushaltsmittel reichen nicht in allen Haushaltsjahren aus.", errors
        )
    return result


def _details(position: LedgerPosition, amount_cents: int) -> dict[str, object]:
    return {
        "haushaltsjahr": position.haushaltsjahr,
        "titel": position.titel,
        "betrag_cents": amount_cents,
        "verfuegbar_cents": position.verfuegbar_cents,
        "gebunden_cents": position.gebunden_cents,
    }
