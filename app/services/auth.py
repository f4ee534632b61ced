"""Passwords (argon2), bearer tokens (signed JWT) and the actor behind a request."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session

from app.models import User

from .context import Actor
from .errors import Unauthenticated

_hasher = PasswordHasher()
# verifying against a dummy hash keeps timing equal for unknown users
_DUMMY_HASH = _hasher.hash("nicht-das-passwort")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(session: Session, username: str, password: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        verify_password(_DUMMY_HASH, password)
        raise Unauthenticated("Benutzername oder Passwort ist falsch.", code="invalid_credentials")
    if not verify_password(user.password_hash, password):
        raise Unauthenticated("Benutzername oder Passwort ist falsch.", code="invalid_credentials")
    return user


def _key(secret: str) -> bytes:
    """A 32-byte signing key derived from SECRET_KEY, whatever its length."""
    return hashlib.sha256(b"foerderportal-api-token:" + secret.encode()).digest()


def issue_token(user: User, secret: str, ttl: int) -> str:
    """A bearer token bound to the user's current token version (see User.token_version)."""
    now = int(time.time())
    claims = {"sub": str(user.id), "ver": user.token_version or 0, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, _key(secret), "HS256")


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    token_version: int


def claims_from_token(token: str, secret: str) -> TokenClaims:
    """The user and token version a valid, unexpired token names (tokens issued before token
    versions existed count as version 0)."""
    try:
        claims = jwt.decode(token, _key(secret), algorithms=["HS256"], options={"require": ["exp", "sub"]})
        return TokenClaims(int(claims["sub"]), int(claims.get("ver", 0)))
    except (jwt.PyJWTError, ValueError, KeyError, TypeError) as exc:
        raise Unauthenticated("Anmeldung ungültig oder abgelaufen.", code="invalid_token") from exc


# One round trip, no expression building or compilation per request (runs on every API call).
_ACTOR_SQL = text(
    "SELECT 'u' AS kind, username AS value, token_version AS ver FROM user_account "
    "WHERE id = :uid AND active = :yes "
    "UNION ALL SELECT 'g', g.name, 0 FROM user_group ug JOIN \"group\" g ON g.id = ug.group_id "
    "WHERE ug.user_id = :uid "
    "UNION ALL SELECT 'm', ags, 0 FROM user_municipality WHERE user_id = :uid"
)


def actor_for(conn: Session | Connection, user_id: int, token_version: int | None = None) -> Actor:
    """The actor behind a request (an active user's groups and municipalities) from a session
    or a plain connection. With `token_version` (a request's token or session), a token issued
    before the last password change, deactivation or forced logout is refused."""
    rows = conn.execute(_ACTOR_SQL, {"uid": user_id, "yes": True}).all()
    users = [(value, ver) for kind, value, ver in rows if kind == "u"]
    if not users or (token_version is not None and users[0][1] != token_version):
        raise Unauthenticated("Anmeldung ungültig oder abgelaufen.", code="invalid_token")
    return Actor(user_id=user_id, username=users[0][0],
                 groups=frozenset(v for k, v, _ in rows if k == "g"),
                 municipalities=frozenset(v for k, v, _ in rows if k == "m"),
                 token_version=users[0][1])


def actor_of(user: User) -> Actor:
    return Actor(
        user_id=user.id, username=user.username, groups=frozenset(user.group_names),
        municipalities=frozenset(user.municipality_codes), token_version=user.token_version or 0,
    )
