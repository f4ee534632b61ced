from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app.schemas import REQUIRED, Strict
from app.services import users

from . import current_actor, platform

blp = Blueprint("users", __name__, url_prefix="/api", description="Benutzer und Gruppen")
GROUP = fields.String(validate=validate.Regexp(r"^[a-z][a-z0-9-]{1,79}$",
                                               error="Ungültiger Gruppenname."))
AGS = fields.String(validate=validate.Regexp(r"^06\d{6}$", error="Ungültiger AGS (8 Ziffern, 06…)."))


class UserSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    email = fields.String()
    active = fields.Boolean()
    groups = fields.List(fields.String())
    municipalities = fields.List(fields.String())


class UserCreate(Strict):
    username = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9._-]{2,80}$", error="Nur Buchstaben, Ziffern, Punkt, Binde- und Unterstrich."),
        error_messages=REQUIRED)
    password = fields.String(required=True, validate=validate.Length(8, 200), error_messages=REQUIRED)
    groups = fields.List(GROUP, required=True, validate=validate.Length(min=1), error_messages=REQUIRED)
    municipalities = fields.List(AGS, load_default=list)
    display_name = fields.String(validate=validate.Length(max=200), load_default="")
    email = fields.Email(load_default="", error_messages={"invalid": "Keine gültige E-Mail-Adresse."})


class UserUpdate(Strict):
    password = fields.String(validate=validate.Length(8, 200))
    groups = fields.List(GROUP)
    municipalities = fields.List(AGS)
    display_name = fields.String(validate=validate.Length(max=200))
    email = fields.Email(error_messages={"invalid": "Keine gültige E-Mail-Adresse."})
    active = fields.Boolean()


class GroupSchema(Schema):
    name = fields.String()
    title = fields.String()


@blp.route("/users", methods=["GET"])
@blp.response(200, UserSchema(many=True))
def list_users() -> list:
    """Alle Benutzer (nur Administration)."""
    return users.list_users(platform(), current_actor())


@blp.route("/users", methods=["POST"])
@blp.arguments(UserCreate)
@blp.response(201, UserSchema)
def create_user(body: dict) -> dict:
    """Benutzer anlegen (nur Administration)."""
    return users.add_user(platform(), current_actor(), body)


@blp.route("/users/<int:user_id>", methods=["PATCH"])
@blp.arguments(UserUpdate)
@blp.response(200, UserSchema)
def update_user(body: dict, user_id: int) -> dict:
    """Gruppen, Kommunen, Status oder Passwort ändern (nur Administration)."""
    return users.update_user(platform(), current_actor(), user_id, body)


@blp.route("/users/<int:user_id>/logout", methods=["POST"])
@blp.response(200, UserSchema)
def revoke_sessions(user_id: int) -> dict:
    """Alle Sitzungen und Zugangstoken des Benutzers beenden (nur Administration)."""
    return users.revoke_sessions(platform(), current_actor(), user_id)


@blp.route("/groups", methods=["GET"])
@blp.response(200, GroupSchema(many=True))
def list_groups() -> list:
    """Alle Gruppen (nur Administration)."""
    return users.list_groups(platform(), current_actor())
