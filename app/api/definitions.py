from __future__ import annotations

from flask import request
from flask_smorest import Blueprint

from app.schemas import DefinitionSchema, DeployResult
from app.services import definitions
from app.services.errors import Invalid

from . import current_actor, platform

blp = Blueprint("definitions", __name__, url_prefix="/api/process-definitions",
                description="Prozessdefinitionen")
MAX_UPLOAD = 5 * 1024 * 1024


@blp.route("", methods=["GET"])
@blp.response(200, DefinitionSchema(many=True))
def list_definitions() -> list:
    """Alle Prozessdefinitionen mit ihren Versionen."""
    return definitions.list_definitions(platform(), current_actor())


@blp.route("", methods=["POST"])
@blp.response(201, DeployResult(many=True))
def deploy() -> list:
    """Neue Version aus hochgeladenen Dateien (multipart/form-data, je Datei ein Teil `files`)."""
    actor = current_actor()
    uploads = request.files.getlist("files")
    files: dict[str, bytes] = {}
    for f in uploads:
        name = f.filename or ""
        # a plain file name only: no directories, no traversal, no control characters
        if (not name or name.startswith(".") or any(c in name for c in "/\\:")
                or any(ord(c) < 32 for c in name) or len(name) > 200):
            raise Invalid("Ungültiger Dateiname.", code="invalid_filename", errors=[{
                "path": "/files", "message": "Nur ein einfacher Dateiname ohne Verzeichnisangaben "
                                             "und Steuerzeichen ist erlaubt (höchstens 200 Zeichen)."}])
        data = f.read(MAX_UPLOAD + 1)
        if len(data) > MAX_UPLOAD:
            raise Invalid(f"Die Datei „{name}“ ist zu groß (max. 5 MB).", code="file_too_large",
                          errors=[{"path": f"/files/{name}", "message": "Datei zu groß."}])
        files[name] = data
    return definitions.deploy_files(platform(), actor, files)
