from __future__ import annotations

from flask_smorest import Blueprint

from app.schemas import TokenRequest, TokenResponse
from app.services import auth

from . import platform

blp = Blueprint("auth", __name__, url_prefix="/api/auth", description="Anmeldung")


@blp.route("/token", methods=["POST"])
@blp.arguments(TokenRequest)
@blp.response(200, TokenResponse)
def token(body: dict) -> dict:
    """Zugangstoken für Benutzername und Passwort."""
    p = platform()
    with p.db.unit_of_work() as session:
        user = auth.authenticate(session, body["username"], body["password"])
        ttl = p.settings.TOKEN_TTL_SECONDS
        return {"access_token": auth.issue_token(user, p.settings.SECRET_KEY, ttl),
                "token_type": "Bearer", "expires_in": ttl}
