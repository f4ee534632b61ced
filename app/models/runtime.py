"""Running instances, stored incrementally: one row per engine task, plus projections."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class ProcessInstance(Base):
    __tablename__ = "process_instance"

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"), index=True)
    process_key: Mapped[str] = mapped_column(String(120), index=True)
    business_key: Mapped[str | None] = mapped_column(String(200), index=True)
    # what lists call the case; set from the case's data after each step (services/case_titles)
    title: Mapped[str | None] = mapped_column(String(300))
    municipality_ags: Mapped[str | None] = mapped_column(String(8), index=True)
    # running | waiting | completed | error | incident | suspended | terminated
    status: Mapped[str] = mapped_column(String(20), index=True)
    status_before_suspend: Mapped[str | None] = mapped_column(String(20))
    error_message: Mapped[str | None] = mapped_column(Text)
    error_task_id: Mapped[str | None] = mapped_column(String(36))
    # optimistic concurrency: every write bumps it, compared in the UPDATE's WHERE clause
    version: Mapped[int] = mapped_column(default=0)
    # workflow attributes and subprocess metadata without tasks (small, rewritten per step)
    engine_meta: Mapped[str] = mapped_column(Text, default="{}")
    task_seq: Mapped[int] = mapped_column(default=0)
    next_timer_at: Mapped[datetime | None] = mapped_column(index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]


class EngineTask(Base):
    """One SpiffWorkflow task, serialised on its own (data as delta against its parent)."""

    __tablename__ = "engine_task"

    instance_id: Mapped[int] = mapped_column(
        ForeignKey("process_instance.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(36), default="")  # "" = top-level
    seq: Mapped[int]
    spec_name: Mapped[str] = mapped_column(String(255))
    state: Mapped[int]
    payload: Mapped[str] = mapped_column(Text)


class HumanTask(Base):
    """Denormalised inbox projection; inboxes never deserialise a workflow."""

    __tablename__ = "human_task"
    __table_args__ = (
        Index("ix_human_task_group_open", "candidate_group", "completed_at"),
        Index("ix_human_task_assignee_open", "assignee_id", "completed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        ForeignKey("process_instance.id", ondelete="CASCADE"), index=True
    )
    task_id: Mapped[str] = mapped_column(String(36), unique=True)
    process_key: Mapped[str] = mapped_column(String(120), index=True)
    name: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(300))
    lane: Mapped[str | None] = mapped_column(String(120))
    candidate_group: Mapped[str | None] = mapped_column(String(120))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    municipality_ags: Mapped[str | None] = mapped_column(String(8), index=True)
    form_schema: Mapped[str | None] = mapped_column(String(255))
    form_ui_schema: Mapped[str | None] = mapped_column(String(255))
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    follow_up_at: Mapped[datetime | None]
    draft: Mapped[dict | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # completed | cancelled (removed by the engine, e.g. an interrupting boundary event)
    outcome: Mapped[str | None] = mapped_column(String(20))


class ServiceJob(Base):
    """A service task the engine left STARTED: the outbox row for dispatch to a worker."""

    __tablename__ = "service_job"
    __table_args__ = (Index("ix_service_job_status", "status", "available_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        ForeignKey("process_instance.id", ondelete="CASCADE"), index=True
    )
    task_id: Mapped[str] = mapped_column(String(36), index=True)
    task_name: Mapped[str] = mapped_column(String(255))
    operator: Mapped[str] = mapped_column(String(120))
    params: Mapped[dict]
    # pending (not yet sent) | sent | running | done | failed (incident) | cancelled
    status: Mapped[str] = mapped_column(String(20), default="pending")
    # interactive (a person's step) | bulk (mass start, timers, any batch): the broker queue
    lane: Mapped[str] = mapped_column(String(20), default="interactive", server_default="interactive")
    attempts: Mapped[int] = mapped_column(default=0)
    series: Mapped[int] = mapped_column(default=1)
    available_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    traceback: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    # while running: renewed by the worker's heartbeat; past it, the relay hands the job on
    lease_until: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class MessageSubscription(Base):
    """An instance waiting for a message (catch event or receive task)."""

    __tablename__ = "message_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        ForeignKey("process_instance.id", ondelete="CASCADE"), index=True
    )
    task_id: Mapped[str] = mapped_column(String(36))
    message_name: Mapped[str] = mapped_column(String(200), index=True)
    correlation: Mapped[dict]


class OperatorEffect(Base):
    """A side effect an operator performed, keyed by its idempotency key (exactly once)."""

    __tablename__ = "operator_effect"

    idempotency_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    operator: Mapped[str] = mapped_column(String(120))
    instance_id: Mapped[int | None] = mapped_column(index=True)
    result: Mapped[dict | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
