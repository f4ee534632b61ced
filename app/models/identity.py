"""Users, groups and municipality membership."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Column, ForeignKey, Numeric, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow

user_groups = Table(
    "user_group",
    Base.metadata,
    Column("user_id", ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", ForeignKey("group.id", ondelete="CASCADE"), primary_key=True),
)

user_municipalities = Table(
    "user_municipality",
    Base.metadata,
    Column("user_id", ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True),
    Column("ags", ForeignKey("municipality.ags", ondelete="CASCADE"), primary_key=True),
)


class Group(Base):
    __tablename__ = "group"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200), default="")


class Municipality(Base):
    __tablename__ = "municipality"
    ags: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kreis: Mapped[str] = mapped_column(String(200), default="")
    regierungsbezirk: Mapped[str] = mapped_column(String(50), default="")
    landesteil: Mapped[str] = mapped_column(String(10), index=True)
    einwohner: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    demo: Mapped[bool] = mapped_column(default=False)
    # Phase 1 master data (migration 0002p1): area, Destatis Gebietsstand and text mark,
    # HFAG status (mittelzentrum | sonderstatus | None)
    flaeche_km2: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    gebietsstand: Mapped[date | None]
    gemeinde_typ: Mapped[str | None] = mapped_column(String(60))
    hfag_status: Mapped[str | None] = mapped_column(String(20))


class User(Base):
    __tablename__ = "user_account"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    # raised on password change, deactivation and forced logout: tokens and browser sessions
    # carry the version they were issued with and are refused once it differs (migration 0002auth)
    token_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    groups: Mapped[list[Group]] = relationship(secondary=user_groups, lazy="selectin")
    municipalities: Mapped[list[Municipality]] = relationship(
        secondary=user_municipalities, lazy="selectin"
    )

    @property
    def group_names(self) -> set[str]:
        return {g.name for g in self.groups}

    @property
    def municipality_codes(self) -> set[str]:
        return {m.ags for m in self.municipalities}
