"""Issue 12: a task's context shows only what its context form declares; due dates follow the
model's deadline expressions; every context form of the Phase 2 models is a valid JSON schema
whose fields all carry German titles."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from app.services.due_dates import due_at
from app.services.task_context import prune

FORMS = Path(__file__).resolve().parents[2] / "forms"
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
SCHEMA = {"type": "object", "$defs": {"zeile": {"type": "object", "properties": {
    "titel": {"type": "string"}}}}, "properties": {
    "antrag": {"type": "object", "properties": {"cluster_name": {"type": "string"}}},
    "massnahmen": {"type": "array", "items": {"$ref": "#/$defs/zeile"}},
    "themen": {"type": "array", "items": {"type": "string"}}}}


def test_prune_keeps_only_declared_values_at_every_level():
    data = {"antrag": {"cluster_name": "A", "ansprechperson_email": "x@y"},
            "massnahmen": [{"titel": "T", "geheim": 1}], "themen": ["a", "b"],
            "ansprechperson": "Anna", "instance_id": 3}
    assert prune(SCHEMA, SCHEMA, data) == {
        "antrag": {"cluster_name": "A"}, "massnahmen": [{"titel": "T"}], "themen": ["a", "b"]}


def test_prune_never_lets_a_wrongly_shaped_value_through():
    assert prune(SCHEMA, SCHEMA, {"antrag": "text", "massnahmen": {"titel": "x"}}) == {
        "antrag": None, "massnahmen": None}
    assert prune(SCHEMA, SCHEMA, ["no", "object"]) is None


def _evaluate(expr: str, data: dict) -> object:
    return eval(expr, {}, dict(data))  # noqa: S307 - test stand-in for the restricted engine


def test_due_date_from_days_expression_or_date_expression_else_fixed_days():
    assert due_at({"dueInDaysExpression": "frist"}, {"frist": 10}, _evaluate, NOW, 3) == \
        NOW + timedelta(days=10)
    end_of_day = due_at({"dueDateExpression": "zn['faellig']"}, {"zn": {"faellig": "2027-04-30"}},
                        _evaluate, NOW, None)
    assert end_of_day == datetime(2027, 4, 30, 21, 59, tzinfo=UTC)  # 23:59 German summer time
    assert due_at({}, {}, _evaluate, NOW, 3) == NOW + timedelta(days=3)
    assert due_at({}, {}, _evaluate, NOW, None) is None


@pytest.mark.parametrize("props", [{"dueInDaysExpression": "fehlt"},
                                   {"dueInDaysExpression": "-5"},
                                   {"dueDateExpression": "'kein Datum'"},
                                   {"dueDateExpression": "None"}])
def test_a_broken_due_expression_falls_back_and_never_raises(props):
    assert due_at(props, {}, _evaluate, NOW, 2) == NOW + timedelta(days=2)


def _titled(node: dict, path: str) -> list[str]:
    missing = [] if node.get("title") or path.endswith("/items") else [path]
    for name, child in (node.get("properties") or {}).items():
        missing += _titled(child, f"{path}/{name}")
    if isinstance(node.get("items"), dict) and node["items"].get("properties"):
        missing += _titled(node["items"], f"{path}/items")
    return missing


@pytest.mark.parametrize("path", sorted(FORMS.glob("*/kontext_*.schema.json")), ids=lambda p: p.name)
def test_every_context_form_is_a_schema_with_titles(path: Path):
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert [m for m in _titled(schema, "") if m] == []
