"""The browser modeler: definition sources per version, drafts, server-side validation with
problems located at their BPMN element, and deployment of a new version.

A draft is the shared work in progress for one process key (BPMN/DMN sources and forms). Saving
stores the draft and validates it; deploying validates and stores a new definition version
(definitions.deploy_files), after which the draft is removed. Running instances keep their
version.
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.engine.parser import BPMN_NS, DefinitionInvalid, parse_definitions
from app.engine.xmlsafe import UnsafeXmlError, XmlSyntaxError, parse_xml
from app.models import DefinitionDraft, Group, ProcessDefinition, ProcessInstance, User

from . import audit, definitions, forms
from .context import Actor
from .errors import Forbidden, Invalid, NotFound
from .platform import Platform

MAX_FILE = 5 * 1024 * 1024
SOURCE_SUFFIXES = (".bpmn", ".dmn")
FORM_SUFFIX = ".json"


def require_modeler(actor: Actor) -> None:
    if not (actor.groups & definitions.DEPLOYERS):
        raise Forbidden("Nur Prozessverantwortliche dürfen Prozesse modellieren.",
                        code="modeler_forbidden")


def now() -> datetime:
    return datetime.now(UTC)


# --- overview -------------------------------------------------------------------------------------

def overview(platform: Platform, actor: Actor) -> dict:
    """Every process key with its versions (newest first) and the open drafts."""
    require_modeler(actor)
    with platform.db.unit_of_work() as session:
        counts = _instance_counts(session)
        users = dict(session.execute(select(User.id, User.username)).all())
        processes: dict[str, list[dict]] = defaultdict(list)
        rows = session.execute(select(
            ProcessDefinition.id, ProcessDefinition.key, ProcessDefinition.version,
            ProcessDefinition.name, ProcessDefinition.deployed_at, ProcessDefinition.deployed_by_id,
        ).order_by(ProcessDefinition.key, ProcessDefinition.version.desc())).all()
        for did, key, version, name, at, by in rows:
            running, total = counts.get(did, (0, 0))
            processes[key].append({"id": did, "key": key, "version": version, "name": name or key,
                                   "deployed_at": at, "deployed_by": users.get(by) if by else "System",
                                   "running": running, "total": total})
        drafts = [{"key": d.process_key, "base_version": d.base_version,
                   "updated_at": d.updated_at, "updated_by": users.get(d.updated_by_id)}
                  for d in session.scalars(select(DefinitionDraft).order_by(
                      DefinitionDraft.process_key))]
    return {"processes": [{"key": k, "name": v[0]["name"], "versions": v}
                          for k, v in sorted(processes.items(), key=lambda kv: kv[1][0]["name"])],
            "drafts": drafts}


def _instance_counts(session: Session) -> dict[int, tuple[int, int]]:
    rows = session.execute(select(
        ProcessInstance.definition_id, ProcessInstance.status, func.count()
    ).group_by(ProcessInstance.definition_id, ProcessInstance.status)).all()
    result: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for did, status, n in rows:
        result[did][1] += n
        if status in ("running", "suspended", "error", "incident"):
            result[did][0] += n
    return {k: (v[0], v[1]) for k, v in result.items()}


# --- workspace ------------------------------------------------------------------------------------

def _version(session: Session, key: str, version: int | None) -> ProcessDefinition:
    if version is None:
        return definitions.latest(session, key)
    row = session.scalar(select(ProcessDefinition).where(
        ProcessDefinition.key == key, ProcessDefinition.version == version))
    if row is None:
        raise NotFound(f"Version {version} von „{key}“ gibt es nicht.", code="version_not_found")
    return row


def workspace(platform: Platform, actor: Actor, key: str, version: int | None = None) -> dict:
    """The files to edit for a process: its draft if one exists, else the given (or latest)
    version."""
    require_modeler(actor)
    with platform.db.unit_of_work() as session:
        draft = session.scalar(select(DefinitionDraft).where(DefinitionDraft.process_key == key))
        latest_version = session.scalar(select(func.max(ProcessDefinition.version))
                                        .where(ProcessDefinition.key == key))
        if draft is not None and version is None:
            return _ws(key, draft.sources, draft.forms, draft.base_version, latest_version,
                       draft=True, updated_at=draft.updated_at)
        row = _version(session, key, version)
        sources = complete_decisions(platform, session, row.sources)
        return _ws(key, sources, row.forms, row.version, latest_version,
                   draft=False, has_draft=draft is not None, name=row.name)


def _ws(key, sources, forms, base, latest, *, draft, updated_at=None, has_draft=None, name=None):  # noqa: ANN001, ANN202
    files = sorted(sources)
    return {"key": key, "name": name or key, "sources": dict(sources), "forms": dict(forms),
            "base_version": base, "latest_version": latest, "draft": draft,
            "has_draft": draft if has_draft is None else has_draft, "updated_at": updated_at,
            "bpmn_files": [f for f in files if not f.lower().endswith(".dmn")],
            "dmn_files": [f for f in files if f.lower().endswith(".dmn")],
            "form_files": sorted(forms), "main_file": main_file(key, sources)}


def main_file(key: str, sources: dict[str, str]) -> str | None:
    """The BPMN file that declares process `key` (else the first BPMN file)."""
    candidates = [n for n in sorted(sources) if not n.lower().endswith(".dmn")]
    for name in candidates:
        if key in process_ids(sources[name]):
            return name
    return candidates[0] if candidates else None


def process_ids(xml: str | bytes) -> list[str]:
    try:
        root = parse_xml(xml.encode() if isinstance(xml, str) else xml, "upload").getroot()
    except (UnsafeXmlError, XmlSyntaxError):
        return []
    return [p.get("id") for p in root.iter(f"{{{BPMN_NS}}}process") if p.get("id")]


SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"


def _tree(text: str, name: str):  # noqa: ANN202
    try:
        return parse_xml(text.encode(), name).getroot()
    except (UnsafeXmlError, XmlSyntaxError):
        return None


def decision_ids(text: str) -> set[str]:
    root = _tree(text, "entscheidung.dmn")
    return {d.get("id") for d in root if str(d.tag).endswith("}decision")} if root is not None else set()


def complete_decisions(platform: Platform, session: Session, sources: dict[str, str]) -> dict[str, str]:
    """Add the DMN files whose decisions the BPMN files call but that the stored version lacks
    (looked up in other stored versions, then in PROCESSES_DIR)."""
    needed: set[str] = set()
    provided: set[str] = set()
    for name, text in sources.items():
        if name.lower().endswith(".dmn"):
            provided |= decision_ids(text)
            continue
        root = _tree(text, name)
        if root is not None:
            needed |= {(el.text or "").strip() for el in root.iter(f"{{{SPIFF_NS}}}calledDecisionId")}
    missing = needed - provided - {""}
    if not missing:
        return sources
    result = dict(sources)
    candidates = ((n, t) for row in session.scalars(
        select(ProcessDefinition.sources).order_by(ProcessDefinition.id.desc())) for n, t in row.items())
    disk = ((p.relative_to(Path(platform.settings.PROCESSES_DIR)).as_posix(), p.read_text("utf-8"))
            for p in sorted(Path(platform.settings.PROCESSES_DIR).rglob("*.dmn")))
    for name, text in itertools.chain(candidates, disk):
        if not missing:
            break
        if name.lower().endswith(".dmn") and name not in result:
            ids = decision_ids(text)
            if ids & missing:
                result[name] = text
                missing -= ids
    return result


def _draft(platform: Platform, session: Session, actor: Actor, key: str,
           base_version: int | None) -> DefinitionDraft:
    draft = session.scalar(select(DefinitionDraft).where(DefinitionDraft.process_key == key))
    if draft is None:
        sources: dict = {}
        forms: dict = {}
        if base_version is not None or session.scalar(select(ProcessDefinition.id).where(
                ProcessDefinition.key == key).limit(1)) is not None:
            row = _version(session, key, base_version)
            sources, forms, base_version = dict(row.sources), dict(row.forms), row.version
            sources = complete_decisions(platform, session, sources)
        draft = DefinitionDraft(process_key=key, base_version=base_version, sources=sources,
                                forms=forms)
        session.add(draft)
    draft.updated_by_id = actor.user_id
    draft.updated_at = now()
    return draft


# --- saving and validating ------------------------------------------------------------------------

def _check_name(filename: str) -> str:
    name = PurePosixPath(str(filename).replace("\\", "/"))
    if not filename or name.is_absolute() or ".." in name.parts or any(
            p.startswith(".") for p in name.parts) or len(str(name)) > 200:
        raise Invalid("Ungültiger Dateiname.", code="invalid_filename",
                      errors=[{"path": "/filename", "message": "Dateiname ist ungültig."}])
    return str(name)


def save_source(platform: Platform, actor: Actor, key: str, filename: str, text: str,
                base_version: int | None = None) -> dict:
    """Store an edited BPMN/DMN file in the draft and validate the whole draft."""
    require_modeler(actor)
    filename = _check_name(filename)
    if not filename.lower().endswith(SOURCE_SUFFIXES + (".xml",)):
        raise Invalid("Nur .bpmn- und .dmn-Dateien können hier gespeichert werden.",
                      code="invalid_filename")
    if len(text.encode()) > MAX_FILE:
        raise Invalid("Die Datei ist zu groß (max. 5 MB).", code="file_too_large")
    with platform.db.unit_of_work() as session:
        draft = _draft(platform, session, actor, key, base_version)
        draft.sources = {**draft.sources, filename: text}
        audit.record(session, actor, "definition.draft_saved", "definition_draft", key,
                     details={"file": filename})
        files = _files(draft.sources, draft.forms)
    return {"problems": validate(platform, files), "key": key}


def save_form(platform: Platform, actor: Actor, key: str, ref: str, text: str,
              base_version: int | None = None) -> dict:
    """Store an edited form (JSON Schema or UI schema) in the draft; invalid JSON is refused."""
    require_modeler(actor)
    ref = _check_name(ref)
    if not ref.endswith(FORM_SUFFIX):
        raise Invalid("Formulare sind .json-Dateien.", code="invalid_filename",
                      errors=[{"path": "/ref", "message": "Der Name muss auf .json enden."}])
    doc = parse_form_document(text, ref)
    with platform.db.unit_of_work() as session:
        draft = _draft(platform, session, actor, key, base_version)
        draft.forms = {**draft.forms, ref: doc}
        audit.record(session, actor, "definition.draft_saved", "definition_draft", key,
                     details={"form": ref})
        files = _files(draft.sources, draft.forms)
    return {"problems": validate(platform, files), "key": key}


def parse_form_document(text: str, ref: str = "formular.json") -> dict:
    """JSON text → dict; a JSON Schema (not a UI schema) must also be a valid schema."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise Invalid(f"Kein gültiges JSON: {exc}", code="invalid_json",
                      errors=[{"path": "/text", "message": f"Kein gültiges JSON ({exc})."}]) from exc
    if not isinstance(doc, dict):
        raise Invalid("Ein Formular ist ein JSON-Objekt.", code="invalid_json",
                      errors=[{"path": "/text", "message": "Ein JSON-Objekt wird erwartet."}])
    if not ref.endswith(".uischema.json"):
        try:
            Draft202012Validator.check_schema(doc)
        except SchemaError as exc:
            raise Invalid(f"Kein gültiges JSON Schema: {exc.message}", code="invalid_schema",
                          errors=[{"path": "/text", "message": exc.message}]) from exc
    return doc


def upload(platform: Platform, actor: Actor, filename: str, content: bytes,
           key: str | None = None) -> dict:
    """Add an uploaded file (e.g. a .bpmn from another modeler) to a draft and validate it.
    Without `key`, a BPMN file's first process id names the draft."""
    require_modeler(actor)
    filename = _check_name(PurePosixPath(str(filename).replace("\\", "/")).name)
    if len(content) > MAX_FILE:
        raise Invalid("Die Datei ist zu groß (max. 5 MB).", code="file_too_large",
                      errors=[{"path": "/file", "message": "Datei zu groß."}])
    lower = filename.lower()
    if lower.endswith(FORM_SUFFIX):
        if key is None:
            raise Invalid("Formulare bitte im Editor eines Prozesses hochladen.", code="no_process")
        return save_form(platform, actor, key, filename, _text(content))
    if not lower.endswith(SOURCE_SUFFIXES + (".xml",)):
        raise Invalid("Erlaubt sind .bpmn-, .dmn- und .json-Dateien.", code="invalid_filename",
                      errors=[{"path": "/file", "message": "Unbekannter Dateityp."}])
    text = _text(content)
    if key is None:
        ids = process_ids(content)
        if not ids:
            problems = validate(platform, {filename: content})
            raise Invalid("Die Datei enthält keinen BPMN-Prozess.", code="definition_invalid",
                          errors=problems or [{"path": "/file", "message": "Kein Prozess gefunden."}])
        key = ids[0]
    with platform.db.unit_of_work() as session:
        draft = _draft(platform, session, actor, key, None)
        target = filename
        if lower.endswith((".bpmn", ".xml")) and key in process_ids(content):
            target = main_file(key, draft.sources) or filename
        draft.sources = {**draft.sources, target: text}
        audit.record(session, actor, "definition.uploaded", "definition_draft", key,
                     details={"file": filename})
        files = _files(draft.sources, draft.forms)
    return {"problems": validate(platform, files), "key": key}


def _text(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid("Die Datei ist nicht UTF-8-kodiert.", code="invalid_encoding",
                      errors=[{"path": "/file", "message": "UTF-8 erwartet."}]) from exc


def discard_draft(platform: Platform, actor: Actor, key: str) -> None:
    require_modeler(actor)
    with platform.db.unit_of_work() as session:
        draft = session.scalar(select(DefinitionDraft).where(DefinitionDraft.process_key == key))
        if draft is None:
            raise NotFound("Es gibt keinen Entwurf.", code="draft_not_found")
        session.delete(draft)
        audit.record(session, actor, "definition.draft_discarded", "definition_draft", key)


def deploy(platform: Platform, actor: Actor, key: str) -> list[dict]:
    """Deploy the draft as a new version (422 with located problems when invalid)."""
    require_modeler(actor)
    with platform.db.unit_of_work() as session:
        draft = session.scalar(select(DefinitionDraft).where(DefinitionDraft.process_key == key))
        if draft is None:
            raise NotFound("Es gibt keinen Entwurf zum Bereitstellen.", code="draft_not_found")
        files = _files(draft.sources, draft.forms)
    problems = validate(platform, files)
    if problems:
        raise Invalid("Die Prozessdefinition ist ungültig.", code="definition_invalid",
                      errors=problems)
    result = definitions.deploy_files(platform, actor, files)
    with platform.db.unit_of_work() as session:
        draft = session.scalar(select(DefinitionDraft).where(DefinitionDraft.process_key == key))
        if draft is not None:
            session.delete(draft)
    return result


def files_of(workspace_files: dict) -> dict[str, bytes]:
    """The deployable files of a workspace (see workspace())."""
    return _files(workspace_files["sources"], workspace_files["forms"])


def _files(sources: dict[str, str], forms: dict[str, dict]) -> dict[str, bytes]:
    files = {name: text.encode() for name, text in sources.items()}
    files.update({ref: json.dumps(doc, ensure_ascii=False).encode() for ref, doc in forms.items()})
    return files


def validate(platform: Platform, files: dict[str, bytes]) -> list[dict]:
    """All problems of the files as {file, element_id, line, message, path}; [] when valid."""
    try:
        parsed = parse_definitions(files, platform.form_lookup, platform.operator_names())
    except DefinitionInvalid as exc:
        return [_locate(p.as_dict(), files) for p in exc.problems]
    return [_locate(p, files) for p in forms.deploy_problems(parsed)]


def _locate(problem: dict, files: dict[str, bytes]) -> dict:
    """Find the element of a schema error by its line (XSD errors carry no element id); a
    sequence flow missing an end cannot be drawn, so its source (or target) is marked instead."""
    content = files.get(problem.get("file") or "")
    if not problem.get("element_id") and problem.get("line") and content is not None:
        problem["element_id"] = element_at_line(content, problem["line"])
    if problem.get("element_id") and content is not None:
        problem["marker_id"] = _drawable(content, problem["element_id"])
    path = f"/files/{problem.get('file') or ''}"
    if problem.get("element_id"):
        path += f"#{problem['element_id']}"
    return {**problem, "path": path}


def _root_of(content: bytes):  # noqa: ANN202
    try:
        return parse_xml(content, "upload").getroot()
    except (UnsafeXmlError, XmlSyntaxError):
        return None


def _drawable(content: bytes, element_id: str) -> str:
    root = _root_of(content)
    if root is None:
        return element_id
    for el in root.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        if el.get("id") == element_id and not (el.get("sourceRef") and el.get("targetRef")):
            return el.get("sourceRef") or el.get("targetRef") or element_id
    return element_id


def element_at_line(content: bytes, line: int) -> str | None:
    """The id of the element starting on `line` (or of its nearest ancestor with an id)."""
    root = _root_of(content)
    if root is None:
        return None
    for el in root.iter():
        if getattr(el, "sourceline", None) == line:
            node = el
            while node is not None and not node.get("id"):
                node = node.getparent()
            if node is not None and node is not root:
                return node.get("id")
    return None


# --- what the properties panel offers ---------------------------------------------------------------

def palette(platform: Platform, workspace_files: dict) -> dict:
    """Known operators, decision ids, form references and groups for the properties panel."""
    decisions: set[str] = set()
    for name, text in workspace_files["sources"].items():
        if name.lower().endswith(".dmn"):
            decisions |= decision_ids(text)
    with platform.db.unit_of_work() as session:
        groups = list(session.scalars(select(Group.name).order_by(Group.name)))
    return {"operators": sorted(platform.operator_names()), "decisions": sorted(d for d in decisions if d),
            "forms": sorted(workspace_files["forms"]), "groups": groups}
