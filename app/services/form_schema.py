"""JSON-Schema machinery of task forms.

- A validator that can never fetch: references resolve only inside the form (a `referencing`
  registry whose retrieve function refuses), whatever a stored form says.
- `pattern`, `patternProperties` (also where `additionalProperties` weighs them) and the `regex`
  format run on RE2, whose matching time is linear in the input; RE2 has no backreferences or
  lookaround, so such patterns are refused at deploy.
- `uniqueItems` compares canonical forms in a set instead of every pair.
- `schema_problems` lists what a form may not contain, as (JSON pointer, German message).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import re2
from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError
from referencing import Registry
from referencing.exceptions import Unresolvable, Unretrievable
from referencing.jsonschema import DRAFT202012

DIALECTS = {"https://json-schema.org/draft/2020-12/schema",
            "https://json-schema.org/draft/2020-12/schema#"}
IN_VALUE = ("additionalProperties", "contains", "contentSchema", "else", "if", "items", "not",
            "propertyNames", "then", "unevaluatedItems", "unevaluatedProperties")
IN_SUBARRAY = ("allOf", "anyOf", "oneOf", "prefixItems")
IN_SUBVALUES = ("$defs", "definitions", "dependentSchemas", "patternProperties", "properties")
REFERENCES = ("$ref", "$dynamicRef")


class FormUnusable(Exception):
    """The stored form cannot be applied safely (remote reference, pattern RE2 cannot run)."""


def _refuse(uri: str):  # noqa: ANN202
    raise FormUnusable(f"Externe Schema-Quelle abgelehnt: {uri}")


NO_FETCH: Registry = Registry(retrieve=_refuse)  # type: ignore[call-arg]

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False


@lru_cache(maxsize=1024)
def compiled(pattern: str):  # noqa: ANN201
    """The RE2 program of a pattern; re2.error if RE2 cannot run it."""
    return re2.compile(pattern, _OPTIONS)


def search(pattern: str, text: str) -> bool:
    try:
        program = compiled(pattern)
    except re2.error as exc:
        raise FormUnusable(f"Muster wird nicht unterstützt: {pattern}") from exc
    try:
        return program.search(text) is not None
    except UnicodeEncodeError:  # lone surrogates are refused before validation; never a match
        return False


def additional_keys(instance: dict, schema: dict) -> list[str]:
    """Keys of `instance` neither named in `properties` nor matched by `patternProperties`."""
    named = schema.get("properties") or {}
    patterns = schema.get("patternProperties") or {}
    return [k for k in instance if k not in named and not any(search(p, k) for p in patterns)]


# --- keyword implementations replacing jsonschema's (which use Python's backtracking re) -----

def _descend(validator, instance, subschema, path, schema_path=None):  # noqa: ANN001, ANN202
    if subschema is False:  # jsonschema's descend leaves the path out for the schema `false`
        yield ValidationError("not allowed", validator=None, validator_value=None, instance=instance,
                              schema=False, path=(path,), schema_path=(schema_path or path,))
        return
    yield from validator.descend(instance, subschema, path=path, schema_path=schema_path)


def _properties(validator, properties, instance, schema):  # noqa: ANN001, ANN202, ARG001
    if validator.is_type(instance, "object"):
        for name, subschema in properties.items():
            if name in instance:
                yield from _descend(validator, instance[name], subschema, name)


def _pattern(validator, pattern, instance, schema):  # noqa: ANN001, ANN202, ARG001
    if validator.is_type(instance, "string") and not search(pattern, instance):
        yield ValidationError(f"does not match {pattern!r}")


def _pattern_properties(validator, pattern_properties, instance, schema):  # noqa: ANN001, ANN202, ARG001
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in pattern_properties.items():
        for key, value in instance.items():
            if search(pattern, key):
                yield from _descend(validator, value, subschema, key, pattern)


def _additional_properties(validator, additional, instance, schema):  # noqa: ANN001, ANN202
    if not validator.is_type(instance, "object"):
        return
    extras = additional_keys(instance, schema)
    if validator.is_type(additional, "object"):
        for key in extras:
            yield from validator.descend(instance[key], additional, path=key)
    elif additional is False and extras:
        yield ValidationError("Additional properties are not allowed")


def canonical(value: Any) -> Any:
    """A hashable form in which JSON-equal values are equal (1 == 1.0, but true != 1)."""
    if isinstance(value, bool) or value is None:
        return ("b", value)
    if isinstance(value, int | float):
        return ("n", int(value) if isinstance(value, float) and value.is_integer() else value)
    if isinstance(value, str):
        return ("s", value)
    if isinstance(value, list):
        return ("a", tuple(canonical(v) for v in value))
    if isinstance(value, dict):
        return ("o", frozenset((k, canonical(v)) for k, v in value.items()))
    return ("?", repr(value))


def _unique_items(validator, unique, instance, schema):  # noqa: ANN001, ANN202, ARG001
    if not (unique and validator.is_type(instance, "array")):
        return
    seen: set = set()
    for item in instance:
        key = canonical(item)
        if key in seen:
            yield ValidationError("has non-unique elements")
            return
        seen.add(key)


def _is_re2_pattern(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    compiled(instance)
    return True


FORMAT_CHECKER = FormatChecker()
FORMAT_CHECKER.checks("regex", raises=re2.error)(_is_re2_pattern)

FormValidator = validators.extend(Draft202012Validator, {
    "properties": _properties, "pattern": _pattern, "patternProperties": _pattern_properties,
    "additionalProperties": _additional_properties, "uniqueItems": _unique_items,
})


def validator_for(schema: dict):  # noqa: ANN201
    """The form's validator: local references only, patterns on RE2."""
    return FormValidator(schema, registry=NO_FETCH, format_checker=FORMAT_CHECKER)


def mentions(node: Any, keyword: str) -> bool:
    if isinstance(node, dict):
        return keyword in node or any(mentions(v, keyword) for v in node.values())
    if isinstance(node, list):
        return any(mentions(v, keyword) for v in node)
    return False


def _objects(node: Any) -> Iterator[dict]:
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _objects(v)
    elif isinstance(node, list):
        for v in node:
            yield from _objects(v)


def ensure_usable(schema: dict) -> None:
    """Refuse what the validator could only run on Python's backtracking engine: jsonschema
    weighs `patternProperties` with `re` when it computes `unevaluatedProperties` (over the
    node, its in-place subschemas and what they reference)."""
    if not mentions(schema, "patternProperties"):
        return
    for node in _objects(schema):
        if "unevaluatedProperties" in node and any(
                mentions(node, kw) for kw in ("patternProperties", *REFERENCES)):
            raise FormUnusable("unevaluatedProperties mit patternProperties")


# --- deploy-time checks ------------------------------------------------------------------------

def subschemas(node: Any, pointer: tuple = (), resolver=None) -> Iterator[tuple[tuple, dict, Any]]:  # noqa: ANN001
    """(pointer, subschema, resolver at its base URI) for every subschema of a form."""
    if not isinstance(node, dict):
        return
    resource = DRAFT202012.create_resource(node)
    resolver = (NO_FETCH.resolver_with_root(resource) if resolver is None
                else resolver.in_subresource(resource))
    yield pointer, node, resolver
    for kw in IN_VALUE:
        yield from subschemas(node.get(kw), (*pointer, kw), resolver)
    for kw in IN_SUBARRAY:
        if isinstance(node.get(kw), list):
            for i, sub in enumerate(node[kw]):
                yield from subschemas(sub, (*pointer, kw, i), resolver)
    for kw in IN_SUBVALUES:
        if isinstance(node.get(kw), dict):
            for name, sub in node[kw].items():
                yield from subschemas(sub, (*pointer, kw, name), resolver)


def pointer_text(parts: tuple | list) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def field_name(pointer: tuple, node: dict) -> str:
    if node.get("title"):
        return str(node["title"])
    names = [str(p) for p, parent in zip(pointer[1:], pointer, strict=False) if parent == "properties"]
    return names[-1] if names else "Formular"


def _reference_problem(ref: Any, resolver) -> str | None:  # noqa: ANN001
    if not isinstance(ref, str):
        return None
    try:
        resolver.lookup(ref)
    except Unresolvable as exc:
        if isinstance(exc.__cause__, Unretrievable):  # lookup wraps the refused retrieval
            return (f"Der Verweis „{ref[:200]}“ zeigt aus dem Formular hinaus. Erlaubt sind nur "
                    "Verweise innerhalb des Formulars (z. B. „#/$defs/…“).")
        return f"Der Verweis „{ref[:200]}“ zeigt auf keine Stelle im Formular."
    return None


def _pattern_problem(pattern: Any, name: str) -> str | None:
    if not isinstance(pattern, str):
        return None
    try:
        compiled(pattern)
    except re2.error:
        return (f"Das Muster „{pattern[:200]}“ von Feld „{name}“ wird nicht unterstützt: erlaubt "
                "sind reguläre Ausdrücke ohne Rückbezüge (\\1) und ohne Lookaround ((?=…), (?<=…)).")
    return None


def _node_problems(pointer: tuple, node: dict, resolver) -> Iterator[tuple[str, str]]:  # noqa: ANN001
    here = pointer_text(pointer)
    dialect = node.get("$schema")
    if dialect is not None and not (isinstance(dialect, str) and dialect in DIALECTS):
        yield here + "/$schema", (f"„$schema“ muss „{sorted(DIALECTS)[0]}“ sein; andere Dialekte "
                                  "und externe Meta-Schemata werden nicht geladen.")
    for kw in REFERENCES:
        message = _reference_problem(node.get(kw), resolver)
        if message:
            yield here + "/" + kw, message
    name = field_name(pointer, node)
    message = _pattern_problem(node.get("pattern"), name)
    if message:
        yield here + "/pattern", message
    for pattern in node.get("patternProperties") or {}:
        message = _pattern_problem(pattern, name)
        if message:
            yield here + "/patternProperties", message


def _target(ref: Any, resolver) -> Any:  # noqa: ANN001
    try:
        return resolver.lookup(ref).contents if isinstance(ref, str) else None
    except Unresolvable:
        return None


def _in_place(node: dict, resolver) -> list:  # noqa: ANN001
    """Subschemas applied to the same value as `node` (no step into the data)."""
    found = [node.get(kw) for kw in ("not", "if", "then", "else")]
    found += [s for kw in ("allOf", "anyOf", "oneOf") if isinstance(node.get(kw), list) for s in node[kw]]
    found += list((node.get("dependentSchemas") or {}).values()) if isinstance(
        node.get("dependentSchemas"), dict) else []
    found += [_target(node.get(kw), resolver) for kw in REFERENCES if kw in node]
    return [s for s in found if isinstance(s, dict)]


def _cycles(doc: dict) -> list[tuple[str, str]]:
    """References that lead back to the same schema without stepping into the data would make
    validation recurse forever."""
    nodes = {id(node): (pointer, node, resolver) for pointer, node, resolver in subschemas(doc)}
    edges = {key: [id(s) for s in _in_place(node, resolver) if id(s) in nodes]
             for key, (_, node, resolver) in nodes.items()}
    state: dict[int, int] = {}  # 1 = on the path, 2 = done

    def visit(key: int) -> bool:
        state[key] = 1
        for nxt in edges[key]:
            if state.get(nxt) == 1 or (nxt not in state and visit(nxt)):
                return True
        state[key] = 2
        return False

    for key in nodes:
        if key not in state and visit(key):
            return [(pointer_text(nodes[key][0]), "Die Verweise dieses Formulars bilden eine Schleife "
                     "(ein Schema verweist über $ref auf sich selbst, ohne in die Daten abzusteigen).")]
    return []


def schema_problems(doc: dict) -> list[tuple[str, str]]:
    """What a form may not contain: references out of the form or into nothing, foreign
    dialects, patterns RE2 cannot run. [] when the form is fine."""
    problems = [p for pointer, node, resolver in subschemas(doc)
                for p in _node_problems(pointer, node, resolver)]
    problems += _cycles(doc) if not problems else []
    try:
        ensure_usable(doc)
    except FormUnusable:
        problems.append(("", "„unevaluatedProperties“ zusammen mit „patternProperties“ wird nicht "
                             "unterstützt; bitte „additionalProperties“ verwenden."))
    return problems
