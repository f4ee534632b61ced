"""Phase 2 read APIs: best-practice library (Blaupausen), DigiCheck results, calls."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app.schemas.phase2 import (
    AufrufAntragSchema,
    AufrufSchema,
    BlaupauseListArgs,
    BlaupauseSchema,
    DigiCheckResultSchema,
)
from app.services import calls, phase2

from . import current_actor, platform

blp = Blueprint("phase2", __name__, url_prefix="/api", description="Cluster-Förderung (Phase 2)")


class DigiCheckArgs(Schema):
    municipality = fields.String(validate=validate.Regexp(r"^\d{8}$", error="AGS: 8 Ziffern."))


class AufrufArgs(Schema):
    offen = fields.Boolean(load_default=False)


@blp.route("/blaupausen", methods=["GET"])
@blp.arguments(BlaupauseListArgs, location="query")
@blp.response(200, BlaupauseSchema(many=True))
def blaupausen(args: dict) -> list:
    """Best-Practice-Bibliothek: veröffentlichte Blaupausen (für alle Kommunen lesbar)."""
    return phase2.list_blaupausen(platform(), current_actor(), args.get("thema"), args.get("q"))


@blp.route("/digicheck-results", methods=["GET"])
@blp.arguments(DigiCheckArgs, location="query")
@blp.response(200, DigiCheckResultSchema(many=True))
def digicheck_results(args: dict) -> list:
    """DigiCheck-Ergebnisse je Kommune mit Datum (Kommunen sehen nur ihre eigenen)."""
    return phase2.list_digicheck_results(platform(), current_actor(), args.get("municipality"))


@blp.route("/foerderaufrufe", methods=["GET"])
@blp.arguments(AufrufArgs, location="query")
@blp.response(200, AufrufSchema(many=True))
def foerderaufrufe(args: dict) -> list:
    """Förderaufrufe mit Einreichungsfrist und Status (offen=true: nur laufende)."""
    return calls.list_calls(platform(), current_actor(), only_open=args["offen"])


@blp.route("/foerderaufrufe/<kennung>/antraege", methods=["GET"])
@blp.response(200, AufrufAntragSchema(many=True))
def antraege(kennung: str) -> list:
    """Die Anträge eines Förderaufrufs (Kommunen sehen nur die ihrer eigenen Vorgänge)."""
    return calls.list_applications(platform(), current_actor(), kennung)
