from __future__ import annotations

from flask_smorest import Blueprint

from app.schemas import MessageResult, MessageSend
from app.services import messages

from . import current_actor, platform

blp = Blueprint("messages", __name__, url_prefix="/api/messages", description="Nachrichten")


@blp.route("/<string:name>", methods=["POST"])
@blp.arguments(MessageSend)
@blp.response(200, MessageResult)
def send(body: dict, name: str) -> dict:
    """Nachricht an den einen wartenden Vorgang mit passender Zuordnung (correlation)."""
    return messages.deliver(platform(), current_actor(), name, body["correlation"],
                            body["payload"])
