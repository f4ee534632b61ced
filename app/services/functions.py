"""Functions that BPMN scripts and expressions may call (the domain rules, read-only).

Date and time types are built into the restricted environment already.
"""

from __future__ import annotations


def script_functions() -> dict:
    return {}
