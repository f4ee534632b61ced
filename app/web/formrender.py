"""Forms from JSON Schema + UI schema: a field tree for the Jinja macros, and the way back from
posted HTML form fields to typed JSON data (German number and date input).

Field names are the JSON pointer parts joined by dots under the prefix "f" ("f.budget.0.betrag"),
ids are "feld-budget-0-betrag". Supported: text, textarea, e-mail, number, currency (Euro; the
value is whole or decimal Euro, or integer cents with ui:options.cents), date, select, radio,
checkbox, checkbox groups (arrays of enum values), nested objects, arrays of objects or scalars as
repeatable rows, file upload, and read-only fields/sections (readOnly or ui:readonly).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal

LOCALE = "de_DE"
PREFIX = "f"
BERLIN = ZoneInfo("Europe/Berlin")


@dataclass
class Field:
    kind: str
    path: tuple
    title: str
    description: str = ""
    required: bool = False
    value: Any = None
    options: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    children: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    attrs: dict = field(default_factory=dict)
    readonly: bool = False
    can_add: bool = False
    can_remove: bool = False
    item_title: str = ""
    add_label: str = ""
    autofocus: bool = False
    display: str = ""
    columns: list = field(default_factory=list)

    @property
    def name(self) -> str:
        return ".".join([PREFIX, *map(str, self.path)])

    @property
    def id(self) -> str:
        return field_id(self.path)

    @property
    def pointer(self) -> str:
        return pointer(self.path)

    @property
    def error_id(self) -> str:
        return self.id + "-fehler"

    @property
    def hint_id(self) -> str:
        return self.id + "-hinweis"

    @property
    def described_by(self) -> str:
        ids = []
        if self.description:
            ids.append(self.hint_id)
        if self.errors:
            ids.append(self.error_id)
        return " ".join(ids)


@dataclass
class FormView:
    fields: list[Field]
    summary: list[tuple[str, str]]
    multipart: bool = False

    @property
    def has_errors(self) -> bool:
        return bool(self.summary)


def field_id(path: tuple) -> str:
    return "feld-" + "-".join(re.sub(r"[^A-Za-z0-9_-]", "_", str(p)) for p in path) if path else "formular"


def pointer(path: tuple) -> str:
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path) if path else ""


def split_pointer(ptr: str) -> tuple:
    if not ptr:
        return ()
    parts = [p.replace("~1", "/").replace("~0", "~") for p in ptr.lstrip("/").split("/")]
    return tuple(int(p) if p.isdigit() else p for p in parts)


# --- schema helpers ---------------------------------------------------------------------------------

class Schema:
    """Resolves local $refs against the root schema."""

    def __init__(self, root: dict):
        self.root = root or {}

    def resolve(self, node: Any, depth: int = 0) -> dict:
        if not isinstance(node, dict):
            return {}
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/") and depth < 20:
            target: Any = self.root
            for part in split_pointer(ref[1:]):
                target = target.get(str(part), {}) if isinstance(target, dict) else {}
            merged = {**self.resolve(target, depth + 1), **{k: v for k, v in node.items() if k != "$ref"}}
            return merged
        return node


def schema_type(node: dict) -> str | None:
    t = node.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), None)
    if t is None and "properties" in node:
        return "object"
    return t


def enum_options(node: dict, ui: dict) -> list[tuple[Any, str]] | None:
    if "enum" in node:
        values = list(node["enum"])
        labels = ui.get("ui:enumNames") or node.get("enumNames") or node.get("x-enumNames") or []
        return [(v, str(labels[i]) if i < len(labels) else _label(v)) for i, v in enumerate(values)]
    for key in ("oneOf", "anyOf"):
        alts = node.get(key)
        if isinstance(alts, list) and alts and all(isinstance(a, dict) and "const" in a for a in alts):
            return [(a["const"], str(a.get("title", _label(a["const"])))) for a in alts]
    return None


def _label(value: Any) -> str:
    if isinstance(value, bool):
        return "Ja" if value else "Nein"
    return str(value)


def item_labels(ui: dict) -> dict:
    """ui:enumNames of a checkbox group may sit on the array or on its items."""
    items = ui.get("items") if isinstance(ui.get("items"), dict) else {}
    return {"ui:enumNames": ui.get("ui:enumNames") or items.get("ui:enumNames") or []}


def ordered(node: dict, ui: dict) -> list[str]:
    props = list((node.get("properties") or {}).keys())
    order = ui.get("ui:order")
    if not isinstance(order, list):
        return props
    head = [p for p in order if p in props]
    if "*" in order:
        star = order.index("*")
        before = [p for p in order[:star] if p in props]
        after = [p for p in order[star + 1:] if p in props]
        rest = [p for p in props if p not in before and p not in after]
        return before + rest + after
    return head + [p for p in props if p not in head]


def _ui(ui: Any, key: Any) -> dict:
    return ui.get(key, {}) if isinstance(ui, dict) and isinstance(ui.get(key), dict) else {}


def _opt(ui: dict, name: str, default: Any = None) -> Any:
    options = ui.get("ui:options") if isinstance(ui.get("ui:options"), dict) else {}
    return options.get(name, ui.get(f"ui:{name}", default))


def widget_of(node: dict, ui: dict) -> str:
    """The field kind for a schema node."""
    widget = ui.get("ui:widget")
    t = schema_type(node)
    if widget == "hidden":
        return "hidden"
    if widget == "file" or node.get("format") in ("data-url", "binary") or "contentMediaType" in node:
        return "file"
    if t == "array":
        items = node.get("items") if isinstance(node.get("items"), dict) else {}
        if enum_options(items, {}) is not None:
            return "checkboxes"
        return "array"
    if t == "object":
        return "object"
    options = enum_options(node, ui)
    if options is not None:
        if widget in ("radio", "select"):
            return widget
        return "radio" if len(options) <= 4 else "select"
    if t == "boolean":
        return "checkbox"
    if t in ("integer", "number"):
        return "currency" if widget == "currency" else "number"
    if widget in ("textarea", "date", "email", "password"):
        return "text" if widget == "password" else widget
    if node.get("format") == "date":
        return "date"
    if node.get("format") == "date-time" or widget == "datetime":
        return "datetime"
    if node.get("format") == "email":
        return "email"
    return "text"


# --- display formatting -----------------------------------------------------------------------------

def format_number(value: Any, *, grouping: bool = False, decimals: int | None = None) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return "" if value is None else str(value)
    if decimals is not None:
        pattern = "#,##0." + "0" * decimals if grouping else "0." + "0" * decimals
        return format_decimal(value, format=pattern, locale=LOCALE)
    return format_decimal(value, format="#,##0.###" if grouping else "0.###", locale=LOCALE)


def format_count(value: Any) -> str:
    """A plain number for reading: thousands are separated from five digits on (DIN 5008:
    "2027", "9500", "12.500"), so years and small counts read as written."""
    large = isinstance(value, (int, float, Decimal)) and not isinstance(value, bool) \
        and abs(value) >= 10_000
    return format_number(value, grouping=large)


def currency_value(value: Any, cents: bool) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return None
    amount = Decimal(str(value))
    return amount / 100 if cents else amount


def format_money(value: Any, cents: bool = False) -> str:
    amount = currency_value(value, cents)
    if amount is None:
        return "" if value is None else str(value)
    return format_currency(amount, "EUR", locale=LOCALE)


def _aware(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=BERLIN)


def local_datetime_input(value: str) -> str:
    """RFC 3339 → value of <input type=datetime-local> in Europe/Berlin (raw text unchanged)."""
    moment = _aware(value)
    return moment.astimezone(BERLIN).strftime("%Y-%m-%dT%H:%M") if moment else value


def format_iso_datetime(value: Any) -> str:
    moment = _aware(value) if isinstance(value, str) else None
    if moment is None:
        return "" if value is None else str(value)
    return moment.astimezone(BERLIN).strftime("%d.%m.%Y, %H:%M") + " Uhr"


def format_iso_date(value: Any) -> str:
    if isinstance(value, str):
        try:
            return format_date(date.fromisoformat(value[:10]), format="dd.MM.yyyy", locale=LOCALE)
        except ValueError:
            return value
    return "" if value is None else str(value)


# --- building the field tree --------------------------------------------------------------------------

class Builder:
    def __init__(self, schema: dict, ui: dict | None, errors: dict[str, list[str]], *,
                 readonly: bool = False, focus: str | None = None,
                 file_label: Callable[[Any], str] | None = None):
        self.s = Schema(schema)
        self.ui = ui or {}
        self.errors = errors
        self.readonly = readonly
        self.focus = focus
        self.file_label = file_label or default_file_label
        self.multipart = False
        self.seen: dict[str, int] = {}

    def build(self, data: Any) -> list[Field]:
        root = self.s.resolve(self.s.root)
        return self.children(root, self.ui, (), data if isinstance(data, dict) else {})

    def children(self, node: dict, ui: dict, path: tuple, data: dict) -> list[Field]:
        required = set(node.get("required") or [])
        result = []
        for name in ordered(node, ui):
            child = self.s.resolve(node["properties"][name])
            child_ui = _ui(ui, name)
            f = self.field(child, child_ui, (*path, name), data.get(name), name in required)
            if f is not None:
                result.append(f)
        return result

    def field(self, node: dict, ui: dict, path: tuple, value: Any, required: bool) -> Field | None:
        kind = widget_of(node, ui)
        if kind == "hidden":
            return None
        title = str(ui.get("ui:title") or node.get("title") or _humanize(path[-1]))
        f = Field(kind=kind, path=path, title=title, required=required, value=value,
                  description=str(ui.get("ui:help") or ui.get("ui:description")
                                  or node.get("description") or ""),
                  readonly=self.readonly or bool(node.get("readOnly") or ui.get("ui:readonly")),
                  errors=list(self.errors.get(pointer(path), [])))
        self.seen.setdefault(f.pointer, len(self.seen))
        getattr(self, f"_{kind}", self._scalar)(f, node, ui, value)
        if f.readonly:
            f.display = self.display(f, node, ui, value)
        return f

    def _object(self, f: Field, node: dict, ui: dict, value: Any) -> None:
        saved = self.readonly
        self.readonly = f.readonly
        f.children = self.children(node, ui, f.path, value if isinstance(value, dict) else {})
        self.readonly = saved

    def _array(self, f: Field, node: dict, ui: dict, value: Any) -> None:
        items = self.s.resolve(node.get("items") or {})
        item_ui = _ui(ui, "items")
        rows = value if isinstance(value, list) else []
        minimum, maximum = int(node.get("minItems", 0)), node.get("maxItems")
        count = len(rows) if isinstance(value, list) else max(minimum, 1)
        if not f.readonly:
            count = max(count, minimum)
        f.item_title = str(_opt(ui, "itemTitle") or items.get("title") or "Eintrag")
        f.add_label = str(_opt(ui, "addLabel") or f"{f.item_title} hinzufügen")
        saved = self.readonly
        self.readonly = f.readonly
        for i in range(count):
            row_value = rows[i] if i < len(rows) else None
            row = self.field(items, item_ui, (*f.path, i), row_value, True)
            if row is not None:
                row.title = f"{f.item_title} {i + 1}"
                f.rows.append(row)
        self.readonly = saved
        if schema_type(items) == "object":
            f.columns = [(n, str(_ui(item_ui, n).get("ui:title") or self.s.resolve(p).get("title")
                                 or _humanize(n)))
                         for n, p in (items.get("properties") or {}).items()
                         if _ui(item_ui, n).get("ui:widget") != "hidden"]
        f.can_add = not f.readonly and (maximum is None or count < int(maximum))
        f.can_remove = not f.readonly and count > minimum

    def _checkboxes(self, f: Field, node: dict, ui: dict, value: Any) -> None:
        items = self.s.resolve(node.get("items") or {})
        chosen = {str(v) for v in value} if isinstance(value, list) else set()
        f.options = [(str(v), label, str(v) in chosen)
                     for v, label in enum_options(items, item_labels(ui)) or []]

    def _scalar(self, f: Field, node: dict, ui: dict, value: Any) -> None:
        options = enum_options(node, ui)
        if options is not None:
            f.options = [(str(v), label, value is not None and str(v) == str(value))
                         for v, label in options]
        if f.kind == "checkbox":
            f.value = value is True or value == "true"
        f.attrs = self._attrs(f, node, ui)
        f.display = self.input_value(f, node, ui, value)

    def _file(self, f: Field, node: dict, ui: dict, value: Any) -> None:
        self.multipart = self.multipart or not f.readonly
        f.attrs = {"accept": str(_opt(ui, "accept", ".pdf,.png,.jpg,.jpeg,.docx,.xlsx,.odt,.ods"))}
        f.display = self.file_label(value) if value not in (None, "", {}) else ""
        f.options = [json.dumps(value, ensure_ascii=False)] if value not in (None, "", {}) else []

    def _attrs(self, f: Field, node: dict, ui: dict) -> dict:
        attrs: dict = {}
        if f.kind in ("text", "textarea", "email") and node.get("maxLength"):
            attrs["maxlength"] = node["maxLength"]
        if f.kind == "number":
            attrs["inputmode"] = "numeric" if schema_type(node) == "integer" else "decimal"
        if f.kind == "currency":
            attrs["inputmode"] = "decimal"
        if ui.get("ui:placeholder"):
            attrs["placeholder"] = str(ui["ui:placeholder"])
        if ui.get("ui:autocomplete"):
            attrs["autocomplete"] = str(ui["ui:autocomplete"])
        elif f.kind == "email":
            attrs["autocomplete"] = "email"
        if f.kind == "textarea":
            attrs["rows"] = int(_opt(ui, "rows", 5))
        return attrs

    def input_value(self, f: Field, node: dict, ui: dict, value: Any) -> str:
        if value is None or isinstance(value, (dict, list)):
            return ""
        if isinstance(value, str):
            return local_datetime_input(value) if f.kind == "datetime" else value
        if f.kind == "currency":
            amount = currency_value(value, bool(_opt(ui, "cents")))
            whole = amount == amount.to_integral_value() and not _opt(ui, "cents")
            return format_number(amount, grouping=True, decimals=None if whole else 2)
        if f.kind == "number":
            return format_number(value)
        return _label(value) if isinstance(value, bool) else str(value)

    def display(self, f: Field, node: dict, ui: dict, value: Any) -> str:
        """Read-only text of a scalar value (money and dates in de_DE)."""
        if value is None or value == "":
            return "–"
        if f.kind == "currency":
            return format_money(value, bool(_opt(ui, "cents")))
        if f.kind == "number":
            return format_count(value)
        if f.kind == "date":
            return format_iso_date(value)
        if f.kind == "datetime":
            return format_iso_datetime(value)
        if f.kind in ("radio", "select"):
            return next((label for v, label, _ in f.options if v == str(value)), str(value))
        if f.kind == "checkboxes":
            return ", ".join(label for _, label, chosen in f.options if chosen) or "–"
        if f.kind == "checkbox":
            return "Ja" if value is True else "Nein"
        if f.kind == "file":
            return f.display or "–"
        if isinstance(value, (dict, list)):
            return ""
        return str(value)


def default_file_label(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("filename") or value.get("name") or value.get("document_id") or "Datei")
    return f"Dokument {value}"


def document_labeler(docs: list[dict]) -> Callable[[Any], str]:
    """File widget values (document id, its string, or {document_id, filename}) → file name."""
    names = {d["id"]: d["filename"] for d in docs}

    def label(value: Any) -> str:
        doc_id = value.get("document_id") if isinstance(value, dict) else value
        try:
            return names.get(int(doc_id)) or default_file_label(value)
        except (TypeError, ValueError):
            return default_file_label(value)

    return label


def _humanize(name: Any) -> str:
    text = str(name).replace("_", " ").strip()
    return text[:1].upper() + text[1:] if text else str(name)


def errors_by_pointer(errors: list[dict] | None) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for e in errors or []:
        result.setdefault(str(e.get("path") or ""), []).append(str(e.get("message") or ""))
    return result


def with_defaults(schema: dict, data: Any) -> Any:
    """The data a form opens with: missing keys take the schema's `default` (at every object
    level), so a person starts from the values the model proposes."""
    s = Schema(schema or {})

    def fill(node: dict, value: Any, depth: int = 0) -> Any:
        node = s.resolve(node)
        if depth > 20:  # recursive schemas: no defaults below this depth
            return value
        if value is None and "default" in node:
            value = copy.deepcopy(node["default"])
        if node.get("type") == "object" and isinstance(node.get("properties"), dict):
            base = dict(value) if isinstance(value, dict) else ({} if value is None else value)
            if not isinstance(base, dict):
                return base
            for name, child in node["properties"].items():
                filled = fill(child, base.get(name), depth + 1)
                if filled is not None:
                    base[name] = filled
            return base or value
        return value

    return fill(s.root, data if isinstance(data, dict) else {})


def build_form(schema: dict, ui: dict | None, data: Any, errors: list[dict] | None = None, *,
               readonly: bool = False, focus: str | None = None,
               file_label: Callable[[Any], str] | None = None) -> FormView:
    """The field tree plus the error summary (each message linked to its field, or to the nearest
    rendered ancestor)."""
    by_pointer = errors_by_pointer(errors)
    builder = Builder(schema or {}, ui, by_pointer, readonly=readonly, focus=focus,
                      file_label=file_label)
    fields = builder.build(data)
    if focus:
        _focus(fields, focus)
    located = []
    for e in errors or []:
        path = split_pointer(str(e.get("path") or ""))
        while path and pointer(path) not in builder.seen:
            path = path[:-1]
        message = str(e.get("message") or "")
        located.append((builder.seen.get(pointer(path), -1), "#" + field_id(path), message))
        if path and pointer(path) != str(e.get("path") or ""):
            _attach(fields, pointer(path), message)
    summary = [(href, message) for _, href, message in sorted(located, key=lambda x: x[0])]
    return FormView(fields=fields, summary=summary, multipart=builder.multipart)


def _attach(fields: list[Field], ptr: str, message: str) -> None:
    for f in fields:
        if f.pointer == ptr:
            if message not in f.errors:
                f.errors.append(message)
            return
        _attach(f.children, ptr, message)
        _attach(f.rows, ptr, message)


# --- parsing posted fields --------------------------------------------------------------------------

class ParseError(Exception):
    pass


_GROUPED = re.compile(r"^-?\d{1,3}(\.\d{3})+$")


def parse_number(raw: str, *, integer: bool) -> int | float | Decimal:
    """German (or plain) number input: "80.000", "80000", "1.234,56", "1234.5"."""
    text = raw.replace("\u00a0", "").replace(" ", "").replace("€", "").replace("EUR", "").strip()
    if "," in text:
        text = text.replace(".", "").replace(",", ".")
    elif _GROUPED.match(text):
        text = text.replace(".", "")
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise ParseError("keine gültige Zahl") from exc
    if not value.is_finite():
        raise ParseError("keine gültige Zahl")
    if value != 0 and value.adjusted() > 15:
        raise ParseError("die Zahl ist zu groß")
    if integer:
        if value != value.to_integral_value():
            raise ParseError("muss eine ganze Zahl sein")
        return int(value)
    return int(value) if value == value.to_integral_value() else float(value)


def parse_date(raw: str) -> str:
    text = raw.strip()
    m = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", text)
    try:
        if m:
            return date(int(m.group(3)), int(m.group(2)), int(m.group(1))).isoformat()
        return date.fromisoformat(text).isoformat()
    except ValueError as exc:
        raise ParseError("kein gültiges Datum (TT.MM.JJJJ)") from exc


def parse_datetime(raw: str) -> str:
    """<input type=datetime-local> (Europe/Berlin) or "TT.MM.JJJJ HH:MM" → RFC 3339 with offset."""
    text = raw.strip()
    m = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4}),?\s+(\d{1,2}):(\d{2})(?:\s*Uhr)?", text)
    try:
        if m:
            value = datetime(int(m.group(3)), int(m.group(2)), int(m.group(1)),
                             int(m.group(4)), int(m.group(5)))
        else:
            value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ParseError("kein gültiger Zeitpunkt (TT.MM.JJJJ HH:MM)") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=BERLIN)
    return value.isoformat(timespec="seconds")


class Parser:
    """Posted fields (a werkzeug MultiDict) → JSON data; unparsable input is kept as text and
    reported with a German message at its field."""

    def __init__(self, schema: dict, ui: dict | None, form, *, files=None,  # noqa: ANN001
                 store_file: Callable[[tuple, Any], Any] | None = None, keep_empty_rows: bool = False):
        self.s = Schema(schema)
        self.ui = ui or {}
        self.form = form
        self.files = files
        self.store_file = store_file
        self.keep_empty_rows = keep_empty_rows
        self.errors: list[dict] = []

    def parse(self, existing: dict | None) -> dict:
        root = self.s.resolve(self.s.root)
        return self.object(root, self.ui, (), existing if isinstance(existing, dict) else {})

    def name(self, path: tuple) -> str:
        return ".".join([PREFIX, *map(str, path)])

    def object(self, node: dict, ui: dict, path: tuple, existing: dict) -> dict:
        result: dict = {}
        for prop in ordered(node, ui):
            child = self.s.resolve(node["properties"][prop])
            child_ui = _ui(ui, prop)
            old = existing.get(prop) if isinstance(existing, dict) else None
            if child.get("readOnly") or child_ui.get("ui:readonly") or widget_of(child, child_ui) == "hidden":
                if old is not None:
                    result[prop] = old
                continue
            present, value = self.value(child, child_ui, (*path, prop), old)
            if present:
                result[prop] = value
        return result

    def value(self, node: dict, ui: dict, path: tuple, old: Any) -> tuple[bool, Any]:
        kind = widget_of(node, ui)
        name = self.name(path)
        if kind == "object":
            value = self.object(node, ui, path, old if isinstance(old, dict) else {})
            return bool(value) or self.keep_empty_rows, value
        if kind == "array":
            return True, self.array(node, ui, path, old)
        if kind == "checkboxes":
            items = self.s.resolve(node.get("items") or {})
            chosen = set(self.form.getlist(name))
            return True, [v for v, _ in enum_options(items, item_labels(ui)) or [] if str(v) in chosen]
        if kind == "checkbox":
            return True, name in self.form
        if kind == "file":
            return self.file(node, path, name)
        raw = self.form.get(name)
        if raw is None or not str(raw).strip():
            return False, None
        return True, self.scalar(node, ui, path, kind, str(raw).strip())

    def scalar(self, node: dict, ui: dict, path: tuple, kind: str, raw: str) -> Any:
        title = str(ui.get("ui:title") or node.get("title") or _humanize(path[-1]))
        options = enum_options(node, ui)
        if options is not None:
            return next((v for v, _ in options if str(v) == raw), raw)
        try:
            if kind == "currency":
                cents = bool(_opt(ui, "cents"))
                amount = parse_number(raw, integer=False)
                if cents:
                    value = Decimal(str(amount)) * 100
                    if value != value.to_integral_value():
                        raise ParseError("darf höchstens zwei Nachkommastellen haben")
                    return int(value)
                return parse_number(raw, integer=schema_type(node) == "integer")
            if kind == "number":
                return parse_number(raw, integer=schema_type(node) == "integer")
            if kind == "date":
                return parse_date(raw)
            if kind == "datetime":
                return parse_datetime(raw)
        except ParseError as exc:
            self.errors.append({"path": pointer(path), "message": f"„{title}“: {exc}."})
            return raw
        return raw

    def array(self, node: dict, ui: dict, path: tuple, old: Any) -> list:
        items = self.s.resolve(node.get("items") or {})
        item_ui = _ui(ui, "items")
        count = self._row_count(path)
        result = []
        olds = old if isinstance(old, list) else []
        for i in range(count):
            start = len(self.errors)
            present, value = self.value(items, item_ui, (*path, i), olds[i] if i < len(olds) else None)
            empty = not present or value in ({}, [], None)
            if empty and not self.keep_empty_rows:
                del self.errors[start:]
                continue
            new_index = len(result)
            if new_index != i:
                for e in self.errors[start:]:
                    e["path"] = e["path"].replace(pointer((*path, i)), pointer((*path, new_index)), 1)
            result.append(value if present else ({} if schema_type(items) == "object" else None))
        return result

    def _row_count(self, path: tuple) -> int:
        declared = self.form.get("_rows." + pointer(path))
        prefix = self.name(path) + "."
        seen = [int(k[len(prefix):].split(".")[0]) for k in self.form.keys()
                if k.startswith(prefix) and k[len(prefix):].split(".")[0].isdigit()]
        count = max(seen) + 1 if seen else 0
        if declared and declared.isdigit():
            count = max(count, min(int(declared), 500))
        return min(count, 500)

    def file(self, node: dict, path: tuple, name: str) -> tuple[bool, Any]:
        upload = self.files.get(name) if self.files is not None else None
        if upload is not None and getattr(upload, "filename", "") and self.store_file is not None:
            try:
                return True, self.store_file(path, upload)
            except ParseError as exc:
                self.errors.append({"path": pointer(path), "message": str(exc)})
        keep = self.form.get(name + ".__keep")
        if keep:
            try:
                return True, json.loads(keep)
            except ValueError:
                return False, None
        return False, None


def parse_form(schema: dict, ui: dict | None, form, existing: dict | None = None, *,  # noqa: ANN001
               files=None, store_file=None, keep_empty_rows: bool = False) -> tuple[dict, list[dict]]:  # noqa: ANN001
    parser = Parser(schema or {}, ui, form, files=files, store_file=store_file,
                    keep_empty_rows=keep_empty_rows)
    data = parser.parse(existing)
    return data, parser.errors


def merge_errors(parse_errors: list[dict], service_errors: list[dict]) -> list[dict]:
    """Parse errors win over the schema's type errors at the same field."""
    taken = {e["path"] for e in parse_errors}
    return parse_errors + [e for e in service_errors if e.get("path") not in taken]


# --- structural edits (add / remove a row) ------------------------------------------------------------

def _container(data: dict, path: tuple, create: bool) -> Any:
    node: Any = data
    for part in path:
        if isinstance(node, dict):
            if part not in node and create:
                node[part] = {}
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return None
    return node


def add_row(schema: dict, data: dict, ptr: str) -> str | None:
    """Append an empty row to the array at `ptr`; returns the pointer of the new row."""
    path = split_pointer(ptr)
    if not path:
        return None
    parent = _container(data, path[:-1], create=True)
    if not isinstance(parent, dict):
        return None
    rows = parent.get(path[-1])
    if not isinstance(rows, list):
        rows = []
        parent[path[-1]] = rows
    node = node_at(Schema(schema), path)
    item = Schema(schema).resolve((node or {}).get("items") or {})
    rows.append({} if schema_type(item) == "object" else None)
    return pointer((*path, len(rows) - 1))


def remove_row(data: dict, ptr: str) -> str | None:
    path = split_pointer(ptr)
    if len(path) < 2 or not isinstance(path[-1], int):
        return None
    rows = _container(data, path[:-1], create=False)
    if isinstance(rows, list) and 0 <= path[-1] < len(rows):
        rows.pop(path[-1])
        return pointer(path[:-1])
    return None


def node_at(s: Schema, path: tuple) -> dict | None:
    node = s.resolve(s.root)
    for part in path:
        if isinstance(part, int):
            node = s.resolve(node.get("items") or {})
        else:
            node = s.resolve((node.get("properties") or {}).get(part) or {})
    return node


def _focus(fields: list[Field], ptr: str) -> bool:
    """Autofocus the first input inside the field at `ptr` (e.g. a row just added)."""
    for f in fields:
        if f.pointer == ptr:
            while f.children or f.rows:
                f = (f.children or f.rows)[0]
            f.autofocus = True
            return True
        if _focus(f.children + f.rows, ptr):
            return True
    return False


# --- read-only summary of a case --------------------------------------------------------------------

def combined_schema(all_forms: dict, keys: set[str]) -> tuple[dict, dict]:
    """One schema with the properties (and $defs) of all forms that describe `keys`."""
    properties: dict = {}
    defs: dict = {}
    ui: dict = {}
    for ref, doc in sorted(all_forms.items()):
        if ref.endswith(".uischema.json") or not isinstance(doc, dict):
            continue
        ui_doc = all_forms.get(ref.replace(".schema.json", ".uischema.json")) or {}
        defs.update(doc.get("$defs") or {})
        for name, prop in (doc.get("properties") or {}).items():
            if name in keys and name not in properties:
                properties[name] = prop
                if isinstance(ui_doc.get(name), dict):
                    ui[name] = ui_doc[name]
    return {"type": "object", "properties": properties, "$defs": defs}, ui


def summary_form(all_forms: dict, data: dict, *, file_label=None) -> FormView | None:  # noqa: ANN001
    """The case data known so far, read-only, titled by the process's forms (None if nothing)."""
    schema, ui = combined_schema(all_forms, set(data))
    if not schema["properties"]:
        return None
    return build_form(schema, ui, data, readonly=True, file_label=file_label)
