"""Browser login: password check with rate-limited failures per user name and per address."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select

from app.models import LoginAttempt, User

from . import audit, auth
from .context import Actor
from .errors import ServiceError, Unauthenticated
from .platform import Platform


class TooManyAttempts(ServiceError):
    status, code = 429, "too_many_attempts"


@dataclass(frozen=True)
class LoginPolicy:
    """At most `max_failures` failed attempts per user name (or per address, times four)
    within `window`; then logins are refused until the window has passed."""

    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)


def _now() -> datetime:
    return datetime.now(UTC)


def login(platform: Platform, username: str, password: str, ip: str,
          policy: LoginPolicy | None = None) -> Actor:
    """Authenticate for a browser session or raise Unauthenticated / TooManyAttempts."""
    policy = policy or LoginPolicy()
    username = (username or "").strip()[:80]
    ip = (ip or "unbekannt")[:64]
    with platform.db.unit_of_work() as session:
        since = _now() - policy.window
        failures = session.scalar(select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.username == username, LoginAttempt.success.is_(False),
            LoginAttempt.at >= since))
        by_ip = session.scalar(select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.ip == ip, LoginAttempt.success.is_(False), LoginAttempt.at >= since))
    minutes = int(policy.window.total_seconds() // 60)
    if failures >= policy.max_failures or by_ip >= policy.max_failures * 4:
        raise TooManyAttempts(
            f"Zu viele fehlgeschlagene Anmeldeversuche. Bitte warten Sie {minutes} Minuten und "
            "versuchen Sie es dann erneut.")
    try:
        with platform.db.unit_of_work() as session:
            actor = auth.actor_of(auth.authenticate(session, username, password))
    except Unauthenticated:
        _record(platform, username, ip, success=False)
        raise
    with platform.db.unit_of_work() as session:
        session.add(LoginAttempt(username=username, ip=ip, success=True))
        session.execute(delete(LoginAttempt).where(
            LoginAttempt.username == username, LoginAttempt.success.is_(False)))
        audit.record(session, actor, "user.login", "user", actor.user_id)
    return actor


def _record(platform: Platform, username: str, ip: str, success: bool) -> None:
    with platform.db.unit_of_work() as session:
        session.add(LoginAttempt(username=username, ip=ip, success=success))


def logout(platform: Platform, actor: Actor) -> None:
    with platform.db.unit_of_work() as session:
        audit.record(session, actor, "user.logout", "user", actor.user_id)


def display_name(platform: Platform, actor: Actor) -> str:
    """The name the UI greets the actor with."""
    with platform.db.unit_of_work() as session:
        name = session.scalar(select(User.display_name).where(User.id == actor.user_id))
    return name or actor.username
