"""Operators shared by all services: documents (PDF), e-mail, budget ledger."""

from __future__ import annotations

from app.services.operators import Operator

OPERATORS: list[Operator] = []
