"""User administration and the demo seed."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.domain.demo import demo_municipalities
from app.models import Group, Municipality, User

from . import audit
from .auth import hash_password
from .context import SYSTEM, Actor
from .errors import Conflict, Forbidden, Invalid, NotFound
from .ledger import seed_budget
from .platform import Platform

GROUP_TITLES = {
    "kommune": "Kommune (Antragstellung)",
    "sachbearbeitung": "Sachbearbeitung Bewilligungsstelle / KDLZ",
    "gutachter": "Gutachterinnen und Gutachter",
    "spitzenverband": "Kommunale Spitzenverbände",
    "bewilligung": "Bewilligung (Leitung HMinD)",
    "prozessverantwortliche": "Prozessverantwortliche",
    "admin": "Administration",
    "ressort-wirtschaft": "Ressort Wirtschaft, Energie, Verkehr, Wohnen und ländlicher Raum",
    "ressort-gesundheit": "Ressort Familie, Senioren, Sport, Gesundheit und Pflege",
    "ressort-umwelt": "Ressort Landwirtschaft und Umwelt, Weinbau, Forsten, Jagd und Heimat",
    "ressort-innern": "Ressort Innern, Sicherheit und Heimatschutz",
    "ressort-soziales": "Ressort Arbeit, Integration, Jugend und Soziales",
    "ressort-finanzen": "Ressort Finanzen",
    "ressort-digitales": "Ressort Digitalisierung und Innovation",
}

DEMO_USERS = [
    ("sb1", "Sabine Bauer (Sachbearbeitung)", ["sachbearbeitung"]),
    ("sb2", "Stefan Berger (Sachbearbeitung)", ["sachbearbeitung"]),
    ("gutachter1", "Gerda Gutachter", ["gutachter"]),
    ("ressort-wirtschaft", "Ressort Wirtschaft", ["ressort-wirtschaft"]),
    ("ressort-finanzen", "Ressort Finanzen", ["ressort-finanzen"]),
    ("sv-staedtetag", "Hessischer Städtetag", ["spitzenverband"]),
    ("hmind1", "Hanna Mind (HMinD)", ["bewilligung"]),
    # Phase 2 (issue 4): every consulted ministry, more evaluators and Spitzenverbände, and a
    # head of unit who may both prepare and approve (the four-eyes rule applies per case)
    ("ressort-gesundheit", "Ressort Gesundheit und Pflege", ["ressort-gesundheit"]),
    ("ressort-umwelt", "Ressort Landwirtschaft und Umwelt", ["ressort-umwelt"]),
    ("ressort-innern", "Ressort Innern", ["ressort-innern"]),
    ("ressort-soziales", "Ressort Arbeit und Soziales", ["ressort-soziales"]),
    ("gutachter2", "Gustav Gutachter", ["gutachter"]),
    ("sv-landkreistag", "Hessischer Landkreistag", ["spitzenverband"]),
    ("sv-hsgb", "Hessischer Städte- und Gemeindebund", ["spitzenverband"]),
    ("sb-leitung", "Lea Leitner (Referatsleitung)", ["sachbearbeitung", "bewilligung"]),
    ("modeler1", "Moritz Modell (Prozessverantwortung)", ["prozessverantwortliche"]),
    ("admin", "Administration", ["admin"]),
]


def ensure_group(session: Session, name: str) -> Group:
    """The group of that name, created on first use (also when concurrent requests create it
    at the same moment: the one that loses the race uses the winner's row)."""
    query = select(Group).where(Group.name == name)
    group = session.scalar(query)
    if group is not None:
        return group
    try:
        with session.begin_nested():
            group = Group(name=name, title=GROUP_TITLES.get(name, name))
            session.add(group)
    except IntegrityError:
        group = session.scalar(query)
        if group is None:
            raise
    return group


def create_user(session: Session, actor: Actor, username: str, password: str,
                groups: list[str], municipalities: list[str] | None = None,
                display_name: str = "", email: str = "") -> User:
    _require_admin(actor)
    if not username or len(password) < 4:
        raise Invalid("Benutzername und Passwort (mind. 4 Zeichen) sind nötig.", errors=[
            {"path": "/password", "message": "Mindestens 4 Zeichen."}])
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise Conflict(f"Den Benutzer „{username}“ gibt es schon.", code="user_exists")
    user = User(username=username, display_name=display_name or username, email=email,
                password_hash=hash_password(password))
    user.groups = [ensure_group(session, g) for g in groups]
    if municipalities:
        user.municipalities = _municipalities(session, municipalities)
    try:
        with session.begin_nested():  # a concurrent request may have created the same name
            session.add(user)
    except IntegrityError as exc:
        raise Conflict(f"Den Benutzer „{username}“ gibt es schon.", code="user_exists") from exc
    audit.record(session, actor, "user.created", "user", user.id,
                 details={"username": username, "groups": groups})
    return user


def seed_demo(platform: Platform) -> dict:
    """Demo municipalities and one user per role; idempotent."""
    password = platform.settings.DEMO_PASSWORD
    created = []
    with platform.db.unit_of_work() as session:
        for name in GROUP_TITLES:
            ensure_group(session, name)
        for m in demo_municipalities():
            if session.get(Municipality, m["ags"]) is None:
                session.add(Municipality(**m, demo=True))
        session.flush()
        for username, display, groups in DEMO_USERS:
            if session.scalar(select(User).where(User.username == username)) is None:
                create_user(session, SYSTEM, username, password, groups, display_name=display)
                created.append(username)
        for m in demo_municipalities():
            username = f"kommune-{m['ags']}"
            if session.scalar(select(User).where(User.username == username)) is None:
                create_user(session, SYSTEM, username, password, ["kommune"], [m["ags"]],
                            display_name=f"{m['name']} (Kommune)")
                created.append(username)
    seed_budget(platform)  # Phase 2: demo budget positions (idempotent)
    return {"created_users": created}


def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("Nur die Administration verwaltet Benutzer.")


def describe(user: User) -> dict:
    return {"id": user.id, "username": user.username, "display_name": user.display_name,
            "email": user.email, "active": user.active, "groups": sorted(user.group_names),
            "municipalities": sorted(user.municipality_codes)}


def list_users(platform: Platform, actor: Actor) -> list[dict]:
    _require_admin(actor)
    with platform.db.unit_of_work() as session:
        return [describe(u) for u in session.scalars(select(User).order_by(User.username))]


def list_groups(platform: Platform, actor: Actor) -> list[dict]:
    _require_admin(actor)
    with platform.db.unit_of_work() as session:
        return [{"name": g.name, "title": g.title}
                for g in session.scalars(select(Group).order_by(Group.name))]


def add_user(platform: Platform, actor: Actor, data: dict) -> dict:
    with platform.db.unit_of_work() as session:
        user = create_user(session, actor, data["username"], data["password"], data["groups"],
                           data.get("municipalities") or [], data.get("display_name", ""),
                           data.get("email", ""))
        return describe(user)


def update_user(platform: Platform, actor: Actor, user_id: int, data: dict) -> dict:
    """Change a user; a new password or a deactivation ends the user's sessions and tokens."""
    _require_admin(actor)
    with platform.db.unit_of_work() as session:
        user = _get_user(session, user_id)
        before = describe(user)
        if "groups" in data:
            user.groups = [ensure_group(session, g) for g in data["groups"]]
        if "municipalities" in data:
            user.municipalities = _municipalities(session, data["municipalities"])
        if "active" in data:
            _set_active(actor, user, bool(data["active"]))
        for key in ("display_name", "email"):
            if key in data:
                setattr(user, key, data[key])
        if "password" in data:
            user.password_hash = hash_password(data["password"])
            _revoke_tokens(user)
        if "admin" in before["groups"] and ("admin" not in user.group_names or not user.active):
            _ensure_an_admin_remains(session)
        after = describe(user)
        audit.record(session, actor, "user.updated", "user", user.id, details={
            "before": before, "after": after, "password_changed": "password" in data})
        return after


def revoke_sessions(platform: Platform, actor: Actor, user_id: int) -> dict:
    """Forced logout: every token and browser session of the user stops working."""
    _require_admin(actor)
    with platform.db.unit_of_work() as session:
        user = _get_user(session, user_id)
        _revoke_tokens(user)
        audit.record(session, actor, "user.sessions_revoked", "user", user.id)
        return describe(user)


def _get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("Benutzer nicht gefunden.", code="user_not_found")
    return user


def _municipalities(session: Session, codes: list[str]) -> list[Municipality]:
    found = session.scalars(select(Municipality).where(Municipality.ags.in_(codes))).all()
    missing = set(codes) - {m.ags for m in found}
    if missing:
        raise Invalid("Unbekannte Kommune(n): " + ", ".join(sorted(missing)), errors=[
            {"path": "/municipalities", "message": "Unbekannter AGS."}])
    return list(found)


def _set_active(actor: Actor, user: User, active: bool) -> None:
    if user.id == actor.user_id and not active:
        raise Conflict("Sie können sich nicht selbst deaktivieren.", code="self_deactivate")
    if user.active and not active:
        _revoke_tokens(user)
    user.active = active


def _revoke_tokens(user: User) -> None:
    """Tokens and sessions carry the version they were issued with (app/services/auth.py)."""
    user.token_version = User.token_version + 1


def _ensure_an_admin_remains(session: Session) -> None:
    """At least one active user keeps the admin group (checked after a change that took it
    from someone; the admin group's row lock serialises concurrent changes on PostgreSQL)."""
    session.scalar(select(Group.id).where(Group.name == "admin").with_for_update())
    session.flush()
    remaining = session.scalar(select(func.count()).select_from(User).join(User.groups).where(
        Group.name == "admin", User.active.is_(True)))
    if not remaining:
        raise Conflict("Die letzte aktive Administration kann sich die Administrationsrechte "
                       "nicht selbst entziehen. Bitte ernennen Sie zuerst eine weitere Person "
                       "zur Administration.", code="last_admin")
