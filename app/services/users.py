"""User administration and the demo seed."""

from __future__ import annotations

from sqlalchemy import select
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
    group = session.scalar(select(Group).where(Group.name == name))
    if group is None:
        group = Group(name=name, title=GROUP_TITLES.get(name, name))
        session.add(group)
        session.flush()
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
        found = session.scalars(select(Municipality).where(
            Municipality.ags.in_(municipalities))).all()
        missing = set(municipalities) - {m.ags for m in found}
        if missing:
            raise Invalid("Unbekannte Kommune(n): " + ", ".join(sorted(missing)), errors=[
                {"path": "/municipalities", "message": "Unbekannter AGS."}])
        user.municipalities = list(found)
    session.add(user)
    session.flush()
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
    _require_admin(actor)
    with platform.db.unit_of_work() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("Benutzer nicht gefunden.", code="user_not_found")
        before = describe(user)
        if "groups" in data:
            user.groups = [ensure_group(session, g) for g in data["groups"]]
        if "municipalities" in data:
            found = session.scalars(select(Municipality).where(
                Municipality.ags.in_(data["municipalities"]))).all()
            missing = set(data["municipalities"]) - {m.ags for m in found}
            if missing:
                raise Invalid("Unbekannte Kommune(n): " + ", ".join(sorted(missing)), errors=[
                    {"path": "/municipalities", "message": "Unbekannter AGS."}])
            user.municipalities = list(found)
        if "active" in data:
            if user.id == actor.user_id and not data["active"]:
                raise Conflict("Sie können sich nicht selbst deaktivieren.", code="self_deactivate")
            user.active = bool(data["active"])
        if "display_name" in data:
            user.display_name = data["display_name"]
        if "email" in data:
            user.email = data["email"]
        if "password" in data:
            user.password_hash = hash_password(data["password"])
        after = describe(user)
        audit.record(session, actor, "user.updated", "user", user.id,
                     details={"before": before, "after": after})
        return after
