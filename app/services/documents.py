"""Documents of a case: content on disk under DOCUMENTS_DIR by SHA-256, metadata in `document`.

    doc = documents.store(platform, session, instance_id=7, kind="bescheid",
                          filename="Bescheid.pdf", content=pdf_bytes, actor=actor)
    doc, content = documents.read(platform, actor, doc.id)

Uploads are checked by content (not by the name or the client's MIME type): PDF, PNG, JPEG and
the office formats DOCX, XLSX, PPTX, ODT, ODS. The size limit is MAX_UPLOAD_BYTES. Only users
who may see the case may list or download its documents; every access is audited.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import unicodedata
import zipfile
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Document

from . import audit
from .context import Actor
from .errors import Conflict, Forbidden, Invalid, NotFound
from .platform import Platform
from .processes import get_visible, only_participant

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"

EXTENSIONS: dict[str, tuple[str, ...]] = {
    PDF: (".pdf",), PNG: (".png",), JPEG: (".jpg", ".jpeg"), DOCX: (".docx",),
    XLSX: (".xlsx",), PPTX: (".pptx",), ODT: (".odt",), ODS: (".ods",),
}
TYPE_NAMES = "PDF, PNG, JPEG, DOCX, XLSX, PPTX, ODT, ODS"
_OOXML = {"wordprocessingml.document.main": DOCX, "spreadsheetml.sheet.main": XLSX,
          "presentationml.presentation.main": PPTX}
_ODF = {ODT, ODS}
MAX_FILENAME = 150
MAX_ZIP_MEMBER_READ = 256 * 1024
KINDS = re.compile(r"^[a-z][a-z0-9_-]{1,39}$")


# --- content checks -----------------------------------------------------------------------------

def detect_mime(content: bytes) -> str | None:
    """The MIME type by content (magic numbers, ZIP container parts), or None if not allowed."""
    if content.startswith(b"%PDF-"):
        return PDF
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if content.startswith(b"\xff\xd8\xff"):
        return JPEG
    if content.startswith(b"PK\x03\x04"):
        return _zip_mime(content)
    return None


def _zip_mime(content: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                info = archive.getinfo("mimetype")
                if info.file_size <= 200:
                    value = archive.read(info).decode("ascii", "replace").strip()
                    return value if value in _ODF else None
            if "[Content_Types].xml" in names:
                info = archive.getinfo("[Content_Types].xml")
                if info.file_size > MAX_ZIP_MEMBER_READ:
                    return None
                types = archive.read(info).decode("utf-8", "replace")
                for marker, mime in _OOXML.items():
                    if marker in types:
                        return mime
    except (zipfile.BadZipFile, KeyError, RuntimeError, NotImplementedError, OSError):
        return None
    return None


def safe_filename(name: str | None, fallback: str = "dokument") -> str:
    """A display/download name without paths, control characters or leading dots."""
    name = unicodedata.normalize("NFC", str(name or ""))
    name = name.replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = re.sub(r'[<>:"|?*]', "_", name).strip().lstrip(".").strip()
    if not name:
        name = fallback
    if len(name) > MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = stem[: MAX_FILENAME - len(ext) - 1] + "." + ext
        else:
            name = name[:MAX_FILENAME]
    return name


def check_content(platform: Platform, filename: str, content: bytes,
                  allowed: tuple[str, ...] | None = None) -> str:
    """Raise Invalid (German, field /file) unless the content is an allowed type within the
    size limit; returns the detected MIME type."""
    limit = platform.settings.MAX_UPLOAD_BYTES
    if not content:
        raise Invalid("Die Datei ist leer.", code="file_empty",
                      errors=[{"path": "/file", "message": "Die Datei ist leer."}])
    if len(content) > limit:
        raise Invalid(
            f"Die Datei „{filename}“ ist zu groß ({_mb(len(content))}); erlaubt sind höchstens "
            f"{_mb(limit)}.", code="file_too_large",
            errors=[{"path": "/file", "message": f"Höchstens {_mb(limit)} erlaubt."}])
    mime = detect_mime(content)
    if mime is None or (allowed is not None and mime not in allowed):
        names = TYPE_NAMES if allowed is None else ", ".join(
            EXTENSIONS[m][0].lstrip(".").upper() for m in allowed)
        raise Invalid(
            f"Der Inhalt der Datei „{filename}“ ist kein zulässiges Format (erlaubt: {names}).",
            code="file_type_not_allowed",
            errors=[{"path": "/file", "message": f"Zulässige Formate: {names}."}])
    ext = os.path.splitext(filename)[1].lower()
    if ext and ext not in EXTENSIONS[mime]:
        raise Invalid(
            f"Die Dateiendung „{ext}“ passt nicht zum Inhalt der Datei „{filename}“ "
            f"(erkannt: {EXTENSIONS[mime][0].lstrip('.').upper()}).",
            code="file_extension_mismatch",
            errors=[{"path": "/file", "message": "Dateiendung und Inhalt passen nicht zusammen."}])
    return mime


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB".replace(".", ",")


# --- storage -------------------------------------------------------------------------------------

def _root(platform: Platform) -> Path:
    return Path(platform.settings.DOCUMENTS_DIR)


def _path(platform: Platform, storage_key: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{2}/[0-9a-f]{64}", storage_key):
        raise NotFound("Dokument nicht gefunden.", code="document_not_found")
    return _root(platform) / storage_key


def _write_blob(platform: Platform, sha: str, content: bytes) -> str:
    key = f"{sha[:2]}/{sha}"
    path = _path(platform, key)
    if path.is_file() and path.stat().st_size == len(content):
        return key  # content-addressed: identical content is stored once
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)
    return key


def store(platform: Platform, session: Session, *, instance_id: int | None, kind: str,
          filename: str, content: bytes, actor: Actor,
          allowed: tuple[str, ...] | None = None) -> Document:
    """Check and store a document in the caller's transaction; returns the (flushed) row."""
    if not KINDS.match(kind or ""):
        raise Invalid("Unbekannte Dokumentart.", code="invalid_kind",
                      errors=[{"path": "/kind", "message": "Ungültige Dokumentart."}])
    filename = safe_filename(filename)
    mime = check_content(platform, filename, content, allowed)
    sha = hashlib.sha256(content).hexdigest()
    key = _write_blob(platform, sha, content)
    doc = Document(instance_id=instance_id, kind=kind, filename=filename, mime=mime,
                   size=len(content), sha256=sha, storage_key=key, created_by_id=actor.user_id)
    session.add(doc)
    session.flush()
    audit.record(session, actor, "document.stored", "document", doc.id, instance_id=instance_id,
                 details={"kind": kind, "filename": filename, "sha256": sha, "size": len(content)})
    return doc


def _load(platform: Platform, doc: Document) -> bytes:
    path = _path(platform, doc.storage_key)
    if not path.is_file():
        raise Conflict("Der Inhalt des Dokuments ist nicht mehr vorhanden.",
                       code="document_missing")
    content = path.read_bytes()
    if hashlib.sha256(content).hexdigest() != doc.sha256:
        raise Conflict("Der Inhalt des Dokuments ist beschädigt (Prüfsumme stimmt nicht).",
                       code="document_corrupt")
    return content


def _visible_document(session: Session, actor: Actor, document_id: int) -> Document:
    doc = session.get(Document, document_id)
    if doc is None:
        raise NotFound("Dokument nicht gefunden.", code="document_not_found")
    if doc.instance_id is not None:
        try:
            get_visible(session, actor, doc.instance_id)
        except NotFound as exc:
            raise NotFound("Dokument nicht gefunden.", code="document_not_found") from exc
    elif not (actor.is_staff or (actor.user_id is not None and doc.created_by_id == actor.user_id)):
        raise NotFound("Dokument nicht gefunden.", code="document_not_found")
    return doc


def read(platform: Platform, actor: Actor, document_id: int) -> tuple[Document, bytes]:
    """Metadata and content, only for users who may see the case (else 404)."""
    with platform.db.unit_of_work() as session:
        doc = _visible_document(session, actor, document_id)
        audit.record(session, actor, "document.read", "document", doc.id,
                     instance_id=doc.instance_id)
        session.expunge(doc)
    return doc, _load(platform, doc)


def read_for_instance(platform: Platform, instance_id: int, document_id: int) -> tuple[Document, bytes]:
    """System access for operators: only a document of the given instance."""
    with platform.db.unit_of_work() as session:
        doc = session.get(Document, document_id)
        if doc is None or doc.instance_id != instance_id:
            raise NotFound(f"Dokument {document_id} gehört nicht zu Vorgang {instance_id}.",
                           code="document_not_found")
        session.expunge(doc)
    return doc, _load(platform, doc)


def describe(doc: Document) -> dict:
    return {"id": doc.id, "instance_id": doc.instance_id, "kind": doc.kind,
            "filename": doc.filename, "mime": doc.mime, "size": doc.size, "sha256": doc.sha256,
            "created_at": doc.created_at, "download_url": f"/api/documents/{doc.id}"}


def upload(platform: Platform, actor: Actor, instance_id: int, filename: str, content: bytes,
           kind: str = "upload") -> dict:
    """Use case: a user who may see the case adds a file to it."""
    with platform.db.unit_of_work() as session:
        instance = get_visible(session, actor, instance_id)
        if only_participant(actor, instance):
            raise Forbidden("Dateien zum Vorgang legt die federführende Kommune ab.",
                            code="not_case_owner")
        if instance.status in ("completed", "terminated"):
            raise Conflict("Zu einem abgeschlossenen Vorgang können keine Dateien mehr "
                           "hinzugefügt werden.", code="instance_closed")
        doc = store(platform, session, instance_id=instance_id, kind=kind, filename=filename,
                    content=content, actor=actor)
        return describe(doc)


def list_documents(platform: Platform, actor: Actor, instance_id: int) -> list[dict]:
    with platform.db.unit_of_work() as session:
        get_visible(session, actor, instance_id)
        rows = session.scalars(select(Document).where(Document.instance_id == instance_id)
                               .order_by(Document.id)).all()
        return [describe(d) for d in rows]
