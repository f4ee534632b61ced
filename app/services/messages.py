"""Message correlation: deliver to exactly one waiting instance."""

from __future__ import annotations

from sqlalchemy import select

from app.models import MessageSubscription, ProcessInstance

from . import audit, instances
from .context import Actor
from .errors import Conflict, Forbidden, Invalid, NotFound
from .platform import Platform

SENDERS = {"sachbearbeitung", "admin", "bewilligung"}


def _matches(sub: MessageSubscription, instance: ProcessInstance, correlation: dict) -> bool:
    known = {"business_key": instance.business_key, "instance_id": instance.id,
             "municipality_ags": instance.municipality_ags, **(sub.correlation or {})}
    return all(k in known and str(known[k]) == str(v) for k, v in correlation.items())


def find_receivers(session, name: str, correlation: dict) -> list[tuple]:  # noqa: ANN001
    rows = session.execute(
        select(MessageSubscription, ProcessInstance)
        .join(ProcessInstance, ProcessInstance.id == MessageSubscription.instance_id)
        .where(MessageSubscription.message_name == name, ProcessInstance.status == "running")
    ).all()
    return [(s, i) for s, i in rows if _matches(s, i, correlation)]


def deliver(platform: Platform, actor: Actor, name: str, correlation: object,
            payload: object) -> dict:
    if not (actor.groups & SENDERS) and actor.user_id is not None:
        raise Forbidden("Sie dürfen keine Nachrichten an Vorgänge senden.")
    if not isinstance(correlation, dict) or not isinstance(payload, dict):
        raise Invalid("correlation und payload müssen Objekte sein.", errors=[
            {"path": "/correlation", "message": "Objekt erwartet."}])
    with platform.db.unit_of_work() as session:
        receivers = find_receivers(session, name, correlation)
        if not receivers:
            raise NotFound(f"Kein Vorgang wartet auf die Nachricht „{name}“ mit dieser Zuordnung.",
                           code="no_receiver")
        if len(receivers) > 1:
            raise Conflict(f"{len(receivers)} Vorgänge warten auf „{name}“; die Zuordnung ist "
                           "nicht eindeutig.", code="ambiguous_correlation")
        sub, instance = receivers[0]
        instances.claim(session, instance)
        loaded = instances.load(platform, session, instance)
        audit.record(session, actor, "message.delivered", "process_instance", instance.id,
                     instance_id=instance.id, details={"message": name})
        instances.advance(platform, session, actor, loaded,
                          lambda wf: platform.runtime.deliver_message(wf, sub.task_id, payload))
        return {"instance_id": instance.id, "status": instance.status}
