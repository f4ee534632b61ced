"""Case list and case page: diagram with states, history, documents, tasks, admin actions."""

from __future__ import annotations

from io import BytesIO

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.services import cases, documents, inbox, jobs, processes
from app.services.errors import Invalid

from . import formrender
from .current import actor, page_number, platform, require_login, safe_next

bp = Blueprint("web_cases", __name__)
bp.before_request(require_login)

ACTIONS = {"anhalten": "suspend", "fortsetzen": "resume", "beenden": "terminate",
           "wiederholen": "retry"}
DONE = {"suspend": _l("Der Vorgang wurde angehalten."), "resume": _l("Der Vorgang wurde fortgesetzt."),
        "terminate": _l("Der Vorgang wurde beendet."), "retry": _l("Der Vorgang wurde erneut ausgeführt.")}


@bp.get("/vorgaenge")
def case_list():  # noqa: ANN201
    who, p = actor(), platform()
    args = request.args
    filters = {"process_key": args.get("prozess") or None, "status": args.get("status") or None,
               "municipality": args.get("kommune") or None}
    result = inbox.recent_cases(p, who, limit=20, page=page_number(args.get("seite")), **filters)
    current = {k: v for k, v in args.items() if k in ("prozess", "status", "kommune") and v}
    return render_template(
        "web/cases.html", result=result, args=current, processes=inbox.process_choices(p),
        page_url=lambda n: url_for("web_cases.case_list", **current, seite=n))


@bp.get("/vorgaenge/<int:instance_id>")
def case(instance_id: int):  # noqa: ANN201
    view = cases.case_view(platform(), actor(), instance_id)
    summary = formrender.summary_form(
        view["forms"], {k: v for k, v in (view.get("data") or {}).items()
                        if k not in cases.INTERNAL_KEYS},
        file_label=formrender.document_labeler(view["documents"]))
    return render_template("web/case.html", view=view, summary=summary)


@bp.post("/vorgaenge/<int:instance_id>/<aktion>")
def control(instance_id: int, aktion: str):  # noqa: ANN201
    action = ACTIONS.get(aktion)
    if action is None:
        return redirect(url_for("web_cases.case", instance_id=instance_id))
    if action == "retry":
        result = processes.retry(platform(), actor(), instance_id)
        if result["status"] == "error":
            flash(_("Der Vorgang ist erneut auf einen Fehler gelaufen: %(msg)s",
                    msg=result["error_message"] or ""), "danger")
        else:
            flash(str(DONE[action]), "success")
        if request.form.get("next") == "stoerungen":
            return redirect(url_for("web_admin.incidents"))
        return redirect(url_for("web_cases.case", instance_id=instance_id))
    processes.set_status(platform(), actor(), instance_id, action)
    flash(str(DONE[action]), "success")
    return redirect(url_for("web_cases.case", instance_id=instance_id))


@bp.post("/vorgaenge/<int:instance_id>/kommentar")
def comment(instance_id: int):  # noqa: ANN201
    try:
        inbox.add_comment(platform(), actor(), instance_id, request.form.get("text", ""),
                          internal=request.form.get("sichtbarkeit") == "intern")
        flash(_("Ihr Kommentar wurde gespeichert."), "success")
    except Invalid as exc:
        flash(exc.message, "danger")
    return redirect(url_for("web_cases.case", instance_id=instance_id) + "#kommentare")


@bp.post("/vorgaenge/<int:instance_id>/dokumente")
def upload(instance_id: int):  # noqa: ANN201
    f = request.files.get("datei")
    if f is None or not f.filename:
        flash(_("Bitte wählen Sie eine Datei aus."), "danger")
    else:
        limit = platform().settings.MAX_UPLOAD_BYTES
        try:
            doc = documents.upload(platform(), actor(), instance_id, f.filename, f.read(limit + 1))
            flash(_("Die Datei „%(name)s“ wurde abgelegt.", name=doc["filename"]), "success")
        except Invalid as exc:
            flash(exc.message, "danger")
    return redirect(safe_next(request.form.get("next"),
                              url_for("web_cases.case", instance_id=instance_id) + "#dokumente"))


@bp.get("/dokumente/<int:document_id>")
def download(document_id: int):  # noqa: ANN201
    doc, content = documents.read(platform(), actor(), document_id)
    response = send_file(BytesIO(content), mimetype=doc.mime, as_attachment=True,
                         download_name=doc.filename, etag=doc.sha256, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/stoerungen/<int:job_id>/wiederholen")
def retry(job_id: int):  # noqa: ANN201
    job = jobs.retry_incident(platform(), actor(), job_id)
    flash(_("Die Service-Aufgabe wird erneut ausgeführt."), "success")
    target = request.form.get("next")
    if target == "stoerungen":
        return redirect(url_for("web_admin.incidents"))
    return redirect(url_for("web_cases.case", instance_id=job.instance_id))
