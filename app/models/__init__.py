"""SQLAlchemy 2 typed models."""

from .audit import AuditEntry
from .base import Base, utcnow
from .definitions import ProcessDefinition
from .identity import Group, Municipality, User, user_groups, user_municipalities
from .runtime import (
    EngineTask,
    HumanTask,
    MessageSubscription,
    OperatorEffect,
    ProcessInstance,
    ServiceJob,
)

__all__ = [
    "AuditEntry", "Base", "EngineTask", "Group", "HumanTask", "MessageSubscription",
    "Municipality", "OperatorEffect", "ProcessDefinition", "ProcessInstance", "ServiceJob", "User",
    "user_groups", "user_municipalities", "utcnow",
]
