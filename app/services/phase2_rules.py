"""Phase 2 form validators (BPMN property ``validationFunction``): programme rules that JSON
Schema cannot express, checked when the task is completed (422 with field errors, nothing
changes). Each gets ``(session, form_data, task_data)`` and raises a DomainError."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from app.domain import cluster, evaluation
from app.domain import phase2 as rules
from app.domain.errors import FieldError, ValidationFailed, pointer
from app.domain.money import format_euro
from app.models import Document, Municipality

from . import calls, ledger


def _collect(errors: list[FieldError], check: Callable[[], object]) -> None:
    try:
        check()
    except ValidationFailed as exc:
        errors.extend(exc.errors)


def _raise(errors: list[FieldError], message: str) -> None:
    if errors:
        unique = list(dict.fromkeys(errors))
        raise ValidationFailed(message, unique)


def _facts(session: Session, ags: str, path: str, errors: list[FieldError]) -> cluster.MemberFacts:
    m = session.get(Municipality, ags) if isinstance(ags, str) else None
    if m is None:
        errors.append(FieldError(path, f"Eine hessische Kommune mit dem AGS „{ags}“ ist nicht "
                                       "bekannt."))
        return cluster.MemberFacts(str(ags), "Süd", 1)
    return cluster.MemberFacts(m.ags, m.landesteil, m.einwohner, m.name)


def _form_path(path: str) -> str:
    """Domain pointers of looked-up facts point at the AGS field the user entered."""
    for suffix in ("/landesteil", "/einwohner"):
        if path.startswith("/partner/") and path.endswith(suffix):
            return path[: -len(suffix)] + "/ags"
    return path


def cluster_antrag(session: Session, form: dict, task: dict) -> None:
    call = calls._call(session, form.get("aufruf") or "")
    calls.ensure_open(call)
    errors: list[FieldError] = []
    lead = _facts(session, task.get("municipality_ags") or "", "/federfuehrend/ags", errors)
    partners = [_facts(session, p.get("ags"), pointer("partner", i, "ags"), errors)
                for i, p in enumerate(form.get("partner") or [])]
    if errors:
        _raise(errors, "Der Clusterantrag nennt unbekannte Kommunen.")
    cluster_rules = cluster.ClusterRules(size_threshold=call.schwellenwert,
                                         max_funding_cents=call.foerdersumme_cents,
                                         term_months=call.laufzeit_monate)
    try:
        cluster.validate_cluster_application(
            lead, partners, form["foerdersumme"], form["gesamtvolumen"], form["eigenanteil"],
            cluster_rules)
    except ValidationFailed as exc:
        errors.extend(FieldError(_form_path(e.path), e.message) for e in exc.errors)
    _collect(errors, lambda: cluster.validate_budget_plan(form.get("finanzplan") or [],
                                                          form["gesamtvolumen"]))
    doc_id = form.get("projektskizze_dokument")
    doc = session.get(Document, doc_id) if isinstance(doc_id, int) else None
    if doc is None or doc.instance_id != task.get("instance_id") or doc.mime != "application/pdf":
        errors.append(FieldError("/projektskizze_dokument",
                                 "Bitte laden Sie die Projektskizze als PDF zu diesem Antrag hoch "
                                 "und geben Sie die Nummer des hochgeladenen Dokuments an."))
    _raise(errors, "Der Clusterantrag erfüllt die Fördervoraussetzungen nicht.")


def foerderaufruf(session: Session, form: dict, task: dict) -> None:  # noqa: ARG001
    errors: list[FieldError] = []
    _collect(errors, lambda: evaluation.validate_weights(form.get("gewichte") or {}))
    frist = datetime.fromisoformat(form["einreichungsfrist"])
    if frist.tzinfo is None:
        errors.append(FieldError("/einreichungsfrist", "Bitte geben Sie die Frist mit Zeitzone an "
                                                      "(z. B. 2027-03-31T12:00:00+02:00)."))
    elif frist <= datetime.now(UTC):
        errors.append(FieldError("/einreichungsfrist",
                                 "Die Einreichungsfrist muss in der Zukunft liegen."))
    if sum(calls.quota_from_form(form.get("quote")).values()) < 1:
        errors.append(FieldError("/quote", "Mindestens ein Cluster muss gefördert werden können."))
    _raise(errors, "Der Förderaufruf ist unvollständig oder fehlerhaft.")


def auswahl(session: Session, form: dict, task: dict) -> None:
    if form.get("entscheidung") == "abweichen" and not (form.get("begruendung") or "").strip():
        raise ValidationFailed("Begründung fehlt.", [FieldError(
            "/begruendung", "Eine Abweichung von der Rangfolge muss begründet werden (Ermessen).")])
    calls.check_override(session, task["aufruf"]["kennung"], form)


def bewilligung_vorbereiten(session: Session, form: dict, task: dict) -> None:  # noqa: ARG001
    errors: list[FieldError] = []
    beantragt = int(task.get("foerdersumme") or 0)
    if form["zuwendung_cents"] > beantragt:
        errors.append(FieldError("/zuwendung_cents",
                                 f"Die Zuwendung darf die beantragte Fördersumme von "
                                 f"{format_euro(beantragt)} nicht übersteigen."))
    plan = rules.reporting_schedule(form["beginn"], int(task.get("laufzeit_monate") or 24))
    _collect(errors, lambda: rules.validate_amounts_per_year(
        form.get("betraege_je_jahr") or [], form["zuwendung_cents"], plan["haushaltsjahre"]))
    _raise(errors, "Die Bewilligung kann so nicht vorbereitet werden.")


def mittelabruf(session: Session, form: dict, task: dict) -> None:
    if form.get("abschliessen"):
        return
    jahr, betrag = form.get("jahr"), form.get("betrag_cents")
    errors: list[FieldError] = []
    if not jahr:
        errors.append(FieldError("/jahr", "Bitte geben Sie das Haushaltsjahr an."))
    if not betrag:
        errors.append(FieldError("/betrag_cents", "Bitte geben Sie den Betrag an."))
    _raise(errors, "Der Mittelabruf ist unvollständig.")
    bound = ledger.grant_totals(session, task["aktenzeichen"]).get(jahr, {}).get(
        "gebunden_cents", 0)
    if betrag > bound:
        raise ValidationFailed("Der Mittelabruf übersteigt die verfügbaren Mittel.", [FieldError(
            "/betrag_cents", f"Für {jahr} stehen aus dem Bescheid noch {format_euro(bound)} zur "
                             f"Verfügung; abgerufen werden {format_euro(betrag)}.")])


def verwendungsnachweis_pruefen(session: Session, form: dict, task: dict) -> None:  # noqa: ARG001
    eingereicht = task.get("ist_kosten") or {}
    errors = [FieldError(pointer("anerkannte_kosten", k),
                         f"Anerkannt werden können höchstens die nachgewiesenen "
                         f"{format_euro(int(eingereicht.get(k) or 0))} ({k}).")
              for k, v in (form.get("anerkannte_kosten") or {}).items()
              if v > int(eingereicht.get(k) or 0)]
    _raise(errors, "Die anerkannten Kosten übersteigen die nachgewiesenen Kosten.")


VALIDATORS: dict[str, Callable[[Session, dict, dict], None]] = {
    "cluster_antrag": cluster_antrag,
    "foerderaufruf": foerderaufruf,
    "auswahl": auswahl,
    "bewilligung_vorbereiten": bewilligung_vorbereiten,
    "mittelabruf": mittelabruf,
    "verwendungsnachweis_pruefen": verwendungsnachweis_pruefen,
}
