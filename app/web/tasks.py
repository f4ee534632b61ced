"""Inbox ("Meine Aufgaben", "Aufgaben meiner Gruppen") and the task page with its form."""

from __future__ import annotations

from datetime import datetime, time
from urllib.parse import urlencode

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.services import cases, documents, forms, inbox, tasks
from app.services.errors import Invalid, ServiceError

from . import formrender
from .current import actor, page_number, platform, require_login, safe_next
from .filters import BERLIN

bp = Blueprint("web_tasks", __name__)
bp.before_request(require_login)

SCOPES = {"meine": "mine", "gruppen": "groups"}
DUE = {"ueberfaellig": "overdue", "woche": "week", "wiedervorlage": "follow_up", "ohne": "none"}
SORTS = {"frist": "due", "neu": "created", "titel": "title", "prozess": "process",
         "wiedervorlage": "follow_up"}
PARAMS = ("ansicht", "prozess", "kommune", "frist", "offen", "sortierung")


def _inbox_args(args) -> dict:  # noqa: ANN001
    """The inbox query parameters (German names) that are set."""
    return {k: args.get(k) for k in PARAMS if args.get(k)}


@bp.get("/aufgaben")
def inbox_page():  # noqa: ANN201
    who = actor()
    p = platform()
    args = request.args
    scope = args.get("ansicht") or ("meine" if inbox.counts(p, who)["mine"] else "gruppen")
    result = inbox.list_inbox(
        p, who, scope=SCOPES.get(scope, "groups"), process_key=args.get("prozess") or None,
        municipality=args.get("kommune") or None, due=DUE.get(args.get("frist", "")),
        unassigned=args.get("offen") == "1", sort=SORTS.get(args.get("sortierung", ""), "due"),
        page=page_number(args.get("seite")))
    current = {**_inbox_args(args), "ansicht": scope}
    return render_template(
        "web/inbox.html", result=result, scope=scope, args=current, options=inbox.filter_options(p, who),
        saved=inbox.list_filters(p, who), counts=inbox.counts(p, who),
        page_url=lambda n: url_for("web_tasks.inbox_page", **current, seite=n),
        sort_url=lambda s: url_for("web_tasks.inbox_page", **{**current, "sortierung": s}),
        here=request.full_path)


@bp.post("/aufgaben/filter")
def save_filter():  # noqa: ANN201
    params = _inbox_args(request.form)
    saved = inbox.save_filter(platform(), actor(), request.form.get("name", ""), params)
    flash(_("Der Filter „%(name)s“ wurde gespeichert.", name=saved["name"]), "success")
    return redirect(url_for("web_tasks.inbox_page", **params))


@bp.post("/aufgaben/filter/<int:filter_id>/loeschen")
def delete_filter(filter_id: int):  # noqa: ANN201
    inbox.delete_filter(platform(), actor(), filter_id)
    flash(_("Der Filter wurde gelöscht."), "info")
    return redirect(url_for("web_tasks.inbox_page"))


def saved_filter_url(params: dict) -> str:
    return url_for("web_tasks.inbox_page") + "?" + urlencode(params)


# --- the task page ----------------------------------------------------------------------------------

def _back(task_id: str) -> str:
    return safe_next(request.form.get("next"), url_for("web_tasks.task", task_id=task_id))


@bp.get("/aufgaben/<uuid:task_id>")
def task(task_id):  # noqa: ANN001, ANN201
    view = cases.task_view(platform(), actor(), str(task_id))
    data = view["data"]
    if view["can_complete"]:
        data = formrender.with_defaults(view["form_schema"] or {}, data)
    return _render(view, data, [])


def _render(view: dict, data: dict, errors: list[dict], *, focus: str | None = None,
            message: str | None = None, status: int = 200):  # noqa: ANN202
    schema, ui = view["form_schema"] or {}, view["ui_schema"] or {}
    form = formrender.build_form(schema, ui, data, errors, focus=focus,
                                 readonly=not view["can_complete"], file_label=_file_label(view))
    summary = case_summary(view)
    return render_template("web/task.html", view=view, form=form, summary=summary,
                           context=task_context(view), message=message), status


def task_context(view: dict) -> formrender.FormView | None:
    """"Worum es geht": the values the task's model names as its context, read-only."""
    context = view.get("context") or {}
    if not context.get("data"):
        return None
    return formrender.build_form(context["schema"], context.get("ui_schema"), context["data"],
                                 readonly=True, file_label=_file_label(view))


def _file_label(view: dict):  # noqa: ANN202
    return formrender.document_labeler(view.get("documents", []))


def case_summary(view: dict) -> formrender.FormView | None:
    return formrender.summary_form(view.get("forms") or {}, view.get("case") or {},
                                   file_label=_file_label(view))


@bp.post("/aufgaben/<uuid:task_id>")
def submit(task_id):  # noqa: ANN001, ANN201
    tid = str(task_id)
    who, p = actor(), platform()
    view = cases.task_view(p, who, tid)
    if not view["can_complete"]:
        flash(_("Sie können diese Aufgabe zurzeit nicht bearbeiten."), "warning")
        return redirect(url_for("web_tasks.task", task_id=tid))
    schema, ui = view["form_schema"] or {}, view["ui_schema"] or {}
    action = request.form.get("_action", "complete")
    structural = action.startswith(("add:", "remove:")) or action == "draft"
    data, parse_errors = formrender.parse_form(
        schema, ui, request.form, view["data"], files=request.files,
        store_file=_file_store(view), keep_empty_rows=structural)
    if action.startswith("add:"):
        return _render(view, data, [], focus=formrender.add_row(schema, data, action[4:]))
    if action.startswith("remove:"):
        return _render(view, data, [], focus=formrender.remove_row(data, action[7:]))
    if action == "draft":
        tasks.save_draft(p, who, tid, data)
        flash(_("Ihre Eingaben wurden als Entwurf gespeichert."), "success")
        return redirect(url_for("web_tasks.task", task_id=tid))
    if parse_errors:  # input that could not be read is never submitted
        errors = formrender.merge_errors(parse_errors, _schema_errors(schema, data, view["data"]))
        return _render(view, data, errors, message=_summary_message(errors), status=422)
    try:
        result = tasks.complete(p, who, tid, data)
    except Invalid as exc:
        message = _summary_message(exc.errors) if exc.errors else exc.message
        return _render(view, data, exc.errors, message=message, status=422)
    except ServiceError as exc:  # e.g. changed concurrently: keep the input, explain
        return _render(view, data, [], message=exc.message, status=exc.status)
    return _after_completion(view, result)


def _schema_errors(schema: dict, data: dict, shown: dict) -> list[dict]:
    try:
        forms.validate(schema, data, shown)
    except ServiceError as exc:  # Invalid, or a form that cannot be checked (409)
        return exc.errors
    return []


def _summary_message(errors: list[dict]) -> str:
    n = len(errors)
    return (_("Das Formular enthält einen Fehler.") if n == 1
            else _("Das Formular enthält %(n)s Fehler.", n=n))


def _after_completion(view: dict, result: dict):  # noqa: ANN202
    instance = result["instance"]
    if instance["status"] == "error":
        flash(_("Die Aufgabe wurde erledigt, der Vorgang ist danach jedoch auf einen Fehler "
                "gelaufen: %(msg)s", msg=instance.get("error_message") or ""), "danger")
    else:
        flash(_("Die Aufgabe „%(title)s“ ist erledigt.", title=view["title"]), "success")
    next_task = inbox.first_task_for(platform(), actor(), view["instance_id"])
    if next_task:
        return redirect(url_for("web_tasks.task", task_id=next_task))
    return redirect(url_for("web_cases.case", instance_id=view["instance_id"]))


def _file_store(view: dict):  # noqa: ANN202
    p, who = platform(), actor()
    schema = formrender.Schema(view["form_schema"] or {})

    def store(path: tuple, upload) -> object:  # noqa: ANN001
        limit = p.settings.MAX_UPLOAD_BYTES
        content = upload.read(limit + 1)
        try:
            doc = documents.upload(p, who, view["instance_id"], upload.filename or "", content)
        except Invalid as exc:
            raise formrender.ParseError(exc.message) from exc
        node = formrender.node_at(schema, path) or {}
        kind = formrender.schema_type(node)
        if kind == "integer":
            return doc["id"]
        if kind == "string":
            return str(doc["id"])
        allowed = set((node.get("properties") or {}).keys())
        value = {"document_id": doc["id"], "filename": doc["filename"], "sha256": doc["sha256"],
                 "size": doc["size"], "mime": doc["mime"]}
        return {k: v for k, v in value.items() if not allowed or k in allowed}

    return store


# --- actions on a task ------------------------------------------------------------------------------

@bp.post("/aufgaben/<uuid:task_id>/uebernehmen")
def claim(task_id):  # noqa: ANN001, ANN201
    tasks.claim(platform(), actor(), str(task_id))
    flash(_("Sie haben die Aufgabe übernommen."), "success")
    return redirect(_back(str(task_id)))


@bp.post("/aufgaben/<uuid:task_id>/zurueckgeben")
def unclaim(task_id):  # noqa: ANN001, ANN201
    tasks.unclaim(platform(), actor(), str(task_id))
    flash(_("Die Aufgabe liegt wieder bei der Gruppe."), "info")
    return redirect(_back(str(task_id)))


@bp.post("/aufgaben/<uuid:task_id>/uebergeben")
def hand_over(task_id):  # noqa: ANN001, ANN201
    brief = tasks.hand_over(platform(), actor(), str(task_id), request.form.get("username", ""))
    flash(_("Die Aufgabe wurde an %(user)s übergeben.", user=brief["assignee"]), "success")
    return redirect(url_for("web_tasks.inbox_page"))


@bp.post("/aufgaben/<uuid:task_id>/wiedervorlage")
def follow_up(task_id):  # noqa: ANN001, ANN201
    raw = request.form.get("datum", "").strip()
    when = None
    if raw:
        try:
            day = datetime.fromisoformat(formrender.parse_date(raw))
        except formrender.ParseError as exc:
            raise Invalid(_("Bitte geben Sie ein gültiges Datum (TT.MM.JJJJ) an."),
                          errors=[{"path": "/datum", "message": str(exc)}]) from exc
        when = datetime.combine(day.date(), time(8, 0), tzinfo=BERLIN)
    tasks.set_follow_up(platform(), actor(), str(task_id), when)
    flash(_("Die Wiedervorlage wurde gespeichert.") if when
          else _("Die Wiedervorlage wurde entfernt."), "success")
    return redirect(_back(str(task_id)))


@bp.post("/aufgaben/<uuid:task_id>/kommentar")
def comment(task_id):  # noqa: ANN001, ANN201
    tid = str(task_id)
    view = tasks.get_task(platform(), actor(), tid)
    try:
        inbox.add_comment(platform(), actor(), view["instance_id"], request.form.get("text", ""), tid,
                          internal=request.form.get("sichtbarkeit") == "intern")
        flash(_("Ihr Kommentar wurde gespeichert."), "success")
    except Invalid as exc:
        flash(exc.message, "danger")
    return redirect(url_for("web_tasks.task", task_id=tid) + "#kommentare")
