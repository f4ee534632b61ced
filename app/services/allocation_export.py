"""Export of an allocation run (simulation or release) as CSV (German Excel dialect) or XLSX."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from . import allocation
from .context import Actor
from .platform import Platform

CSV_MIME = "text/csv; charset=utf-8"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
COLUMNS = [
    ("ags", "AGS"), ("name", "Gemeinde"), ("kreis", "Kreis"), ("landesteil", "Landesteil"),
    ("einwohner", "Einwohner"), ("groessenklasse", "Größenklasse"),
    ("finanzkraft", "Finanzkraft je Einwohner (€)"), ("hfag_faktor", "HFAG-Faktor"),
    ("finanzkraft_faktor", "Finanzkraftfaktor g"), ("zuweisung_cents", "Zuweisung (€)"),
    ("volumen_cents", "Mindestvolumen (€)"), ("eigenanteil_cents", "Eigenanteil (€)"),
    ("vorjahr_cents", "Zuweisung Vorjahr (€)"), ("differenz_cents", "Differenz zum Vorjahr (€)"),
    ("differenz_prozent", "Differenz zum Vorjahr (%)"),
]
DECIMALS = {"finanzkraft", "hfag_faktor", "finanzkraft_faktor", "differenz_prozent"}


def _euro(cents: int | None) -> Decimal | None:
    return None if cents is None else (Decimal(cents) / 100).quantize(Decimal("0.01"))


def _value(item: dict, key: str) -> object:
    value = item.get(key)
    if value is None:
        return None
    if key.endswith("_cents"):
        return _euro(value)
    if key in DECIMALS:
        return Decimal(str(value))
    return value


def _filename(run: dict, ext: str) -> str:
    kind = "Simulation" if run["kind"] == "simulation" else "Freigabe"
    return f"Zuweisung_{run['jahr']}_{kind}_{run['id']}.{ext}"


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f").replace(".", ",")
    return str(value)


def to_csv(run: dict) -> bytes:
    """Semicolon-separated, decimal comma, UTF-8 with BOM (opens correctly in German Excel)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([label for _, label in COLUMNS])
    for item in run["zuweisungen"]:
        writer.writerow([_csv_cell(_value(item, key)) for key, _ in COLUMNS])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(run: dict) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "Zuweisungen"
    ws.append([label for _, label in COLUMNS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for item in run["zuweisungen"]:
        ws.append([_value(item, key) for key, _ in COLUMNS])
    for col, (key, _) in enumerate(COLUMNS, start=1):
        letter = ws.cell(row=1, column=col).column_letter
        ws.column_dimensions[letter].width = 14 if key != "name" else 40
        if key.endswith("_cents") or key == "finanzkraft":
            for row in ws.iter_rows(min_row=2, min_col=col, max_col=col):
                row[0].number_format = "#,##0.00"
    ws.freeze_panes = "A2"
    _summary_sheet(wb.create_sheet("Verteilung"), run)
    _parameter_sheet(wb.create_sheet("Parameter"), run)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _summary_sheet(ws, run: dict) -> None:  # noqa: ANN001
    ws.append(["Gruppe", "Anzahl", "Summe (€)", "Einwohner", "Minimum (€)", "Median (€)",
               "Maximum (€)", "€ je Einwohner"])
    v = run["verteilung"]
    groups = [("Gesamt", v["gesamt"])]
    groups += [(f"Landesteil {k}", g) for k, g in v["landesteile"].items()]
    groups += [(f"Größenklasse {k}", g) for k, g in v["groessenklassen"].items()]
    for label, g in groups:
        ws.append([label, g["anzahl"], _euro(g["summe_cents"]), g["einwohner"],
                   _euro(g["min_cents"]), _euro(g["median_cents"]), _euro(g["max_cents"]),
                   Decimal(g["euro_je_einwohner"]) if g["euro_je_einwohner"] else None])


def _parameter_sheet(ws, run: dict) -> None:  # noqa: ANN001
    ws.append(["Parameter", "Wert"])
    ws.append(["Programmjahr", run["jahr"]])
    ws.append(["Berechnung", f"{run['kind']} {run['id']} ({run['status']})"])
    for key, value in sorted(run["parameters"].items()):
        ws.append([key, value if isinstance(value, int | str) else str(value)])


def export(platform: Platform, actor: Actor, run_id: int, fmt: str) -> tuple[bytes, str, str]:
    """(content, mime type, file name) of a run's export."""
    run = allocation.export_data(platform, actor, run_id)
    if fmt == "xlsx":
        return to_xlsx(run), XLSX_MIME, _filename(run, "xlsx")
    return to_csv(run), CSV_MIME, _filename(run, "csv")
