"""Login and logout (session cookie; failures are rate-limited by the login service)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from app.services import login as login_service
from app.services.errors import Unauthenticated

from .current import current_actor, platform, safe_next, start_session

bp = Blueprint("web_auth", __name__)


@bp.route("/anmelden", methods=["GET", "POST"])
def login():  # noqa: ANN201
    target = safe_next(request.values.get("next"))
    if request.method == "GET":
        if current_actor() is not None:
            return redirect(target)
        return render_template("web/login.html", next=target, username="", error=None)
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    if not username or not password:
        return _failed(target, username, _("Bitte geben Sie Benutzername und Passwort ein."), 422)
    try:
        who = login_service.login(platform(), username, password, _client_ip())
    except login_service.TooManyAttempts as exc:
        return _failed(target, username, exc.message, 429, exc.headers())
    except Unauthenticated as exc:
        return _failed(target, username, exc.message, 401)
    start_session(who)
    name = login_service.display_name(platform(), who) or who.username
    flash(_("Willkommen, %(name)s! Sie sind angemeldet.", name=name), "success")
    return redirect(target)


def _failed(target: str, username: str, message: str, status: int,  # noqa: ANN202
            headers: dict | None = None):
    html = render_template("web/login.html", next=target, username=username, error=message)
    return html, status, headers or {}


def _client_ip() -> str:
    return request.remote_addr or "unbekannt"


@bp.post("/abmelden")
def logout():  # noqa: ANN201
    who = current_actor()
    if who is not None:
        login_service.logout(platform(), who)
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("Sie haben sich abgemeldet."), "info")
    return redirect(url_for("web_auth.login"))


@bp.get("/sprache/<lang>")
def language(lang: str):  # noqa: ANN201
    if lang in ("de", "en"):
        session["lang"] = lang
    return redirect(safe_next(request.args.get("next")))
