"""Server-side validation of task form data against the task's JSON Schema (German messages).

- Every keyword of Draft 2020-12 yields a German message at the field's JSON pointer.
- `readOnly` values belong to the server: a client value that differs from the server's is
  refused at its field (422); an equal one, or none, is replaced by the server's value. The
  browser form posts them back unchanged, API clients may echo what GET returned.
- Text with lone surrogates (not encodable as UTF-8) is refused at its field.
- The validator never fetches and runs patterns on RE2 (see form_schema); a stored form that
  would need either is refused with 409 `form_unusable`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jsonschema.exceptions import ValidationError
from referencing.exceptions import Unresolvable

from . import form_schema
from .errors import Conflict, Invalid

MAX_DEPTH = 32
_MISSING = object()


def _pointer(parts) -> str:  # noqa: ANN001
    return form_schema.pointer_text(list(parts))


def _resolve(schema: dict, node: Any, depth: int = 0) -> Any:
    """A node with its local `$ref` (#/…) merged in, as the form renderer sees it."""
    ref = node.get("$ref") if isinstance(node, dict) else None
    if not (isinstance(ref, str) and ref.startswith("#/") and depth < 20):
        return node
    target: Any = schema
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        target = target.get(part, {}) if isinstance(target, dict) else {}
    base = _resolve(schema, target, depth + 1)
    return {**(base if isinstance(base, dict) else {}), **{k: v for k, v in node.items() if k != "$ref"}}


def _child(schema: dict, node: Any, part: Any) -> Any:
    node = _resolve(schema, node)
    if not isinstance(node, dict):
        return {}
    if isinstance(part, int):
        prefix = node.get("prefixItems")
        if isinstance(prefix, list) and part < len(prefix):
            return prefix[part]
        return node.get("items", {})
    return (node.get("properties") or {}).get(part, {})


def _title(schema: dict, path: list) -> str:
    node: Any = schema
    for part in path:
        node = _child(schema, node, part)
    node = _resolve(schema, node)
    if isinstance(node, dict) and node.get("title"):
        return str(node["title"])
    if path and isinstance(path[-1], int):
        return f"{_title(schema, path[:-1])}, Eintrag {path[-1] + 1}"
    return str(path[-1]) if path else str(schema.get("title") or "Formular")


def _depth(value: Any, level: int = 0) -> int:
    if level > MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max([_depth(v, level + 1) for v in value.values()] or [level])
    if isinstance(value, list):
        return max([_depth(v, level + 1) for v in value] or [level])
    return level


# --- German messages per keyword ---------------------------------------------------------------

_TYPES = {"string": "Text", "integer": "ganze Zahl", "number": "Zahl", "boolean": "Ja/Nein",
          "object": "Objekt", "array": "Liste", "null": "leer"}
_FORMATS = {"date": "Datum (JJJJ-MM-TT)", "date-time": "Zeitpunkt", "time": "Uhrzeit",
            "email": "E-Mail-Adresse", "idn-email": "E-Mail-Adresse", "uri": "Internetadresse",
            "ipv4": "IPv4-Adresse", "ipv6": "IPv6-Adresse", "uuid": "UUID",
            "regex": "regulärer Ausdruck", "hostname": "Rechnername", "idn-hostname": "Rechnername"}


def _type_de(t: Any) -> str:
    types = t if isinstance(t, list) else [t]
    return " oder ".join(_TYPES.get(x, str(x)) if isinstance(x, str) else str(x) for x in types)


def _contains_de(e: ValidationError, t: str) -> str:
    low = e.schema.get("minContains", 1) if isinstance(e.schema, dict) else 1
    high = e.schema.get("maxContains") if isinstance(e.schema, dict) else None
    return (f"„{t}“ muss mindestens {low}" + (f" und höchstens {high}" if high is not None else "")
            + " passende Einträge enthalten.")


_TEXTS: dict[Any, Callable[[ValidationError, str], str]] = {
    "type": lambda e, t: f"„{t}“ hat den falschen Typ (erwartet: {_type_de(e.validator_value)}).",
    "enum": lambda e, t: f"„{t}“: Bitte wählen Sie einen der vorgegebenen Werte.",
    "const": lambda e, t: f"„{t}“ hat einen unzulässigen Wert.",
    "minLength": lambda e, t: f"„{t}“ muss mindestens {e.validator_value} Zeichen lang sein.",
    "maxLength": lambda e, t: f"„{t}“ darf höchstens {e.validator_value} Zeichen lang sein.",
    "minimum": lambda e, t: f"„{t}“ muss mindestens {e.validator_value} betragen.",
    "maximum": lambda e, t: f"„{t}“ darf höchstens {e.validator_value} betragen.",
    "exclusiveMinimum": lambda e, t: f"„{t}“ muss größer als {e.validator_value} sein.",
    "exclusiveMaximum": lambda e, t: f"„{t}“ muss kleiner als {e.validator_value} sein.",
    "multipleOf": lambda e, t: f"„{t}“ muss ein Vielfaches von {e.validator_value} sein.",
    "minItems": lambda e, t: f"„{t}“ braucht mindestens {e.validator_value} Einträge.",
    "maxItems": lambda e, t: f"„{t}“ darf höchstens {e.validator_value} Einträge haben.",
    "uniqueItems": lambda e, t: f"„{t}“ enthält doppelte Einträge.",
    "minProperties": lambda e, t: f"„{t}“ braucht mindestens {e.validator_value} Angaben.",
    "maxProperties": lambda e, t: f"„{t}“ darf höchstens {e.validator_value} Angaben enthalten.",
    "pattern": lambda e, t: f"„{t}“ hat nicht das erwartete Format.",
    "format": lambda e, t: (f"„{t}“ ist keine gültige Angabe "
                            f"({_FORMATS.get(str(e.validator_value), str(e.validator_value))})."),
    "oneOf": lambda e, t: (f"„{t}“ entspricht keiner der erlaubten Varianten." if e.context
                           else f"„{t}“ passt auf mehrere Varianten; erlaubt ist genau eine."),
    "anyOf": lambda e, t: f"„{t}“ entspricht keiner der erlaubten Varianten.",
    "not": lambda e, t: f"„{t}“ hat einen ausgeschlossenen Wert.",
    "contains": _contains_de, "minContains": _contains_de, "maxContains": _contains_de,
    "items": lambda e, t: f"„{t}“ enthält mehr Einträge als vorgesehen.",
    "unevaluatedItems": lambda e, t: f"„{t}“ enthält mehr Einträge als vorgesehen.",
    "unevaluatedProperties": lambda e, t: f"„{t}“ enthält Felder, die hier nicht vorgesehen sind.",
    "additionalProperties": lambda e, t: f"„{t}“ enthält Felder, die hier nicht vorgesehen sind.",
    None: lambda e, t: f"„{t}“ ist in diesem Formular nicht vorgesehen.",  # the schema `false`
}


def _required(err: ValidationError, schema: dict, path: list) -> list[tuple[str, str]]:
    present = err.instance if isinstance(err.instance, dict) else {}
    names = err.validator_value if isinstance(err.validator_value, list) else []
    return [(_pointer([*path, name]), f"„{_title(schema, [*path, name])}“ ist ein Pflichtfeld.")
            for name in names if isinstance(name, str) and name not in present]


def _dependent_required(err: ValidationError, schema: dict, path: list) -> list[tuple[str, str]]:
    present = err.instance if isinstance(err.instance, dict) else {}
    found = []
    for trigger, needed in (err.validator_value or {}).items():
        if trigger in present and isinstance(needed, list):
            found += [(_pointer([*path, name]), f"„{_title(schema, [*path, name])}“ ist ein "
                       f"Pflichtfeld, wenn „{_title(schema, [*path, trigger])}“ angegeben ist.")
                      for name in needed if isinstance(name, str) and name not in present]
    return found


def _additional(err: ValidationError, path: list) -> list[tuple[str, str]]:
    extra = form_schema.additional_keys(err.instance, err.schema) if isinstance(err.instance, dict) else []
    return [(_pointer([*path, k]), f"Das Feld „{k}“ ist in diesem Formular nicht vorgesehen.")
            for k in extra]


def _messages(err: ValidationError, schema: dict) -> list[tuple[str, str]]:
    path = list(err.absolute_path)
    kind = err.validator
    if kind == "required":
        return _required(err, schema, path)
    if kind == "dependentRequired":
        return _dependent_required(err, schema, path)
    if kind == "additionalProperties" and err.validator_value is False:
        return _additional(err, path) or [(_pointer(path), _TEXTS[kind](err, _title(schema, path)))]
    title = _title(schema, path)
    if "propertyNames" in err.absolute_schema_path:
        return [(_pointer(path), f"„{title}“ enthält einen unzulässigen Feldnamen.")]
    text = _TEXTS.get(kind)
    if text is not None:
        return [(_pointer(path), text(err, title))]
    custom = err.schema.get("errorMessage") if isinstance(err.schema, dict) else None
    return [(_pointer(path), str(custom) if custom else f"„{title}“ ist ungültig.")]


# --- lone surrogates and server-owned values ----------------------------------------------------

def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _bad_text(value: Any, path: tuple = ()) -> list[tuple]:
    """Paths of strings (values or keys) that contain lone surrogates."""
    if isinstance(value, str):
        return [] if _encodable(value) else [path]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _bad_text(v, (*path, i))]
    if isinstance(value, dict):
        return [p for k, v in value.items()
                for p in ([path] if not _encodable(str(k)) else _bad_text(v, (*path, k)))]
    return []


class _ServerOwned:
    """Puts the server's value at every readOnly position of the submitted data; collects the
    paths where the client sent a different value."""

    def __init__(self, schema: dict) -> None:
        self.schema = schema
        self.refused: list[tuple] = []

    def value(self, node: Any, sent: Any, server: Any, path: tuple) -> Any:
        node = _resolve(self.schema, node)
        if not isinstance(node, dict):
            return sent
        if node.get("readOnly") is True:
            if sent is not _MISSING and not (sent == server or (sent is None and server is _MISSING)):
                self.refused.append(path)
            return server
        if isinstance(sent, dict):
            return self.object(node, sent, server if isinstance(server, dict) else {}, path)
        if isinstance(sent, list):
            old = server if isinstance(server, list) else []
            items = [self.value(_child(self.schema, node, i), v, old[i] if i < len(old) else _MISSING,
                                (*path, i)) for i, v in enumerate(sent)]
            return [v for v in items if v is not _MISSING]
        return sent

    def object(self, node: dict, sent: dict, server: dict, path: tuple) -> dict:
        result = {}
        properties = node.get("properties") or {}
        for key in [*sent, *(k for k in properties if k not in sent)]:
            value = self.value(properties.get(key), sent.get(key, _MISSING), server.get(key, _MISSING),
                               (*path, key))
            if value is not _MISSING:
                result[key] = value
        return result


def _read_only_message(schema: dict, path: tuple) -> str:
    return (f"„{_title(schema, list(path))}“ ist schreibgeschützt: der Wert wird vom System gesetzt "
            "und kann nicht geändert werden.")


def server_values(schema: dict, data: dict, current: dict) -> dict:
    """`data` with the server's value at every readOnly position (for showing a draft)."""
    return _ServerOwned(schema).object(_resolve(schema, schema), data, current, ())


def apply_defaults(schema: dict, data: dict) -> dict:
    """Fill top-level properties that have a default and were not sent."""
    result = dict(data)
    for name, prop in (schema.get("properties") or {}).items():
        if name not in result and isinstance(prop, dict) and "default" in prop:
            result[name] = prop["default"]
    return result


def _schema_errors(schema: dict, data: dict) -> list[tuple[str, str]]:
    try:
        form_schema.ensure_usable(schema)
        errors = sorted(form_schema.validator_for(schema).iter_errors(data),
                        key=lambda e: list(map(str, e.absolute_path)))
    except (form_schema.FormUnusable, Unresolvable, RecursionError) as exc:
        raise Conflict("Das Formular dieser Aufgabe verweist auf externe Quellen oder nutzt nicht "
                       "unterstützte Muster und kann nicht geprüft werden. Bitte wenden Sie sich an "
                       "die Prozessverantwortlichen.", code="form_unusable") from exc
    return [m for err in errors for m in _messages(err, schema)]


def _refuse(problems: list[dict], code: str | None = None) -> None:
    raise Invalid(f"Das Formular enthält {len(problems)} Fehler. Bitte korrigieren Sie die "
                  "markierten Felder.", errors=problems, code=code)


def validate(schema: dict, data: Any, current: dict | None) -> dict:
    """Return the data to store (defaults filled, readOnly values the server's) or raise Invalid
    listing every violated field. `current` is the task's data: the server's values."""
    if not isinstance(data, dict):
        raise Invalid("Die Formulardaten müssen ein Objekt sein.",
                      errors=[{"path": "", "message": "Objekt erwartet."}])
    if _depth(data) > MAX_DEPTH:
        raise Invalid("Die Formulardaten sind zu tief verschachtelt.", code="too_deep",
                      errors=[{"path": "", "message": "Zu tief verschachtelt."}])
    bad = _bad_text(data)
    if bad:
        _refuse([{"path": _pointer(p), "message": f"„{_title(schema, list(p))}“ enthält ungültige "
                  "Zeichen (einzelne UTF-16-Ersatzzeichen)."} for p in bad], code="invalid_text")
    owned = _ServerOwned(schema)
    data = apply_defaults(schema, owned.object(_resolve(schema, schema), data, current or {}, ()))
    found = [(_pointer(p), _read_only_message(schema, p)) for p in owned.refused]
    found += _schema_errors(schema, data)
    problems = [{"path": p, "message": m} for p, m in dict.fromkeys(found)]
    if problems:
        _refuse(problems)
    return data


# --- deploy -------------------------------------------------------------------------------------

def _form_refs(parsed) -> set[str]:  # noqa: ANN001
    refs = set()
    for spec in [parsed.spec, *parsed.subprocess_specs.values()]:
        for ts in spec.task_specs.values():
            ref = ((getattr(ts, "extensions", None) or {}).get("properties") or {}).get(
                "formJsonSchemaFilename")
            if ref:
                refs.add(ref)
    return refs


def deploy_problems(parsed_definitions: list) -> list[dict]:
    """Problems of the deployed forms (references out of the form, foreign dialects, patterns
    RE2 cannot run), in the deploy problem shape; [] when all forms are fine."""
    found = []
    for parsed in parsed_definitions:
        for ref in sorted(_form_refs(parsed)):
            doc = parsed.forms.get(ref)
            if not isinstance(doc, dict):
                continue
            found += [{"path": f"/files/{ref}#{pointer}", "file": ref, "element_id": None,
                       "line": None, "message": f"Formular „{ref}“, Stelle „{pointer or '/'}“: {message}"}
                      for pointer, message in form_schema.schema_problems(doc)]
    return list({p["path"] + p["message"]: p for p in found}.values())
