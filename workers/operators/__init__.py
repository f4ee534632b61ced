"""Registry of service-task operators: BPMN serviceTaskOperator name → Operator."""

from __future__ import annotations

from app.services.operators import Operator

from .demo import demo_bescheid

REGISTRY: dict[str, Operator] = {
    op.name: op
    for op in [
        Operator("demo_bescheid", demo_bescheid,
                 description="Demo: erzeugt ein Aktenzeichen für den Demo-Bescheid."),
    ]
}
