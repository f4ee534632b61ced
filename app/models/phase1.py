"""Phase 1 (Finanzausweisung): master-data imports and history, Finanzkraft per year,
programme-year parameters, allocation runs with their results, and the per-municipality cases
a release starts."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class MasterdataImport(Base):
    """One import of the municipality directory or of a Finanzkraft file (kept for the record)."""

    __tablename__ = "masterdata_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    # gemeindeverzeichnis | finanzkraft
    kind: Mapped[str] = mapped_column(String(30), index=True)
    filename: Mapped[str] = mapped_column(String(255), default="")
    sha256: Mapped[str] = mapped_column(String(64))
    gebietsstand: Mapped[date | None]
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    imported_by: Mapped[str] = mapped_column(String(80), default="")
    summary: Mapped[dict] = mapped_column(default=dict)


class MunicipalityHistory(Base):
    """A change of one attribute of a municipality (name, population, activity ...)."""

    __tablename__ = "municipality_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    ags: Mapped[str] = mapped_column(ForeignKey("municipality.ags", ondelete="CASCADE"), index=True)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("masterdata_import.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    field: Mapped[str] = mapped_column(String(40))
    old_value: Mapped[str | None] = mapped_column(String(300))
    new_value: Mapped[str | None] = mapped_column(String(300))
    gebietsstand: Mapped[date | None]


class Finanzkraft(Base):
    """Finanzkraft je Einwohner (€) of one municipality in one year."""

    __tablename__ = "finanzkraft"

    ags: Mapped[str] = mapped_column(
        ForeignKey("municipality.ags", ondelete="CASCADE"), primary_key=True)
    jahr: Mapped[int] = mapped_column(primary_key=True)
    je_einwohner: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    import_id: Mapped[int | None] = mapped_column(ForeignKey("masterdata_import.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProgrammeYear(Base):
    """The allocation parameters of one programme year (all configurable, see BRIEF)."""

    __tablename__ = "phase1_programme_year"

    jahr: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    budget_cents: Mapped[int] = mapped_column(BigInteger)
    sockel_cents: Mapped[int] = mapped_column(BigInteger, default=750_000)
    eigenanteil_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("25"))
    hfag_threshold: Mapped[int] = mapped_column(default=7500)
    hfag_klein: Mapped[Decimal] = mapped_column(Numeric(8, 4), default=Decimal("1.00"))
    hfag_gross: Mapped[Decimal] = mapped_column(Numeric(8, 4), default=Decimal("1.09"))
    hfag_mittelzentrum: Mapped[Decimal] = mapped_column(Numeric(8, 4), default=Decimal("1.30"))
    hfag_sonderstatus: Mapped[Decimal] = mapped_column(Numeric(8, 4), default=Decimal("1.58"))
    elasticity: Mapped[Decimal] = mapped_column(Numeric(8, 4), default=Decimal("1"))
    g_min: Mapped[Decimal] = mapped_column(Numeric(8, 4), default=Decimal("0.5"))
    g_max: Mapped[Decimal] = mapped_column(Numeric(8, 4), default=Decimal("2"))
    # Finanzkraft of which year the key uses (default: the programme year itself)
    finanzkraft_jahr: Mapped[int]
    # end of the funding period; Verwendungsnachweis due six months later
    laufzeit_ende: Mapped[date]
    haushaltstitel: Mapped[str] = mapped_column(String(40), default="")
    # per-year HFAG status overrides {ags: "mittelzentrum" | "sonderstatus" | ""}
    hfag_status: Mapped[dict] = mapped_column(default=dict)
    include_demo: Mapped[bool] = mapped_column(default=False)
    # reminder this many weeks before the Zwischen- and Verwendungsnachweis deadlines
    erinnerung_wochen: Mapped[int] = mapped_column(default=4)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(80), default="")


class AllocationRun(Base):
    """A computed allocation: a simulation (never released) or a release request."""

    __tablename__ = "phase1_allocation_run"
    __table_args__ = (Index("ix_phase1_allocation_run_jahr_kind", "jahr", "kind", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    jahr: Mapped[int]
    # simulation | release
    kind: Mapped[str] = mapped_column(String(20))
    # simulation: simulated; release: requested → released | rejected
    status: Mapped[str] = mapped_column(String(20))
    parameters: Mapped[dict]
    finanzkraft_jahr: Mapped[int]
    count: Mapped[int] = mapped_column(default=0)
    sum_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_by: Mapped[str] = mapped_column(String(80), default="")
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_by: Mapped[str | None] = mapped_column(String(80))
    note: Mapped[str | None] = mapped_column(Text)
    # the process instance that starts the per-municipality cases in bulk
    start_instance_id: Mapped[int | None]


class AllocationResult(Base):
    __tablename__ = "phase1_allocation_result"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("phase1_allocation_run.id", ondelete="CASCADE"), primary_key=True)
    ags: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kreis: Mapped[str] = mapped_column(String(200), default="")
    landesteil: Mapped[str] = mapped_column(String(10))
    einwohner: Mapped[int]
    groessenklasse: Mapped[str] = mapped_column(String(10))
    finanzkraft: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    hfag_faktor: Mapped[Decimal] = mapped_column(Numeric(8, 4))
    finanzkraft_faktor: Mapped[str] = mapped_column(String(40))  # 12 decimal places, exact
    gewicht: Mapped[str] = mapped_column(String(60))  # exact decimal as text
    zuweisung_cents: Mapped[int] = mapped_column(BigInteger)
    volumen_cents: Mapped[int] = mapped_column(BigInteger)
    eigenanteil_cents: Mapped[int] = mapped_column(BigInteger)


class Phase1Case(Base):
    """One municipality's Phase 1 case of a programme year; at most one per (jahr, ags), so a
    repeated or concurrent release can never start a second instance."""

    __tablename__ = "phase1_case"
    __table_args__ = (UniqueConstraint("jahr", "ags"),
                      Index("ix_phase1_case_run_status", "run_id", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    jahr: Mapped[int]
    ags: Mapped[str] = mapped_column(String(8))
    run_id: Mapped[int] = mapped_column(ForeignKey("phase1_allocation_run.id"))
    aktenzeichen: Mapped[str] = mapped_column(String(40))
    # pending → started
    status: Mapped[str] = mapped_column(String(20), default="pending")
    instance_id: Mapped[int | None] = mapped_column(
        ForeignKey("process_instance.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
