"""Operators of Phase 1 (allocation to all municipalities)."""

from __future__ import annotations

from app.services.operators import Operator

OPERATORS: list[Operator] = []
