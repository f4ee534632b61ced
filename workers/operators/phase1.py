"""Operators of Phase 1 (allocation to all municipalities).

phase1_instanzen_starten  run_id              → {gestartet, gesamt, ausstehend}
phase1_zuweisungsbescheid aktenzeichen        → {document_id, zuweisung_cents, …}
phase1_erinnerung         art, frist, aktenzeichen → {empfaenger, gesendet, …}

Payments, refunds and the Rückforderungsbescheid use the shared operators of common.py
(book_payment, book_refund, render_document).
"""

from __future__ import annotations

from app.services import allocation, phase1_cases
from app.services.operators import Operator, OperatorContext

BATCH_SIZE = 50


def instanzen_starten(params: dict, ctx: OperatorContext) -> dict:
    """Start the pending cases of a released allocation in batches (one transaction each);
    safe to repeat: each case row is claimed in the transaction that starts it."""
    return allocation.start_all_pending(ctx.platform, int(params["run_id"]), BATCH_SIZE)


def zuweisungsbescheid(params: dict, ctx: OperatorContext) -> dict:
    return phase1_cases.zuweisungsbescheid(ctx)


def erinnerung(params: dict, ctx: OperatorContext) -> dict:
    return phase1_cases.reminder(ctx, params)


OPERATORS: list[Operator] = [
    Operator("phase1_instanzen_starten", instanzen_starten, retries=5, backoff_seconds=10,
             description="Startet nach der Freigabe je Kommune einen Phase-1-Vorgang "
                         "(in Stapeln, jede Kommune genau einmal).",
             params={"run_id": "int"}, bulk=True),
    Operator("phase1_zuweisungsbescheid", zuweisungsbescheid, retries=3, backoff_seconds=5,
             description="Erzeugt den Zuweisungsbescheid (PDF) aus der freigegebenen Zuweisung "
                         "und legt ihn als Dokument des Vorgangs ab.",
             params={"aktenzeichen": "str"}),
    Operator("phase1_erinnerung", erinnerung, retries=5, backoff_seconds=30,
             description="Erinnert die Kommune per E-Mail an eine Nachweisfrist.",
             params={"art": "str", "frist": "str", "aktenzeichen": "str"}),
]
