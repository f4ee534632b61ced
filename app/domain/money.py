"""Money as integer cents. Never float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

Cents = int


def to_cents(value: object) -> Cents:
    """Convert euros (str, int, Decimal) to integer cents; floats are refused.

    >>> to_cents("2500000.00")
    250000000
    """
    if isinstance(value, bool) or isinstance(value, float):
        raise TypeError("Geldbeträge werden nicht als Gleitkommazahl angenommen.")
    try:
        d = Decimal(str(value))
    except InvalidOperation as exc:  # pragma: no cover - message path
        raise ValueError(f"Kein gültiger Geldbetrag: {value!r}") from exc
    return int((d * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def to_euro(cents: Cents) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def format_euro(cents: Cents) -> str:
    """German format: 1.234.567,89 €"""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    euros, rest = divmod(cents, 100)
    grouped = f"{euros:,}".replace(",", ".")
    return f"{sign}{grouped},{rest:02d} €"
