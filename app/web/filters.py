"""Jinja filters and labels: money and dates in de_DE, German names of states and actions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from flask import Flask
from markupsafe import Markup

from .formrender import format_count, format_money

LOCALE = "de_DE"
BERLIN = ZoneInfo("Europe/Berlin")

STATUS = {
    "running": ("In Bearbeitung", "info"),
    "waiting": ("Wartet", "info"),
    "completed": ("Abgeschlossen", "success"),
    "error": ("Fehler", "danger"),
    "incident": ("Störung", "danger"),
    "suspended": ("Angehalten", "warning"),
    "terminated": ("Beendet", "warning"),
}

ACTIONS = {
    "instance.started": "Vorgang gestartet",
    "instance.status": "Status geändert",
    "instance.suspend": "Vorgang angehalten",
    "instance.resume": "Vorgang fortgesetzt",
    "instance.terminate": "Vorgang beendet",
    "instance.retried": "Vorgang erneut ausgeführt",
    "task.completed": "Aufgabe erledigt",
    "task.claimed": "Aufgabe übernommen",
    "task.unclaimed": "Aufgabe an die Gruppe zurückgegeben",
    "task.handed_over": "Aufgabe übergeben",
    "task.follow_up": "Wiedervorlage gesetzt",
    "task.draft_saved": "Entwurf gespeichert",
    "service.completed": "Service-Aufgabe ausgeführt",
    "service.retry": "Service-Aufgabe wird wiederholt",
    "service.bpmn_error": "Fachlicher Fehler der Service-Aufgabe",
    "incident.created": "Störung aufgetreten",
    "incident.retried": "Störung erneut ausgeführt",
    "message.delivered": "Nachricht eingegangen",
    "message.sent": "Nachricht an einen anderen Vorgang gesendet",
    "timer.fired": "Frist abgelaufen",
    "timer.due": "Zeitgeber fällig",
    "timer.time_travel": "Zeit für einen Test vorgestellt",
    "document.stored": "Dokument abgelegt",
    "document.read": "Dokument abgerufen",
    "comment.added": "Kommentar geschrieben",
    "aufruf.registriert": "Antrag beim Förderaufruf registriert",
    "aufruf.antrag_eingereicht": "Antrag zum Förderaufruf eingereicht",
    "aufruf.bewertung": "Bewertung abgegeben",
    "aufruf.geschlossen": "Förderaufruf geschlossen",
    "aufruf.rangfolge": "Rangfolge gebildet",
    "auswahl.abweichung": "Begründete Abweichung von der Rangfolge",
    "auswahl.festgelegt": "Auswahl festgelegt",
    "blaupause.veroeffentlicht": "Blaupause veröffentlicht",
    "budget.ansatz_geaendert": "Haushaltsansatz geändert",
    "budget.position_created": "Haushaltsposition angelegt",
    "digicheck.ergebnis": "DigiCheck-Ergebnis festgestellt",
    "definition.deployed": "Prozessversion bereitgestellt",
    "definition.uploaded": "Prozessmodell hochgeladen",
    "definition.draft_saved": "Modellentwurf gespeichert",
    "definition.draft_discarded": "Modellentwurf verworfen",
    "finanzkraft.imported": "Finanzkraft importiert",
    "masterdata.imported": "Gemeindeverzeichnis importiert",
    "municipality.hfag_status": "HFAG-Status geändert",
    "phase1.parameters": "Parameter der Zuweisung festgelegt",
    "phase1.simulated": "Zuweisung simuliert",
    "phase1.release_requested": "Freigabe der Zuweisung beantragt",
    "phase1.release_rejected": "Freigabe der Zuweisung abgelehnt",
    "phase1.released": "Zuweisung freigegeben",
    "phase1.erinnerung": "Erinnerung versandt",
    "user.created": "Benutzer angelegt",
    "user.updated": "Benutzer geändert",
    "user.login": "Anmeldung",
    "user.logout": "Abmeldung",
    "user.sessions_revoked": "Sitzungen und Tokens des Benutzers beendet",
    "user.token_issued": "API-Token ausgestellt",
}
# events of the machinery, not of the case: folded away in a case's history
TECHNICAL_ACTIONS = frozenset({
    "instance.status", "service.completed", "service.retry", "timer.due", "timer.time_travel",
    "document.read", "task.draft_saved", "message.sent",
})

GROUPS = {
    "kommune": "Kommune",
    "sachbearbeitung": "Sachbearbeitung",
    "gutachter": "Gutachter",
    "spitzenverband": "Spitzenverband",
    "bewilligung": "Bewilligung",
    "prozessverantwortliche": "Prozessverantwortliche",
    "admin": "Administration",
}


def _local(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(BERLIN)


def datum(value: object) -> str:
    """26.11.2026"""
    if value is None or value == "":
        return "–"
    if isinstance(value, datetime):
        return format_date(_local(value).date(), "dd.MM.yyyy", locale=LOCALE)
    if isinstance(value, date):
        return format_date(value, "dd.MM.yyyy", locale=LOCALE)
    try:
        return format_date(date.fromisoformat(str(value)[:10]), "dd.MM.yyyy", locale=LOCALE)
    except ValueError:
        return str(value)


def datumzeit(value: object) -> str:
    """26.11.2026, 14:05 Uhr (Europe/Berlin)"""
    if value is None:
        return "–"
    if not isinstance(value, datetime):
        try:
            value = datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
    return format_datetime(_local(value), "dd.MM.yyyy, HH:mm", locale=LOCALE) + " Uhr"


def iso_date(value: object) -> str:
    """2026-11-26 (value of <input type=date>)"""
    if isinstance(value, datetime):
        return _local(value).date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return ""


def geld(value: object, cents: bool = False) -> str:
    return format_money(value, cents)


def zahl(value: object) -> str:
    return format_count(value)


def status_badge(status: str) -> Markup:
    label, kind = STATUS.get(status, (status, "info"))
    return Markup('<span class="kern-badge kern-badge--{}"><span class="kern-label kern-label--small">'
                  "{}</span></span>").format(kind, label)


def status_label(status: str | None) -> str:
    return STATUS.get(status or "", (status or "–", ""))[0]


def action_label(action: str) -> str:
    """The event in words; an unknown code is never shown raw."""
    return ACTIONS.get(action) or "Sonstiges Ereignis"


def is_technical(action: str) -> bool:
    return action in TECHNICAL_ACTIONS or action not in ACTIONS


def group_label(name: str | None) -> str:
    if not name:
        return "–"
    if name.startswith("ressort-"):
        return "Ressort " + name.removeprefix("ressort-").capitalize()
    return GROUPS.get(name, name)


def register(app: Flask) -> None:
    for name, fn in (("datum", datum), ("datumzeit", datumzeit), ("iso_date", iso_date),
                     ("geld", geld), ("zahl", zahl), ("status_badge", status_badge),
                     ("aktion", action_label), ("gruppe", group_label),
                     ("statusname", status_label)):
        app.add_template_filter(fn, name)
    app.add_template_test(is_technical, "technisch")
