"""Municipal master data: Destatis directory import (with history) and Finanzkraft import.

* The directory import is idempotent: an unchanged file changes nothing; changed attributes are
  updated and each change is kept in ``municipality_history``; municipalities missing from a
  newer directory are marked inactive, never deleted (demo municipalities are left alone).
* A malformed file is refused as a whole; the 422 lists every problem with its line number.
* The Finanzkraft import refuses unknown AGS (listed) and reports the active municipalities
  without a value per year.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.domain import destatis
from app.domain.municipalities import SONDERSTATUS_STAEDTE, parse_hfag_status
from app.models import Finanzkraft, MasterdataImport, Municipality, MunicipalityHistory

from . import audit
from .context import SYSTEM, Actor
from .errors import Forbidden, Invalid, NotFound
from .platform import Platform

MAX_FILE_BYTES = 20 * 1024 * 1024
TRACKED = ("name", "kreis", "regierungsbezirk", "landesteil", "einwohner", "flaeche_km2",
           "gemeinde_typ")


def require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("Nur die Administration darf Stammdaten importieren.",
                        code="admin_only")


def _check_size(data: bytes) -> None:
    if not data:
        raise Invalid("Die Datei ist leer.", code="file_empty",
                      errors=[{"path": "/file", "message": "Bitte eine Datei hochladen."}])
    if len(data) > MAX_FILE_BYTES:
        raise Invalid("Die Datei ist zu groß (höchstens 20 MB).", code="file_too_large",
                      errors=[{"path": "/file", "message": "Datei zu groß."}])


def line_errors(problems: Iterable[tuple[int, str]]) -> list[dict]:
    return [{"path": "/file", "line": line,
             "message": message if line == 0 else f"Zeile {line}: {message}"}
            for line, message in problems]


def _text(value: object) -> str | None:
    return None if value is None else str(value)


# --------------------------------------------------------------------------- directory


def import_directory(platform: Platform, actor: Actor, data: bytes, filename: str = "",
                     gebietsstand: date | None = None) -> dict:
    """Import a Destatis directory (CSV or XLSX). Returns a summary of what changed."""
    require_admin(actor)
    _check_size(data)
    try:
        parsed = destatis.parse_directory(data, filename, gebietsstand)
    except destatis.DirectoryFormatError as exc:
        raise Invalid(
            f"Die Datei wurde nicht übernommen: {len(exc.problems)} Fehler gefunden. "
            "Es wurde nichts geändert.", code="file_malformed",
            errors=line_errors(exc.problems)) from exc
    with platform.db.unit_of_work() as session:
        rows = {m.ags: m for m in session.scalars(select(Municipality))}
        _refuse_older(rows.values(), parsed.gebietsstand)
        record = MasterdataImport(
            kind="gemeindeverzeichnis", filename=filename[:255], gebietsstand=parsed.gebietsstand,
            sha256=hashlib.sha256(data).hexdigest(), imported_by_id=actor.user_id,
            imported_by=actor.username, summary={})
        session.add(record)
        session.flush()
        summary = _apply_directory(session, record, rows, parsed)
        record.summary = summary
        audit.record(session, actor, "masterdata.imported", "masterdata_import", record.id,
                     details={k: v for k, v in summary.items() if not isinstance(v, list)})
        return {"import_id": record.id, **summary}


def import_default_directory(platform: Platform) -> dict | None:
    """The shipped master data (data/, MASTERDATA_FILE) on a database that has never imported a
    directory: a new installation knows every Hessian municipality, not only the demo ones."""
    source = platform.settings.MASTERDATA_FILE
    if not source:
        return None
    with platform.db.unit_of_work() as session:
        if session.scalar(select(func.count()).select_from(MasterdataImport)
                          .where(MasterdataImport.kind == "gemeindeverzeichnis")):
            return None
    path = Path(source)
    return import_directory(platform, SYSTEM, path.read_bytes(), path.name)


def _refuse_older(rows: Iterable[Municipality], stand: date | None) -> None:
    known = [m.gebietsstand for m in rows if m.gebietsstand is not None and not m.demo]
    if stand is not None and known and stand < max(known):
        raise Invalid(
            f"Die Datei hat den Gebietsstand {stand:%d.%m.%Y}, der Bestand aber schon "
            f"{max(known):%d.%m.%Y}. Ein älteres Verzeichnis wird nicht übernommen.",
            code="gebietsstand_outdated",
            errors=[{"path": "/gebietsstand", "message": "Gebietsstand älter als der Bestand."}])


def _values(m) -> dict:  # noqa: ANN001 - app.domain.municipalities.Municipality
    return {"name": m.name, "kreis": m.kreis, "regierungsbezirk": m.regierungsbezirk,
            "landesteil": str(m.landesteil), "einwohner": m.einwohner,
            "flaeche_km2": m.flaeche_km2, "gemeinde_typ": m.gemeinde_typ}


def _apply_directory(session: Session, record: MasterdataImport, rows: dict,
                     parsed: destatis.DirectoryImport) -> dict:
    created, updated, reactivated, deactivated = [], [], [], []
    changes = 0
    seen = set()
    for m in parsed.municipalities:
        seen.add(m.ags)
        values = _values(m)
        row = rows.get(m.ags)
        if row is None:
            session.add(Municipality(
                ags=m.ags, active=True, demo=False, gebietsstand=parsed.gebietsstand,
                hfag_status="sonderstatus" if m.ags in SONDERSTATUS_STAEDTE else None, **values))
            created.append(m.ags)
            continue
        changed = False
        for name in TRACKED:
            old, new = getattr(row, name), values[name]
            if old == new or (name == "flaeche_km2" and new is None):
                continue
            session.add(_history(row.ags, record, name, old, new, parsed.gebietsstand))
            setattr(row, name, new)
            changed = True
            changes += 1
        if not row.active:
            session.add(_history(row.ags, record, "active", False, True,
                                 parsed.gebietsstand))
            row.active = True
            reactivated.append(row.ags)
        if parsed.gebietsstand is not None and row.gebietsstand != parsed.gebietsstand:
            row.gebietsstand = parsed.gebietsstand
        if changed:
            updated.append(row.ags)
    for ags, row in rows.items():
        if ags not in seen and row.active and not row.demo:
            session.add(_history(ags, record, "active", True, False, parsed.gebietsstand))
            row.active = False
            deactivated.append(ags)
    return {
        "gebietsstand": parsed.gebietsstand.isoformat() if parsed.gebietsstand else None,
        "format": parsed.source_format,
        "gemeinden_in_datei": len(parsed.municipalities),
        "angelegt": len(created), "geaendert": len(updated), "aenderungen": changes,
        "reaktiviert": len(reactivated), "deaktiviert": len(deactivated),
        "unveraendert": len(parsed.municipalities) - len(created) - len(set(updated)
                                                                      | set(reactivated)),
        "ausgelassen": [{"line": line, "message": msg} for line, msg in parsed.skipped],
        "geaenderte_ags": sorted(updated), "deaktivierte_ags": sorted(deactivated),
        "reaktivierte_ags": sorted(reactivated),
    }


def _history(ags: str, record: MasterdataImport, field: str, old: object, new: object,
             stand: date | None) -> MunicipalityHistory:
    return MunicipalityHistory(ags=ags, import_id=record.id, field=field,
                               old_value=_text(old), new_value=_text(new), gebietsstand=stand)


# --------------------------------------------------------------------------- Finanzkraft


def import_finanzkraft(platform: Platform, actor: Actor, data: bytes, filename: str = "") -> dict:
    """Import ``ags,jahr,finanzkraft_je_einwohner``; refused as a whole on any bad line or
    unknown AGS; reports active municipalities without a value for each year of the file."""
    require_admin(actor)
    _check_size(data)
    rows, problems = destatis.parse_finanzkraft_csv(data)
    with platform.db.unit_of_work() as session:
        known = set(session.scalars(select(Municipality.ags)))
        unknown = sorted({r.ags for r in rows if r.ags not in known})
        errors = line_errors(problems) + [
            {"path": "/file", "ags": ags, "message": f"Gemeindeschlüssel {ags} ist unbekannt "
             "(nicht im Gemeindeverzeichnis)."} for ags in unknown]
        if not rows and not errors:
            errors.append({"path": "/file", "message": "Die Datei enthält keine Werte."})
        if errors:
            raise Invalid(f"Die Finanzkraft-Datei wurde nicht übernommen: {len(errors)} Fehler. "
                          "Es wurde nichts geändert.", code="file_malformed", errors=errors)
        record = MasterdataImport(
            kind="finanzkraft", filename=filename[:255], sha256=hashlib.sha256(data).hexdigest(),
            imported_by_id=actor.user_id, imported_by=actor.username, summary={})
        session.add(record)
        session.flush()
        years = sorted({r.jahr for r in rows})
        existing = {(f.ags, f.jahr): f for f in session.scalars(
            select(Finanzkraft).where(Finanzkraft.jahr.in_(years)))}
        created = changed = 0
        for r in rows:
            value = r.finanzkraft_je_einwohner.quantize(Decimal("0.01"))
            row = existing.get((r.ags, r.jahr))
            if row is None:
                session.add(Finanzkraft(ags=r.ags, jahr=r.jahr, je_einwohner=value,
                                        import_id=record.id))
                created += 1
            elif row.je_einwohner != value:
                row.je_einwohner, row.import_id = value, record.id
                changed += 1
        session.flush()
        missing = {str(y): missing_finanzkraft(session, y) for y in years}
        summary = {"jahre": years, "werte": len(rows), "angelegt": created, "geaendert": changed,
                   "unveraendert": len(rows) - created - changed, "fehlende_gemeinden": missing}
        record.summary = summary
        audit.record(session, actor, "finanzkraft.imported", "masterdata_import", record.id,
                     details={"jahre": years, "werte": len(rows),
                              "fehlend": {y: len(v) for y, v in missing.items()}})
        return {"import_id": record.id, **summary}


def missing_finanzkraft(session: Session, jahr: int, include_demo: bool = False) -> list[str]:
    """Active municipalities without a Finanzkraft value for ``jahr``."""
    have = select(Finanzkraft.ags).where(Finanzkraft.jahr == jahr)
    q = select(Municipality.ags).where(Municipality.active.is_(True), Municipality.ags.not_in(have))
    if not include_demo:
        q = q.where(Municipality.demo.is_(False))
    return list(session.scalars(q.order_by(Municipality.ags)))


# --------------------------------------------------------------------------- queries


def municipality_dict(m: Municipality) -> dict:
    return {"ags": m.ags, "name": m.name, "kreis": m.kreis, "regierungsbezirk": m.regierungsbezirk,
            "landesteil": m.landesteil, "einwohner": m.einwohner,
            "flaeche_km2": str(m.flaeche_km2) if m.flaeche_km2 is not None else None,
            "gemeinde_typ": m.gemeinde_typ, "hfag_status": m.hfag_status,
            "gebietsstand": m.gebietsstand, "active": m.active, "demo": m.demo}


def list_municipalities(platform: Platform, actor: Actor, *, active: bool | None = None,
                        landesteil: str | None = None, q: str | None = None,
                        include_demo: bool = True, page: int = 1, per_page: int = 100) -> dict:
    with platform.db.unit_of_work() as session:
        query = select(Municipality)
        if active is not None:
            query = query.where(Municipality.active.is_(active))
        if landesteil:
            query = query.where(Municipality.landesteil == landesteil)
        if not include_demo:
            query = query.where(Municipality.demo.is_(False))
        if q:
            like = f"%{q.strip().lower()}%"
            query = query.where(func.lower(Municipality.name).like(like)
                                | Municipality.ags.like(f"{q.strip()}%"))
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        rows = session.scalars(query.order_by(Municipality.ags)
                               .offset((page - 1) * per_page).limit(per_page)).all()
        return {"items": [municipality_dict(m) for m in rows], "total": total, "page": page,
                "per_page": per_page}


def get_municipality(platform: Platform, actor: Actor, ags: str) -> dict:
    with platform.db.unit_of_work() as session:
        m = session.get(Municipality, ags)
        if m is None:
            raise NotFound(f"Gemeinde {ags} nicht gefunden.", code="municipality_not_found")
        history = session.scalars(select(MunicipalityHistory).where(
            MunicipalityHistory.ags == ags).order_by(MunicipalityHistory.id)).all()
        finanzkraft = session.scalars(select(Finanzkraft).where(
            Finanzkraft.ags == ags).order_by(Finanzkraft.jahr)).all()
        result = municipality_dict(m)
        result["history"] = [{"changed_at": h.changed_at, "field": h.field,
                              "old_value": h.old_value, "new_value": h.new_value,
                              "gebietsstand": h.gebietsstand, "import_id": h.import_id}
                             for h in history]
        result["finanzkraft"] = [{"jahr": f.jahr, "je_einwohner": str(f.je_einwohner)}
                                 for f in finanzkraft]
        return result


def set_hfag_status(platform: Platform, actor: Actor, ags: str, status: str | None) -> dict:
    """Set a municipality's HFAG status (mittelzentrum, sonderstatus or none); history kept."""
    require_admin(actor)
    try:
        parsed = parse_hfag_status(status)
    except ValueError as exc:
        raise Invalid(str(exc), errors=[{"path": "/hfag_status", "message": str(exc)}]) from exc
    with platform.db.unit_of_work() as session:
        m = session.get(Municipality, ags)
        if m is None:
            raise NotFound(f"Gemeinde {ags} nicht gefunden.", code="municipality_not_found")
        new = str(parsed) if parsed else None
        if m.hfag_status != new:
            session.add(MunicipalityHistory(ags=ags, field="hfag_status", old_value=m.hfag_status,
                                            new_value=new))
            audit.record(session, actor, "municipality.hfag_status", "municipality", ags,
                         before=m.hfag_status, after=new)
            m.hfag_status = new
        return municipality_dict(m)
