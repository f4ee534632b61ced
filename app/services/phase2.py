"""Phase 2 records outside the engine: DigiCheck results per municipality, the Blaupausen
library, and reading results of completed tasks of a case (e.g. opinions received before an
escalation interrupted the consultation)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.domain import deadlines, digicheck
from app.domain.ressorts import THEMENBEREICHE, ressort_from_group, ressort_postfach
from app.engine.runtime import all_tasks
from app.models import Blaupause, DigiCheckResult, HumanTask, Municipality, ProcessInstance

from . import audit, documents, instances, pdf, tasks
from .context import SYSTEM, Actor
from .errors import Forbidden, Invalid
from .platform import Platform

DIGICHECK_VALID_MONTHS = 12


# --- DigiCheck ------------------------------------------------------------------------------

def latest_digichecks(session: Session, ags_list: list[str], stichtag: date | None = None,
                      months: int = DIGICHECK_VALID_MONTHS) -> dict:
    """Per member: the latest DigiCheck not older than `months`; the others are missing."""
    stichtag = stichtag or date.today()
    cutoff = deadlines.add_months(stichtag, -months)
    since = datetime(cutoff.year, cutoff.month, cutoff.day, tzinfo=UTC)
    vorhanden, fehlend = [], []
    for ags in ags_list:
        row = session.scalar(select(DigiCheckResult).where(
            DigiCheckResult.municipality_ags == ags, DigiCheckResult.completed_at >= since)
            .order_by(DigiCheckResult.completed_at.desc()).limit(1))
        if row is None:
            fehlend.append(ags)
        else:
            vorhanden.append({"ags": ags, "ergebnis_id": row.id, "gesamt": row.gesamt,
                              "datum": row.completed_at.date().isoformat()})
    return {"vorhanden": vorhanden, "fehlend": fehlend, "stichtag": stichtag.isoformat()}


def digicheck_report(ags: str, name: str, scores: dict, empfehlungen: list[str],
                     datum: str) -> bytes:
    areas = [{"label": a.label, "punkte": scores[a.code]} for a in digicheck.QUESTIONNAIRE]
    return pdf.render_pdf("digicheck_bericht.html", {
        "betreff": f"Ergebnisbericht DigiCheck – {name}", "datum": datum,
        "aktenzeichen": f"DigiCheck-{ags}-{datum}", "empfaenger": {"name": name,
                                                                  "zusatz": "Gemeindevorstand"},
        "bereiche": areas, "gesamt": scores[digicheck.GESAMT], "empfehlungen": empfehlungen})


def evaluate_digicheck(platform: Platform, ags: str, antworten: dict) -> dict:
    """Scores and recommendations (domain) plus the rendered report, before storing."""
    scores = digicheck.score(antworten)
    empfehlungen = digicheck.recommendations(scores)
    with platform.db.unit_of_work() as session:
        m = session.get(Municipality, ags)
        name = m.name if m else f"AGS {ags}"
    today = date.today().isoformat()
    return {"scores": scores, "empfehlungen": empfehlungen, "name": name, "datum": today,
            "pdf": digicheck_report(ags, name, scores, empfehlungen, today)}


def store_digicheck(platform: Platform, session: Session, *, instance_id: int, ags: str,
                    antworten: dict, evaluated: dict) -> dict:
    doc = documents.store(platform, session, instance_id=instance_id, kind="digicheck",
                          filename=f"DigiCheck-{ags}-{evaluated['datum']}.pdf",
                          content=evaluated["pdf"], actor=SYSTEM)
    scores = evaluated["scores"]
    row = DigiCheckResult(municipality_ags=ags, instance_id=instance_id,
                          gesamt=scores[digicheck.GESAMT], scores=scores, answers=dict(antworten),
                          recommendations=evaluated["empfehlungen"], document_id=doc.id)
    session.add(row)
    session.flush()
    audit.record(session, SYSTEM, "digicheck.ergebnis", "digicheck_result", row.id,
                 instance_id=instance_id, details={"ags": ags, "gesamt": row.gesamt})
    return {"ergebnis_id": row.id, "ags": ags, "gemeinde": evaluated["name"],
            "gesamt": row.gesamt, "bereiche": scores, "empfehlungen": row.recommendations,
            "document_id": doc.id, "datum": evaluated["datum"]}


def list_digicheck_results(platform: Platform, actor: Actor, municipality: str | None) -> list[dict]:
    with platform.db.unit_of_work() as session:
        q = select(DigiCheckResult).order_by(DigiCheckResult.completed_at.desc())
        if not actor.is_staff:
            allowed = set(actor.municipalities)
            if municipality and municipality not in allowed:
                raise Forbidden("Sie sehen nur die Ergebnisse Ihrer eigenen Kommune.",
                                code="foreign_municipality")
            q = q.where(DigiCheckResult.municipality_ags.in_(allowed))
        if municipality:
            q = q.where(DigiCheckResult.municipality_ags == municipality)
        return [{"id": r.id, "municipality_ags": r.municipality_ags, "instance_id": r.instance_id,
                 "completed_at": r.completed_at, "gesamt": r.gesamt, "scores": r.scores,
                 "recommendations": r.recommendations, "document_id": r.document_id}
                for r in session.scalars(q.limit(200))]


# --- Blaupausen -----------------------------------------------------------------------------

def publish_blaupause(session: Session, *, instance_id: int, data: dict) -> dict:
    existing = session.scalar(select(Blaupause).where(Blaupause.instance_id == instance_id))
    if existing is None:
        existing = Blaupause(
            instance_id=instance_id, aktenzeichen=data.get("aktenzeichen") or "",
            titel=data["titel"], cluster_name=data["cluster_name"], lead_ags=data["lead_ags"],
            mitglieder=list(data.get("mitglieder") or []),
            themenbereiche=list(data.get("themenbereiche") or []),
            massnahmen=data["massnahmen"], nachnutzung=data["nachnutzung"],
            ergebnisse=data.get("ergebnisse") or "", kontakt=data.get("kontakt") or "")
        session.add(existing)
        session.flush()
        audit.record(session, SYSTEM, "blaupause.veroeffentlicht", "blaupause", existing.id,
                     instance_id=instance_id, details={"titel": existing.titel})
    return {"blaupause_id": existing.id, "veroeffentlicht_am": existing.published_at.isoformat()}


def _blaupause(b: Blaupause) -> dict:
    return {"id": b.id, "aktenzeichen": b.aktenzeichen, "titel": b.titel,
            "cluster_name": b.cluster_name, "lead_ags": b.lead_ags, "mitglieder": b.mitglieder,
            "themenbereiche": b.themenbereiche, "massnahmen": b.massnahmen,
            "ergebnisse": b.ergebnisse, "nachnutzung": b.nachnutzung, "kontakt": b.kontakt,
            "published_at": b.published_at}


def list_blaupausen(platform: Platform, actor: Actor, thema: str | None = None,
                    q: str | None = None) -> list[dict]:
    """The best-practice library: readable by every municipal user and all staff."""
    if not (actor.groups & {"kommune"} or actor.is_staff or actor.is_ressort):
        raise Forbidden("Die Blaupausen-Bibliothek steht Kommunen und der Landesverwaltung "
                        "offen.")
    if thema and thema not in THEMENBEREICHE:
        raise Invalid("Unbekannter Themenbereich.", code="unknown_theme", errors=[
            {"path": "/thema", "message": f"Zulässig: {', '.join(THEMENBEREICHE)}."}])
    with platform.db.unit_of_work() as session:
        query = select(Blaupause).order_by(Blaupause.published_at.desc(), Blaupause.id.desc())
        if q:
            like = f"%{q.strip()}%"
            query = query.where(or_(Blaupause.titel.ilike(like), Blaupause.massnahmen.ilike(like),
                                    Blaupause.nachnutzung.ilike(like),
                                    Blaupause.cluster_name.ilike(like)))
        rows = [_blaupause(b) for b in session.scalars(query.limit(500))]
        if thema:
            rows = [r for r in rows if thema in r["themenbereiche"]]
        return rows


# --- results of completed tasks -------------------------------------------------------------

def completed_task_results(platform: Platform, instance_id: int, task_name: str,
                           item: str | None = None) -> list:
    """Data of the completed tasks `task_name` of a case (the output item for multi-instance
    tasks), in completion order — also of instances an interrupting event removed the rest of."""
    with platform.db.unit_of_work() as session:
        instance = session.get(ProcessInstance, instance_id)
        workflow = instances.load(platform, session, instance).workflow
    done = [t for t in all_tasks(workflow)
            if getattr(t.task_spec, "bpmn_id", None) == task_name and t.task_spec.manual
            and t.state == TaskState.COMPLETED]
    done.sort(key=lambda t: t.last_state_change)
    results = []
    for t in done:
        value = t.data.get(item) if item else dict(t.data)
        if value is not None:
            results.append(value)
    return results


# --- reminders for open tasks ---------------------------------------------------------------

def reminder_recipients(platform: Platform, instance_id: int, task_name: str) -> dict:
    """Who should be reminded of the open tasks `task_name` of a case: the Ressorts' functional
    mailboxes and the e-mail addresses of the candidate groups' members (municipal tasks: the
    members of that municipality)."""
    with platform.db.unit_of_work() as session:
        open_tasks = session.scalars(select(HumanTask).where(
            HumanTask.instance_id == instance_id, HumanTask.name == task_name,
            HumanTask.completed_at.is_(None))).all()
        recipients: list[str] = []
        groups = sorted({t.candidate_group for t in open_tasks if t.candidate_group})
        for t in open_tasks:
            code = ressort_from_group(t.candidate_group or "")
            if code and ressort_postfach(code):
                recipients.append(ressort_postfach(code))
            for user in tasks.candidates(session, t):
                if user.email:
                    recipients.append(user.email)
        return {"empfaenger": list(dict.fromkeys(recipients)), "gruppen": groups,
                "offen": len(open_tasks), "titel": open_tasks[0].title if open_tasks else ""}
