from __future__ import annotations

from flask_smorest import Blueprint

from app.schemas import CompleteResult, TaskBrief, TaskComplete, TaskDetail, TaskListArgs, TaskPage
from app.services import tasks

from . import current_actor, platform

blp = Blueprint("tasks", __name__, url_prefix="/api/tasks", description="Aufgaben")


@blp.route("", methods=["GET"])
@blp.arguments(TaskListArgs, location="query")
@blp.response(200, TaskPage)
def list_tasks(args: dict) -> dict:
    """Meine Aufgaben (scope=mine) oder Aufgaben meiner Gruppen (scope=groups)."""
    return tasks.list_tasks(platform(), current_actor(), **args)


@blp.route("/<uuid:task_id>", methods=["GET"])
@blp.response(200, TaskDetail)
def get_task(task_id) -> dict:  # noqa: ANN001
    """Formular (JSON Schema, UI-Schema) und aktuelle Daten einer Aufgabe."""
    return tasks.get_task(platform(), current_actor(), str(task_id))


@blp.route("/<uuid:task_id>/claim", methods=["POST"])
@blp.response(200, TaskBrief)
def claim(task_id) -> dict:  # noqa: ANN001
    """Aufgabe übernehmen."""
    return tasks.claim(platform(), current_actor(), str(task_id))


@blp.route("/<uuid:task_id>/unclaim", methods=["POST"])
@blp.response(200, TaskBrief)
def unclaim(task_id) -> dict:  # noqa: ANN001
    """Aufgabe an die Gruppe zurückgeben."""
    return tasks.unclaim(platform(), current_actor(), str(task_id))


@blp.route("/<uuid:task_id>/complete", methods=["POST"])
@blp.arguments(TaskComplete)
@blp.response(200, CompleteResult)
def complete(body: dict, task_id) -> dict:  # noqa: ANN001
    """Aufgabe mit Formulardaten abschließen (serverseitig gegen das JSON Schema geprüft)."""
    return tasks.complete(platform(), current_actor(), str(task_id), body["data"])
