"""Exactly-once side effects for operators: the idempotency key is the primary key.

    result = effects.once(ctx, "email", lambda: send_mail(...))

The effect runs only if no row for the key exists; the row is written in the same transaction
as anything the effect writes to the database (pass `session`-using callables), or right after an
external effect (SMTP). A redelivered job finds the row and returns the stored result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError

from app.models import OperatorEffect

from .operators import OperatorContext


def once(ctx: OperatorContext, operator: str, effect: Callable[[Any], dict | None]) -> dict | None:
    """Run `effect(session)` once per idempotency key; return its (stored) result."""
    db = ctx.platform.db
    with db.unit_of_work() as session:
        existing = session.get(OperatorEffect, ctx.idempotency_key)
        if existing is not None:
            return existing.result
    try:
        with db.unit_of_work() as session:
            result = effect(session)
            session.add(OperatorEffect(idempotency_key=ctx.idempotency_key, operator=operator,
                                       instance_id=ctx.instance_id, result=result))
            return result
    except IntegrityError:
        # a concurrent redelivery recorded it first
        with db.unit_of_work() as session:
            return session.get(OperatorEffect, ctx.idempotency_key).result
