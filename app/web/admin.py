"""Administration: users, groups and municipality membership; incidents."""

from __future__ import annotations

import re
from collections import Counter

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.services import jobs, users
from app.services.errors import Invalid, ServiceError

from .current import actor, platform, require_login

bp = Blueprint("web_admin", __name__, url_prefix="/verwaltung")
bp.before_request(require_login)


def _split(raw: str) -> list[str]:
    return [p for p in re.split(r"[\s,;]+", raw or "") if p]


def _form_data(form, *, new: bool) -> dict:  # noqa: ANN001
    data = {"groups": form.getlist("groups"), "municipalities": _split(form.get("municipalities", "")),
            "display_name": form.get("display_name", "").strip(), "email": form.get("email", "").strip()}
    if new:
        data["username"] = form.get("username", "").strip()
    if form.get("password"):
        data["password"] = form["password"]
    if not new:
        data["active"] = form.get("active") == "1"
    return data


def _check(data: dict, *, new: bool) -> None:
    errors = []
    if new and not re.fullmatch(r"[A-Za-z0-9._-]{2,80}", data.get("username", "")):
        errors.append({"path": "/username", "message": _("Benutzername: 2–80 Zeichen, nur Buchstaben, "
                                                          "Ziffern, Punkt, Binde- und Unterstrich.")})
    if new and len(data.get("password", "")) < 8:
        errors.append({"path": "/password", "message": _("Das Passwort muss mindestens 8 Zeichen lang "
                                                          "sein.")})
    if not new and "password" in data and len(data["password"]) < 8:
        errors.append({"path": "/password", "message": _("Das Passwort muss mindestens 8 Zeichen lang "
                                                          "sein.")})
    if not data["groups"]:
        errors.append({"path": "/groups", "message": _("Bitte wählen Sie mindestens eine Gruppe.")})
    bad = [a for a in data["municipalities"] if not re.fullmatch(r"06\d{6}", a)]
    if bad:
        errors.append({"path": "/municipalities", "message": _("Ungültiger AGS: %(ags)s (8 Ziffern, "
                                                                "beginnend mit 06).", ags=", ".join(bad))})
    if data["email"] and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", data["email"]):
        errors.append({"path": "/email", "message": _("Keine gültige E-Mail-Adresse.")})
    if errors:
        raise Invalid(_("Bitte korrigieren Sie die markierten Angaben."), errors=errors)


@bp.get("/benutzer")
def user_list():  # noqa: ANN201
    return render_template("web/admin_users.html", users=users.list_users(platform(), actor()))


@bp.route("/benutzer/neu", methods=["GET", "POST"])
def user_new():  # noqa: ANN201
    return _user_form(None)


@bp.route("/benutzer/<int:user_id>", methods=["GET", "POST"])
def user_edit(user_id: int):  # noqa: ANN201
    return _user_form(user_id)


def _user_form(user_id: int | None):  # noqa: ANN202
    p, who = platform(), actor()
    groups = users.list_groups(p, who)
    existing = None
    if user_id is not None:
        existing = next((u for u in users.list_users(p, who) if u["id"] == user_id), None)
        if existing is None:
            return render_template("web/error.html", status=404, title=_("Nicht gefunden"),
                                   message=_("Benutzer nicht gefunden."), errors=[]), 404
    values, errors, message = existing or {"groups": [], "municipalities": [], "active": True}, [], None
    if request.method == "POST":
        data = _form_data(request.form, new=user_id is None)
        values = {**values, **data}
        try:
            _check(data, new=user_id is None)
            if user_id is None:
                saved = users.add_user(p, who, data)
                flash(_("Der Benutzer „%(name)s“ wurde angelegt.", name=saved["username"]), "success")
            else:
                saved = users.update_user(p, who, user_id, data)
                flash(_("Die Änderungen an „%(name)s“ wurden gespeichert.", name=saved["username"]),
                      "success")
            return redirect(url_for("web_admin.user_list"))
        except Invalid as exc:
            errors, message = exc.errors, exc.message
        except ServiceError as exc:
            message = exc.message
    return render_template("web/admin_user_form.html", values=values, groups=groups,
                           existing=existing, errors={e["path"]: e["message"] for e in errors},
                           error_list=errors, message=message), (422 if message else 200)


@bp.get("/gruppen")
def group_list():  # noqa: ANN201
    p, who = platform(), actor()
    members = Counter(g for u in users.list_users(p, who) for g in u["groups"])
    return render_template("web/admin_groups.html", groups=users.list_groups(p, who), members=members)


@bp.get("/stoerungen")
def incidents():  # noqa: ANN201
    return render_template("web/admin_incidents.html",
                           incidents=jobs.list_incidents(platform(), actor()))
