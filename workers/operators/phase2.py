"""Operators of Phase 2 (cluster funding)."""

from __future__ import annotations

from app.services.operators import Operator

OPERATORS: list[Operator] = []
