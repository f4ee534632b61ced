"""Server-rendered web UI (Jinja + KERN UX): login, start page, inboxes, task forms, case pages,
the browser modeler and administration. German through Flask-Babel, CSRF on every form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Flask, current_app, request, session, url_for
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect

from . import admin, auth, cases, filters, home, modeler, tasks
from .current import current_actor, display_name
from .errors import register_app_handlers, register_error_pages

babel = Babel()
csrf = CSRFProtect()
LANGUAGES = ("de", "en")
TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
       "font-src 'self' data:; script-src 'self'; object-src 'none'; base-uri 'self'; "
       "form-action 'self'; frame-ancestors 'none'")


def select_locale() -> str:
    lang = session.get("lang")
    return lang if lang in LANGUAGES else "de"


def check_csrf() -> None:
    """Every state-changing browser request carries the CSRF token (form field or X-CSRFToken);
    API calls with a Bearer token are exempt, API calls with the session cookie are not."""
    if request.method in ("GET", "HEAD", "OPTIONS", "TRACE"):
        return
    if request.path.startswith("/api/"):
        if request.headers.get("Authorization", "").lower().startswith("bearer "):
            return
        if "user_id" not in session:
            return
    csrf.protect()


def security_headers(response):  # noqa: ANN001, ANN201
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if not request.path.startswith("/api/"):
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Content-Security-Policy", CSP)
    return response


def inject() -> dict:
    try:
        who, name = current_actor(), display_name()
    except Exception:  # noqa: BLE001 - an error page must render even without the database
        who, name = None, None
    return {"actor": who, "display_name": name, "current_lang": select_locale(), "asset": asset,
            "now_utc": datetime.now(UTC)}


def asset(path: str) -> str:
    """URL of a built front-end file with a cache-busting version."""
    file = Path(current_app.static_folder or "") / "dist" / path
    version = int(file.stat().st_mtime) if file.exists() else 0
    return url_for("static", filename=f"dist/{path}", v=version)


def register_web(app: Flask) -> None:
    settings = app.extensions["settings"]
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config.setdefault("SESSION_COOKIE_SECURE", settings.BASE_URL.startswith("https://"))
    app.config.setdefault("PERMANENT_SESSION_LIFETIME", timedelta(seconds=settings.TOKEN_TTL_SECONDS))
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "de")
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Europe/Berlin")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)
    app.before_request(check_csrf)
    app.after_request(security_headers)
    app.context_processor(inject)
    filters.register(app)
    register_app_handlers(app)
    for module in (auth, home, tasks, cases, modeler, admin):
        register_error_pages(module.bp)
        app.register_blueprint(module.bp)
