"""The title of a case, computed once per step and kept on the instance row (`title`), so that
lists and inboxes name a case without deserialising its workflow."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Municipality, ProcessDefinition, ProcessInstance

MAX_TITLE = 300


def title_of(definition_name: str, process_key: str, data: dict, municipality: str | None,
             business_key: str | None) -> str:
    """A case's title from the data it holds: a cluster application by its cluster name and
    file number, a DigiCheck by its municipality, a case with a file number by that number and
    its municipality, any other by process, municipality and business key."""
    aktenzeichen = _text(data.get("aktenzeichen"))
    cluster = _text(data.get("cluster_name"))
    if cluster:
        title = f"Clusterantrag „{cluster}“" + (f" ({aktenzeichen})" if aktenzeichen else "")
    elif process_key == "digicheck" and municipality:
        title = f"DigiCheck {municipality}"
    elif aktenzeichen:
        title = " · ".join(p for p in (aktenzeichen, municipality) if p)
    else:
        name = re.sub(r"\s*\([^)]*\)\s*$", "", definition_name or process_key)
        title = " · ".join(p for p in (name, municipality, business_key) if p)
    return title[:MAX_TITLE]


def refresh(session: Session, instance: ProcessInstance, data: dict) -> None:
    """Set the instance's title from its current data. The title depends on constants of the
    instance and on two data values only, so a step that leaves those as the title shows them
    costs no query."""
    if _up_to_date(instance.title, data):
        return
    definition_name = session.scalar(select(ProcessDefinition.name).where(
        ProcessDefinition.id == instance.definition_id))
    municipality = session.scalar(select(Municipality.name).where(
        Municipality.ags == instance.municipality_ags)) if instance.municipality_ags else None
    title = title_of(definition_name, instance.process_key, data, municipality,
                     instance.business_key)
    if instance.title != title:
        instance.title = title


def shown(instance_id: int, title: str | None, business_key: str | None) -> str:
    """What lists show for a case (cases from before titles existed have none)."""
    return title or business_key or f"Vorgang {instance_id}"


def _up_to_date(title: str | None, data: dict) -> bool:
    if title is None:
        return False
    values = (_text(data.get("aktenzeichen")), _text(data.get("cluster_name")))
    return all(v is None or v in title for v in values)


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None
