"""Operators shared by all services: documents (PDF), e-mail, budget ledger.

Every side effect runs once per service job (effects.once keyed by the job's idempotency key):
a redelivered job returns the stored result instead of storing, sending or booking again.

render_document  template, kind, filename, data            → {document_id, sha256, filename}
send_email       to, subject, body | template (+data), document_ids → {sent, message_id, …}
reserve_budget   reference, amounts {jahr: cents}, titel?   → BpmnError BUDGET_NICHT_VERFUEGBAR
book_payment     reference, jahr, amount_cents, titel?, note? → BpmnError BUDGET_NICHT_VERFUEGBAR
release_budget   reference, titel?, jahre?                  → {freigegeben}
book_refund      reference, jahr, amount_cents, titel?      → {zurueckgezahlt_cents}
remind_open_tasks task, subject, body?                     → {sent, recipients, …}
"""

from __future__ import annotations

from app.domain.errors import BudgetExceeded, DomainError
from app.services import documents, effects, ledger, mail, pdf, phase2
from app.services.context import SYSTEM
from app.services.operators import BpmnError, Operator, OperatorContext

BUDGET_ERROR = "BUDGET_NICHT_VERFUEGBAR"


def _text(params: dict, name: str, default: str | None = None) -> str:
    value = params.get(name, default)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"Parameter „{name}“ fehlt oder ist leer.")
    return value


def render_document(params: dict, ctx: OperatorContext) -> dict:
    template = _text(params, "template")
    kind = _text(params, "kind", "bescheid")
    filename = _text(params, "filename", "dokument.pdf")
    data = params.get("data") or {}
    if not isinstance(data, dict):
        raise ValueError("Parameter „data“ muss ein Objekt sein.")
    content = pdf.render_pdf(template, data)  # rendered outside the transaction

    def effect(session) -> dict:  # noqa: ANN001
        doc = documents.store(ctx.platform, session, instance_id=ctx.instance_id, kind=kind,
                              filename=filename, content=content, actor=SYSTEM)
        return {"document_id": doc.id, "sha256": doc.sha256, "filename": doc.filename}

    return effects.once(ctx, "render_document", effect)


def _recipients(value: object) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        raise ValueError("Parameter „to“ muss eine Adresse oder eine Liste von Adressen sein.")
    return [str(a).strip() for a in value if a and str(a).strip()]


def send_email(params: dict, ctx: OperatorContext) -> dict:
    to = _recipients(params.get("to"))
    subject = _text(params, "subject")
    if params.get("template"):
        body = mail.render_text(params["template"], dict(params.get("data") or {}))
    else:
        body = _text(params, "body")
    ids = params.get("document_ids") or []
    if not isinstance(ids, list | tuple):
        ids = [ids]
    attachments = []
    for doc_id in ids:
        doc, content = documents.read_for_instance(ctx.platform, ctx.instance_id, int(doc_id))
        attachments.append((doc.filename, content, doc.mime))
    if not to:
        return {"sent": False, "grund": "Keine Empfängeradresse angegeben."}

    def effect(session) -> dict:  # noqa: ANN001, ARG001
        result = mail.send_mail(ctx.platform, to, subject, body, attachments)
        return {"sent": True, "message_id": result["message_id"], "recipients": to,
                "attachments": [a[0] for a in attachments]}

    return effects.once(ctx, "send_email", effect)


def _amounts(value: object) -> dict[int, int]:
    """{"2026": 100} or [{"jahr": 2026, "betrag_cents": 100}] → {2026: 100}."""
    if isinstance(value, list):
        value = {item["jahr"]: item["betrag_cents"] for item in value}
    if not isinstance(value, dict) or not value:
        raise ValueError("Parameter „amounts“ muss Beträge je Haushaltsjahr enthalten.")
    return {int(k): v for k, v in value.items()}


def _budget_error(exc: DomainError) -> BpmnError:
    return BpmnError(BUDGET_ERROR, exc.message, payload={
        "haushalt_fehler": [e.to_dict() for e in exc.errors],
        "haushalt_meldung": exc.message})


def reserve_budget(params: dict, ctx: OperatorContext) -> dict:
    reference = _text(params, "reference")
    amounts = _amounts(params.get("amounts"))
    titel = params.get("titel") or ledger.DEFAULT_TITEL
    try:
        return effects.once(ctx, "reserve_budget", lambda session: ledger.reserve(
            session, amounts=amounts, reference=reference, key=ctx.idempotency_key,
            titel=titel, instance_id=ctx.instance_id))
    except BudgetExceeded as exc:
        raise _budget_error(exc) from exc


def book_payment(params: dict, ctx: OperatorContext) -> dict:
    reference = _text(params, "reference")
    titel = params.get("titel") or ledger.DEFAULT_TITEL
    try:
        return effects.once(ctx, "book_payment", lambda session: ledger.pay(
            session, jahr=int(params["jahr"]), amount_cents=params["amount_cents"],
            reference=reference, key=ctx.idempotency_key, titel=titel,
            instance_id=ctx.instance_id, note=str(params.get("note") or "")))
    except BudgetExceeded as exc:
        raise _budget_error(exc) from exc


def release_budget(params: dict, ctx: OperatorContext) -> dict:
    reference = _text(params, "reference")
    titel = params.get("titel") or ledger.DEFAULT_TITEL
    jahre = params.get("jahre")
    return effects.once(ctx, "release_budget", lambda session: ledger.release(
        session, reference=reference, key=ctx.idempotency_key, titel=titel,
        instance_id=ctx.instance_id, jahre=[int(j) for j in jahre] if jahre else None))


def book_refund(params: dict, ctx: OperatorContext) -> dict:
    reference = _text(params, "reference")
    titel = params.get("titel") or ledger.DEFAULT_TITEL
    return effects.once(ctx, "book_refund", lambda session: ledger.refund(
        session, jahr=int(params["jahr"]), amount_cents=params["amount_cents"],
        reference=reference, key=ctx.idempotency_key, titel=titel,
        instance_id=ctx.instance_id))


def remind_open_tasks(params: dict, ctx: OperatorContext) -> dict:
    """Remind whoever still has to complete the open tasks `task` of this case."""
    who = phase2.reminder_recipients(ctx.platform, ctx.instance_id, _text(params, "task"))
    if not who["offen"] or not who["empfaenger"]:
        return {"sent": False, "offen": who["offen"], "gruppen": who["gruppen"]}
    subject = _text(params, "subject")
    body = str(params.get("body") or "") or (
        f"Die Aufgabe „{who['titel']}“ ist noch offen. Bitte erledigen Sie sie im Förderportal.")

    def effect(session) -> dict:  # noqa: ANN001, ARG001
        result = mail.send_mail(ctx.platform, who["empfaenger"], subject, body)
        return {"sent": True, "message_id": result["message_id"],
                "recipients": who["empfaenger"], "gruppen": who["gruppen"], "offen": who["offen"]}

    return effects.once(ctx, "remind_open_tasks", effect)


OPERATORS: list[Operator] = [
    Operator("render_document", render_document, retries=3, backoff_seconds=5,
             description="Erzeugt ein PDF aus einer Vorlage und legt es als Dokument des "
                         "Vorgangs ab (genau einmal).",
             params={"template": "str", "kind": "str", "filename": "str", "data": "dict"}),
    Operator("send_email", send_email, retries=5, backoff_seconds=30,
             description="Versendet eine E-Mail, optional mit Dokumenten des Vorgangs als "
                         "Anhang (genau einmal).",
             params={"to": "list", "subject": "str", "body": "str", "template": "str",
                     "data": "dict", "document_ids": "list"}),
    Operator("reserve_budget", reserve_budget,
             description="Prüft die Haushaltsverfügbarkeit und bindet die Beträge je "
                         "Haushaltsjahr; sonst BPMN-Fehler BUDGET_NICHT_VERFUEGBAR.",
             params={"reference": "str", "amounts": "dict", "titel": "str"}),
    Operator("book_payment", book_payment,
             description="Bucht eine Auszahlung gegen die Bindung der Förderung; sonst "
                         "BPMN-Fehler BUDGET_NICHT_VERFUEGBAR.",
             params={"reference": "str", "jahr": "int", "amount_cents": "int", "titel": "str"}),
    Operator("release_budget", release_budget,
             description="Gibt nicht mehr benötigte Bindungen der Förderung frei.",
             params={"reference": "str", "titel": "str", "jahre": "list"}),
    Operator("remind_open_tasks", remind_open_tasks, retries=5, backoff_seconds=30,
             description="Erinnert die Zuständigen offener Aufgaben des Vorgangs per E-Mail "
                         "(Funktionspostfächer der Ressorts, Mitglieder der Gruppe).",
             params={"task": "str", "subject": "str", "body": "str"}),
    Operator("book_refund", book_refund,
             description="Bucht eine Rückzahlung nach einer Rückforderung.",
             params={"reference": "str", "jahr": "int", "amount_cents": "int", "titel": "str"}),
]
