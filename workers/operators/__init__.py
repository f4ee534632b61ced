"""Registry of service-task operators: BPMN serviceTaskOperator name → Operator.

Each module below lists its operators in OPERATORS; the registry merges them.
"""

from __future__ import annotations

from app.services.operators import Operator

from . import common, demo, phase1, phase2

REGISTRY: dict[str, Operator] = {
    op.name: op for module in (demo, common, phase1, phase2) for op in module.OPERATORS
}
