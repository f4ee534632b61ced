"""Haushaltsüberwachung: budget positions per Haushaltsjahr and Titel."""

from __future__ import annotations

from flask_smorest import Blueprint

from app.schemas.phase2 import (
    BudgetAnsatzUpdate,
    BudgetListArgs,
    BudgetPositionCreate,
    BudgetPositionSchema,
)
from app.services import ledger

from . import current_actor, platform

blp = Blueprint("budget", __name__, url_prefix="/api/budget-positions",
                description="Haushaltsüberwachung (Ansatz, Bindungen, Auszahlungen)")


@blp.route("", methods=["POST"])
@blp.arguments(BudgetPositionCreate)
@blp.response(201, BudgetPositionSchema)
def create(body: dict) -> dict:
    """Haushaltstitel für ein Haushaltsjahr einrichten (Ansatz in Cent)."""
    return ledger.create_position(platform(), current_actor(), body)


@blp.route("", methods=["GET"])
@blp.arguments(BudgetListArgs, location="query")
@blp.response(200, BudgetPositionSchema(many=True))
def list_positions(args: dict) -> list:
    """Haushaltstitel mit Ansatz, Bindungen, Auszahlungen und verfügbaren Mitteln."""
    return ledger.list_positions(platform(), current_actor(), **args)


@blp.route("/<int:position_id>", methods=["GET"])
@blp.response(200, BudgetPositionSchema)
def get_position(position_id: int) -> dict:
    """Ein Haushaltstitel mit allen Buchungen."""
    return ledger.get_position(platform(), current_actor(), position_id)


@blp.route("/<int:position_id>", methods=["PATCH"])
@blp.arguments(BudgetAnsatzUpdate)
@blp.response(200, BudgetPositionSchema)
def update_ansatz(body: dict, position_id: int) -> dict:
    """Ansatz ändern (z. B. Nachtragshaushalt, Umschichtung) – mit Vermerk, protokolliert."""
    return ledger.update_ansatz(platform(), current_actor(), position_id, body["ansatz_cents"],
                                body["vermerk"])
