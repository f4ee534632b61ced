"""Browser modeler for prozessverantwortliche: definitions and versions, BPMN (bpmn-js with the
"Förderportal" properties group), DMN (dmn-js) and forms (JSON Schema + UI schema with live
preview). Saving stores a draft and validates it on the server; deploying makes a new version."""

from __future__ import annotations

import json

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.services import modeler
from app.services.errors import Invalid, NotFound

from . import formrender
from .current import actor, platform, require_login

bp = Blueprint("web_modeler", __name__, url_prefix="/modellierung")
bp.before_request(require_login)

NEW_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Neues Formular", "type": "object", "required": [], "additionalProperties": False,
    "properties": {"bemerkung": {"type": "string", "title": "Bemerkung", "maxLength": 2000}},
}


def _version_arg() -> int | None:
    raw = request.values.get("version", "")
    return int(raw) if raw.isdigit() and len(raw) < 9 else None


@bp.get("")
def overview():  # noqa: ANN201
    return render_template("web/modeler_list.html", data=modeler.overview(platform(), actor()))


@bp.post("/hochladen")
def upload():  # noqa: ANN201
    key = request.form.get("key") or None
    f = request.files.get("datei")
    if f is None or not f.filename:
        flash(_("Bitte wählen Sie eine Datei aus."), "danger")
        return redirect(url_for("web_modeler.editor", key=key) if key else url_for("web_modeler.overview"))
    try:
        result = modeler.upload(platform(), actor(), f.filename, f.read(modeler.MAX_FILE + 1), key)
    except Invalid as exc:
        return render_template("web/modeler_list.html", data=modeler.overview(platform(), actor()),
                               upload_problems=exc.errors, upload_message=exc.message), 422
    _flash_problems(result["problems"], _("Die Datei „%(name)s“ wurde in den Entwurf übernommen.",
                                          name=f.filename))
    target = f.filename if f.filename.lower().endswith(".dmn") else None
    if f.filename.lower().endswith(".json"):
        return redirect(url_for("web_modeler.form_editor", key=result["key"], ref=f.filename))
    return redirect(url_for("web_modeler.editor", key=result["key"], datei=target))


def _flash_problems(problems: list[dict], ok: str) -> None:
    if problems:
        flash(_("Gespeichert. Die Prüfung hat %(n)s Problem(e) gefunden; sie sind unten und im "
                "Diagramm markiert.", n=len(problems)), "warning")
    else:
        flash(ok + " " + _("Die Prüfung war erfolgreich."), "success")


@bp.get("/<key>")
def editor(key: str):  # noqa: ANN201
    p, who = platform(), actor()
    ws = modeler.workspace(p, who, key, _version_arg())
    filename = request.args.get("datei") or ws["main_file"]
    if filename not in ws["sources"]:
        raise NotFound(_("Die Datei gibt es in diesem Prozess nicht."), code="file_not_found")
    problems = modeler.validate(p, modeler.files_of(ws)) if ws["draft"] else []
    kind = "dmn" if filename.lower().endswith(".dmn") else "bpmn"
    return render_template(
        "web/modeler_edit.html", ws=ws, filename=filename, kind=kind, xml=ws["sources"][filename],
        problems=problems, palette=modeler.palette(p, ws),
        versions=_versions(key))


def _versions(key: str) -> list[dict]:
    for proc in modeler.overview(platform(), actor())["processes"]:
        if proc["key"] == key:
            return proc["versions"]
    return []


@bp.post("/<key>/speichern")
def save(key: str):  # noqa: ANN201
    p, who = platform(), actor()
    filename = request.form.get("datei", "")
    text = request.form.get("xml", "")
    action = request.form.get("_action", "save")
    if text.strip():
        result = modeler.save_source(p, who, key, filename, text, _version_arg())
    else:
        result = {"problems": modeler.validate(p, modeler.files_of(modeler.workspace(p, who, key)))}
    if action == "deploy":
        return _deploy(key, filename)
    _flash_problems(result["problems"], _("Der Entwurf wurde gespeichert."))
    return redirect(url_for("web_modeler.editor", key=key, datei=filename))


def _deploy(key: str, filename: str | None = None):  # noqa: ANN202
    try:
        results = modeler.deploy(platform(), actor(), key)
    except Invalid as exc:
        flash(_("Nicht bereitgestellt: Die Prüfung hat %(n)s Problem(e) gefunden.",
                n=len(exc.errors)), "danger")
        return redirect(url_for("web_modeler.editor", key=key, datei=filename))
    mine = next((r for r in results if r["key"] == key), results[0] if results else None)
    if mine and mine["created"]:
        flash(_("Version %(v)s von „%(key)s“ wurde bereitgestellt. Laufende Vorgänge bleiben auf "
                "ihrer Version.", v=mine["version"], key=mine["key"]), "success")
    elif mine:
        flash(_("Keine Änderung gegenüber Version %(v)s; es wurde keine neue Version angelegt.",
                v=mine["version"]), "info")
    return redirect(url_for("web_modeler.overview") + f"#prozess-{key}")


@bp.post("/<key>/bereitstellen")
def deploy(key: str):  # noqa: ANN201
    return _deploy(key)


@bp.post("/<key>/verwerfen")
def discard(key: str):  # noqa: ANN201
    modeler.discard_draft(platform(), actor(), key)
    flash(_("Der Entwurf wurde verworfen."), "info")
    return redirect(url_for("web_modeler.overview"))


# --- forms -------------------------------------------------------------------------------------------

@bp.route("/<key>/formular", methods=["GET", "POST"])
def form_editor(key: str):  # noqa: ANN201
    p, who = platform(), actor()
    ws = modeler.workspace(p, who, key, _version_arg())
    ref = (request.values.get("ref") or "").strip()
    if not ref:
        return redirect(url_for("web_modeler.editor", key=key))
    pair = _pair(ref)
    texts = {r: _pretty(ws["forms"].get(r)) for r in pair if r}
    if not texts.get(pair[0]) and pair[0] not in ws["forms"]:
        texts[pair[0]] = _pretty(NEW_SCHEMA)
    message, errors, status = None, [], 200
    if request.method == "POST":
        texts = {r: request.form.get(f"text-{i}", "") for i, r in enumerate(pair) if r}
    if request.method == "POST" and request.form.get("_action") != "preview":
        try:
            result = {"problems": []}
            for r, text in texts.items():
                if r and (text.strip() or r in ws["forms"]):
                    result = modeler.save_form(p, who, key, r, text, _version_arg())
            _flash_problems(result["problems"], _("Das Formular wurde im Entwurf gespeichert."))
            return redirect(url_for("web_modeler.form_editor", key=key, ref=ref))
        except Invalid as exc:
            message, errors, status = exc.message, exc.errors, 422
    preview = _preview(texts.get(pair[0], ""), texts.get(pair[1], "") if pair[1] else "")
    return render_template("web/modeler_form.html", ws=ws, ref=ref, pair=pair, texts=texts,
                           preview=preview, message=message, errors=errors), status


def _pair(ref: str) -> tuple[str, str | None]:
    """(JSON Schema, UI schema) file names for a form reference."""
    if ref.endswith(".uischema.json"):
        return ref.replace(".uischema.json", ".schema.json"), ref
    if ref.endswith(".schema.json"):
        return ref, ref.replace(".schema.json", ".uischema.json")
    return ref, None


def _pretty(doc: dict | None) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2) if doc is not None else ""


def _preview(schema_text: str, ui_text: str) -> dict:
    """The rendered form for the preview, or the reason why it cannot be shown."""
    try:
        schema = modeler.parse_form_document(schema_text or "{}", "vorschau.schema.json")
        ui = modeler.parse_form_document(ui_text, "vorschau.uischema.json") if ui_text.strip() else {}
    except Invalid as exc:
        return {"error": exc.message}
    return {"form": formrender.build_form(schema, ui, {}), "title": schema.get("title", "")}


@bp.post("/vorschau")
def preview():  # noqa: ANN201
    modeler.require_modeler(actor())
    data = _preview(request.form.get("text-0", ""), request.form.get("text-1", ""))
    return render_template("web/_form_preview.html", preview=data)
