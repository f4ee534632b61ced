"""Passwords (argon2), bearer tokens (signed JWT) and the actor behind a request."""

from __future__ import annotations

import hashlib
import time

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
    now = int(time.time())
    return jwt.encode({"sub": str(user.id), "iat": now, "exp": now + ttl}, _key(secret), "HS256")


def user_id_from_token(token: str, secret: str) -> int:
    try:
        claims = jwt.decode(token, _key(secret), algorithms=["HS256"], options={"require": ["exp", "sub"]})
        return int(claims["sub"])
    except (jwt.PyJWTError, ValueError, KeyError) as exc:
        raise Unauthenticated("Anmeldung ungültig oder abgelaufen.", code="invalid_token") from exc


# One round trip, no expression building or compilation per request (runs on every API call).
_ACTOR_SQL = text(
    "SELECT 'u' AS kind, username AS value FROM user_account WHERE id = :uid AND active = :yes "
    "UNION ALL SELECT 'g', g.name FROM user_group ug JOIN \"group\" g ON g.id = ug.group_id "
    "WHERE ug.user_id = :uid "
    "UNION ALL SELECT 'm', ags FROM user_municipality WHERE user_id = :uid"
)


def actor_for(conn: Session | Connection, user_id: int) -> Actor:
    """The actor behind a request (an active user's groups and municipalities) from a session
    or a plain connection."""
    rows = conn.execute(_ACTOR_SQL, {"uid": user_id, "yes": True}).all()
    usernames = [value for kind, value in rows if kind == "u"]
    if not usernames:
        raise Unauthenticated("Anmeldung ungültig oder abgelaufen.", code="invalid_token")
    return Actor(user_id=user_id, username=usernames[0],
                 groups=frozenset(v for k, v in rows if k == "g"),
                 municipalities=frozenset(v for k, v in rows if k == "m"))


def actor_of(user: User) -> Actor:
    return Actor(
        user_id=user.id, username=user.username, groups=frozenset(user.group_names),
        municipalities=frozenset(user.municipality_codes),
    )
