"""Side effects of one municipality's Phase 1 case, called by the service-task operators.

The amounts of a Zuweisungsbescheid come from the released allocation (``phase1_case`` →
``phase1_allocation_result``), never from task data, so a hand-started instance cannot produce
a Bescheid. Each effect runs once per service job (``effects.once``).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from app.domain.phase1 import HANDLUNGSFELDER
from app.models import Group, Municipality, OperatorEffect, User

from . import allocation, audit, documents, effects, mail, pdf
from .context import SYSTEM
from .operators import OperatorContext
from .platform import Platform

BESCHEID_TEMPLATE = "phase1_zuweisungsbescheid.html"


def _int_de(value: int) -> str:
    return f"{value:,}".replace(",", ".")


def _decimal_de(value: Decimal | str, places: int = 2) -> str:
    d = Decimal(str(value)).quantize(Decimal(1).scaleb(-places))
    whole, _, frac = f"{d:f}".partition(".")
    return f"{_int_de(int(whole))},{frac}" if frac else _int_de(int(whole))


def addressee(m: Municipality | None, name: str) -> dict:
    """Magistrat (towns) or Gemeindevorstand (other municipalities), § 9 HGO."""
    typ = (m.gemeinde_typ or "") if m else ""
    body = "Magistrat" if "Stadt" in typ or "Stadt" in name else "Gemeindevorstand"
    return {"name": f"{body} {'der Stadt' if body == 'Magistrat' else 'der Gemeinde'}",
            "zusatz": name, "ort": (m.kreis if m else "")}


def bescheid_context(platform: Platform, instance_id: int) -> dict:
    with platform.db.unit_of_work() as session:
        case, run, result = allocation.case_for_instance(session, instance_id)
        m = session.get(Municipality, case.ags)
        p = run.parameters
        data = allocation.case_start_data(run, result, case)
        hfag = Decimal(str(result.hfag_faktor)) * 100
        return {
            **data,
            "aktenzeichen": case.aktenzeichen,
            "ags": case.ags,
            "betreff": f"Zuweisung aus dem Förderprogramm „Digitalisierung der Kommunen“ – "
                       f"Programmjahr {run.jahr} (Phase 1)",
            "empfaenger": addressee(m, result.name),
            "mit_nebenbestimmungen": True, "mit_rechtsbehelfsbelehrung": True,
            "handlungsfelder": list(HANDLUNGSFELDER.values()),
            "finanzkraft_jahr": run.finanzkraft_jahr,
            "einwohner_text": _int_de(result.einwohner),
            "finanzkraft_text": f"{_decimal_de(result.finanzkraft)} €",
            "hfag_text": f"{_decimal_de(hfag, 0 if hfag == hfag.to_integral() else 2)} %",
            "g_text": _decimal_de(Decimal(result.finanzkraft_faktor), 4),
            "budget_cents": int(p["budget_cents"]), "sockel_cents": int(p["sockel_cents"]),
        }


def _stored(ctx: OperatorContext) -> dict | None:
    with ctx.platform.db.unit_of_work() as session:
        row = session.get(OperatorEffect, ctx.idempotency_key)
        return row.result if row is not None else None


def zuweisungsbescheid(ctx: OperatorContext) -> dict:
    """Render and store the Zuweisungsbescheid of the case (exactly once per job)."""
    done = _stored(ctx)
    if done is not None:
        return done  # redelivered job: do not render again
    context = bescheid_context(ctx.platform, ctx.instance_id)
    content = pdf.render_pdf(BESCHEID_TEMPLATE, context)  # outside any transaction
    filename = f"Zuweisungsbescheid_{context['aktenzeichen']}.pdf"

    def effect(session) -> dict:  # noqa: ANN001
        doc = documents.store(ctx.platform, session, instance_id=ctx.instance_id,
                              kind="zuweisungsbescheid", filename=filename, content=content,
                              actor=SYSTEM)
        return {"document_id": doc.id, "dateiname": doc.filename, "sha256": doc.sha256,
                "aktenzeichen": context["aktenzeichen"], "jahr": context["jahr"],
                "zuweisung_cents": context["zuweisung_cents"],
                "mindestvolumen_cents": context["mindestvolumen_cents"],
                "eigenanteil_cents": context["eigenanteil_cents"],
                "haushaltstitel": context["haushaltstitel"],
                "empfaenger": context["empfaenger"], "datum": date.today().isoformat()}

    return effects.once(ctx, "phase1_zuweisungsbescheid", effect)


def municipal_recipients(platform: Platform, ags: str) -> list[str]:
    with platform.db.unit_of_work() as session:
        q = (select(User.email).join(User.groups).join(User.municipalities)
             .where(Group.name == "kommune", Municipality.ags == ags, User.active.is_(True),
                    User.email != ""))
        return sorted(set(session.scalars(q)))


def reminder(ctx: OperatorContext, params: dict) -> dict:
    """Remind the municipality's users of a coming deadline (mail once per job, audited)."""
    art = str(params.get("art") or "Nachweis")
    frist = str(params.get("frist") or "")
    aktenzeichen = str(params.get("aktenzeichen") or "")
    with ctx.platform.db.unit_of_work() as session:
        case, _run, result = allocation.case_for_instance(session, ctx.instance_id)
        ags, gemeinde = case.ags, result.name
    recipients = municipal_recipients(ctx.platform, ags)
    subject = f"Erinnerung: {art} zu {aktenzeichen or case.aktenzeichen} fällig am {pdf.datum(frist)}"
    body = (f"Sehr geehrte Damen und Herren,\n\nder {art} für die Zuweisung "
            f"{aktenzeichen or case.aktenzeichen} ({gemeinde}) ist bis zum {pdf.datum(frist)} im "
            "Förderportal einzureichen. Bitte denken Sie an die Frist.\n\nMit freundlichen "
            "Grüßen\nBewilligungsstelle Digitalisierung der Kommunen\n")

    def effect(session) -> dict:  # noqa: ANN001
        sent = None
        if recipients:
            sent = mail.send_mail(ctx.platform, recipients, subject, body)["message_id"]
        audit.record(session, SYSTEM, "phase1.erinnerung", "process_instance", ctx.instance_id,
                     instance_id=ctx.instance_id,
                     details={"art": art, "frist": frist, "empfaenger": recipients})
        return {"art": art, "frist": frist, "empfaenger": recipients, "gesendet": bool(sent),
                "message_id": sent, "betreff": subject}

    return effects.once(ctx, "phase1_erinnerung", effect)
