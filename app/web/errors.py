"""German error pages (KERN layout) for browser requests.

app/errors.py calls error_page() for every non-API error; the web blueprints also register
handlers of their own so that unexpected errors inside a page never show a JSON body.
"""

from __future__ import annotations

import logging

from flask import Blueprint, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from app.errors import problem, wants_json
from app.services.errors import ServiceError

log = logging.getLogger(__name__)

TITLES = {
    400: "Die Anfrage ist fehlerhaft",
    401: "Anmeldung erforderlich",
    403: "Keine Berechtigung",
    404: "Seite nicht gefunden",
    405: "Aktion nicht möglich",
    409: "Konflikt mit dem aktuellen Stand",
    413: "Die Datei oder Anfrage ist zu groß",
    422: "Die Eingaben sind ungültig",
    429: "Zu viele Anfragen",
    500: "Ein interner Fehler ist aufgetreten",
    503: "Dienst vorübergehend nicht verfügbar",
}


def error_page(status: int, message: str, errors: list | None = None):  # noqa: ANN201
    if status == 401:
        return redirect(url_for("web_auth.login", next=request.full_path))
    title = TITLES.get(status, "Fehler")
    html = render_template("web/error.html", status=status, title=title, message=message,
                           errors=errors or [])
    return html, status


def _http(exc: HTTPException):  # noqa: ANN202
    status = exc.code or 500
    messages = {
        404: "Die angeforderte Seite gibt es nicht (mehr). Prüfen Sie die Adresse oder gehen Sie "
             "zur Startseite.",
        405: "Diese Aktion ist auf dieser Seite nicht möglich.",
        413: "Die hochgeladene Datei ist zu groß.",
    }
    return error_page(status, messages.get(status, exc.description or TITLES.get(status, "Fehler")))


def _csrf(exc: CSRFError):  # noqa: ANN202
    return error_page(400, "Das Formular ist abgelaufen oder wurde nicht von dieser Seite "
                           "gesendet. Bitte laden Sie die Seite neu und versuchen Sie es erneut.")


def _service(exc: ServiceError):  # noqa: ANN202
    return error_page(exc.status, exc.message, exc.errors)


def _database(exc: Exception):  # noqa: ANN202
    log.warning("database unavailable: %s", exc)
    return error_page(503, "Die Datenbank ist vorübergehend nicht erreichbar. Bitte versuchen Sie "
                           "es in einigen Minuten erneut.")


def _invalid_value(exc: Exception):  # noqa: ANN202
    log.info("value refused by the database: %s", exc)
    return error_page(422, "Ein Wert ist ungültig: zu lang, mit unzulässigen Zeichen oder außerhalb "
                           "des zulässigen Bereichs.")


def _unexpected(exc: Exception):  # noqa: ANN202
    log.exception("unexpected error in a web page")
    return error_page(500, "Ein interner Fehler ist aufgetreten. Der Vorfall wurde protokolliert. "
                           "Bitte versuchen Sie es später erneut.")


def register_error_pages(bp: Blueprint) -> None:
    """Blueprint handlers win over the app's JSON handlers for errors raised in web views."""
    bp.register_error_handler(CSRFError, _csrf)
    bp.register_error_handler(HTTPException, _http)
    bp.register_error_handler(ServiceError, _service)
    bp.register_error_handler(OperationalError, _database)
    bp.register_error_handler(DBAPIError, _database)
    bp.register_error_handler(DataError, _invalid_value)
    bp.register_error_handler(OverflowError, _invalid_value)
    bp.register_error_handler(Exception, _unexpected)


def register_app_handlers(app) -> None:  # noqa: ANN001
    """CSRF failures outside a web blueprint (e.g. a cookie-authenticated API call)."""
    @app.errorhandler(CSRFError)
    def _csrf_app(exc: CSRFError):  # noqa: ANN202
        if wants_json():
            return problem(400, "csrf_failed", "CSRF-Token fehlt oder ist ungültig "
                                               "(Kopfzeile X-CSRFToken).")
        return _csrf(exc)
