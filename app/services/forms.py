"""Server-side validation of task form data against the task's JSON Schema (German messages)."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from .errors import Invalid

_FORMAT = FormatChecker()
MAX_DEPTH = 32


def _pointer(parts) -> str:  # noqa: ANN001
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts) if parts else ""


def _title(schema: dict, path: list) -> str:
    node: Any = schema
    for part in path:
        if not isinstance(node, dict):
            break
        if isinstance(part, int):
            node = node.get("items", {})
        else:
            node = node.get("properties", {}).get(part, {})
    if isinstance(node, dict) and node.get("title"):
        return str(node["title"])
    return str(path[-1]) if path else "Formular"


def _depth(value: Any, level: int = 0) -> int:
    if level > MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max([_depth(v, level + 1) for v in value.values()] or [level])
    if isinstance(value, list):
        return max([_depth(v, level + 1) for v in value] or [level])
    return level


def _messages(err: ValidationError, schema: dict) -> list[tuple[str, str]]:
    path = list(err.absolute_path)
    kind = err.validator
    title = _title(schema, path)
    if kind == "required":
        present = err.instance if isinstance(err.instance, dict) else {}
        return [
            (_pointer([*path, name]), f"„{_title(schema, [*path, name])}“ ist ein Pflichtfeld.")
            for name in err.validator_value if name not in present
        ]
    if kind == "additionalProperties":
        allowed = set((err.schema.get("properties") or {}).keys())
        extra = [k for k in (err.instance or {}) if k not in allowed]
        return [(_pointer([*path, k]), f"Das Feld „{k}“ ist in diesem Formular nicht vorgesehen.")
                for k in extra]
    text = {
        "type": f"„{title}“ hat den falschen Typ (erwartet: {_type_de(err.validator_value)}).",
        "enum": f"„{title}“: Bitte wählen Sie einen der vorgegebenen Werte.",
        "const": f"„{title}“ hat einen unzulässigen Wert.",
        "minLength": f"„{title}“ muss mindestens {err.validator_value} Zeichen lang sein.",
        "maxLength": f"„{title}“ darf höchstens {err.validator_value} Zeichen lang sein.",
        "minimum": f"„{title}“ muss mindestens {err.validator_value} betragen.",
        "maximum": f"„{title}“ darf höchstens {err.validator_value} betragen.",
        "exclusiveMinimum": f"„{title}“ muss größer als {err.validator_value} sein.",
        "exclusiveMaximum": f"„{title}“ muss kleiner als {err.validator_value} sein.",
        "minItems": f"„{title}“ braucht mindestens {err.validator_value} Einträge.",
        "maxItems": f"„{title}“ darf höchstens {err.validator_value} Einträge haben.",
        "uniqueItems": f"„{title}“ enthält doppelte Einträge.",
        "pattern": f"„{title}“ hat nicht das erwartete Format.",
        "format": f"„{title}“ ist keine gültige Angabe ({err.validator_value}).",
        "multipleOf": f"„{title}“ muss ein Vielfaches von {err.validator_value} sein.",
    }.get(kind)
    if text is None:
        custom = (err.schema or {}).get("errorMessage")
        text = custom or f"„{title}“ ist ungültig."
    return [(_pointer(path), text)]


def _type_de(t: Any) -> str:
    names = {"string": "Text", "integer": "ganze Zahl", "number": "Zahl", "boolean": "Ja/Nein",
             "object": "Objekt", "array": "Liste", "null": "leer"}
    if isinstance(t, list):
        return " oder ".join(names.get(x, x) for x in t)
    return names.get(t, str(t))


def apply_defaults(schema: dict, data: dict) -> dict:
    """Fill top-level properties that have a default and were not sent."""
    result = dict(data)
    for name, prop in (schema.get("properties") or {}).items():
        if name not in result and isinstance(prop, dict) and "default" in prop:
            result[name] = prop["default"]
    return result


def validate(schema: dict, data: Any) -> dict:
    """Return the data (with defaults) or raise Invalid listing every violated field."""
    if not isinstance(data, dict):
        raise Invalid("Die Formulardaten müssen ein Objekt sein.",
                      errors=[{"path": "", "message": "Objekt erwartet."}])
    if _depth(data) > MAX_DEPTH:
        raise Invalid("Die Formulardaten sind zu tief verschachtelt.", code="too_deep",
                      errors=[{"path": "", "message": "Zu tief verschachtelt."}])
    data = apply_defaults(schema, data)
    validator = Draft202012Validator(schema, format_checker=_FORMAT)
    problems: list[dict] = []
    seen = set()
    for err in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        for path, message in _messages(err, schema):
            if (path, message) not in seen:
                seen.add((path, message))
                problems.append({"path": path, "message": message})
    if problems:
        raise Invalid(
            f"Das Formular enthält {len(problems)} Fehler. Bitte korrigieren Sie die markierten "
            "Felder.", errors=problems)
    return data
