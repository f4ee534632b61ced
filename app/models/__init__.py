"""SQLAlchemy 2 typed models."""

from .audit import AuditEntry
from .base import Base, utcnow
from .definitions import ProcessDefinition
from .documents import Document
from .identity import Group, Municipality, User, user_groups, user_municipalities
from .ledger import BudgetBooking, BudgetPosition
from .phase1 import (  # noqa: F401
    AllocationResult,
    AllocationRun,
    Finanzkraft,
    MasterdataImport,
    MunicipalityHistory,
    Phase1Case,
    ProgrammeYear,
)
from .phase2 import AufrufAntrag, Blaupause, DigiCheckResult, Foerderaufruf
from .runtime import (
    EngineTask,
    HumanTask,
    MessageSubscription,
    OperatorEffect,
    ProcessInstance,
    ServiceJob,
)
from .web import DefinitionDraft, LoginAttempt, SavedFilter, TaskComment  # noqa: F401

__all__ = [
    "AuditEntry", "Base", "EngineTask", "Group", "HumanTask", "MessageSubscription",
    "Municipality", "OperatorEffect", "ProcessDefinition", "ProcessInstance", "ServiceJob", "User",
    "user_groups", "user_municipalities", "utcnow",
    "Document", "BudgetBooking", "BudgetPosition",
    "AufrufAntrag", "Blaupause", "DigiCheckResult", "Foerderaufruf",
]
