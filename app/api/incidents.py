from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from app.services import jobs

from . import current_actor, platform

blp = Blueprint("incidents", __name__, url_prefix="/api/incidents", description="Störungen")


class IncidentSchema(Schema):
    id = fields.Integer(metadata={"description": "kind=service: Nummer des Service-Jobs "
                                  "(erneut ausführen: POST /api/incidents/{id}/retry); "
                                  "kind=instance: Nummer des Vorgangs (erneut ausführen: "
                                  "POST /api/process-instances/{id}/retry)"})
    kind = fields.String(metadata={"description": "service: gescheiterte Service-Aufgabe; "
                                   "instance: Vorgang im Fehlerzustand (Skript, Ausdruck, "
                                   "Zuständigkeit einer Aufgabe)"})
    instance_id = fields.Integer()
    task_id = fields.String(allow_none=True)
    task_name = fields.String()
    operator = fields.String(allow_none=True)
    attempts = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)
    traceback = fields.String(allow_none=True)
    failed_at = fields.DateTime(allow_none=True)


class RetryResult(Schema):
    id = fields.Integer()
    status = fields.String()


@blp.route("", methods=["GET"])
@blp.response(200, IncidentSchema(many=True))
def list_incidents() -> list:
    """Störungen: gescheiterte Service-Aufgaben und Vorgänge im Fehlerzustand."""
    return jobs.list_incidents(platform(), current_actor())


@blp.route("/<int:incident_id>/retry", methods=["POST"])
@blp.response(200, RetryResult)
def retry(incident_id: int) -> dict:
    """Die Service-Aufgabe erneut ausführen (neue Versuchsserie)."""
    job = jobs.retry_incident(platform(), current_actor(), incident_id)
    return {"id": job.id, "status": job.status}
