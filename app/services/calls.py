"""Förderaufruf (call) across applications: register, join until the deadline, evaluate, rank,
select (with recorded Ermessen) and announce each application's result by message.

Call states: offen (applications join) → pruefung (deadline passed, completeness checks finish)
→ bewertung (evaluation of the complete applications) → entschieden.
Application states: eingereicht → geprueft → ausgewaehlt | nicht_ausgewaehlt, or
zurueckgezogen / nicht_beruecksichtigt.

Booking-style functions take a `session` so operators can run them inside `effects.once`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain import evaluation
from app.domain.cluster import GROSS, KLEIN, size_class
from app.domain.errors import FieldError, RuleViolation, ValidationFailed
from app.models import AufrufAntrag, Foerderaufruf, HumanTask, Municipality, ProcessInstance, User

from . import audit, messages, processes
from .context import SYSTEM, Actor
from .errors import NotFound
from .platform import Platform

BERLIN = ZoneInfo("Europe/Berlin")
RESULT_MESSAGE = "auswahlergebnis"
QUOTE_KEYS = {f"{lt_key}_{sc_key}": (lt, sc)
              for lt_key, lt in (("sued", "Süd"), ("mittel", "Mittel"), ("nord", "Nord"))
              for sc_key, sc in (("klein", KLEIN), ("gross", GROSS))}
REASONS = {
    evaluation.REASON_RANK: "Ein anderer Cluster derselben Gruppe (Landesteil und Größenklasse) "
                            "wurde besser bewertet.",
    evaluation.REASON_BUDGET: "Die Mittel des Förderaufrufs reichen für diesen Antrag nicht aus.",
    evaluation.REASON_OVERRIDE: "Die Auswahlentscheidung weicht aus den dokumentierten Gründen "
                                "(Ermessen) von der Rangfolge ab.",
}


class CallClosed(RuleViolation):
    """The call no longer accepts (or considers) this application."""

    code = "call_closed"


def now() -> datetime:
    return datetime.now(UTC)


def local(dt: datetime) -> str:
    return dt.astimezone(BERLIN).strftime("%d.%m.%Y um %H:%M Uhr")


def quota_from_form(quote: dict | None) -> dict[tuple[str, str], int]:
    quote = quote or {}
    return {group: int(quote.get(key, 1)) for key, group in QUOTE_KEYS.items()}


def _call(session: Session, kennung: str, lock: bool = False) -> Foerderaufruf:
    q = select(Foerderaufruf).where(Foerderaufruf.kennung == kennung)
    if lock and session.get_bind().dialect.name != "sqlite":
        q = q.with_for_update()
    call = session.scalar(q)
    if call is None:
        raise ValidationFailed("Unbekannter Förderaufruf.", [FieldError(
            "/aufruf", f"Einen Förderaufruf mit der Kennung „{kennung}“ gibt es nicht.")])
    return call


def describe(call: Foerderaufruf) -> dict:
    return {"id": call.id, "kennung": call.kennung, "titel": call.titel, "frist": call.frist,
            "foerdersumme_cents": call.foerdersumme_cents, "budget_cents": call.budget_cents,
            "laufzeit_monate": call.laufzeit_monate, "schwellenwert": call.schwellenwert,
            "status": call.status, "offen": is_open(call)}


def is_open(call: Foerderaufruf, at: datetime | None = None) -> bool:
    return call.status == "offen" and (at or now()) <= call.frist


def ensure_open(call: Foerderaufruf, at: datetime | None = None) -> None:
    if not is_open(call, at):
        raise CallClosed(
            f"Die Einreichungsfrist des Förderaufrufs „{call.titel}“ ({call.kennung}) endete am "
            f"{local(call.frist)}; der Antrag kann nicht mehr berücksichtigt werden.",
            [FieldError("/aufruf", "Die Einreichungsfrist dieses Förderaufrufs ist abgelaufen.")])


# --- the call's own steps ----------------------------------------------------------------------

def register_call(session: Session, *, instance_id: int, kennung: str, data: dict) -> dict:
    existing = session.scalar(select(Foerderaufruf).where(Foerderaufruf.kennung == kennung))
    if existing is not None:
        if existing.instance_id != instance_id:
            raise RuleViolation(f"Die Kennung „{kennung}“ ist bereits vergeben.")
        return describe_json(existing)
    quota = quota_from_form(data.get("quote"))
    budget = data.get("budget_cents") or sum(quota.values()) * int(data["foerdersumme_cents"])
    call = Foerderaufruf(
        kennung=kennung, instance_id=instance_id, titel=data["titel"],
        frist=datetime.fromisoformat(data["einreichungsfrist"]).astimezone(UTC),
        foerdersumme_cents=int(data["foerdersumme_cents"]), budget_cents=int(budget),
        laufzeit_monate=int(data["laufzeit_monate"]), schwellenwert=int(data["schwellenwert"]),
        quote=dict(data.get("quote") or {}), gewichte=dict(data["gewichte"]), status="offen")
    session.add(call)
    session.flush()
    audit.record(session, SYSTEM, "aufruf.registriert", "foerderaufruf", call.id,
                 instance_id=instance_id, details={"kennung": kennung})
    return describe_json(call)


def describe_json(call: Foerderaufruf) -> dict:
    d = describe(call)
    d["frist"] = call.frist.isoformat()
    d["frist_text"] = local(call.frist)
    return d


def _application(a: AufrufAntrag) -> dict:
    return {"antrag_id": a.instance_id, "cluster_name": a.cluster_name, "lead_ags": a.lead_ags,
            "landesteil": a.landesteil, "groessenklasse": a.groessenklasse,
            "foerdersumme_cents": a.foerdersumme_cents,
            "eingereicht_at": a.eingereicht_at.isoformat(), "status": a.status}


def _applications(session: Session, call: Foerderaufruf, *states: str) -> list[AufrufAntrag]:
    q = select(AufrufAntrag).where(AufrufAntrag.aufruf_id == call.id).order_by(AufrufAntrag.id)
    if states:
        q = q.where(AufrufAntrag.status.in_(states))
    return list(session.scalars(q))


def close_call(session: Session, *, kennung: str, instance_id: int) -> dict:
    """The deadline has passed: no more applications join."""
    call = _call(session, kennung, lock=True)
    if call.status == "offen":
        call.status = "pruefung"
        audit.record(session, SYSTEM, "aufruf.geschlossen", "foerderaufruf", call.id,
                     instance_id=instance_id)
    apps = _applications(session, call, "eingereicht", "geprueft")
    return {"antraege": [_application(a) for a in apps], "anzahl": len(apps),
            "vollstaendig": sum(a.status == "geprueft" for a in apps)}


def start_evaluation(session: Session, *, kennung: str, instance_id: int) -> dict:
    """Evaluate the complete applications; unchecked ones are no longer considered."""
    call = _call(session, kennung, lock=True)
    call.status = "bewertung"
    for a in _applications(session, call, "eingereicht"):
        a.status = "nicht_beruecksichtigt"
    apps = _applications(session, call, "geprueft")
    audit.record(session, SYSTEM, "aufruf.bewertung", "foerderaufruf", call.id,
                 instance_id=instance_id, details={"antraege": [a.instance_id for a in apps]})
    return {"antraege": [_application(a) for a in apps], "anzahl": len(apps)}


# --- the applications' steps -------------------------------------------------------------------

def join(session: Session, *, kennung: str, instance_id: int, cluster_name: str, lead_ags: str,
         foerdersumme_cents: int, mitglieder: list[str] | None = None,
         eingereicht_at: datetime | None = None) -> dict:
    """An application joins the call — only while it is open (else CallClosed). Its group
    (Landesteil, size class) is the lead's; the validator made sure all members share it."""
    call = _call(session, kennung, lock=True)
    lead = session.get(Municipality, lead_ags)
    if lead is None:
        raise NotFound(f"Unbekannte Kommune {lead_ags}.")
    landesteil = lead.landesteil
    groessenklasse = size_class(lead.einwohner, call.schwellenwert)
    existing = session.scalar(select(AufrufAntrag).where(
        AufrufAntrag.aufruf_id == call.id, AufrufAntrag.instance_id == instance_id))
    if existing is not None:
        return _joined(session, call, existing, mitglieder or [lead_ags])
    ensure_open(call)
    row = AufrufAntrag(aufruf_id=call.id, instance_id=instance_id, cluster_name=cluster_name,
                       lead_ags=lead_ags, landesteil=landesteil, groessenklasse=groessenklasse,
                       foerdersumme_cents=foerdersumme_cents,
                       eingereicht_at=eingereicht_at or now(), status="eingereicht")
    session.add(row)
    session.flush()
    audit.record(session, SYSTEM, "aufruf.antrag_eingereicht", "foerderaufruf", call.id,
                 instance_id=instance_id, details={"kennung": kennung})
    return _joined(session, call, row, mitglieder or [lead_ags])


def _joined(session: Session, call: Foerderaufruf, row: AufrufAntrag, members: list[str]) -> dict:
    found = {m.ags: m for m in session.scalars(select(Municipality).where(
        Municipality.ags.in_(members)))}
    return {"antrag": _application(row), "aufruf": describe_json(call),
            "laufzeit_monate": call.laufzeit_monate, "landesteil": row.landesteil,
            "groessenklasse": row.groessenklasse,
            "mitglieder": [{"ags": a, "name": found[a].name if a in found else a,
                            "einwohner": found[a].einwohner if a in found else None}
                           for a in members]}


def _own_application(session: Session, kennung: str, instance_id: int) -> tuple:
    call = _call(session, kennung, lock=True)
    row = session.scalar(select(AufrufAntrag).where(
        AufrufAntrag.aufruf_id == call.id, AufrufAntrag.instance_id == instance_id))
    if row is None:
        raise NotFound("Der Antrag ist dem Förderaufruf nicht zugeordnet.")
    return call, row


def mark_complete(session: Session, *, kennung: str, instance_id: int) -> dict:
    """Completeness confirmed: the application takes part in the evaluation — if it has not
    begun yet (else CallClosed)."""
    call, row = _own_application(session, kennung, instance_id)
    if row.status in ("geprueft", "ausgewaehlt", "nicht_ausgewaehlt"):
        return _application(row)
    if call.status not in ("offen", "pruefung") or row.status != "eingereicht":
        raise CallClosed(
            f"Die Bewertung der Anträge zum Förderaufruf „{call.titel}“ hat bereits begonnen; "
            "der erst danach vollständige Antrag kann nicht mehr berücksichtigt werden.")
    row.status = "geprueft"
    return _application(row)


def withdraw(session: Session, *, kennung: str, instance_id: int) -> dict:
    _call_row, row = _own_application(session, kennung, instance_id)
    if row.status in ("eingereicht", "geprueft"):
        row.status = "zurueckgezogen"
    return _application(row)


# --- ranking and selection ------------------------------------------------------------------

@dataclass
class _Inputs:
    call: Foerderaufruf
    apps: list[AufrufAntrag]


def _inputs(session: Session, kennung: str) -> _Inputs:
    call = _call(session, kennung, lock=True)
    return _Inputs(call, _applications(session, call, "geprueft", "ausgewaehlt",
                                       "nicht_ausgewaehlt"))


def _scores(bewertungen: list[dict], weights: dict) -> dict[int, Decimal]:
    per_app: dict[int, list[dict]] = {}
    for b in bewertungen:
        antrag = b.get("antrag") or {}
        per_app.setdefault(int(antrag["antrag_id"]), []).append(
            {k: int(v) for k, v in (b.get("punkte") or {}).items()})
    return {aid: evaluation.aggregate_score(evs, weights) for aid, evs in per_app.items()}


def _selection(inputs: _Inputs) -> evaluation.Selection:
    candidates = [evaluation.Candidate(
        id=str(a.instance_id), landesteil=a.landesteil, size_class=a.groessenklasse,
        score=Decimal(a.score or "0"), requested_cents=a.foerdersumme_cents,
        submitted_at=a.eingereicht_at) for a in inputs.apps]
    return evaluation.rank_applications(candidates, quota_from_form(inputs.call.quote),
                                        inputs.call.budget_cents)


def _names(inputs: _Inputs) -> dict[str, str]:
    return {str(a.instance_id): a.cluster_name for a in inputs.apps}


GROUP_KEYS = {group: key for key, group in QUOTE_KEYS.items()}


def _criteria(bewertungen: list[dict]) -> dict[int, dict[str, float]]:
    """Mean points per criterion and application (what the clerk compares in the ranking)."""
    points: dict[int, dict[str, list[int]]] = {}
    for b in bewertungen:
        aid = int((b.get("antrag") or {})["antrag_id"])
        for crit, value in (b.get("punkte") or {}).items():
            points.setdefault(aid, {}).setdefault(crit, []).append(int(value))
    return {aid: {c: round(sum(v) / len(v), 2) for c, v in per.items()}
            for aid, per in points.items()}


def _tables(sel: evaluation.Selection, names: dict[str, str],
            criteria: dict[int, dict[str, float]]) -> dict[str, list[dict]]:
    """The ranking as one table per Landesteil and size class (keys as in the call's quota)."""
    tables: dict[str, list[dict]] = {key: [] for key in QUOTE_KEYS}
    for group, entries in sel.ranking.items():
        tables.setdefault(GROUP_KEYS.get(group, "_".join(group)), []).extend({
            "rang": e.rank, "antrag_id": int(e.id), "cluster_name": names.get(e.id, e.id),
            "punkte": float(e.score), **criteria.get(int(e.id), {}),
            "foerdersumme_cents": e.requested_cents, "ausgewaehlt": e.selected,
            "grund": e.reason} for e in entries)
    return tables


def selection_json(sel: evaluation.Selection, names: dict[str, str],
                   criteria: dict[int, dict[str, float]] | None = None) -> dict:
    groups = []
    for (landesteil, groesse), entries in sel.ranking.items():
        groups.append({"landesteil": landesteil, "groessenklasse": groesse, "eintraege": [{
            "antrag_id": int(e.id), "cluster_name": names.get(e.id, e.id), "rang": e.rank,
            "punkte": str(e.score), "foerdersumme_cents": e.requested_cents,
            "ausgewaehlt": e.selected, "grund": e.reason} for e in entries]})
    return {"gruppen": groups, "ausgewaehlt": [int(i) for i in sel.selected],
            "nicht_ausgewaehlt": {k: v for k, v in sel.not_selected.items()},
            "budget_cents": sel.budget_cents, "verplant_cents": sel.allocated_cents,
            "verfuegbar_cents": None if sel.budget_cents is None
            else sel.budget_cents - sel.allocated_cents,
            "tabellen": _tables(sel, names, criteria or {}),
            "abweichungen": [{"aufnehmen": [int(i) for i in o.add],
                              "herausnehmen": [int(i) for i in o.remove],
                              "begruendung": o.justification} for o in sel.overrides]}


def rank(session: Session, *, kennung: str, instance_id: int, bewertungen: list[dict]) -> dict:
    """Aggregate the evaluators' scores, rank per Landesteil and size class within budget."""
    inputs = _inputs(session, kennung)
    scores = _scores(bewertungen, inputs.call.gewichte)
    for a in inputs.apps:
        if a.instance_id in scores:
            a.score = str(scores[a.instance_id])
    missing = [a.instance_id for a in inputs.apps if a.score is None]
    if missing:
        raise ValidationFailed("Es fehlen Bewertungen.", [FieldError(
            "/bewertungen", f"Für die Anträge {missing} liegt keine Bewertung vor.")])
    sel = _selection(inputs)
    audit.record(session, SYSTEM, "aufruf.rangfolge", "foerderaufruf", inputs.call.id,
                 instance_id=instance_id, details={"ausgewaehlt": list(sel.selected)})
    return selection_json(sel, _names(inputs), _criteria(bewertungen))


def _override(sel: evaluation.Selection, form: dict) -> evaluation.Selection:
    if form.get("entscheidung") != "abweichen":
        return sel
    return evaluation.apply_override(
        sel, add=[str(i) for i in form.get("aufnehmen") or []],
        remove=[str(i) for i in form.get("herausnehmen") or []],
        justification=form.get("begruendung") or "")


def check_override(session: Session, kennung: str, form: dict) -> None:
    """Validator: the override must be admissible (raises a DomainError with field errors)."""
    _override(_selection(_inputs(session, kennung)), form)


def decide(session: Session, *, kennung: str, instance_id: int, form: dict,
           decided_by: str) -> dict:
    """Confirm the ranking or override it with a justification; both are kept."""
    inputs = _inputs(session, kennung)
    sel = _override(_selection(inputs), form)
    chosen = set(sel.selected)
    for a in inputs.apps:
        a.status = "ausgewaehlt" if str(a.instance_id) in chosen else "nicht_ausgewaehlt"
    inputs.call.status = "entschieden"
    result = selection_json(sel, _names(inputs))
    if sel.overrides:
        last = sel.overrides[-1]
        audit.record(session, SYSTEM, "auswahl.abweichung", "foerderaufruf", inputs.call.id,
                     instance_id=instance_id, message=last.justification,
                     details={"entschieden_von": decided_by,
                              "aufnehmen": [int(i) for i in last.add],
                              "herausnehmen": [int(i) for i in last.remove],
                              "begruendung": last.justification})
    audit.record(session, SYSTEM, "auswahl.festgelegt", "foerderaufruf", inputs.call.id,
                 instance_id=instance_id, details={"entschieden_von": decided_by,
                                                   "ausgewaehlt": result["ausgewaehlt"]})
    return result


def completer_of(session: Session, instance_id: int, task_name: str) -> str:
    """Username of whoever completed the task last in this case ("system" if nobody)."""
    row = session.execute(select(User.username).join(
        HumanTask, HumanTask.completed_by_id == User.id).where(
        HumanTask.instance_id == instance_id, HumanTask.name == task_name,
        HumanTask.outcome == "completed").order_by(HumanTask.id.desc()).limit(1)).first()
    return row[0] if row else "system"


def announce(platform: Platform, *, kennung: str) -> dict:
    """Each application learns its result by message (correlation: its instance id)."""
    with platform.db.unit_of_work() as session:
        inputs = _inputs(session, kennung)
        sel = selection_json(_selection(inputs), _names(inputs)) if inputs.apps else None
        ranks = {e["antrag_id"]: e for g in (sel or {}).get("gruppen", []) for e in g["eintraege"]}
        plan = [(a.instance_id, a.status) for a in inputs.apps]
        titel = inputs.call.titel
    delivered, skipped = [], []
    for app_id, status in plan:
        entry = ranks.get(app_id, {})
        reason = None if status == "ausgewaehlt" else REASONS.get(
            entry.get("grund") or evaluation.REASON_OVERRIDE)
        payload = {"auswahl_ergebnis": status, "auswahl_grund": reason,
                   "auswahl_rang": entry.get("rang"), "auswahl_punkte": entry.get("punkte"),
                   "aufruf_titel": titel}
        try:
            messages.deliver(platform, SYSTEM, RESULT_MESSAGE, {"instance_id": app_id}, payload)
            delivered.append(app_id)
        except NotFound:
            skipped.append(app_id)  # already told (redelivered job) or no longer waiting
    return {"benachrichtigt": delivered, "uebersprungen": skipped}


# --- read API --------------------------------------------------------------------------------

def list_calls(platform: Platform, actor: Actor, only_open: bool = False) -> list[dict]:  # noqa: ARG001 - every signed-in user may see calls
    with platform.db.unit_of_work() as session:
        rows = session.scalars(select(Foerderaufruf).order_by(Foerderaufruf.frist.desc())).all()
        result = [describe(c) for c in rows]
        return [c for c in result if c["offen"]] if only_open else result


def list_applications(platform: Platform, actor: Actor, kennung: str) -> list[dict]:
    """The applications of a call that the actor may see (staff: all; a municipality: those of
    its cases), with group, state and — once ranked — the weighted score."""
    with platform.db.unit_of_work() as session:
        call = session.scalar(select(Foerderaufruf).where(Foerderaufruf.kennung == kennung))
        if call is None:
            raise NotFound("Förderaufruf nicht gefunden.", code="call_not_found")
        visible = processes.visible_instances(actor).with_only_columns(ProcessInstance.id)
        rows = session.scalars(select(AufrufAntrag).where(
            AufrufAntrag.aufruf_id == call.id, AufrufAntrag.instance_id.in_(visible))
            .order_by(AufrufAntrag.id)).all()
        return [{**_application(a), "punkte": a.score} for a in rows]
