"""Messages from outside (API): to exactly one waiting instance or a message start event."""

from __future__ import annotations

from . import instances
from .context import Actor
from .errors import Forbidden, Invalid
from .platform import Platform

SENDERS = {"sachbearbeitung", "admin", "bewilligung"}


def deliver(platform: Platform, actor: Actor, name: str, correlation: object,
            payload: object) -> dict:
    if not (actor.groups & SENDERS) and actor.user_id is not None:
        raise Forbidden("Sie dürfen keine Nachrichten an Vorgänge senden.")
    if not isinstance(correlation, dict) or not isinstance(payload, dict):
        raise Invalid("correlation und payload müssen Objekte sein.", errors=[
            {"path": "/correlation", "message": "Objekt erwartet."}])
    with platform.db.unit_of_work() as session:
        instance = instances.route_message(platform, session, actor, name, correlation, payload)
        return {"instance_id": instance.id, "status": instance.status}
