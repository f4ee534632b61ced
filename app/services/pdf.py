"""PDF letters (Bescheide, reports) from Jinja templates in app/templates/pdf/ with WeasyPrint.

    pdf_bytes = render_pdf("bewilligungsbescheid.html", {"aktenzeichen": "…", …})

Templates extend `base.html` (A4, letter layout of the Landesverwaltung: sender HMinD, address
field, Aktenzeichen, date, subject, body, Nebenbestimmungen, Rechtsbehelfsbelehrung). Filters:
`euro` (cents → "1.234,56 €"), `datum` (ISO date/datetime → "31.12.2026"), `anteil` (part, whole → "75,00 %").
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from app.domain.money import format_euro

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates" / "pdf"
TEMPLATE_NAME = re.compile(r"^[a-z0-9_]+\.html$")
ABSENDER = {
    "behoerde": "Hessisches Ministerium für Digitalisierung und Innovation",
    "kurz": "HMinD",
    "abteilung": "Bewilligungsstelle Digitalisierung der Kommunen",
    "anschrift": "Postfach 31 80 · 65021 Wiesbaden",
    "telefon": "0611 000000-0",
    "email": "foerderung-digitalisierung@digitales.hessen.example",
}


class TemplateNotFound(ValueError):
    """The name is not a template of app/templates/pdf/."""


def euro(cents: object) -> str:
    if cents is None or cents == "":
        return ""
    return format_euro(int(cents))


def datum(value: object) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00")) if "T" in value \
            else date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.date()
    return value.strftime("%d.%m.%Y") if isinstance(value, date) else str(value)


def anteil(part: object, whole: object) -> str:
    """Share in percent, German notation with two decimals: ``75,00 %``."""
    if not whole:
        return ""
    value = (Decimal(int(part)) * 100 / Decimal(int(whole))).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{value:f}".replace(".", ",") + " %"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATE_DIR)),
                      autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["euro"] = euro
    env.filters["datum"] = datum
    env.filters["anteil"] = anteil
    return env


def template_exists(template: str) -> bool:
    return bool(TEMPLATE_NAME.match(template or "")) and (TEMPLATE_DIR / template).is_file()


def render_html(template: str, context: dict) -> str:
    if not template_exists(template):
        raise TemplateNotFound(f"Die Druckvorlage „{template}“ gibt es nicht.")
    values = {"absender": ABSENDER, "heute": date.today().isoformat(), **context}
    return environment().get_template(template).render(**values)


def render_pdf(template: str, context: dict) -> bytes:
    """Render a template of app/templates/pdf/ to PDF bytes (A4)."""
    from weasyprint import HTML  # heavy import (~0.5 s), only where PDFs are made

    html = render_html(template, context)
    return HTML(string=html, base_url=str(TEMPLATE_DIR)).write_pdf()
