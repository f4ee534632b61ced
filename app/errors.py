"""One place that turns errors into HTTP: JSON problems for the API, a German page otherwise."""

from __future__ import annotations

import json
import logging
import re
from urllib.parse import unquote_to_bytes

from flask import Flask, jsonify, request
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
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
    return client_error(status, code, message, errors)


def client_error(status: int, code: str, message: str, errors: list | None = None):  # noqa: ANN201
    """A 4xx as problem JSON for the API, as a German page for the browser."""
    if not wants_json():
        from app.web.errors import error_page

        return error_page(status, message, errors)
    return problem(status, code, message, errors)


# --- request decoding: text that is not valid Unicode is refused before any view sees it -------
# Werkzeug decodes paths, query strings and form fields with U+FFFD for bytes that are not UTF-8;
# JSON may spell lone UTF-16 surrogates as escapes (\ud800), which Python accepts but no
# database driver or UTF-8 response can encode.
_SURROGATE_OR_REPLACEMENT = re.compile("[\ud800-\udfff\ufffd]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_LONE_SURROGATE_ESCAPE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def _bad_json_text(value: object, path: str = "") -> str | None:
    """The JSON pointer of the first key or string holding a lone surrogate, else None."""
    if isinstance(value, str):
        return path if _SURROGATE.search(value) else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        where = f"{path}/{key}"
        if isinstance(key, str) and _SURROGATE.search(key):
            return where
        found = _bad_json_text(item, where)
        if found is not None:
            return found
    return None


def _bad_form_text(fields) -> str | None:  # noqa: ANN001
    """Form fields: U+FFFD stands for bytes that were not UTF-8; JSON-style surrogate escapes
    (forms that carry JSON text) would decode to lone surrogates later."""
    for key, value in fields.items(multi=True):
        texts = [t for t in (key, value) if isinstance(t, str)]
        if any(_SURROGATE_OR_REPLACEMENT.search(t) for t in texts) or (
                isinstance(value, str) and _LONE_SURROGATE_ESCAPE.search(value)):
            return f"/{key}"
    return None


def _not_utf8(raw: bytes) -> bool:
    """Percent-encoded text (query string, url-encoded form) whose bytes are not UTF-8 (Werkzeug
    would keep such sequences as literal text)."""
    try:
        unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _bad_json_body() -> str | None:
    raw = request.get_data(cache=True)
    if not _SURROGATE_ESCAPE.search(raw):
        return None
    try:
        return _bad_json_text(json.loads(raw))
    except (ValueError, RecursionError):
        return None  # not JSON: the view's parser answers 400


def _bad_text_in_request() -> str | None:
    if _SURROGATE_OR_REPLACEMENT.search(request.path):
        return "(Pfad)"
    if _not_utf8(request.query_string):
        return "(Abfrage)"
    if request.is_json:
        return _bad_json_body()
    if request.mimetype == "application/x-www-form-urlencoded" and _not_utf8(request.get_data(cache=True)):
        return "(Formular)"
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return _bad_form_text(request.form)
    return None


def reject_invalid_text():  # noqa: ANN201
    """before_request: 400 for text that is not valid Unicode (nothing is stored or echoed)."""
    where = _bad_text_in_request()
    if where is None:
        return None
    where = where.encode("utf-8", "backslashreplace").decode()  # the answer itself must encode
    return client_error(400, "invalid_text", "Die Anfrage enthält Text, der kein gültiges "
                        "Unicode ist (z. B. ein einzelnes UTF-16-Surrogat oder kein UTF-8).",
                        [{"path": where, "message": "Ungültige Zeichenkodierung."}])


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def _service_error(exc: ServiceError):  # noqa: ANN202
        if not wants_json():
            from app.web.errors import error_page

            response = app.make_response(error_page(exc.status, exc.message, exc.errors))
        else:
            response = problem(exc.status, exc.code, exc.message, exc.errors)
        response.headers.update(exc.headers())
        return response

    @app.errorhandler(OperationalError)
    @app.errorhandler(DBAPIError)
    def _db_unavailable(exc: Exception):  # noqa: ANN202
        log.warning("database unavailable: %s", exc)
        return problem(503, "database_unavailable",
                       "Die Datenbank ist vorübergehend nicht erreichbar. Bitte später erneut versuchen.")

    @app.errorhandler(IntegrityError)
    def _integrity_conflict(exc: IntegrityError):  # noqa: ANN202
        # a unique key or reference the database enforces (e.g. two requests creating the same
        # name at once): a conflict with the current state, not an unavailable database
        log.info("integrity conflict: %s", exc.orig)
        return client_error(409, "conflict", "Die Änderung widerspricht dem aktuellen Stand (z. B. "
                            "gibt es den Eintrag inzwischen schon). Bitte laden Sie neu und "
                            "versuchen Sie es erneut.")

    @app.errorhandler(DataError)
    @app.errorhandler(OverflowError)
    def _invalid_value(exc: Exception):  # noqa: ANN202
        # the database (or SQLite's integer range) refused a value the caller sent: a client error
        log.info("value refused by the database: %s", exc)
        return client_error(422, "invalid_value", "Ein Wert ist ungültig: zu lang, mit unzulässigen "
                            "Zeichen (z. B. NUL) oder außerhalb des zulässigen Bereichs.")

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
