"""Import of the official Destatis municipality directory (GV-ISys "AuszugGV").

Destatis publishes the directory of all politically independent municipalities quarterly as
``AuszugGV<n>QAktuell.xlsx`` (sheet ``Onlineprodukt_Gemeinden``; several header rows, then one
row per record). Record types (Satzart):

====  =========================================
10    Land
20    Regierungsbezirk
30    Region (Baden-Württemberg only)
40    Kreis (Textkennzeichen 41 kreisfreie Stadt, 42 Stadtkreis, 43 Kreis, 44 Landkreis, ...)
50    Gemeindeverband
60    Gemeinde (Textkennzeichen 61 kreisfreie Stadt, 63 Stadt, 64 Gemeinde, 66 gemeindefreies
      Gebiet unbewohnt, ...)
====  =========================================

Both that XLSX and a CSV in the same column layout (header line with the column names
``satzart,textkennzeichen,land,rb,kreis,vb,gemeinde,gemeindename,flaeche,bevoelkerung,...``,
comma or semicolon separated, optional BOM) are accepted. Only Land 06 (Hessen) is kept; rows
of Satzart 60 with population 0 or empty (uninhabited gemeindefreie Gebiete) are skipped and
reported in :attr:`DirectoryImport.skipped`. Kreis names come from Satzart 40, Regierungsbezirk
names from Satzart 20.

A malformed file is refused as a whole: :class:`DirectoryFormatError` carries *all* problems
as ``(line, message)`` with 1-based line numbers of the file (spreadsheet row numbers for
XLSX; line 0 = the file as a whole).

Also here: :func:`parse_finanzkraft_csv` for the per-municipality Finanzkraft import (no public
file exists; format is our design: ``ags,jahr,finanzkraft_je_einwohner``).

openpyxl is needed for XLSX only and imported lazily.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from app.domain.municipalities import (
    LAND_HESSEN,
    RB_CODE_LANDESTEIL,
    RB_CODE_NAME,
    Municipality,
    normalize_regierungsbezirk,
    validate_ags,
)

Problem = tuple[int, str]

SHEET_NAME = "Onlineprodukt_Gemeinden"
SATZARTEN = frozenset({"10", "20", "30", "40", "50", "60"})
SATZART_RB = "20"
SATZART_KREIS = "40"
SATZART_GEMEINDE = "60"

#: Textkennzeichen of Satzart 60 → gemeinde_typ.
GEMEINDE_TYP: Mapping[str, str] = {
    "60": "Markt",
    "61": "kreisfreie Stadt",
    "62": "Stadtkreis",
    "63": "Stadt",
    "64": "Gemeinde",
    "65": "gemeindefreies Gebiet, bewohnt",
    "66": "gemeindefreies Gebiet, unbewohnt",
    "67": "große Kreisstadt",
}

#: Columns a directory must have (canonical keys).
REQUIRED_COLUMNS = ("satzart", "land", "rb", "kreis", "gemeinde", "gemeindename", "bevoelkerung")

COLUMN_LABELS: Mapping[str, str] = {
    "satzart": "Satzart",
    "textkennzeichen": "Textkennzeichen",
    "land": "Land",
    "rb": "RB",
    "kreis": "Kreis",
    "vb": "VB",
    "gemeinde": "Gem",
    "gemeindename": "Gemeindename",
    "flaeche": "Fläche km²",
    "bevoelkerung": "Bevölkerung insgesamt",
}

# normalized CSV header name → canonical key
_CSV_ALIASES: Mapping[str, str] = {
    "satzart": "satzart",
    "textkennzeichen": "textkennzeichen",
    "land": "land",
    "rb": "rb",
    "kreis": "kreis",
    "vb": "vb",
    "gemeinde": "gemeinde",
    "gem": "gemeinde",
    "gemeindename": "gemeindename",
    "name": "gemeindename",
    "flaeche": "flaeche",
    "flaechekm2": "flaeche",
    "bevoelkerung": "bevoelkerung",
    "bevoelkerunginsgesamt": "bevoelkerung",
    "insgesamt": "bevoelkerung",
    "postleitzahl": "postleitzahl",
    "plz": "postleitzahl",
}

_CODE_WIDTH = {"land": 2, "rb": 1, "kreis": 2, "gemeinde": 3}

_SPACES_RE = re.compile(r"[\s\u00a0\u202f]+")
_INT_DOTTED_RE = re.compile(r"\d{1,3}(\.\d{3})+")
_FOOTNOTE_RE = re.compile(r"\d+\)")
_DATE_DOTTED_RE = re.compile(r"(?<!\d)(\d{1,2})\.(\d{1,2})\.(\d{4})(?!\d)")
_DATE_COMPACT_RE = re.compile(r"(?<!\d)(\d{2})(\d{2})(\d{4})(?!\d)")


class DirectoryFormatError(ValueError):
    """The file was refused as a whole; ``problems`` lists every finding as (line, message)."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems: list[Problem] = sorted(problems, key=lambda p: p[0])
        shown = "; ".join(_format_problem(p) for p in self.problems[:10])
        more = len(self.problems) - 10
        suffix = f" (und {more} weitere)" if more > 0 else ""
        super().__init__(
            f"Die Datei wurde nicht übernommen ({len(self.problems)} Fehler): {shown}{suffix}"
        )


def _format_problem(problem: Problem) -> str:
    line, message = problem
    return message if line == 0 else f"Zeile {line}: {message}"


@dataclass(frozen=True)
class DirectoryImport:
    gebietsstand: date | None
    municipalities: list[Municipality]
    #: rows of Satzart 60 that were deliberately not taken (uninhabited areas), as (line, note)
    skipped: list[Problem] = field(default_factory=list)
    source_format: Literal["csv", "xlsx"] = "csv"


@dataclass(frozen=True, slots=True)
class FinanzkraftRow:
    ags: str
    jahr: int
    finanzkraft_je_einwohner: Decimal


# --------------------------------------------------------------------------- number parsing


def parse_int_de(value: object) -> int:
    """Integer in Destatis/German notation: ``" 159 878"``, ``"159.878"``, ``159878``.

    Raises ``ValueError`` for anything that is not a whole number.
    """
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(value)
        return int(value)
    if isinstance(value, Decimal):
        if value != value.to_integral_value():
            raise ValueError(value)
        return int(value)
    s = _SPACES_RE.sub("", str(value))
    if _INT_DOTTED_RE.fullmatch(s):
        s = s.replace(".", "")
    if not re.fullmatch(r"-?\d+", s):
        raise ValueError(value)
    return int(s)


def parse_decimal_de(value: object, *, dot_thousands: bool = False) -> Decimal:
    """Decimal number with comma or point as decimal separator and spaces as thousands separator.

    If both ``,`` and ``.`` occur, the last one is the decimal separator. A lone ``.`` is a
    decimal point, unless ``dot_thousands`` is set and the number looks like ``1.234``/
    ``1.234.567`` (German files). Floats (from spreadsheets) are taken via their shortest repr.
    """
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    else:
        s = _SPACES_RE.sub("", str(value))
        if "," in s and "." in s:
            if s.rfind(",") > s.rfind("."):
                s = s.replace(".", "").replace(",", ".")
            else:
                s = s.replace(",", "")
        elif "," in s:
            if s.count(",") > 1:
                raise ValueError(value)
            s = s.replace(",", ".")
        elif dot_thousands and _INT_DOTTED_RE.fullmatch(s.lstrip("-")):
            s = s.replace(".", "")
        if not re.fullmatch(r"-?(\d+(\.\d*)?|\.\d+)", s):
            raise ValueError(value)
        try:
            result = Decimal(s)
        except InvalidOperation:  # pragma: no cover - excluded by the pattern
            raise ValueError(value) from None
    if not result.is_finite():
        raise ValueError(value)
    return result


def _is_empty(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _code(value: object, width: int) -> str | None:
    """A key part (Land, RB, Kreis, Gem) as digits of ``width``; lost leading zeros restored."""
    if isinstance(value, bool):
        return None
    s = _text(value)
    if not s.isdigit() or not s.isascii() or len(s) > width:
        return None
    return s.zfill(width)


def _satzart(value: object) -> str | None:
    s = _text(value)
    return s if s in SATZARTEN else None


def _normalize_label(value: object) -> str:
    s = _FOOTNOTE_RE.sub("", _text(value)).casefold()
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss"), ("²", "2"), ("\xad", "")):
        s = s.replace(a, b)
    return re.sub(r"[^a-z0-9]", "", s)


def _find_date(text: str) -> date | None:
    """First valid date (``31.12.2020`` or ``31122020``), after the word "Gebietsstand" if any."""
    marker = text.casefold().find("gebietsstand")
    if marker >= 0:
        text = text[marker:]
    for pattern in (_DATE_DOTTED_RE, _DATE_COMPACT_RE):
        for m in pattern.finditer(text):
            day, month, year = (int(g) for g in m.groups())
            try:
                return date(year, month, day)
            except ValueError:
                continue
    return None


# --------------------------------------------------------------------------- directory parsing


def parse_directory(
    data: bytes, filename: str = "", gebietsstand: date | None = None
) -> DirectoryImport:
    """Parse an uploaded Destatis municipality directory (CSV or XLSX, chosen by content).

    ``gebietsstand`` (territorial status date) is taken from the parameter, else detected from
    the XLSX title rows (``... am 31.12.2020``), else from the file name
    (``31122020_Auszug_GV.xlsx``), else ``None``.

    Raises :class:`DirectoryFormatError` listing all problems if the file is malformed.
    """
    detected: date | None = None
    source_format: Literal["csv", "xlsx"] = "csv"
    if data[:4] == b"PK\x03\x04":
        records, detected = _xlsx_records(data)
        source_format = "xlsx"
    elif data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise DirectoryFormatError(
            [(0, "Das alte Excel-Format (.xls) wird nicht unterstützt; bitte XLSX oder CSV.")]
        )
    else:
        records = _csv_records(data)
    municipalities, skipped, problems = _build(records)
    if problems:
        raise DirectoryFormatError(problems)
    stand = gebietsstand or detected or _find_date(filename or "")
    return DirectoryImport(
        gebietsstand=stand,
        municipalities=municipalities,
        skipped=skipped,
        source_format=source_format,
    )


@dataclass
class _Records:
    """Data rows of a directory file: (line, {canonical key: raw value}) plus early problems."""

    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _csv_records(data: bytes) -> _Records:
    out = _Records()
    text = _decode(data)
    lines = text.splitlines()
    header_index = next((i for i, line in enumerate(lines) if line.strip()), None)
    if header_index is None:
        out.problems.append((0, "Die Datei ist leer."))
        return out
    delimiter = ";" if lines[header_index].count(";") > lines[header_index].count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    columns: dict[str, int] = {}
    line = 0
    try:
        for row in reader:
            start, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if header is None:
                header = row
                for index, name in enumerate(row):
                    key = _CSV_ALIASES.get(_normalize_label(name))
                    if key and key not in columns:
                        columns[key] = index
                missing = [COLUMN_LABELS[k] for k in REQUIRED_COLUMNS if k not in columns]
                if missing:
                    out.problems.append(
                        (start, "Pflichtspalten fehlen in der Kopfzeile: " + ", ".join(missing))
                    )
                    return out
                continue
            if len(row) != len(header) and not (
                len(row) > len(header) and not any(c.strip() for c in row[len(header) :])
            ):
                out.problems.append(
                    (start, f"{len(row)} Felder statt {len(header)} wie in der Kopfzeile.")
                )
                continue
            values = {key: row[index] for key, index in columns.items()}
            if _satzart(values["satzart"]) is None:
                out.problems.append((start, f"Unbekannte Satzart „{values['satzart'].strip()}“."))
                continue
            out.rows.append((start, values))
    except csv.Error as exc:
        out.problems.append((reader.line_num, f"Die CSV-Datei ist fehlerhaft: {exc}"))
    return out


def _xlsx_records(data: bytes) -> tuple[_Records, date | None]:
    out = _Records()
    try:
        from openpyxl import load_workbook
    except ImportError:  # pragma: no cover - dependency missing
        raise DirectoryFormatError(
            [(0, "XLSX-Dateien können nicht gelesen werden (openpyxl fehlt).")]
        ) from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds (zip, xml, key errors)
        raise DirectoryFormatError(
            [(0, f"Die Excel-Datei kann nicht gelesen werden ({type(exc).__name__}).")]
        ) from None
    try:
        names = workbook.sheetnames
        name = SHEET_NAME if SHEET_NAME in names else None
        if name is None:
            name = next((n for n in names if "gemeinden" in n.casefold()), None)
        if name is None:
            raise DirectoryFormatError(
                [(0, f"Tabellenblatt „{SHEET_NAME}“ fehlt (vorhanden: {', '.join(names)}).")]
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rows = [tuple(r) for r in workbook[name].iter_rows(min_row=1, values_only=True)]
    finally:
        workbook.close()
    return _xlsx_rows_to_records(rows, out)


def _xlsx_rows_to_records(
    rows: list[tuple[Any, ...]], out: _Records
) -> tuple[_Records, date | None]:
    # 1. the header row: the first row with a cell labelled "Satzart"
    header_row = satz_col = None
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            if isinstance(cell, str) and _normalize_label(cell).startswith("satzart"):
                header_row, satz_col = r, c
                break
        if header_row is not None:
            break
    if header_row is None or satz_col is None:
        out.problems.append((0, "Keine Kopfzeile mit der Spalte „Satzart“ gefunden."))
        return out, None
    # 2. data rows start at the first row below whose Satzart cell holds a record type
    first_data = next(
        (
            r
            for r in range(header_row + 1, len(rows))
            if satz_col < len(rows[r]) and _satzart(rows[r][satz_col]) is not None
        ),
        len(rows),
    )
    # 3. column map from all header rows (labels are spread over several rows)
    width = max((len(row) for row in rows[header_row:first_data]), default=0)
    labels: list[list[str]] = [[] for _ in range(width)]
    for row in rows[header_row:first_data]:
        for c, cell in enumerate(row):
            if not _is_empty(cell):
                labels[c].append(_normalize_label(cell))
    columns: dict[str, int] = {}
    for c, texts in enumerate(labels):
        key = _xlsx_column_key(texts)
        if key and key not in columns:
            columns[key] = c
    missing = [COLUMN_LABELS[k] for k in REQUIRED_COLUMNS if k not in columns]
    if missing:
        out.problems.append(
            (header_row + 1, "Pflichtspalten fehlen in den Kopfzeilen: " + ", ".join(missing))
        )
        return out, None
    # 4. Gebietsstand from the title rows ("Gebietsstand: 31.12.2020" preferred, else the
    #    first date, e.g. "... Gemeinden ... am 31.12.2020 (4. Quartal)")
    detected: date | None = None
    for row in rows[:first_data]:
        for cell in row:
            found: date | None = None
            if isinstance(cell, datetime):
                found = cell.date()
            elif isinstance(cell, date):
                found = cell
            elif isinstance(cell, str):
                found = _find_date(cell)
                if found and "gebietsstand" in cell.casefold():
                    detected = found
                    break
            detected = detected or found
        else:
            continue
        break
    # 5. data rows; anything without a record type (blank lines, footnotes) is not data
    for r in range(first_data, len(rows)):
        row = rows[r]
        if satz_col >= len(row) or _satzart(row[satz_col]) is None:
            continue
        values = {key: (row[c] if c < len(row) else None) for key, c in columns.items()}
        out.rows.append((r + 1, values))
    return out, detected


def _xlsx_column_key(texts: list[str]) -> str | None:
    for t in texts:
        if t.startswith("satzart"):
            return "satzart"
        if t.startswith("textkenn"):
            return "textkennzeichen"
        if t in ("land", "rb", "kreis", "vb"):
            return t
        if t in ("gem", "gemeinde"):
            return "gemeinde"
        if t.startswith("gemeindename"):
            return "gemeindename"
        if t.startswith("flaeche"):
            return "flaeche"
        if t == "insgesamt" or t.startswith("bevoelkerunginsgesamt"):
            return "bevoelkerung"
        if t.startswith("postleitzahl") or t == "plz":
            return "postleitzahl"
    return None


def _build(records: _Records) -> tuple[list[Municipality], list[Problem], list[Problem]]:
    problems = list(records.problems)
    skipped: list[Problem] = []
    rb_names: dict[str, str] = {}
    kreis_names: dict[str, str] = {}
    pending: list[tuple[int, dict[str, Any]]] = []

    for line, values in records.rows:
        satzart = _satzart(values.get("satzart"))
        land = _code(values.get("land"), 2)
        if land is None:
            problems.append((line, f"Landesschlüssel „{_text(values.get('land'))}“ ist ungültig."))
            continue
        if land != LAND_HESSEN or satzart in ("10", "30", "50"):
            continue
        if satzart == SATZART_RB:
            rb = _code(values.get("rb"), 1)
            name = _text(values.get("gemeindename"))
            if rb is None or not name:
                problems.append((line, "Regierungsbezirk (Satzart 20) ohne gültigen Schlüssel."))
            else:
                rb_names[rb] = normalize_regierungsbezirk(name)
        elif satzart == SATZART_KREIS:
            rb = _code(values.get("rb"), 1)
            kreis = _code(values.get("kreis"), 2)
            name = _text(values.get("gemeindename"))
            if rb is None or kreis is None or not name:
                problems.append((line, "Kreis (Satzart 40) ohne gültigen Schlüssel oder Namen."))
            else:
                kreis_names[rb + kreis] = name
        else:
            pending.append((line, values))

    municipalities: list[Municipality] = []
    seen: dict[str, int] = {}
    for line, values in pending:
        parts: dict[str, str] = {}
        row_problems: list[str] = []
        for key, width in _CODE_WIDTH.items():
            code = _code(values.get(key), width)
            if code is None:
                row_problems.append(
                    f"Gemeindeschlüssel ungültig: {COLUMN_LABELS[key]} „{_text(values.get(key))}“"
                    f" ({width} Ziffer{'n' if width > 1 else ''} erwartet)."
                )
            else:
                parts[key] = code
        name = _text(values.get("gemeindename"))
        if not name:
            row_problems.append("Gemeindename fehlt.")
        raw_population = values.get("bevoelkerung")
        population: int | None = None
        if not _is_empty(raw_population):
            try:
                population = parse_int_de(raw_population)
            except ValueError:
                row_problems.append(
                    f"Bevölkerungszahl „{_text(raw_population)}“ ist keine ganze Zahl."
                )
            else:
                if population < 0:
                    row_problems.append("Bevölkerungszahl darf nicht negativ sein.")
        flaeche: Decimal | None = None
        raw_flaeche = values.get("flaeche")
        if not _is_empty(raw_flaeche):
            try:
                flaeche = parse_decimal_de(raw_flaeche)
            except ValueError:
                row_problems.append(f"Fläche „{_text(raw_flaeche)}“ ist keine Zahl.")
        rb = parts.get("rb")
        if rb is not None and rb not in RB_CODE_LANDESTEIL:
            row_problems.append(f"Regierungsbezirk „{rb}“ gibt es in Hessen nicht.")
        if row_problems:
            problems.extend((line, msg) for msg in row_problems)
            continue
        assert rb is not None
        if not population:
            skipped.append((line, f"{name}: unbewohnt (Bevölkerung 0 oder leer), ausgelassen."))
            continue
        ags = validate_ags(parts["land"] + rb + parts["kreis"] + parts["gemeinde"])
        if ags in seen:
            problems.append((line, f"Gemeindeschlüssel {ags} doppelt (wie Zeile {seen[ags]})."))
            continue
        seen[ags] = line
        kreis_name = kreis_names.get(rb + parts["kreis"])
        if kreis_name is None:
            problems.append(
                (line, f"Kreis {ags[:5]} fehlt im Verzeichnis (kein Satz der Satzart 40).")
            )
            continue
        typ = GEMEINDE_TYP.get(_text(values.get("textkennzeichen")))
        municipalities.append(
            Municipality(
                ags=ags,
                name=name,
                kreis=kreis_name,
                regierungsbezirk=rb_names.get(rb, RB_CODE_NAME[rb]),
                landesteil=RB_CODE_LANDESTEIL[rb],
                einwohner=population,
                flaeche_km2=flaeche,
                gemeinde_typ=typ,
            )
        )
    if not problems and not municipalities:
        problems.append(
            (0, "Die Datei enthält keine bewohnten hessischen Gemeinden (Satzart 60, Land 06).")
        )
    municipalities.sort(key=lambda m: m.ags)
    return municipalities, skipped, problems


# --------------------------------------------------------------------------- Finanzkraft


_FK_ALIASES: Mapping[str, str] = {
    "ags": "ags",
    "gemeindeschluessel": "ags",
    "jahr": "jahr",
    "finanzkraftjeeinwohner": "finanzkraft_je_einwohner",
    "finanzkraft": "finanzkraft_je_einwohner",
}


def parse_finanzkraft_csv(data: bytes) -> tuple[list[FinanzkraftRow], list[Problem]]:
    """Parse ``ags,jahr,finanzkraft_je_einwohner`` (comma or semicolon separated).

    The separator is taken from the header line. Amounts may use a decimal comma (in a
    comma-separated file the field must then be quoted); in semicolon files a point before
    exactly three digits is a thousands separator (``1.234,56``). Returns the valid rows and
    the problems per line; the caller decides whether to refuse the file when problems exist.
    Duplicate (ags, jahr) pairs are reported; only the first is kept.
    """
    rows: list[FinanzkraftRow] = []
    problems: list[Problem] = []
    text = _decode(data)
    lines = text.splitlines()
    header_index = next((i for i, line in enumerate(lines) if line.strip()), None)
    if header_index is None:
        return rows, [(0, "Die Datei ist leer.")]
    semicolon = lines[header_index].count(";") > lines[header_index].count(",")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";" if semicolon else ",")
    header: list[str] | None = None
    columns: dict[str, int] = {}
    seen: dict[tuple[str, int], int] = {}
    line = 0
    try:
        for row in reader:
            start, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if header is None:
                header = row
                for index, name in enumerate(row):
                    key = _FK_ALIASES.get(_normalize_label(name))
                    if key and key not in columns:
                        columns[key] = index
                missing = [
                    k for k in ("ags", "jahr", "finanzkraft_je_einwohner") if k not in columns
                ]
                if missing:
                    return rows, [(start, "Pflichtspalten fehlen: " + ", ".join(missing))]
                continue
            if len(row) != len(header):
                problems.append(
                    (start, f"{len(row)} Felder statt {len(header)} wie in der Kopfzeile.")
                )
                continue
            row_problems: list[str] = []
            ags_raw = row[columns["ags"]].strip()
            try:
                ags = validate_ags(ags_raw)
            except ValueError as exc:
                row_problems.append(str(exc))
                ags = ""
            jahr_raw = row[columns["jahr"]].strip()
            jahr = int(jahr_raw) if re.fullmatch(r"\d{4}", jahr_raw) else None
            if jahr is None or not 1990 <= jahr <= 2100:
                row_problems.append(f"Jahr „{jahr_raw}“ ist ungültig (vierstellig erwartet).")
            fk_raw = row[columns["finanzkraft_je_einwohner"]]
            fk: Decimal | None = None
            try:
                fk = parse_decimal_de(fk_raw, dot_thousands=semicolon)
            except ValueError:
                row_problems.append(f"Finanzkraft „{fk_raw.strip()}“ ist keine Zahl.")
            else:
                if fk < 0:
                    row_problems.append("Finanzkraft darf nicht negativ sein.")
            if row_problems:
                problems.extend((start, msg) for msg in row_problems)
                continue
            assert jahr is not None and fk is not None
            if (ags, jahr) in seen:
                problems.append(
                    (start, f"{ags}/{jahr} doppelt (schon in Zeile {seen[(ags, jahr)]}).")
                )
                continue
            seen[(ags, jahr)] = start
            rows.append(FinanzkraftRow(ags=ags, jahr=jahr, finanzkraft_je_einwohner=fk))
    except csv.Error as exc:
        problems.append((reader.line_num, f"Die CSV-Datei ist fehlerhaft: {exc}"))
    if header is None:  # pragma: no cover - header_index guarantees a header
        problems.append((0, "Kopfzeile fehlt."))
    return rows, problems


def finanzkraft_for_year(rows: Iterable[FinanzkraftRow], jahr: int) -> dict[str, Decimal]:
    """``{ags: Finanzkraft je Einwohner}`` of one year, as :func:`allocate` expects it."""
    return {r.ags: r.finanzkraft_je_einwohner for r in rows if r.jahr == jahr}


def iter_problems(problems: Iterable[Problem]) -> Iterator[str]:
    """Problems as German display lines (``"Zeile 3: ..."``)."""
    return (_format_problem(p) for p in problems)
