"""Versioned process definitions: sources and the serialised spec, stored once per version."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class ProcessDefinition(Base):
    __tablename__ = "process_definition"
    __table_args__ = (UniqueConstraint("key", "version"), UniqueConstraint("key", "content_hash"))

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), index=True)
    version: Mapped[int]
    name: Mapped[str] = mapped_column(String(300), default="")
    content_hash: Mapped[str] = mapped_column(String(64))
    # {filename: text} of every BPMN/DMN file the process needs (deferred: large, rarely read)
    sources: Mapped[dict] = mapped_column(deferred=True)
    # {filename: parsed JSON} of every form file its user tasks reference
    forms: Mapped[dict]
    # serializer output of the spec and its subprocess specs (shared by all instances; read
    # through the spec cache, hence deferred)
    spec_json: Mapped[str] = mapped_column(Text, deferred=True)
    starter_groups: Mapped[list] = mapped_column(default=list)
    deployed_at: Mapped[datetime] = mapped_column(default=utcnow)
    deployed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
