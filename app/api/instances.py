from __future__ import annotations

from flask_smorest import Blueprint

from app.schemas import InstanceCreate, InstanceDetail, InstanceListArgs, InstancePage, InstanceSummary
from app.services import processes

from . import current_actor, platform

blp = Blueprint("instances", __name__, url_prefix="/api/process-instances",
                description="Vorgänge (Prozessinstanzen)")


@blp.route("", methods=["POST"])
@blp.arguments(InstanceCreate)
@blp.response(201, InstanceDetail)
def start(body: dict) -> dict:
    """Einen Vorgang starten."""
    return processes.start_process(platform(), current_actor(), body["process_key"],
                                   body.get("business_key"), body.get("data"))


@blp.route("", methods=["GET"])
@blp.arguments(InstanceListArgs, location="query")
@blp.response(200, InstancePage)
def list_instances(args: dict) -> dict:
    """Sichtbare Vorgänge, gefiltert und seitenweise."""
    return processes.list_instances(platform(), current_actor(), **args)


@blp.route("/<int:instance_id>", methods=["GET"])
@blp.response(200, InstanceDetail)
def get_instance(instance_id: int) -> dict:
    """Status, offene Aufgaben, Verlauf und Daten eines Vorgangs."""
    return processes.get_instance(platform(), current_actor(), instance_id)


def _status_view(action: str):  # noqa: ANN202
    @blp.route(f"/<int:instance_id>/{action}", methods=["POST"], endpoint=action)
    @blp.response(200, InstanceSummary)
    def view(instance_id: int) -> dict:
        return processes.set_status(platform(), current_actor(), instance_id, action)

    view.__doc__ = {"suspend": "Vorgang anhalten.", "resume": "Vorgang fortsetzen.",
                    "terminate": "Vorgang beenden."}[action]
    return view


for _action in ("suspend", "resume", "terminate"):
    _status_view(_action)


@blp.route("/<int:instance_id>/retry", methods=["POST"])
@blp.response(200, InstanceSummary)
def retry(instance_id: int) -> dict:
    """Vorgang im Fehlerzustand erneut ausführen (nach der Korrektur des Modells)."""
    return processes.retry(platform(), current_actor(), instance_id)
