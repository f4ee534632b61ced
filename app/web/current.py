"""The signed-in browser user: session cookie → Actor (services never see Flask objects)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, g, redirect, request, session, url_for

from app.services import auth, login
from app.services.context import Actor
from app.services.errors import Unauthenticated
from app.services.platform import Platform


def platform() -> Platform:
    return current_app.extensions["platform"]


def current_actor() -> Actor | None:
    """The actor of the session cookie, or None (an unknown or deactivated user, or a session
    from before the user's last password change or forced logout, logs out)."""
    if "web_actor" in g:
        return g.web_actor
    actor = None
    user_id = session.get("user_id")
    if user_id is not None:
        try:
            with platform().db.reading() as conn:
                actor = auth.actor_for(conn, int(user_id),
                                       token_version=session.get("token_version", 0))
        except (Unauthenticated, ValueError, TypeError):
            session.clear()
    g.web_actor = actor
    return actor


def display_name() -> str | None:
    who = current_actor()
    if who is None:
        return None
    if "web_display_name" not in g:
        g.web_display_name = login.display_name(platform(), who)
    return g.web_display_name


def actor() -> Actor:
    """The signed-in actor (the login guard of every web blueprint ran before)."""
    who = current_actor()
    if who is None:
        raise Unauthenticated("Bitte melden Sie sich an.")
    return who


def require_login():  # noqa: ANN201
    """before_request of the web blueprints: anonymous visitors go to the login page."""
    if current_actor() is None:
        target = request.full_path if request.method == "GET" else request.referrer or "/"
        return redirect(url_for("web_auth.login", next=safe_next(target)))
    return None


def safe_next(target: str | None, default: str = "/") -> str:
    """Only local paths are followed after login (no open redirect)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target.rstrip("?") or default


def start_session(who: Actor) -> None:
    lang = session.get("lang")
    session.clear()
    session.permanent = True
    session["user_id"] = who.user_id
    session["token_version"] = who.token_version
    if lang:
        session["lang"] = lang


def page_number(raw: str | None, limit: int = 10_000) -> int:
    """A page number from a query parameter (1 … limit)."""
    return min(int(raw), limit) if raw and raw.isdigit() and int(raw) > 0 else 1
