"""Message correlation rules, shared by the API (POST /api/messages) and process throws.

A message with a correlation dict matches a waiting subscription when every key it names is
known to the receiver with an equal value. Known keys: business_key, instance_id,
municipality_ags and the BPMN correlation properties evaluated on the waiting task's data.
"""

from __future__ import annotations

from sqlalchemy import select

from app.models import MessageSubscription, ProcessInstance


def matches(sub: MessageSubscription, instance: ProcessInstance, correlation: dict) -> bool:
    known = {"business_key": instance.business_key, "instance_id": instance.id,
             "municipality_ags": instance.municipality_ags, **(sub.correlation or {})}
    return all(k in known and str(known[k]) == str(v) for k, v in correlation.items())


def find_receivers(session, name: str, correlation: dict, exclude: int | None = None) -> list[tuple]:  # noqa: ANN001
    q = (select(MessageSubscription, ProcessInstance)
         .join(ProcessInstance, ProcessInstance.id == MessageSubscription.instance_id)
         .where(MessageSubscription.message_name == name, ProcessInstance.status == "running"))
    if exclude is not None:
        q = q.where(ProcessInstance.id != exclude)
    return [(s, i) for s, i in session.execute(q).all() if matches(s, i, correlation)]


def thrown_correlation(event) -> dict:  # noqa: ANN001
    """The correlation dict of a message thrown by a process: its correlation properties,
    else the well-known keys found in its payload."""
    flat: dict = {}
    for values in (event.correlations or {}).values():
        if isinstance(values, dict):
            flat.update(values)
    if not flat and isinstance(event.payload, dict):
        flat = {k: event.payload[k] for k in ("business_key", "instance_id", "municipality_ags")
                if k in event.payload and k != "instance_id"}
    return flat
