"""Errors raised by services; one handler turns them into HTTP (app/errors.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FieldProblem:
    path: str
    message: str

    def as_dict(self) -> dict:
        return {"path": self.path, "message": self.message}


class ServiceError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, errors: list | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or []
        if code:
            self.code = code

    def headers(self) -> dict[str, str]:
        """HTTP headers that belong to this error (e.g. Retry-After)."""
        return {}


class Unauthenticated(ServiceError):
    status, code = 401, "unauthenticated"


class Forbidden(ServiceError):
    status, code = 403, "forbidden"


class NotFound(ServiceError):
    status, code = 404, "not_found"


class Conflict(ServiceError):
    status, code = 409, "conflict"


class Invalid(ServiceError):
    status, code = 422, "validation_failed"


class Unavailable(ServiceError):
    status, code = 503, "unavailable"
