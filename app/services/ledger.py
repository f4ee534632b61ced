"""Budget ledger use cases: positions per Haushaltsjahr/Titel and idempotent bookings.

The rules (availability, binding, payment) are app.domain.ledger; this module loads the position
rows (locked on PostgreSQL, serialised by BEGIN IMMEDIATE on SQLite), applies the domain
operation and writes the booking rows and running totals in the caller's transaction.

Booking functions take a `session` so operators can run them inside `effects.once`.
A grant is identified by its `reference` (the Aktenzeichen): payments and releases are checked
against what was bound for that reference, not only against the position as a whole.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.domain import ledger as rules
from app.domain.errors import BudgetExceeded, DomainError, FieldError
from app.domain.money import format_euro
from app.models import BudgetBooking, BudgetPosition

from . import audit
from .context import SYSTEM, Actor
from .errors import Conflict, Forbidden, Invalid, NotFound
from .platform import Platform

MANAGERS = {"sachbearbeitung", "admin"}
READERS = MANAGERS | {"bewilligung", "ressort-finanzen", "spitzenverband"}
DEFAULT_TITEL = "0702-88301"
DEFAULT_BEZEICHNUNG = ("Kap. 07 02 Tit. 883 01 – Zuweisungen an Gemeinden und Gemeindeverbände "
                       "für die Digitalisierung (Cluster-Förderung)")
BINDING, RELEASE, PAYMENT, REFUND = "bindung", "freigabe", "auszahlung", "rueckzahlung"
# effect on the grant's binding and payments per booking kind
_SIGN = {BINDING: (1, 0), RELEASE: (-1, 0), PAYMENT: (-1, 1), REFUND: (0, -1)}


def as_invalid(exc: DomainError, status_code: str | None = None) -> Invalid:
    """A domain rule violation as the service layer's 422 (German, field-addressed)."""
    return Invalid(exc.message, errors=[e.to_dict() for e in exc.errors],
                   code=status_code or exc.code)


# --- reading ------------------------------------------------------------------------------------

def _domain(pos: BudgetPosition) -> rules.LedgerPosition:
    return rules.LedgerPosition(pos.haushaltsjahr, pos.titel, pos.ansatz_cents,
                                pos.gebunden_cents, pos.ausgezahlt_cents)


def describe(pos: BudgetPosition, bookings: list[BudgetBooking] | None = None) -> dict:
    result = {
        "id": pos.id, "haushaltsjahr": pos.haushaltsjahr, "titel": pos.titel,
        "bezeichnung": pos.bezeichnung, "ansatz_cents": pos.ansatz_cents,
        "gebunden_cents": pos.gebunden_cents, "ausgezahlt_cents": pos.ausgezahlt_cents,
        "verfuegbar_cents": _domain(pos).verfuegbar_cents,
    }
    if bookings is not None:
        result["buchungen"] = [{
            "id": b.id, "art": b.kind, "betrag_cents": b.amount_cents, "referenz": b.reference,
            "instance_id": b.instance_id, "vermerk": b.note, "von": b.created_by,
            "am": b.created_at.isoformat()} for b in bookings]
    return result


def _position(session: Session, jahr: int, titel: str, lock: bool = True) -> BudgetPosition | None:
    q = select(BudgetPosition).where(BudgetPosition.haushaltsjahr == jahr,
                                     BudgetPosition.titel == titel)
    if lock and session.get_bind().dialect.name != "sqlite":
        q = q.with_for_update()
    return session.scalar(q)


def grant_totals(session: Session, reference: str, titel: str = DEFAULT_TITEL) -> dict[int, dict]:
    """Per Haushaltsjahr: what is bound and paid for one grant (reference)."""
    rows = session.execute(
        select(BudgetPosition.haushaltsjahr, BudgetBooking.kind,
               func.sum(BudgetBooking.amount_cents))
        .join(BudgetPosition, BudgetPosition.id == BudgetBooking.position_id)
        .where(BudgetBooking.reference == reference, BudgetPosition.titel == titel)
        .group_by(BudgetPosition.haushaltsjahr, BudgetBooking.kind)).all()
    totals: dict[int, dict] = {}
    for jahr, kind, amount in rows:
        entry = totals.setdefault(int(jahr), {"gebunden_cents": 0, "ausgezahlt_cents": 0})
        bound, paid = _SIGN[kind]
        entry["gebunden_cents"] += bound * int(amount)
        entry["ausgezahlt_cents"] += paid * int(amount)
    return dict(sorted(totals.items()))


# --- bookings (in the caller's transaction) ---------------------------------------------------

def _book(session: Session, pos: BudgetPosition, new: rules.LedgerPosition, kind: str,
          amount: int, reference: str, key: str, instance_id: int | None, note: str,
          by: str) -> None:
    pos.gebunden_cents, pos.ausgezahlt_cents = new.gebunden_cents, new.ausgezahlt_cents
    session.add(BudgetBooking(position_id=pos.id, kind=kind, amount_cents=amount,
                              reference=reference, idempotency_key=key, instance_id=instance_id,
                              note=note[:500], created_by=by))


def _check_cents(amounts: dict[int, int]) -> dict[int, int]:
    clean: dict[int, int] = {}
    for jahr, amount in amounts.items():
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
            raise Invalid("Beträge werden in ganzen Cent angegeben.", code="invalid_amount",
                          errors=[{"path": f"/betraege/{jahr}",
                                   "message": "Ganze Zahl (Cent) ≥ 0 erwartet."}])
        clean[int(jahr)] = amount
    return clean


def reserve(session: Session, *, amounts: dict[int, int], reference: str, key: str,
            titel: str = DEFAULT_TITEL, instance_id: int | None = None,
            by: str = "system") -> dict:
    """Bind a multi-year grant all-or-nothing; BudgetExceeded names every short year."""
    amounts = _check_cents(amounts)
    rows = {jahr: _position(session, jahr, titel) for jahr in sorted(amounts)}
    positions = {jahr: _domain(p) for jahr, p in rows.items() if p is not None}
    new = rules.reserve_per_year(positions, amounts)  # raises BudgetExceeded
    for jahr, amount in amounts.items():
        if amount:
            _book(session, rows[jahr], new[jahr], BINDING, amount, reference,
                  f"{key}:{BINDING}:{jahr}", instance_id, "Bindung bei Bewilligung", by)
    session.flush()
    return {"reference": reference, "titel": titel,
            "gebunden": {str(j): a for j, a in sorted(amounts.items()) if a}}


def pay(session: Session, *, jahr: int, amount_cents: int, reference: str, key: str,
        titel: str = DEFAULT_TITEL, instance_id: int | None = None, note: str = "",
        by: str = "system") -> dict:
    """Pay out (Mittelabruf) against the grant's binding in that Haushaltsjahr."""
    _check_cents({jahr: amount_cents})
    pos = _position(session, jahr, titel)
    bound = grant_totals(session, reference, titel).get(jahr, {}).get("gebunden_cents", 0)
    if pos is None or amount_cents > bound:
        raise BudgetExceeded(
            f"Für {reference} sind im Haushaltsjahr {jahr} nur {format_euro(bound)} gebunden; "
            f"eine Auszahlung von {format_euro(amount_cents)} ist nicht möglich.",
            [FieldError("/betrag_cents", "Der Betrag übersteigt die für diese Förderung "
                                         f"gebundenen Mittel des Jahres {jahr}.")],
            details={"haushaltsjahr": jahr, "gebunden_cents": bound})
    new = rules.pay(_domain(pos), amount_cents)
    _book(session, pos, new, PAYMENT, amount_cents, reference, f"{key}:{PAYMENT}:{jahr}",
          instance_id, note or "Auszahlung (Mittelabruf)", by)
    session.flush()
    return {"reference": reference, "haushaltsjahr": jahr, "ausgezahlt_cents": amount_cents,
            "verbleibend_gebunden_cents": bound - amount_cents}


def release(session: Session, *, reference: str, key: str, titel: str = DEFAULT_TITEL,
            instance_id: int | None = None, jahre: list[int] | None = None,
            by: str = "system") -> dict:
    """Release every remaining binding of the grant (all or the given years)."""
    released: dict[str, int] = {}
    for jahr, totals in grant_totals(session, reference, titel).items():
        amount = totals["gebunden_cents"]
        if amount <= 0 or (jahre is not None and jahr not in jahre):
            continue
        pos = _position(session, jahr, titel)
        new = rules.release(_domain(pos), amount)
        _book(session, pos, new, RELEASE, amount, reference, f"{key}:{RELEASE}:{jahr}",
              instance_id, "Freigabe nicht benötigter Bindungen", by)
        released[str(jahr)] = amount
    session.flush()
    return {"reference": reference, "freigegeben": released}


def refund(session: Session, *, jahr: int, amount_cents: int, reference: str, key: str,
           titel: str = DEFAULT_TITEL, instance_id: int | None = None,
           by: str = "system") -> dict:
    """Book a repayment (Rückzahlung after a Rückforderung)."""
    _check_cents({jahr: amount_cents})
    pos = _position(session, jahr, titel)
    if pos is None:
        raise NotFound(f"Kein Haushaltstitel {titel} für {jahr}.", code="position_not_found")
    new = rules.refund(_domain(pos), amount_cents)
    _book(session, pos, new, REFUND, amount_cents, reference, f"{key}:{REFUND}:{jahr}",
          instance_id, "Rückzahlung nach Rückforderung", by)
    session.flush()
    return {"reference": reference, "haushaltsjahr": jahr, "zurueckgezahlt_cents": amount_cents}


# --- use cases (own transaction, permission-checked) -----------------------------------------

def _require(actor: Actor, groups: set[str], message: str) -> None:
    if not (actor.groups & groups):
        raise Forbidden(message, code="forbidden")


def create_position(platform: Platform, actor: Actor, data: dict) -> dict:
    _require(actor, MANAGERS, "Nur Sachbearbeitung und Administration richten Haushaltstitel ein.")
    with platform.db.unit_of_work() as session:
        if _position(session, data["haushaltsjahr"], data["titel"], lock=False) is not None:
            raise Conflict(f"Den Haushaltstitel {data['titel']} gibt es für "
                           f"{data['haushaltsjahr']} bereits.", code="position_exists")
        pos = BudgetPosition(haushaltsjahr=data["haushaltsjahr"], titel=data["titel"],
                             bezeichnung=data.get("bezeichnung", ""),
                             ansatz_cents=data["ansatz_cents"], gebunden_cents=0,
                             ausgezahlt_cents=0)
        session.add(pos)
        session.flush()
        audit.record(session, actor, "budget.position_created", "budget_position", pos.id,
                     details={"haushaltsjahr": pos.haushaltsjahr, "titel": pos.titel,
                              "ansatz_cents": pos.ansatz_cents})
        return describe(pos, [])


def update_ansatz(platform: Platform, actor: Actor, position_id: int, ansatz_cents: int,
                  vermerk: str) -> dict:
    """Change the Ansatz (e.g. after a Nachtragshaushalt or Umschichtung); never below what is
    already bound and paid."""
    _require(actor, MANAGERS, "Nur Sachbearbeitung und Administration ändern Haushaltsansätze.")
    with platform.db.unit_of_work() as session:
        pos = session.get(BudgetPosition, position_id)
        if pos is None:
            raise NotFound("Haushaltstitel nicht gefunden.", code="position_not_found")
        if session.get_bind().dialect.name != "sqlite":
            session.refresh(pos, with_for_update=True)
        used = pos.gebunden_cents + pos.ausgezahlt_cents
        if ansatz_cents < used:
            raise Invalid(
                f"Der Ansatz darf nicht unter die bereits gebundenen und ausgezahlten Mittel "
                f"({format_euro(used)}) sinken.", code="ansatz_too_low",
                errors=[{"path": "/ansatz_cents", "message": f"Mindestens {format_euro(used)}."}])
        before = pos.ansatz_cents
        pos.ansatz_cents = ansatz_cents
        audit.record(session, actor, "budget.ansatz_geaendert", "budget_position", pos.id,
                     before=str(before), after=str(ansatz_cents), message=vermerk)
        return describe(pos)


def list_positions(platform: Platform, actor: Actor, haushaltsjahr: int | None = None,
                   titel: str | None = None) -> list[dict]:
    _require(actor, READERS, "Sie dürfen die Haushaltsüberwachung nicht einsehen.")
    with platform.db.unit_of_work() as session:
        q = select(BudgetPosition).order_by(BudgetPosition.haushaltsjahr, BudgetPosition.titel)
        if haushaltsjahr:
            q = q.where(BudgetPosition.haushaltsjahr == haushaltsjahr)
        if titel:
            q = q.where(BudgetPosition.titel == titel)
        return [describe(p) for p in session.scalars(q)]


def get_position(platform: Platform, actor: Actor, position_id: int) -> dict:
    _require(actor, READERS, "Sie dürfen die Haushaltsüberwachung nicht einsehen.")
    with platform.db.unit_of_work() as session:
        pos = session.get(BudgetPosition, position_id)
        if pos is None:
            raise NotFound("Haushaltstitel nicht gefunden.", code="position_not_found")
        bookings = session.scalars(select(BudgetBooking).where(
            BudgetBooking.position_id == pos.id).order_by(BudgetBooking.id)).all()
        return describe(pos, list(bookings))


def seed_budget(platform: Platform, years: int = 5, ansatz_cents: int = 1_000_000_000) -> list[int]:
    """Demo positions: the cluster title with 10 M€ per year, from last year on; idempotent."""
    first = date.today().year - 1
    created = []
    with platform.db.unit_of_work() as session:
        for jahr in range(first, first + years):
            if _position(session, jahr, DEFAULT_TITEL, lock=False) is None:
                pos = BudgetPosition(haushaltsjahr=jahr, titel=DEFAULT_TITEL,
                                     bezeichnung=DEFAULT_BEZEICHNUNG, ansatz_cents=ansatz_cents,
                                     gebunden_cents=0, ausgezahlt_cents=0)
                session.add(pos)
                session.flush()
                audit.record(session, SYSTEM, "budget.position_created", "budget_position",
                             pos.id, details={"haushaltsjahr": jahr, "seed": True})
                created.append(jahr)
    return created
