"""Domain errors with machine-readable codes and German, field-addressed messages.

Every rule module raises one of these. A ``DomainError`` carries

* ``code`` – machine-readable (``"validation_failed"``, ``"budget_exceeded"`` …),
* ``message`` – a German summary for the user,
* ``errors`` – a list of :class:`FieldError` (JSON pointer + German message naming the field),
* ``details`` – optional machine-readable extras (amounts, ids) for the API layer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One problem with one field, addressed by a JSON pointer such as ``/partner/2/ags``."""

    path: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


def pointer(*parts: object) -> str:
    """Build a JSON pointer (RFC 6901) from path segments.

    >>> pointer("partner", 2, "ags")
    '/partner/2/ags'
    >>> pointer("antworten", "a/b~c")
    '/antworten/a~1b~0c'
    """
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


class DomainError(Exception):
    """Base class of all rule violations raised by :mod:`app.domain`."""

    code: str = "domain_error"
    default_message: str = "Die Anfrage verletzt eine Regel des Förderprogramms."

    def __init__(
        self,
        message: str | None = None,
        errors: Iterable[FieldError] = (),
        *,
        code: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        self.message: str = message or self.default_message
        self.errors: list[FieldError] = list(errors)
        if code is not None:
            self.code = code
        self.details: dict[str, Any] = dict(details or {})
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "errors": [e.to_dict() for e in self.errors],
        }
        if self.details:
            data["details"] = dict(self.details)
        return data

    def __str__(self) -> str:
        if not self.errors:
            return self.message
        lines = "; ".join(f"{e.path}: {e.message}" for e in self.errors)
        return f"{self.message} ({lines})"


class ValidationFailed(DomainError):
    """Input does not satisfy the programme rules; ``errors`` lists every problem found."""

    code = "validation_failed"
    default_message = "Die Angaben sind unvollständig oder fehlerhaft."


class BudgetExceeded(DomainError):
    """Not enough money available (budget position, call budget …)."""

    code = "budget_exceeded"
    default_message = "Die verfügbaren Haushaltsmittel reichen nicht aus."


class RuleViolation(DomainError):
    """An action is not allowed in the current state (e.g. paying more than was bound)."""

    code = "rule_violation"
    default_message = "Die Aktion ist nach den Regeln des Förderprogramms nicht zulässig."


def raise_if_errors(errors: list[FieldError], message: str | None = None) -> None:
    """Raise :class:`ValidationFailed` with all collected errors, if there are any."""
    if errors:
        raise ValidationFailed(message, errors)
