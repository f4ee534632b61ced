"""Start page per role: what needs me now, what I can start, my (municipality's) cases."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.services import inbox, processes

from .current import actor, platform, require_login

bp = Blueprint("web_home", __name__)
bp.before_request(require_login)

# how the start page names the action of starting a process (fallback: "<name> starten")
START_LABELS = {
    "cluster_antrag": "Neuen Clusterantrag stellen",
    "digicheck": "DigiCheck durchführen",
    "foerderaufruf": "Neuen Förderaufruf anlegen",
    "kdlz_beratung": "Beratung durch das KDLZ anfragen",
    "beratungsanfrage": "Beratung durch das KDLZ anfragen",
    "demo_antrag": "Demo-Antrag stellen",
}


def start_label(key: str, name: str) -> str:
    """A name that already ends in a verb ("… anfragen", "… starten") is the action itself."""
    if key in START_LABELS:
        return START_LABELS[key]
    last = name.split()[-1] if name.split() else ""
    return name if last.islower() and last.endswith("en") else f"{name} starten"


@bp.get("/")
def index():  # noqa: ANN201
    who = actor()
    p = platform()
    starts = [dict(s, label=start_label(s["key"], s["name"])) for s in inbox.startable(p, who)]
    return render_template(
        "web/home.html", counts=inbox.counts(p, who), starts=starts,
        cases=inbox.recent_cases(p, who, limit=10),
        urgent=inbox.list_inbox(p, who, scope="mine", sort="due", per_page=5)["items"],
    )


@bp.post("/vorgaenge/starten")
def start():  # noqa: ANN201
    who = actor()
    key = request.form.get("process_key", "")
    business_key = request.form.get("business_key", "").strip() or None
    result = processes.start_process(platform(), who, key, business_key, {})
    task_id = inbox.first_task_for(platform(), who, result["id"])
    flash(_("Der Vorgang wurde angelegt."), "success")
    if task_id:
        return redirect(url_for("web_tasks.task", task_id=task_id))
    return redirect(url_for("web_cases.case", instance_id=result["id"]))
