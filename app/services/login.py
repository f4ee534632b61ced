"""Sign-in for browser sessions and API tokens: one password check, rate-limited per user name
and per client address (failed attempts are kept in login_attempt, shared by all processes)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.models import LoginAttempt, User

from . import audit, auth
from .context import Actor
from .errors import ServiceError
from .platform import Platform


class TooManyAttempts(ServiceError):
    status, code = 429, "too_many_attempts"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


@dataclass(frozen=True)
class LoginPolicy:
    """At most `max_failures` failed attempts per user name (or per address, times
    `address_factor`) within `window`; then sign-ins are refused, even with the right password,
    until enough of those failures have left the window."""

    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    address_factor: int = 4

    @classmethod
    def of(cls, platform: Platform) -> LoginPolicy:
        s = platform.settings
        return cls(max_failures=s.LOGIN_MAX_FAILURES, window=timedelta(seconds=s.LOGIN_WINDOW_SECONDS))


def _now() -> datetime:
    return datetime.now(UTC)


def login(platform: Platform, username: str, password: str, ip: str,
          policy: LoginPolicy | None = None) -> Actor:
    """Authenticate for a browser session or raise Unauthenticated / TooManyAttempts."""
    user = _sign_in(platform, username, password, ip, policy, "user.login")
    return auth.actor_of(user)


def issue_token(platform: Platform, username: str, password: str, ip: str,
                policy: LoginPolicy | None = None) -> dict:
    """A bearer token for the API (same password check and rate limit as the browser login)."""
    user = _sign_in(platform, username, password, ip, policy, "user.token_issued")
    ttl = platform.settings.TOKEN_TTL_SECONDS
    return {"access_token": auth.issue_token(user, platform.settings.SECRET_KEY, ttl),
            "token_type": "Bearer", "expires_in": ttl}


def _sign_in(platform: Platform, username: str, password: str, ip: str,
             policy: LoginPolicy | None, action: str) -> User:
    """The attempt counts as a failure until the password is proven right, so that concurrent
    guesses are counted before they are checked."""
    policy = policy or LoginPolicy.of(platform)
    username = (username or "").strip()[:80]
    ip = (ip or "unbekannt")[:64]
    with platform.db.unit_of_work() as session:
        _refuse_while_locked(session, policy, username, ip)
        session.add(LoginAttempt(username=username, ip=ip, success=False))
    with platform.db.unit_of_work() as session:
        user = auth.authenticate(session, username, password)
        session.execute(delete(LoginAttempt).where(LoginAttempt.username == username))
        audit.record(session, auth.actor_of(user), action, "user", user.id)
    return user


def _refuse_while_locked(session: Session, policy: LoginPolicy, username: str, ip: str) -> None:
    wait = max(_lock_seconds(session, policy, LoginAttempt.username == username, policy.max_failures),
               _lock_seconds(session, policy, LoginAttempt.ip == ip,
                             policy.max_failures * policy.address_factor))
    if wait:
        minutes = math.ceil(wait / 60)
        raise TooManyAttempts(
            f"Zu viele fehlgeschlagene Anmeldeversuche. Bitte warten Sie {minutes} "
            f"{'Minute' if minutes == 1 else 'Minuten'} und versuchen Sie es dann erneut.", wait)


def _lock_seconds(session: Session, policy: LoginPolicy, key, limit: int) -> int:  # noqa: ANN001
    """Seconds until fewer than `limit` failures of this key lie within the window (0: none)."""
    now = _now()
    nth = session.scalar(select(LoginAttempt.at).where(
        key, LoginAttempt.success.is_(False), LoginAttempt.at >= now - policy.window)
        .order_by(LoginAttempt.at.desc()).offset(limit - 1).limit(1))
    if nth is None:
        return 0
    return max(1, math.ceil((nth + policy.window - now).total_seconds()))


def logout(platform: Platform, actor: Actor) -> None:
    with platform.db.unit_of_work() as session:
        audit.record(session, actor, "user.logout", "user", actor.user_id)


def display_name(platform: Platform, actor: Actor) -> str:
    """The name the UI greets the actor with."""
    with platform.db.unit_of_work() as session:
        name = session.scalar(select(User.display_name).where(User.id == actor.user_id))
    return name or actor.username
