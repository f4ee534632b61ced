from __future__ import annotations

from flask import request
from flask_smorest import Blueprint

from app.schemas import Problem, TokenRequest, TokenResponse
from app.services import login

from . import platform

blp = Blueprint("auth", __name__, url_prefix="/api/auth", description="Anmeldung")


@blp.route("/token", methods=["POST"])
@blp.arguments(TokenRequest)
@blp.response(200, TokenResponse)
@blp.alt_response(429, schema=Problem, description="Zu viele fehlgeschlagene Anmeldeversuche",
                  headers={"Retry-After": {"description": "Sekunden bis zum nächsten erlaubten Versuch",
                                           "schema": {"type": "integer"}}})
def token(body: dict) -> dict:
    """Zugangstoken für Benutzername und Passwort (fehlgeschlagene Versuche werden wie bei der
    Anmeldung im Browser begrenzt)."""
    return login.issue_token(platform(), body["username"], body["password"], request.remote_addr or "")
