"""Operators of Phase 2 (cluster funding): call register, evaluation, DigiCheck, settlement,
best-practice library. Thin: parameters in, a service call, JSON out; side effects once."""

from __future__ import annotations

from app.domain import reclaim
from app.domain.errors import ValidationFailed
from app.services import calls, effects, ledger, phase2
from app.services.operators import BpmnError, Operator, OperatorContext

CLOSED = "FRIST_ABGELAUFEN"
NOT_CONSIDERED = "NICHT_BERUECKSICHTIGT"


def aufruf_registrieren(params: dict, ctx: OperatorContext) -> dict:
    return effects.once(ctx, "aufruf_registrieren", lambda session: calls.register_call(
        session, instance_id=ctx.instance_id, kennung=params["kennung"], data=params["daten"]))


def aufruf_schliessen(params: dict, ctx: OperatorContext) -> dict:
    return effects.once(ctx, "aufruf_schliessen", lambda session: calls.close_call(
        session, kennung=params["kennung"], instance_id=ctx.instance_id))


def bewertung_starten(params: dict, ctx: OperatorContext) -> dict:
    return effects.once(ctx, "bewertung_starten", lambda session: calls.start_evaluation(
        session, kennung=params["kennung"], instance_id=ctx.instance_id))


def antraege_reihen(params: dict, ctx: OperatorContext) -> dict:
    return effects.once(ctx, "antraege_reihen", lambda session: calls.rank(
        session, kennung=params["kennung"], instance_id=ctx.instance_id,
        bewertungen=list(params.get("bewertungen") or [])))


def auswahl_festlegen(params: dict, ctx: OperatorContext) -> dict:
    def effect(session) -> dict:  # noqa: ANN001
        by = calls.completer_of(session, ctx.instance_id, params.get("aufgabe", "auswahl_bestaetigen"))
        return calls.decide(session, kennung=params["kennung"], instance_id=ctx.instance_id,
                            form=dict(params.get("entscheidung") or {}), decided_by=by)

    return effects.once(ctx, "auswahl_festlegen", effect)


def ergebnisse_mitteilen(params: dict, ctx: OperatorContext) -> dict:
    # idempotent by itself (an application no longer waiting is skipped); not inside once(),
    # because each delivery is its own transaction on another instance
    return calls.announce(ctx.platform, kennung=params["kennung"])


def antrag_einreichen(params: dict, ctx: OperatorContext) -> dict:
    try:
        return effects.once(ctx, "antrag_einreichen", lambda session: calls.join(
            session, kennung=params["kennung"], instance_id=ctx.instance_id,
            cluster_name=params["cluster_name"], lead_ags=params["lead_ags"],
            foerdersumme_cents=int(params["foerdersumme_cents"]),
            mitglieder=[str(a) for a in params.get("mitglieder") or []]))
    except calls.CallClosed as exc:
        raise BpmnError(CLOSED, exc.message, payload={"einreichung_fehler": exc.message}) from exc


def antrag_vollstaendig(params: dict, ctx: OperatorContext) -> dict:
    try:
        return effects.once(ctx, "antrag_vollstaendig", lambda session: calls.mark_complete(
            session, kennung=params["kennung"], instance_id=ctx.instance_id))
    except calls.CallClosed as exc:
        raise BpmnError(NOT_CONSIDERED, exc.message,
                        payload={"einreichung_fehler": exc.message}) from exc


def antrag_zurueckziehen(params: dict, ctx: OperatorContext) -> dict:
    return effects.once(ctx, "antrag_zurueckziehen", lambda session: calls.withdraw(
        session, kennung=params["kennung"], instance_id=ctx.instance_id))


def digicheck_status(params: dict, ctx: OperatorContext) -> dict:
    with ctx.platform.db.unit_of_work() as session:
        return phase2.latest_digichecks(session, [str(a) for a in params["mitglieder"]])


def digicheck_auswerten(params: dict, ctx: OperatorContext) -> dict:
    ags, antworten = str(params["ags"]), dict(params["antworten"])
    evaluated = phase2.evaluate_digicheck(ctx.platform, ags, antworten)  # PDF outside the txn
    return effects.once(ctx, "digicheck_auswerten", lambda session: phase2.store_digicheck(
        ctx.platform, session, instance_id=ctx.instance_id, ags=ags, antworten=antworten,
        evaluated=evaluated))


def ergebnisse_sammeln(params: dict, ctx: OperatorContext) -> list:
    return phase2.completed_task_results(ctx.platform, ctx.instance_id, params["aufgabe"],
                                         params.get("element"))


def schlussabrechnung(params: dict, ctx: OperatorContext) -> dict:
    """Settlement from the approved grant, the recognised costs and what the ledger paid."""
    with ctx.platform.db.unit_of_work() as session:
        totals = ledger.grant_totals(session, params["aktenzeichen"])
    paid = sum(t["ausgezahlt_cents"] for t in totals.values())
    try:
        s = reclaim.schlussabrechnung(int(params["zuwendung_cents"]),
                                      int(params["gesamtvolumen_cents"]),
                                      {k: int(v) for k, v in params["ist_kosten"].items()}, paid)
    except ValidationFailed as exc:
        raise BpmnError("ABRECHNUNG_FEHLERHAFT", exc.message,
                        payload={"abrechnung_fehler": [e.to_dict() for e in exc.errors]}) from exc
    last_paid_year = max((j for j, t in totals.items() if t["ausgezahlt_cents"] > 0), default=None)
    return {"zuwendung_cents": s.zuwendung_cents, "gesamtvolumen_cents": s.geplantes_volumen_cents,
            "ist_kosten_cents": s.ist_kosten_cents, "ist_kosten_je_kostenart": s.ist_kosten_je_kostenart,
            "foerderquote": str(s.foerderquote), "zuwendungsfaehig_cents": s.zuwendungsfaehig_cents,
            "ausgezahlt_cents": s.ausgezahlt_cents, "rueckforderung_cents": s.rueckforderung_cents,
            "nachzahlung_cents": s.nachzahlung_cents, "eigenanteil_cents": s.eigenanteil_cents,
            "rueckzahlung_jahr": last_paid_year}


def blaupause_veroeffentlichen(params: dict, ctx: OperatorContext) -> dict:
    return effects.once(ctx, "blaupause_veroeffentlichen", lambda session: phase2.publish_blaupause(
        session, instance_id=ctx.instance_id, data=dict(params["daten"])))


OPERATORS: list[Operator] = [
    Operator("aufruf_registrieren", aufruf_registrieren,
             description="Legt den Förderaufruf im Aufrufregister an (Kennung, Frist, Regeln).",
             params={"kennung": "str", "daten": "dict"}),
    Operator("aufruf_schliessen", aufruf_schliessen,
             description="Schließt die Einreichung nach Fristablauf.", params={"kennung": "str"}),
    Operator("bewertung_starten", bewertung_starten,
             description="Beginnt die Bewertung der vollständigen Anträge.",
             params={"kennung": "str"}),
    Operator("antraege_reihen", antraege_reihen,
             description="Bildet die Rangfolge je Landesteil und Größenklasse im Budget.",
             params={"kennung": "str", "bewertungen": "list"}),
    Operator("auswahl_festlegen", auswahl_festlegen,
             description="Übernimmt die bestätigte oder begründet abweichende Auswahl.",
             params={"kennung": "str", "entscheidung": "dict"}),
    Operator("ergebnisse_mitteilen", ergebnisse_mitteilen,
             description="Teilt jedem Antrag sein Auswahlergebnis per Nachricht mit.",
             params={"kennung": "str"}, bulk=True),
    Operator("antrag_einreichen", antrag_einreichen,
             description="Reicht den Clusterantrag beim Förderaufruf ein (nur innerhalb der "
                         "Frist; sonst BPMN-Fehler FRIST_ABGELAUFEN).",
             params={"kennung": "str", "cluster_name": "str", "lead_ags": "str",
                     "foerdersumme_cents": "int"}),
    Operator("antrag_vollstaendig", antrag_vollstaendig,
             description="Meldet den Antrag als vollständig für die Bewertung.",
             params={"kennung": "str"}),
    Operator("antrag_zurueckziehen", antrag_zurueckziehen,
             description="Zieht den Antrag aus dem Förderaufruf zurück.", params={"kennung": "str"}),
    Operator("digicheck_status", digicheck_status,
             description="Findet je Kommune den letzten DigiCheck (höchstens 12 Monate alt).",
             params={"mitglieder": "list"}),
    Operator("digicheck_auswerten", digicheck_auswerten,
             description="Bewertet den DigiCheck (0–100 je Bereich), erstellt den "
                         "Ergebnisbericht und speichert das Ergebnis der Kommune.",
             params={"ags": "str", "antworten": "dict"}),
    Operator("ergebnisse_sammeln", ergebnisse_sammeln,
             description="Liest die Ergebnisse erledigter Aufgaben des Vorgangs.",
             params={"aufgabe": "str", "element": "str"}),
    Operator("schlussabrechnung", schlussabrechnung,
             description="Schlussabrechnung mit anteiliger Rückforderung (Anteilfinanzierung).",
             params={"aktenzeichen": "str", "zuwendung_cents": "int",
                     "gesamtvolumen_cents": "int", "ist_kosten": "dict"}),
    Operator("blaupause_veroeffentlichen", blaupause_veroeffentlichen,
             description="Veröffentlicht die Blaupause in der Best-Practice-Bibliothek.",
             params={"daten": "dict"}),
]
