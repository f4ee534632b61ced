"""Phase 2 rules in the shape BPMN scripts need: JSON values in, JSON values out.

Dates travel as ISO strings (``"2027-04-30"``), timer instants as ISO datetimes in UTC
(``"2027-04-02T00:00:00+00:00"``), money as integer cents. :data:`SCRIPT_FUNCTIONS` is what
app/services/functions.py exposes to the restricted script environment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from app.domain import deadlines
from app.domain.cluster import KOSTENARTEN, size_class
from app.domain.errors import FieldError, ValidationFailed, pointer
from app.domain.money import format_euro
from app.domain.reclaim import mul_div_round_half_up
from app.domain.ressorts import ressort_name, ressorts_for, themenbereich_label

REMINDER_WEEKS = 4
FILE_NUMBER_PREFIX = "HMinD-DK"


def file_number(year: int, sequence: int) -> str:
    """Aktenzeichen of a cluster case, e.g. ``HMinD-DK-2026-00042``.

    >>> file_number(2026, 42)
    'HMinD-DK-2026-00042'
    """
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2999:
        raise ValueError("Das Jahr des Aktenzeichens muss vierstellig sein.")
    if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 1:
        raise ValueError("Die laufende Nummer muss eine positive ganze Zahl sein.")
    return f"{FILE_NUMBER_PREFIX}-{year}-{sequence:05d}"


def _iso_date(value: str | date, field: str = "/beginn") -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise ValidationFailed("Ungültiges Datum.", [
            FieldError(field, f"„{value}“ ist kein gültiges Datum (JJJJ-MM-TT).")]) from exc


def timer_at(day: str | date) -> str:
    """The start of a calendar day as an ISO instant for a BPMN timeDate (UTC)."""
    return f"{_iso_date(day).isoformat()}T00:00:00+00:00"


def reporting_schedule(beginn: str, laufzeit_monate: int,
                       reminder_weeks: int = REMINDER_WEEKS) -> dict[str, Any]:
    """Term end, Zwischennachweise per budget year and the Verwendungsnachweis, each with its
    due date and reminder date (as ISO dates and as timer instants)."""
    start = _iso_date(beginn)
    end = deadlines.term_end(start, laufzeit_monate)
    zn = []
    for jahr in deadlines.zwischennachweis_years(start, end):
        due = deadlines.zwischennachweis_due(jahr)
        remind = deadlines.reminder_date(due, reminder_weeks)
        zn.append({"jahr": jahr, "faellig": due.isoformat(), "erinnerung": remind.isoformat(),
                   "faellig_timer": timer_at(due), "erinnerung_timer": timer_at(remind)})
    vn_due = deadlines.verwendungsnachweis_due(end)
    vn_remind = deadlines.reminder_date(vn_due, reminder_weeks)
    return {
        "beginn": start.isoformat(), "ende": end.isoformat(), "ende_timer": timer_at(end),
        "haushaltsjahre": list(range(start.year, end.year + 1)),
        "zwischennachweise": zn,
        "verwendungsnachweis": {
            "faellig": vn_due.isoformat(), "erinnerung": vn_remind.isoformat(),
            "faellig_timer": timer_at(vn_due), "erinnerung_timer": timer_at(vn_remind)},
    }


def split_funding(finanzplan: Iterable[Mapping[str, Any]], foerdersumme_cents: int,
                  jahre: Iterable[int] | None = None) -> list[dict[str, int]]:
    """Spread the Zuwendung over the budget years in proportion to the planned volume per year
    (exact: the last year takes the rounding remainder). Without a plan: evenly over ``jahre``."""
    per_year: dict[int, int] = {}
    for line in finanzplan or []:
        per_year[int(line["jahr"])] = per_year.get(int(line["jahr"]), 0) + int(line["betrag_cents"])
    if not per_year or sum(per_year.values()) == 0:
        years = sorted(set(jahre or []))
        if not years:
            return []
        per_year = dict.fromkeys(years, 1)
    total = sum(per_year.values())
    years = sorted(per_year)
    result, given = [], 0
    for i, jahr in enumerate(years):
        amount = (foerdersumme_cents - given if i == len(years) - 1
                  else mul_div_round_half_up(foerdersumme_cents, per_year[jahr], total))
        given += amount
        result.append({"jahr": jahr, "betrag_cents": amount})
    return result


def shift_plan(betraege: Iterable[Mapping[str, Any]], jahre: Iterable[int]) -> list[dict[str, int]]:
    """Map planned amounts in year order onto the budget years of the actual term (a later
    start moves the plan); surplus years are added to the last one."""
    items = sorted(({"jahr": int(b["jahr"]), "betrag_cents": int(b["betrag_cents"])}
                    for b in betraege), key=lambda b: b["jahr"])
    years = sorted(set(jahre))
    if not items or not years:
        return []
    result = [{"jahr": y, "betrag_cents": 0} for y in years]
    for i, item in enumerate(items):
        result[min(i, len(years) - 1)]["betrag_cents"] += item["betrag_cents"]
    return [r for r in result if r["betrag_cents"]]


def validate_amounts_per_year(betraege: Iterable[Mapping[str, Any]], zuwendung_cents: int,
                              jahre: Iterable[int]) -> None:
    """The amounts per Haushaltsjahr must lie in the term and add up to the Zuwendung."""
    allowed = sorted(set(jahre))
    errors: list[FieldError] = []
    seen: set[int] = set()
    total = 0
    for i, b in enumerate(betraege):
        jahr = b.get("jahr")
        if jahr not in allowed:
            errors.append(FieldError(pointer("betraege_je_jahr", i, "jahr"),
                                     f"Das Haushaltsjahr {jahr} liegt außerhalb des "
                                     f"Förderzeitraums ({', '.join(map(str, allowed))})."))
        elif jahr in seen:
            errors.append(FieldError(pointer("betraege_je_jahr", i, "jahr"),
                                     f"Das Haushaltsjahr {jahr} ist doppelt angegeben."))
        seen.add(jahr)
        total += int(b.get("betrag_cents") or 0)
    if total != zuwendung_cents:
        errors.append(FieldError("/betraege_je_jahr",
                                 f"Die Beträge je Haushaltsjahr ergeben {format_euro(total)}; sie "
                                 f"müssen der Zuwendung von {format_euro(zuwendung_cents)} "
                                 f"entsprechen."))
    if errors:
        raise ValidationFailed("Die Aufteilung auf Haushaltsjahre ist fehlerhaft.", errors)


def sum_costs(kosten: Mapping[str, int] | None) -> int:
    """Total of costs per Kostenart (Personal, Sachkosten, Investitionen)."""
    return sum(int((kosten or {}).get(k) or 0) for k in KOSTENARTEN)


def all_confirmed(bestaetigungen: Iterable[Mapping[str, Any]]) -> bool:
    return all(b.get("teilnahme") == "zugesagt" for b in bestaetigungen)


def declined(bestaetigungen: Iterable[Mapping[str, Any]]) -> list[str]:
    return [str(b.get("partner_kommune")) for b in bestaetigungen
            if b.get("teilnahme") != "zugesagt"]


def ressort_names(codes: Iterable[str]) -> list[str]:
    return [ressort_name(c) for c in codes]


def themen_labels(codes: Iterable[str]) -> list[str]:
    return [themenbereich_label(c) for c in codes]


def auflagen_aus(stellungnahmen: Iterable[Mapping[str, Any]]) -> list[str]:
    """Conditions named by ministries that agreed 'mit Auflagen' (for the Nebenbestimmungen)."""
    result = []
    for s in stellungnahmen or []:
        if s.get("votum") == "mit_auflagen" and s.get("auflagen"):
            result.append(f"{ressort_name(s['ressort'])}: {s['auflagen']}")
    return result


def today_iso() -> str:
    """Today's date (ISO) for scripts; the restricted environment cannot read the clock."""
    return date.today().isoformat()


def current_year() -> int:
    return date.today().year


SCRIPT_FUNCTIONS: dict[str, Any] = {
    "neues_aktenzeichen": file_number,
    "heute": today_iso,
    "aktuelles_jahr": current_year,
    "berichtsplan": reporting_schedule,
    "foerderung_je_jahr": split_funding,
    "plan_verschieben": shift_plan,
    "timer_zeitpunkt": timer_at,
    "ressorts_fuer": ressorts_for,
    "ressort_namen": ressort_names,
    "themen_namen": themen_labels,
    "groessenklasse": size_class,
    "kosten_summe": sum_costs,
    "alle_zugesagt": all_confirmed,
    "absagen": declined,
    "auflagen_aus": auflagen_aus,
    "euro": format_euro,
}
