"""One place that turns errors into HTTP: JSON problems for the API, a German page otherwise."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from app.services.errors import ServiceError

log = logging.getLogger(__name__)

_GERMAN = {
    "Missing data for required field.": "Pflichtfeld fehlt.",
    "Unknown field.": "Unbekanntes Feld.",
    "Not a valid string.": "Kein gültiger Text.",
    "Not a valid integer.": "Keine gültige ganze Zahl.",
    "Not a valid number.": "Keine gültige Zahl.",
    "Not a valid boolean.": "Kein gültiger Wahrheitswert.",
    "Not a valid mapping type.": "Ein Objekt wird erwartet.",
    "Not a valid list.": "Eine Liste wird erwartet.",
    "Not a valid datetime.": "Kein gültiger Zeitpunkt.",
    "Not a valid UUID.": "Keine gültige Kennung.",
    "Field may not be null.": "Darf nicht leer sein.",
    "Invalid input type.": "Ungültiger Eingabetyp.",
}
_STATUS_CODES = {
    400: ("bad_request", "Die Anfrage ist fehlerhaft."),
    401: ("unauthenticated", "Bitte melden Sie sich an."),
    403: ("forbidden", "Dafür fehlt Ihnen die Berechtigung."),
    404: ("not_found", "Nicht gefunden."),
    405: ("method_not_allowed", "Diese Methode ist hier nicht erlaubt."),
    409: ("conflict", "Konflikt mit dem aktuellen Stand."),
    413: ("payload_too_large", "Die Anfrage ist zu groß."),
    415: ("unsupported_media_type", "Dieses Datenformat wird nicht unterstützt."),
    422: ("validation_failed", "Die Eingaben sind ungültig."),
    429: ("too_many_requests", "Zu viele Anfragen. Bitte warten Sie einen Moment."),
}


def _german(msg: str) -> str:
    if msg in _GERMAN:
        return _GERMAN[msg]
    if msg.startswith("Must be one of"):
        return "Unzulässiger Wert."
    if msg.startswith("Length must be") or msg.startswith("Shorter than") or msg.startswith("Longer than"):
        return "Unzulässige Länge."
    if msg.startswith("Must be greater") or msg.startswith("Must be less"):
        return "Wert außerhalb des erlaubten Bereichs."
    return msg


def _flatten(messages, prefix: str = "") -> list[dict]:  # noqa: ANN001
    out: list[dict] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key in ("json", "query", "form", "files", "headers", "path", "view_args") and not prefix:
                out.extend(_flatten(value, ""))
            elif key == "_schema":
                out.extend(_flatten(value, prefix))
            else:
                out.extend(_flatten(value, f"{prefix}/{key}"))
    elif isinstance(messages, list):
        for m in messages:
            if isinstance(m, (dict, list)):
                out.extend(_flatten(m, prefix))
            else:
                out.append({"path": prefix, "message": _german(str(m))})
    else:
        out.append({"path": prefix, "message": _german(str(messages))})
    return out


def problem(status: int, code: str, message: str, errors: list | None = None):  # noqa: ANN201
    response = jsonify({"code": code, "message": message, "errors": errors or []})
    response.status_code = status
    return response


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def handle_http(exc: HTTPException):  # noqa: ANN201
    status = exc.code or 500
    code, message = _STATUS_CODES.get(status, ("error", exc.description or "Fehler"))
    errors = []
    data = getattr(exc, "data", None) or {}
    if "messages" in data:
        errors = _flatten(data["messages"])
        message = "Die Eingaben sind ungültig."
    if status == 400 and not errors and exc.description and "JSON" in str(exc.description):
        message = "Der Anfragekörper ist kein gültiges JSON."
        code = "invalid_json"
    if not wants_json():
        from app.web.errors import error_page

        return error_page(status, message, errors)
    return problem(status, code, message, errors)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def _service_error(exc: ServiceError):  # noqa: ANN202
        if not wants_json():
            from app.web.errors import error_page

            return error_page(exc.status, exc.message, exc.errors)
        return problem(exc.status, exc.code, exc.message, exc.errors)

    @app.errorhandler(OperationalError)
    @app.errorhandler(DBAPIError)
    def _db_unavailable(exc: Exception):  # noqa: ANN202
        log.warning("database unavailable: %s", exc)
        return problem(503, "database_unavailable",
                       "Die Datenbank ist vorübergehend nicht erreichbar. Bitte später erneut versuchen.")

    @app.errorhandler(DataError)
    @app.errorhandler(OverflowError)
    def _invalid_value(exc: Exception):  # noqa: ANN202
        # the database (or SQLite's integer range) refused a value the caller sent: a client error
        log.info("value refused by the database: %s", exc)
        message = ("Ein Wert ist ungültig: zu lang, mit unzulässigen Zeichen (z. B. NUL) oder "
                   "außerhalb des zulässigen Bereichs.")
        if not wants_json():
            from app.web.errors import error_page

            return error_page(422, message)
        return problem(422, "invalid_value", message)

    @app.errorhandler(RecursionError)
    def _too_deep(exc: RecursionError):  # noqa: ANN202
        if request.is_json:  # the JSON parser gave up on a deeply nested request body
            return problem(400, "invalid_json", "Der JSON-Inhalt ist zu tief verschachtelt.")
        return _unexpected(exc)

    app.register_error_handler(HTTPException, handle_http)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # noqa: ANN202
        log.exception("unexpected error")
        return problem(500, "internal_error",
                       "Ein interner Fehler ist aufgetreten. Der Vorfall wurde protokolliert.")
