"""Budget ledger (Haushaltsüberwachung): positions per Haushaltsjahr and Titel, and bookings.

Amounts are integer cents (BigInteger: a year's appropriation exceeds 2³¹ cents). Each booking
carries a unique idempotency key, so a redelivered service job never books twice. The running
totals on the position are updated in the same transaction as the booking row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class BudgetPosition(Base):
    __tablename__ = "budget_position"
    __table_args__ = (UniqueConstraint("haushaltsjahr", "titel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    haushaltsjahr: Mapped[int]
    titel: Mapped[str] = mapped_column(String(40))
    bezeichnung: Mapped[str] = mapped_column(String(300), default="")
    ansatz_cents: Mapped[int] = mapped_column(BigInteger)
    gebunden_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    ausgezahlt_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BudgetBooking(Base):
    """One booking: bindung | freigabe | auszahlung | rueckzahlung (for a grant reference)."""

    __tablename__ = "budget_booking"
    __table_args__ = (Index("ix_budget_booking_reference", "reference", "position_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    position_id: Mapped[int] = mapped_column(
        ForeignKey("budget_position.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    reference: Mapped[str] = mapped_column(String(120))  # Aktenzeichen of the grant
    idempotency_key: Mapped[str] = mapped_column(String(240), unique=True)
    instance_id: Mapped[int | None] = mapped_column(index=True)
    note: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[str] = mapped_column(String(80), default="system")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
