"""REST API (flask-smorest): thin views over the services."""

from __future__ import annotations

from flask import current_app, g, request, session

from app.services import auth
from app.services.context import Actor
from app.services.errors import Unauthenticated
from app.services.platform import Platform


def platform() -> Platform:
    return current_app.extensions["platform"]


def current_actor() -> Actor:
    """The caller, from a Bearer token or (browser) the session cookie; 401 otherwise (also for
    a token or session from before the user's last password change, deactivation or logout)."""
    if "actor" in g:
        return g.actor
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        claims = auth.claims_from_token(header[7:].strip(), platform().settings.SECRET_KEY)
        user_id, version = claims.user_id, claims.token_version
    else:
        user_id, version = session.get("user_id"), session.get("token_version", 0)
    if user_id is None:
        raise Unauthenticated("Bitte melden Sie sich an.", code="unauthenticated")
    with platform().db.reading() as conn:
        g.actor = auth.actor_for(conn, int(user_id), token_version=version)
    return g.actor


PUBLIC = ("/api/auth/", "/api/openapi.json", "/api/docs")


def require_login() -> None:
    """Authenticate every API call before its body is even parsed (401 before 422)."""
    if request.path.startswith("/api/") and not request.path.startswith(PUBLIC):
        current_actor()


def register(api) -> None:  # noqa: ANN001
    from . import budget, documents, phase2  # noqa: I001 - Phase 2 blueprints
    from . import auth_views, definitions, incidents, instances, messages, tasks, users

    for module in (auth_views, definitions, instances, tasks, messages, incidents, users,
                   documents, budget, phase2):
        api.register_blueprint(module.blp)
    from . import phase1  # Phase 1 (issue 5)

    api.register_blueprint(phase1.blp)
