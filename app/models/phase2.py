"""Phase 2 records kept outside the engine: calls and their applications, DigiCheck results,
Blaupausen (the best-practice library)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class Foerderaufruf(Base):
    """A call (Förderaufruf): registered by its process; applications join until `frist`."""

    __tablename__ = "foerderaufruf"

    id: Mapped[int] = mapped_column(primary_key=True)
    kennung: Mapped[str] = mapped_column(String(120), unique=True)
    instance_id: Mapped[int | None] = mapped_column(
        ForeignKey("process_instance.id", ondelete="CASCADE"), index=True
    )
    titel: Mapped[str] = mapped_column(String(300))
    frist: Mapped[datetime]
    foerdersumme_cents: Mapped[int] = mapped_column(BigInteger)
    budget_cents: Mapped[int | None] = mapped_column(BigInteger)
    laufzeit_monate: Mapped[int]
    schwellenwert: Mapped[int]
    quote: Mapped[dict]
    gewichte: Mapped[dict]
    # offen | bewertung | entschieden
    status: Mapped[str] = mapped_column(String(20), default="offen")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AufrufAntrag(Base):
    """An application that joined a call before its deadline."""

    __tablename__ = "aufruf_antrag"
    __table_args__ = (UniqueConstraint("aufruf_id", "instance_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    aufruf_id: Mapped[int] = mapped_column(
        ForeignKey("foerderaufruf.id", ondelete="CASCADE"), index=True
    )
    instance_id: Mapped[int] = mapped_column(
        ForeignKey("process_instance.id", ondelete="CASCADE"), index=True
    )
    cluster_name: Mapped[str] = mapped_column(String(300))
    lead_ags: Mapped[str] = mapped_column(String(8))
    landesteil: Mapped[str] = mapped_column(String(10))
    groessenklasse: Mapped[str] = mapped_column(String(10))
    foerdersumme_cents: Mapped[int] = mapped_column(BigInteger)
    eingereicht_at: Mapped[datetime]
    # eingereicht | ausgewaehlt | nicht_ausgewaehlt
    status: Mapped[str] = mapped_column(String(20), default="eingereicht")
    score: Mapped[str | None] = mapped_column(String(20))


class DigiCheckResult(Base):
    """A municipality's DigiCheck result (kept per municipality and date)."""

    __tablename__ = "digicheck_result"

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_ags: Mapped[str] = mapped_column(
        ForeignKey("municipality.ags", ondelete="CASCADE"), index=True
    )
    instance_id: Mapped[int | None] = mapped_column(
        ForeignKey("process_instance.id", ondelete="SET NULL"), index=True
    )
    completed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    gesamt: Mapped[int]
    scores: Mapped[dict]
    answers: Mapped[dict]
    recommendations: Mapped[list]
    document_id: Mapped[int | None] = mapped_column(ForeignKey("document.id", ondelete="SET NULL"))


class Blaupause(Base):
    """A published best practice, readable by every municipal user."""

    __tablename__ = "blaupause"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(
        ForeignKey("process_instance.id", ondelete="SET NULL"), unique=True
    )
    aktenzeichen: Mapped[str] = mapped_column(String(120), default="")
    titel: Mapped[str] = mapped_column(String(300))
    cluster_name: Mapped[str] = mapped_column(String(300))
    lead_ags: Mapped[str] = mapped_column(String(8), index=True)
    mitglieder: Mapped[list]
    themenbereiche: Mapped[list]
    massnahmen: Mapped[str] = mapped_column(Text)
    nachnutzung: Mapped[str] = mapped_column(Text)
    ergebnisse: Mapped[str] = mapped_column(Text, default="")
    kontakt: Mapped[str] = mapped_column(String(300), default="")
    published_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
