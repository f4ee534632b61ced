"""Documents of a case: upload (multipart `file`), list, download."""

from __future__ import annotations

from io import BytesIO

from flask import send_file
from flask_smorest import Blueprint

from app.schemas.phase2 import DocumentSchema, DocumentUploadArgs, DocumentUploadFile
from app.services import documents

from . import current_actor, platform

blp = Blueprint("documents", __name__, url_prefix="/api", description="Dokumente eines Vorgangs")


@blp.route("/process-instances/<int:instance_id>/documents", methods=["POST"])
@blp.arguments(DocumentUploadArgs, location="query")
@blp.arguments(DocumentUploadFile, location="files")
@blp.response(201, DocumentSchema)
def upload(args: dict, files: dict, instance_id: int) -> dict:
    """Datei zu einem Vorgang hochladen (multipart/form-data, Teil `file`)."""
    actor = current_actor()
    f = files["file"]
    limit = platform().settings.MAX_UPLOAD_BYTES
    content = f.read(limit + 1)
    return documents.upload(platform(), actor, instance_id, f.filename or "", content,
                            kind=args["kind"])


@blp.route("/process-instances/<int:instance_id>/documents", methods=["GET"])
@blp.response(200, DocumentSchema(many=True))
def list_documents(instance_id: int) -> list:
    """Dokumente eines Vorgangs (Bescheide, Uploads, Berichte)."""
    return documents.list_documents(platform(), current_actor(), instance_id)


@blp.route("/documents/<int:document_id>", methods=["GET"])
@blp.response(200)
def download(document_id: int):  # noqa: ANN201
    """Dokument herunterladen (nur wer den Vorgang sehen darf)."""
    doc, content = documents.read(platform(), current_actor(), document_id)
    response = send_file(BytesIO(content), mimetype=doc.mime, as_attachment=True,
                         download_name=doc.filename, etag=doc.sha256, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
