"""Functions that BPMN scripts and expressions may call (the domain rules, read-only).

Date and time types are built into the restricted environment already.
"""

from __future__ import annotations

from app.domain.phase1 import SCRIPT_FUNCTIONS as PHASE1_FUNCTIONS
from app.domain.phase2 import SCRIPT_FUNCTIONS as PHASE2_FUNCTIONS


def script_functions() -> dict:
    return {**PHASE1_FUNCTIONS, **PHASE2_FUNCTIONS}
