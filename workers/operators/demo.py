"""Operators of the demo process."""

from __future__ import annotations

from app.services.operators import Operator, OperatorContext


def demo_bescheid(params: dict, context: OperatorContext) -> dict:
    """A pure operator: derives a file number from the instance; no side effects."""
    return {
        "aktenzeichen": f"DEMO-{context.instance_id:06d}",
        "entscheidung": params.get("entscheidung"),
        "betrag": params.get("betrag"),
    }


OPERATORS = [
    Operator("demo_bescheid", demo_bescheid,
             description="Demo: erzeugt ein Aktenzeichen für den Demo-Bescheid."),
]
