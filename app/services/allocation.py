"""Phase 1 allocation: parameters per programme year, simulation, release with a second
approver, and the bulk start of one case (process instance) per municipality.

* Parameters live per programme year and are locked once a release is requested.
* A simulation computes and stores a run (kind ``simulation``) without releasing anything.
* A release is requested by sachbearbeitung; a *different* user of sachbearbeitung or
  bewilligung approves it. Approval writes one ``phase1_case`` row per municipality (unique per
  programme year and AGS) and starts the ``phase1_massenstart`` process, whose service task
  starts the cases in batches on a worker. Repeating a request or an approval changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from app.domain import allocation as rules
from app.domain import deadlines
from app.domain.errors import BudgetExceeded
from app.domain.money import format_euro
from app.domain.municipalities import Municipality as DomainMunicipality
from app.domain.municipalities import parse_hfag_status, size_class
from app.models import (
    AllocationResult,
    AllocationRun,
    BudgetPosition,
    Finanzkraft,
    Municipality,
    Phase1Case,
    ProcessInstance,
    ProgrammeYear,
    ServiceJob,
)

from . import audit, instances, ledger
from .context import SYSTEM, Actor
from .definitions import latest
from .errors import Conflict, Forbidden, Invalid, NotFound
from .platform import Platform

CASE_PROCESS = "phase1_zuweisung"
START_PROCESS = "phase1_massenstart"
BESCHEID_TASK = "Zuweisungsbescheid erzeugen"
BERLIN = ZoneInfo("Europe/Berlin")
PHASE1_TITEL = "0702-88302"
PHASE1_BEZEICHNUNG = ("Kap. 07 02 Tit. 883 02 – Zuweisungen an Gemeinden für die "
                      "Digitalisierung (Finanzausweisung, Phase 1)")

SIMULATORS = frozenset({"sachbearbeitung", "bewilligung", "admin"})
EDITORS = frozenset({"sachbearbeitung", "admin"})
REQUESTERS = frozenset({"sachbearbeitung"})
APPROVERS = frozenset({"sachbearbeitung", "bewilligung"})

INT_PARAMS = ("budget_cents", "sockel_cents", "hfag_threshold")
DECIMAL_PARAMS = ("eigenanteil_percent", "hfag_klein", "hfag_gross", "hfag_mittelzentrum",
                  "hfag_sonderstatus", "elasticity", "g_min", "g_max")
FORMULA_PARAMS = INT_PARAMS + DECIMAL_PARAMS
YEAR_FIELDS = FORMULA_PARAMS + ("finanzkraft_jahr", "laufzeit_ende", "haushaltstitel",
                                "hfag_status", "include_demo", "erinnerung_wochen")
LABELS = {
    "budget_cents": "Budget", "sockel_cents": "Sockelzuschuss", "eigenanteil_percent": "Eigenanteil",
    "hfag_threshold": "HFAG-Schwelle", "hfag_klein": "HFAG-Gewicht unter der Schwelle",
    "hfag_gross": "HFAG-Gewicht ab der Schwelle", "hfag_mittelzentrum": "HFAG-Gewicht Mittelzentrum",
    "hfag_sonderstatus": "HFAG-Gewicht Sonderstatus-Stadt", "elasticity": "Elastizität von g",
    "g_min": "Untergrenze von g", "g_max": "Obergrenze von g",
}


def now() -> datetime:
    return datetime.now(UTC)


def _require(actor: Actor, groups: frozenset[str], message: str) -> None:
    if not (actor.groups & groups):
        raise Forbidden(message, code="forbidden_role")


# --------------------------------------------------------------------------- programme years


def _programme_year(jahr: int) -> int:
    """The year of a request (path or filter), or 422 before any lookup or date arithmetic."""
    if not deadlines.is_programme_year(jahr):
        raise Invalid(f"Das Programmjahr muss zwischen {deadlines.FIRST_YEAR} und "
                      f"{deadlines.LAST_YEAR} liegen.", code="year_out_of_range",
                      errors=[{"path": "/jahr", "message": "Kein zulässiges Programmjahr."}])
    return jahr


def default_year(jahr: int) -> dict:
    p = rules.AllocationParameters(budget_cents=0)
    values = {name: getattr(p, name) for name in FORMULA_PARAMS}
    values.update(finanzkraft_jahr=jahr, laufzeit_ende=date(jahr + 1, 12, 31), haushaltstitel=PHASE1_TITEL,
                  hfag_status={}, include_demo=False, erinnerung_wochen=4)
    return values


def _year_values(row: ProgrammeYear | None, jahr: int) -> dict:
    if row is None:
        return default_year(jahr)
    return {name: getattr(row, name) for name in YEAR_FIELDS}


def year_dict(jahr: int, values: dict, configured: bool, locked: bool) -> dict:
    out = {"jahr": jahr, "configured": configured, "locked": locked}
    for name in YEAR_FIELDS:
        value = values[name]
        out[name] = str(value) if isinstance(value, Decimal) else value
    out["zwischennachweis_frist"] = deadlines.zwischennachweis_due(jahr)
    out["verwendungsnachweis_frist"] = deadlines.verwendungsnachweis_due(values["laufzeit_ende"])
    return out


def _locked(session: Session, jahr: int) -> bool:
    return session.scalar(select(func.count()).select_from(AllocationRun).where(
        AllocationRun.jahr == jahr, AllocationRun.kind == "release",
        AllocationRun.status.in_(("requested", "released")))) > 0


def get_year(platform: Platform, actor: Actor, jahr: int) -> dict:
    _require(actor, SIMULATORS, "Nur Sachbearbeitung, Bewilligung und Administration sehen die "
             "Zuweisungsparameter.")
    jahr = _programme_year(jahr)
    with platform.db.unit_of_work() as session:
        row = session.get(ProgrammeYear, jahr)
        return year_dict(jahr, _year_values(row, jahr), row is not None, _locked(session, jahr))


def list_years(platform: Platform, actor: Actor) -> list[dict]:
    _require(actor, SIMULATORS, "Nur Sachbearbeitung, Bewilligung und Administration sehen die "
             "Zuweisungsparameter.")
    with platform.db.unit_of_work() as session:
        rows = session.scalars(select(ProgrammeYear).order_by(ProgrammeYear.jahr)).all()
        return [year_dict(r.jahr, _year_values(r, r.jahr), True, _locked(session, r.jahr))
                for r in rows]


def put_year(platform: Platform, actor: Actor, jahr: int, changes: dict) -> dict:
    """Create or change the parameters of a programme year (refused once a release exists)."""
    _require(actor, EDITORS, "Nur Sachbearbeitung und Administration ändern die "
             "Zuweisungsparameter.")
    jahr = _programme_year(jahr)
    with platform.db.unit_of_work() as session:
        row = session.get(ProgrammeYear, jahr, with_for_update=not platform.db.is_sqlite)
        if _locked(session, jahr):
            raise Conflict(f"Für {jahr} ist eine Freigabe beantragt oder erteilt; die Parameter "
                           "sind gesperrt.", code="parameters_locked")
        values = _year_values(row, jahr)
        values.update({k: v for k, v in changes.items() if k in YEAR_FIELDS})
        if row is None and "budget_cents" not in changes:
            raise Invalid("Für ein neues Programmjahr ist das Budget anzugeben.",
                          errors=[{"path": "/budget_cents", "message": "Budget angeben."}])
        params = parameters_from(values)
        _check_year(values, jahr, params)
        if row is None:
            row = ProgrammeYear(jahr=jahr)
            session.add(row)
        for name in YEAR_FIELDS:
            setattr(row, name, values[name])
        row.updated_at, row.updated_by = now(), actor.username
        audit.record(session, actor, "phase1.parameters", "phase1_programme_year", jahr,
                     details=_jsonable(changes))
        return year_dict(jahr, values, True, False)


def _check_year(values: dict, jahr: int, params: rules.AllocationParameters) -> None:
    errors = []
    if values["laufzeit_ende"] < date(jahr, 12, 31):
        errors.append({"path": "/laufzeit_ende", "message": "Das Ende des Förderzeitraums darf "
                       f"nicht vor dem 31.12.{jahr} liegen."})
    elif not deadlines.is_programme_year(values["laufzeit_ende"].year):  # deadlines after it
        errors.append({"path": "/laufzeit_ende", "message": "Das Ende des Förderzeitraums muss "
                       f"spätestens im Jahr {deadlines.LAST_YEAR} liegen."})
    for ags, status in (values["hfag_status"] or {}).items():
        try:
            parse_hfag_status(status)
        except ValueError as exc:
            errors.append({"path": f"/hfag_status/{ags}", "message": str(exc)})
    if not 0 <= int(values["erinnerung_wochen"]) <= 26:
        errors.append({"path": "/erinnerung_wochen",
                       "message": "Die Erinnerung ist 0 bis 26 Wochen vor der Frist möglich."})
    if errors:
        raise Invalid("Die Parameter des Programmjahrs sind ungültig.", errors=errors)


def parameters_from(values: dict) -> rules.AllocationParameters:
    """Domain parameters from stored/submitted values; German 422 when the domain refuses."""
    kwargs = {}
    for name in INT_PARAMS:
        kwargs[name] = int(values[name])
    for name in DECIMAL_PARAMS:
        kwargs[name] = Decimal(str(values[name]))
    try:
        return rules.AllocationParameters(**kwargs)
    except (TypeError, ValueError) as exc:
        raise Invalid(f"Ungültige Zuweisungsparameter: {exc}", code="invalid_parameters",
                      errors=[{"path": _guess_path(str(exc)), "message": str(exc)}]) from exc


def _guess_path(message: str) -> str:
    for name, label in LABELS.items():
        if message.startswith(label) or name in message:
            return f"/{name}"
    return ""


def _jsonable(values: dict) -> dict:
    return {k: (str(v) if isinstance(v, Decimal | date) else v) for k, v in values.items()}


# --------------------------------------------------------------------------- computing


@dataclass
class Inputs:
    municipalities: list[DomainMunicipality]
    finanzkraft: dict[str, Decimal]
    hfag_status: dict[str, str | None]
    kreis: dict[str, str]


def load_inputs(session: Session, finanzkraft_jahr: int, include_demo: bool,
                hfag_overrides: dict) -> Inputs:
    q = select(Municipality).where(Municipality.active.is_(True))
    if not include_demo:
        q = q.where(Municipality.demo.is_(False))
    rows = session.scalars(q.order_by(Municipality.ags)).all()
    if not rows:
        raise Invalid("Es sind keine aktiven Gemeinden vorhanden. Bitte zuerst das "
                      "Gemeindeverzeichnis importieren.", code="no_municipalities")
    fk = dict(session.execute(select(Finanzkraft.ags, Finanzkraft.je_einwohner).where(
        Finanzkraft.jahr == finanzkraft_jahr)).all())
    municipalities = [DomainMunicipality(
        ags=m.ags, name=m.name, kreis=m.kreis, regierungsbezirk=m.regierungsbezirk,
        landesteil=m.landesteil, einwohner=m.einwohner, hfag_status=m.hfag_status)
        for m in rows]
    return Inputs(municipalities, {a: Decimal(v) for a, v in fk.items()},
                  dict(hfag_overrides or {}), {m.ags: m.kreis for m in rows})


def compute(inputs: Inputs, params: rules.AllocationParameters,
            finanzkraft_jahr: int) -> list[rules.Allocation]:
    try:
        return rules.allocate(inputs.municipalities, inputs.finanzkraft, params,
                              hfag_status=inputs.hfag_status or None)
    except rules.AllocationError as exc:
        if exc.missing_ags:
            raise Invalid(
                f"Für {len(exc.missing_ags)} Gemeinde(n) fehlt die Finanzkraft {finanzkraft_jahr}."
                " Bitte die Finanzkraft importieren.", code="finanzkraft_missing",
                errors=[{"path": f"/finanzkraft/{ags}",
                         "message": f"Finanzkraft {finanzkraft_jahr} fehlt für {ags}."}
                        for ags in exc.missing_ags]) from exc
        raise Invalid(str(exc), code="allocation_impossible",
                      errors=[{"path": "/budget_cents", "message": str(exc)}]) from exc


def _store_run(session: Session, actor: Actor, jahr: int, kind: str, status: str,
               values: dict, inputs: Inputs, result: list[rules.Allocation],
               note: str | None = None) -> AllocationRun:
    params = {k: (str(v) if isinstance(v, Decimal | date) else v) for k, v in values.items()
              if k in YEAR_FIELDS}
    run = AllocationRun(
        jahr=jahr, kind=kind, status=status, parameters=params,
        finanzkraft_jahr=int(values["finanzkraft_jahr"]), count=len(result),
        sum_cents=sum(a.zuweisung_cents for a in result), created_by_id=actor.user_id,
        created_by=actor.username, note=note)
    session.add(run)
    session.flush()
    by_ags = {m.ags: m for m in inputs.municipalities}
    threshold = int(values["hfag_threshold"])
    session.execute(insert(AllocationResult), [dict(
        run_id=run.id, ags=a.ags, name=by_ags[a.ags].name, kreis=inputs.kreis.get(a.ags, ""),
        landesteil=str(by_ags[a.ags].landesteil), einwohner=by_ags[a.ags].einwohner,
        groessenklasse=size_class(by_ags[a.ags].einwohner, threshold),
        finanzkraft=inputs.finanzkraft[a.ags].quantize(Decimal("0.01")),
        hfag_faktor=a.hfag_faktor, finanzkraft_faktor=str(a.finanzkraft_faktor),
        gewicht=str(a.weight), zuweisung_cents=a.zuweisung_cents, volumen_cents=a.volumen_cents,
        eigenanteil_cents=a.eigenanteil_cents) for a in result])
    return run


def simulate(platform: Platform, actor: Actor, jahr: int, overrides: dict | None = None,
             include_items: bool = True) -> dict:
    """Compute the allocation with the year's parameters changed by ``overrides``; nothing is
    released. The run is stored so that it can be exported."""
    _require(actor, SIMULATORS, "Nur Sachbearbeitung, Bewilligung und Administration dürfen "
             "simulieren.")
    overrides = {k: v for k, v in (overrides or {}).items() if k in YEAR_FIELDS}
    jahr = _programme_year(jahr)
    with platform.db.unit_of_work() as session:
        row = session.get(ProgrammeYear, jahr)
        values = _year_values(row, jahr)
        values.update(overrides)
        if row is None and "budget_cents" not in overrides:
            raise Invalid(f"Für {jahr} sind keine Parameter hinterlegt; bitte ein Budget angeben.",
                          errors=[{"path": "/budget_cents", "message": "Budget angeben."}])
        params = parameters_from(values)
        _check_year(values, jahr, params)
        inputs = load_inputs(session, int(values["finanzkraft_jahr"]), bool(values["include_demo"]),
                             values["hfag_status"])
        result = compute(inputs, params, int(values["finanzkraft_jahr"]))
        run = _store_run(session, actor, jahr, "simulation", "simulated", values, inputs, result)
        audit.record(session, actor, "phase1.simulated", "phase1_allocation_run", run.id,
                     details={"jahr": jahr, "parameter": _jsonable(overrides)})
        return describe_run(session, run, include_items)


# --------------------------------------------------------------------------- reading runs


def _group(g: rules.GroupSummary) -> dict:
    return {"anzahl": g.count, "summe_cents": g.sum_cents, "einwohner": g.einwohner,
            "min_cents": g.min_cents, "median_cents": g.median_cents, "max_cents": g.max_cents,
            "euro_je_einwohner": str(g.euro_je_einwohner) if g.euro_je_einwohner is not None
            else None}


def results_of(session: Session, run_id: int) -> list[AllocationResult]:
    return list(session.scalars(select(AllocationResult).where(
        AllocationResult.run_id == run_id).order_by(AllocationResult.ags)))


def previous_release(session: Session, jahr: int) -> AllocationRun | None:
    return session.scalar(select(AllocationRun).where(
        AllocationRun.jahr == jahr - 1, AllocationRun.kind == "release",
        AllocationRun.status == "released").order_by(AllocationRun.id.desc()).limit(1))


def describe_run(session: Session, run: AllocationRun, include_items: bool = False) -> dict:
    rows = results_of(session, run.id)
    allocations = [rules.Allocation(r.ags, Decimal(r.gewicht), r.zuweisung_cents,
                                    r.volumen_cents, r.eigenanteil_cents) for r in rows]
    munis = [DomainMunicipality(ags=r.ags, name=r.name, kreis=r.kreis, regierungsbezirk="",
                                landesteil=r.landesteil, einwohner=r.einwohner) for r in rows]
    summary = rules.distribution_summary(allocations, munis,
                                         int(run.parameters.get("hfag_threshold", 7500)))
    prev = previous_release(session, run.jahr)
    before = {}
    if prev is not None:
        before = dict(session.execute(select(AllocationResult.ags, AllocationResult.zuweisung_cents)
                                      .where(AllocationResult.run_id == prev.id)).all())
    diffs = {d.ags: d for d in rules.compare(before, allocations, include_unchanged=True)}
    result = run_dict(run)
    result["verteilung"] = {
        "gesamt": _group(summary.total),
        "landesteile": {str(k): _group(v) for k, v in summary.by_landesteil.items()},
        "groessenklassen": {k: _group(v) for k, v in summary.by_size_class.items()},
    }
    result["vergleich"] = _comparison(run.jahr, prev, before, diffs) if prev else {
        "vorjahr": run.jahr - 1, "vorjahr_run_id": None,
        "hinweis": f"Für {run.jahr - 1} gibt es keine freigegebene Zuweisung."}
    if include_items:
        result["zuweisungen"] = [_item(r, diffs.get(r.ags) if prev else None) for r in rows]
    return result


def _comparison(jahr: int, prev: AllocationRun, before: dict, diffs: dict) -> dict:
    values = list(diffs.values())
    return {
        "vorjahr": jahr - 1, "vorjahr_run_id": prev.id, "summe_vorjahr_cents": sum(before.values()),
        "hoeher": sum(1 for d in values if d.previous_cents is not None
                      and d.current_cents is not None and d.delta_cents > 0),
        "niedriger": sum(1 for d in values if d.previous_cents is not None
                         and d.current_cents is not None and d.delta_cents < 0),
        "unveraendert": sum(1 for d in values if d.delta_cents == 0
                            and d.previous_cents is not None and d.current_cents is not None),
        "neu": sum(1 for d in values if d.previous_cents is None),
        "entfallen": [d.ags for d in values if d.current_cents is None],
    }


def _item(r: AllocationResult, diff: rules.AllocationDifference | None) -> dict:
    return {
        "ags": r.ags, "name": r.name, "kreis": r.kreis, "landesteil": r.landesteil,
        "einwohner": r.einwohner, "groessenklasse": r.groessenklasse,
        "finanzkraft": str(r.finanzkraft), "hfag_faktor": str(r.hfag_faktor),
        "finanzkraft_faktor": r.finanzkraft_faktor, "zuweisung_cents": r.zuweisung_cents,
        "volumen_cents": r.volumen_cents, "eigenanteil_cents": r.eigenanteil_cents,
        "vorjahr_cents": diff.previous_cents if diff else None,
        "differenz_cents": diff.delta_cents if diff else None,
        "differenz_prozent": str(diff.change_percent) if diff and diff.change_percent is not None
        else None,
    }


def run_dict(run: AllocationRun) -> dict:
    return {"id": run.id, "jahr": run.jahr, "kind": run.kind, "status": run.status,
            "parameters": run.parameters, "finanzkraft_jahr": run.finanzkraft_jahr,
            "count": run.count, "sum_cents": run.sum_cents, "created_at": run.created_at,
            "created_by": run.created_by, "decided_at": run.decided_at,
            "decided_by": run.decided_by, "note": run.note,
            "start_instance_id": run.start_instance_id}


def _get_run(session: Session, run_id: int) -> AllocationRun:
    run = session.get(AllocationRun, run_id)
    if run is None:
        raise NotFound("Zuweisungsberechnung nicht gefunden.", code="run_not_found")
    return run


def get_run(platform: Platform, actor: Actor, run_id: int, include_items: bool = False) -> dict:
    _require(actor, SIMULATORS, "Nur Sachbearbeitung, Bewilligung und Administration sehen "
             "Zuweisungsberechnungen.")
    with platform.db.unit_of_work() as session:
        run = _get_run(session, run_id)
        result = describe_run(session, run, include_items)
        if run.kind == "release":
            result["fortschritt"] = progress(session, run)
        return result


def list_runs(platform: Platform, actor: Actor, jahr: int | None = None,
              kind: str | None = None) -> list[dict]:
    _require(actor, SIMULATORS, "Nur Sachbearbeitung, Bewilligung und Administration sehen "
             "Zuweisungsberechnungen.")
    if jahr is not None:
        jahr = _programme_year(jahr)
    with platform.db.unit_of_work() as session:
        q = select(AllocationRun)
        if jahr is not None:
            q = q.where(AllocationRun.jahr == jahr)
        if kind:
            q = q.where(AllocationRun.kind == kind)
        return [run_dict(r) for r in session.scalars(q.order_by(AllocationRun.id.desc())
                                                      .limit(200))]


def export_data(platform: Platform, actor: Actor, run_id: int) -> dict:
    """Everything an export needs: the described run with items."""
    return get_run(platform, actor, run_id, include_items=True)


# --------------------------------------------------------------------------- release


def request_release(platform: Platform, actor: Actor, jahr: int, note: str | None = None) -> dict:
    """Sachbearbeitung asks to release the year's allocation; repeating the request returns the
    pending one. Parameters are locked from now on."""
    _require(actor, REQUESTERS, "Nur die Sachbearbeitung beantragt die Freigabe der Zuweisung.")
    jahr = _programme_year(jahr)
    with platform.db.unit_of_work() as session:
        row = session.get(ProgrammeYear, jahr, with_for_update=not platform.db.is_sqlite)
        if row is None:
            raise Invalid(f"Für {jahr} sind keine Zuweisungsparameter hinterlegt.",
                          code="year_not_configured",
                          errors=[{"path": "/jahr", "message": "Programmjahr anlegen."}])
        existing = session.scalar(select(AllocationRun).where(
            AllocationRun.jahr == jahr, AllocationRun.kind == "release",
            AllocationRun.status.in_(("requested", "released"))))
        if existing is not None and existing.status == "released":
            raise Conflict(f"Die Zuweisung {jahr} ist bereits freigegeben (Berechnung "
                           f"{existing.id}).", code="already_released")
        if existing is not None:
            return {**describe_run(session, existing), "created": False}
        values = _year_values(row, jahr)
        params = parameters_from(values)
        inputs = load_inputs(session, int(values["finanzkraft_jahr"]), bool(values["include_demo"]),
                             values["hfag_status"])
        result = compute(inputs, params, int(values["finanzkraft_jahr"]))
        run = _store_run(session, actor, jahr, "release", "requested", values, inputs, result,
                         note)
        audit.record(session, actor, "phase1.release_requested", "phase1_allocation_run", run.id,
                     after="requested", details={"jahr": jahr, "summe_cents": run.sum_cents,
                                                 "anzahl": run.count})
        return {**describe_run(session, run), "created": True}


def approve_release(platform: Platform, actor: Actor, run_id: int) -> dict:
    """A second person releases the allocation: one case per municipality, started in bulk on
    a worker. Approving an already released run again changes nothing."""
    _require(actor, APPROVERS, "Nur Sachbearbeitung oder Bewilligung geben Zuweisungen frei.")
    with platform.db.unit_of_work() as session:
        run = _get_run(session, run_id)
        if run.kind != "release":
            raise Conflict("Eine Simulation kann nicht freigegeben werden; bitte die Freigabe "
                           "beantragen.", code="not_a_release")
        if run.status == "released":
            return {**run_dict(run), "fortschritt": progress(session, run), "created": False}
        if run.status != "requested":
            raise Conflict(f"Die Berechnung ist im Status „{run.status}“.", code="not_requested")
        if actor.user_id is not None and actor.user_id == run.created_by_id:
            raise Forbidden("Vier-Augen-Prinzip: Wer die Freigabe beantragt hat, darf sie nicht "
                            "selbst erteilen.", code="same_person")
        claimed = session.execute(
            update(AllocationRun).where(AllocationRun.id == run.id,
                                        AllocationRun.status == "requested")
            .values(status="released", decided_at=now(), decided_by_id=actor.user_id,
                    decided_by=actor.username)
            .execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            raise Conflict("Die Freigabe wurde gleichzeitig bearbeitet; bitte neu laden.",
                           code="concurrent_modification")
        session.refresh(run)
        _ensure_budget(session, run)
        created = _create_cases(session, run)
        definition = latest(session, START_PROCESS)
        starter = instances.start(platform, session, SYSTEM, definition, f"P1-{run.jahr}-FREIGABE",
                                  None, {"run_id": run.id, "jahr": run.jahr, "anzahl": created})
        run.start_instance_id = starter.id
        audit.record(session, actor, "phase1.released", "phase1_allocation_run", run.id,
                     before="requested", after="released",
                     details={"faelle": created, "start_instance_id": starter.id})
        return {**run_dict(run), "fortschritt": progress(session, run), "created": True}


def reject_release(platform: Platform, actor: Actor, run_id: int, note: str | None) -> dict:
    _require(actor, APPROVERS, "Nur Sachbearbeitung oder Bewilligung entscheiden über die Freigabe.")
    with platform.db.unit_of_work() as session:
        run = _get_run(session, run_id)
        if run.kind != "release" or run.status != "requested":
            raise Conflict("Nur eine beantragte Freigabe kann abgelehnt werden.",
                           code="not_requested")
        run.status, run.decided_at = "rejected", now()
        run.decided_by_id, run.decided_by = actor.user_id, actor.username
        run.note = "\n".join(filter(None, [run.note, note]))
        audit.record(session, actor, "phase1.release_rejected", "phase1_allocation_run", run.id,
                     before="requested", after="rejected", message=note)
        return run_dict(run)


def titel_of(run: AllocationRun) -> str:
    return str(run.parameters.get("haushaltstitel") or PHASE1_TITEL)


def _ensure_budget(session: Session, run: AllocationRun) -> None:
    """The Phase 1 budget title of the year must be able to bind every Zuweisung; it is set up
    with the programme budget as Ansatz when it does not exist yet."""
    titel = titel_of(run)
    q = select(BudgetPosition).where(BudgetPosition.haushaltsjahr == run.jahr,
                                     BudgetPosition.titel == titel)
    if session.get_bind().dialect.name != "sqlite":
        q = q.with_for_update()
    pos = session.scalar(q)
    if pos is None:
        session.add(BudgetPosition(haushaltsjahr=run.jahr, titel=titel,
                                   bezeichnung=PHASE1_BEZEICHNUNG,
                                   ansatz_cents=int(run.parameters["budget_cents"]),
                                   gebunden_cents=0, ausgezahlt_cents=0))
        session.flush()
        return
    available = pos.ansatz_cents - pos.gebunden_cents - pos.ausgezahlt_cents
    if available < run.sum_cents:
        exc = BudgetExceeded(
            f"Haushaltsjahr {run.jahr}, Titel {titel}: verfügbar sind {format_euro(available)}, "
            f"die Zuweisungen erfordern {format_euro(run.sum_cents)}.")
        raise ledger.as_invalid(exc)


def _create_cases(session: Session, run: AllocationRun) -> int:
    existing = set(session.scalars(select(Phase1Case.ags).where(Phase1Case.jahr == run.jahr)))
    rows = [dict(jahr=run.jahr, ags=r.ags, run_id=run.id, aktenzeichen=aktenzeichen(run.jahr, r.ags),
                 status="pending", created_at=now())
            for r in results_of(session, run.id) if r.ags not in existing]
    if rows:
        session.execute(insert(Phase1Case), rows)
    return len(rows)


def aktenzeichen(jahr: int, ags: str) -> str:
    return f"P1-{jahr}-{ags}"


def progress(session: Session, run: AllocationRun) -> dict:
    counts = dict(session.execute(select(Phase1Case.status, func.count()).where(
        Phase1Case.run_id == run.id).group_by(Phase1Case.status)).all())
    bescheide = session.scalar(
        select(func.count()).select_from(ServiceJob)
        .join(Phase1Case, Phase1Case.instance_id == ServiceJob.instance_id)
        .where(Phase1Case.run_id == run.id, ServiceJob.task_name == BESCHEID_TASK,
               ServiceJob.status == "done"))
    total = sum(counts.values())
    return {"gesamt": total, "gestartet": counts.get("started", 0),
            "ausstehend": counts.get("pending", 0), "bescheide_erzeugt": bescheide,
            "abgeschlossen": total > 0 and counts.get("started", 0) == total
            and bescheide == total}


def list_cases(platform: Platform, actor: Actor, jahr: int, page: int = 1,
               per_page: int = 100) -> dict:
    """The Phase 1 cases of a programme year with their Zuweisung and instance status."""
    _require(actor, SIMULATORS, "Nur Sachbearbeitung, Bewilligung und Administration sehen die "
             "Phase-1-Vorgänge aller Kommunen.")
    jahr = _programme_year(jahr)
    with platform.db.unit_of_work() as session:
        base = select(Phase1Case).where(Phase1Case.jahr == jahr)
        total = session.scalar(select(func.count()).select_from(base.subquery()))
        rows = session.execute(
            select(Phase1Case, AllocationResult, ProcessInstance.status)
            .join(AllocationResult, (AllocationResult.run_id == Phase1Case.run_id)
                  & (AllocationResult.ags == Phase1Case.ags))
            .outerjoin(ProcessInstance, ProcessInstance.id == Phase1Case.instance_id)
            .where(Phase1Case.jahr == jahr).order_by(Phase1Case.ags)
            .offset((page - 1) * per_page).limit(per_page)).all()
        items = [{"ags": c.ags, "gemeinde": r.name, "landesteil": r.landesteil,
                  "aktenzeichen": c.aktenzeichen, "status": c.status, "instance_id": c.instance_id,
                  "instance_status": status, "zuweisung_cents": r.zuweisung_cents,
                  "started_at": c.started_at} for c, r, status in rows]
        return {"items": items, "total": total, "page": page, "per_page": per_page}


# --------------------------------------------------------------------------- bulk start


def start_pending_cases(platform: Platform, run_id: int, batch_size: int = 50) -> int:
    """Start up to ``batch_size`` pending cases of a released run in one transaction.

    Each case row is claimed in the transaction that starts its instance, so a repeated or
    concurrent call never starts a case twice. Returns how many were started.
    """
    with platform.db.unit_of_work() as session:
        run = session.get(AllocationRun, run_id)
        if run is None or run.kind != "release" or run.status != "released":
            return 0
        q = (select(Phase1Case).where(Phase1Case.run_id == run_id, Phase1Case.status == "pending")
             .order_by(Phase1Case.id).limit(batch_size))
        if not platform.db.is_sqlite:
            q = q.with_for_update(skip_locked=True)
        cases = session.scalars(q).all()
        if not cases:
            return 0
        definition = latest(session, CASE_PROCESS)
        results = {r.ags: r for r in session.scalars(select(AllocationResult).where(
            AllocationResult.run_id == run_id,
            AllocationResult.ags.in_([c.ags for c in cases])))}
        for case in cases:
            data = case_start_data(run, results[case.ags], case)
            instance = instances.start(platform, session, SYSTEM, definition, case.aktenzeichen,
                                       case.ags, data)
            ledger.reserve(session, amounts={run.jahr: data["zuweisung_cents"]},
                           reference=case.aktenzeichen, key=f"phase1-case-{case.id}",
                           titel=titel_of(run), instance_id=instance.id)
            case.instance_id, case.status, case.started_at = instance.id, "started", now()
        return len(cases)


def start_all_pending(platform: Platform, run_id: int, batch_size: int = 50) -> dict:
    started = 0
    while True:
        n = start_pending_cases(platform, run_id, batch_size)
        if n == 0:
            break
        started += n
    with platform.db.unit_of_work() as session:
        run = session.get(AllocationRun, run_id)
        counts = progress(session, run) if run else {}
    return {"gestartet": started, "gesamt": counts.get("gesamt", 0),
            "ausstehend": counts.get("ausstehend", 0)}


def _at(day: date, hour: int = 0) -> str:
    return datetime.combine(day, time(hour), BERLIN).isoformat()


def case_start_data(run: AllocationRun, result: AllocationResult, case: Phase1Case) -> dict:
    p = run.parameters
    laufzeit_ende = date.fromisoformat(str(p["laufzeit_ende"]))
    weeks = int(p.get("erinnerung_wochen", 4))
    zn_frist = deadlines.zwischennachweis_due(run.jahr)
    vn_frist = deadlines.verwendungsnachweis_due(laufzeit_ende)
    share = 1 - Decimal(str(p["eigenanteil_percent"])) / 100
    return {
        "jahr": run.jahr, "run_id": run.id,
        "gemeinde": result.name, "kreis": result.kreis, "landesteil": result.landesteil,
        "einwohner": result.einwohner,
        "zuweisung_cents": result.zuweisung_cents, "mindestvolumen_cents": result.volumen_cents,
        "eigenanteil_cents": result.eigenanteil_cents,
        "eigenanteil_percent": str(p["eigenanteil_percent"]),
        "foerderquote": str(share.normalize()),
        "haushaltstitel": titel_of(run),
        "zuweisung": format_euro(result.zuweisung_cents),
        "mindestvolumen": format_euro(result.volumen_cents),
        "laufzeit_ende": laufzeit_ende.isoformat(),
        "zwischennachweis_erforderlich": run.jahr in deadlines.zwischennachweis_years(
            date(run.jahr, 1, 1), laufzeit_ende),
        "zwischennachweis_frist": zn_frist.isoformat(),
        "zwischennachweis_erinnerung": _at(deadlines.reminder_date(zn_frist, weeks), 8),
        "zwischennachweis_faellig": _at(zn_frist + timedelta(days=1)),
        "verwendungsnachweis_frist": vn_frist.isoformat(),
        "verwendungsnachweis_erinnerung": _at(deadlines.reminder_date(vn_frist, weeks), 8),
        "verwendungsnachweis_faellig": _at(vn_frist + timedelta(days=1)),
    }


def case_for_instance(session: Session, instance_id: int) -> tuple[Phase1Case, AllocationRun,
                                                                     AllocationResult]:
    """The released case behind a Phase 1 instance (amounts come from here, not from task data)."""
    case = session.scalar(select(Phase1Case).where(Phase1Case.instance_id == instance_id))
    if case is None:
        raise NotFound(f"Vorgang {instance_id} gehört zu keiner freigegebenen Phase-1-Zuweisung.",
                       code="no_phase1_case")
    run = session.get(AllocationRun, case.run_id)
    result = session.get(AllocationResult, (case.run_id, case.ags))
    return case, run, result
