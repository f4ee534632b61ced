"""Issue 11, findings 2, 3, 5 and the form part of 7 — attacks through JSON-Schema forms.

2. A form's `$ref` (or `$id`-relative reference, `$dynamicRef`, foreign `$schema`) made the
   server fetch a URL or open a local file when a task was completed. Remote and file references
   are refused at deploy (the message names the form file and the JSON pointer), and the
   validator cannot fetch anything even for a form that is already stored.
3. `pattern` / `patternProperties` ran on Python's backtracking engine (`^(a+)+$` on 28 "a" and
   "!": 14 s). They run on RE2 (linear time); patterns RE2 cannot run (backreferences,
   lookaround) are refused at deploy, naming the field.
5. `readOnly` values are the server's: a client that sends a different value gets a 422 at that
   field and nothing is written; sending the server's own value back (the browser form does) or
   leaving it out is fine, and the stored value stays the server's.
7. Every keyword of Draft 2020-12 yields a German message at the field's path — never a 500 —
   and so does text with lone surrogates.
"""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select

from tests.hardening.conftest import assert_problem, changed, fingerprint, trap_server
from tests.integration.helpers import BPMN_HEAD, deploy, open_tasks
from tests.integration.web_support import Browser, definition_ids, forget_new_definitions

FORM = "t11_formular.schema.json"
BOUND_SECONDS = 5.0  # generous: RE2 answers in milliseconds, the old engine needed 14 s


@pytest.fixture(autouse=True)
def _forget_deployed(platform):  # noqa: ANN001, ANN202
    """Later tests (in any order) see only the original definitions."""
    before = definition_ids(platform)
    yield
    forget_new_definitions(platform, before)


def _process(pid: str, script: str = "") -> bytes:
    """start → (script) → user task with FORM → end, all in the lane of Sachbearbeitung."""
    script_task = (f'<bpmn:scriptTask id="skript"><bpmn:incoming>f0</bpmn:incoming>'
                   f'<bpmn:outgoing>f1</bpmn:outgoing><bpmn:script>{script}</bpmn:script>'
                   f'</bpmn:scriptTask><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="skript" />'
                   if script else "")
    first = "skript" if script else "s"
    return (BPMN_HEAD.format(pid=pid) + f"""
  <bpmn:process id="{pid}" name="T11 {pid}" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="sachbearbeitung">
      <bpmn:flowNodeRef>s</bpmn:flowNodeRef><bpmn:flowNodeRef>ut</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>e</bpmn:flowNodeRef>{'<bpmn:flowNodeRef>skript</bpmn:flowNodeRef>' if script else ''}
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"><bpmn:outgoing>{'f0' if script else 'f1'}</bpmn:outgoing></bpmn:startEvent>
    {script_task}
    <bpmn:userTask id="ut" name="Formular ausfüllen">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="{FORM}" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="{first}" targetRef="ut" />
    <bpmn:sequenceFlow id="f2" sourceRef="ut" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>""").encode()


def _form(properties: dict, **extra) -> dict:  # noqa: ANN003
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "T11",
            "type": "object", "properties": properties, **extra}


def _deploy(user, pid: str, form: dict, script: str = ""):  # noqa: ANN001, ANN202
    return deploy(user, {f"{pid}.bpmn": _process(pid, script),
                         FORM: json.dumps(form, ensure_ascii=False).encode()})


def _started_task(as_user, pid: str) -> tuple[int, str]:  # noqa: ANN001
    sb = as_user("sb1")
    r = sb.post("/api/process-instances", json={"process_key": pid})
    assert r.status_code == 201, r.get_json()
    iid = r.get_json()["id"]
    [task] = open_tasks(sb, iid)
    return iid, task["id"]


def _german(message: str) -> bool:
    english = ("is not", "is a required", "does not", "should", "expected", "was unexpected",
               "are not allowed", "is too", "valid under", "non-unique", "False schema")
    return bool(message) and not any(e in message for e in english)


# ------------------------------------------------------------ finding 2: no fetches, ever

@pytest.fixture
def trap():  # noqa: ANN201
    """A local HTTP server that records every request a schema resolver might make."""
    with trap_server(b'{"type": "string", "title": "GELADEN"}', "application/schema+json") as server:
        yield server


REMOTE_FORMS = {
    "ref_http": lambda url: _form({"a": {"$ref": f"{url}/schema.json"}}),
    "ref_http_fragment": lambda url: _form({"a": {"$ref": f"{url}/s.json#/$defs/x"}}),
    "ref_file": lambda url: _form({"a": {"$ref": "file:///etc/passwd"}}),
    "ref_relative_file": lambda url: _form({"a": {"$ref": "anderes.schema.json"}}),
    "ref_relative_to_remote_id": lambda url: _form({"a": {"$ref": "teil.json"}}, **{"$id": f"{url}/basis.json"}),
    "ref_in_array_items": lambda url: _form({"a": {"type": "array", "items": {"$ref": f"{url}/i.json"}}}),
    "ref_in_allof_defs": lambda url: _form({"a": {"allOf": [{"$ref": "#/$defs/d"}]}},
                                           **{"$defs": {"d": {"$ref": f"{url}/d.json"}}}),
    "dynamic_ref_http": lambda url: _form({"a": {"$dynamicRef": f"{url}/dyn.json#meta"}}),
    "ref_to_nowhere": lambda url: _form({"a": {"$ref": "#/$defs/gibt_es_nicht"}}),
    "ref_cycle": lambda url: _form({"a": {"allOf": [{"$ref": "#/properties/a"}]}}),
    "schema_foreign_dialect": lambda url: {**_form({"a": {"type": "string"}}), "$schema": f"{url}/meta"},
}


POINTERS = {"ref_in_array_items": "/properties/a/items/$ref", "ref_in_allof_defs": "/$defs/d/$ref",
            "dynamic_ref_http": "/properties/a/$dynamicRef", "schema_foreign_dialect": "/$schema",
            "ref_cycle": "/properties/a"}


@pytest.mark.parametrize("name", sorted(REMOTE_FORMS))
def test_remote_and_file_references_are_refused_at_deploy_without_fetching(name, as_user, platform, trap):
    pid = f"t11_ref_{name}"
    before = fingerprint(platform)
    started = time.monotonic()
    r = _deploy(as_user("modeler1"), pid, REMOTE_FORMS[name](trap.url))
    assert time.monotonic() - started < BOUND_SECONDS
    body = assert_problem(r, 422)
    assert body["code"] == "definition_invalid", body
    mine = [e for e in body["errors"] if FORM in e["path"]]
    assert mine, body
    where = POINTERS.get(name, "/properties/a/$ref")
    assert any(FORM in e["message"] and e["path"].endswith(f"#{where}") and where in e["message"]
               for e in mine), body
    assert all(_german(e["message"]) for e in mine), body
    assert trap.hits == []
    assert changed(before, fingerprint(platform)) == {}


def test_the_modeler_shows_the_refused_reference_before_deploying(app, platform, trap):
    from app.services import modeler as service
    from app.services.context import SYSTEM
    from app.services.errors import Invalid

    schema = service.workspace(platform, SYSTEM, "demo_antrag")["forms"]["demo/antrag.schema.json"]
    schema = {**schema, "properties": {**schema["properties"], "vorhaben": {"$ref": f"{trap.url}/v.json"}}}
    browser = Browser(app, "modeler1")
    r = browser.post("/modellierung/demo_antrag/formular?ref=demo/antrag.schema.json", {
        "text-0": json.dumps(schema, ensure_ascii=False), "text-1": "{}", "_action": "save"})
    assert r.status_code == 302
    problems = service.validate(platform, service.files_of(service.workspace(platform, SYSTEM, "demo_antrag")))
    assert any("demo/antrag.schema.json" in p["message"] and "/properties/vorhaben/$ref" in p["message"]
               for p in problems), problems
    before = fingerprint(platform)
    with pytest.raises(Invalid) as refused:
        service.deploy(platform, SYSTEM, "demo_antrag")
    assert refused.value.code == "definition_invalid"
    assert trap.hits == []
    assert {k: v for k, v in changed(before, fingerprint(platform)).items() if k != "definition_draft"} == {}


def test_local_references_still_work(as_user):
    form = _form({"plz": {"$ref": "#/$defs/plz", "title": "Postleitzahl"}},
                 required=["plz"], **{"$defs": {"plz": {"type": "string", "pattern": "^[0-9]{5}$"}}})
    assert _deploy(as_user("modeler1"), "t11_ref_lokal", form).status_code == 201
    _, tid = _started_task(as_user, "t11_ref_lokal")
    r = as_user("sb1").post(f"/api/tasks/{tid}/complete", json={"data": {"plz": "6411"}})
    body = assert_problem(r, 422)
    assert [e["path"] for e in body["errors"]] == ["/plz"], body
    assert as_user("sb1").post(f"/api/tasks/{tid}/complete", json={"data": {"plz": "64115"}}).status_code == 200


def test_a_stored_form_with_a_remote_reference_is_never_fetched_at_completion(as_user, platform, trap):
    """Defence in depth: a form stored before the deploy check (edited in the database here)."""
    from app.models import HumanTask, ProcessDefinition

    assert _deploy(as_user("modeler1"), "t11_ref_alt", _form({"a": {"type": "string"}})).status_code == 201
    iid, tid = _started_task(as_user, "t11_ref_alt")
    for ref in (f"{trap.url}/schema.json", "file:///etc/passwd", "#/properties/a"):
        with platform.db.unit_of_work() as s:
            row = s.scalar(select(ProcessDefinition).where(ProcessDefinition.key == "t11_ref_alt"))
            row.forms = {FORM: _form({"a": {"$ref": ref}})}
            definition_id = row.id
        platform.specs._items.pop(("forms", definition_id), None)  # as after a restart
        r = as_user("sb1").post(f"/api/tasks/{tid}/complete", json={"data": {"a": "x"}})
        body = assert_problem(r)
        assert body["code"] == "form_unusable" and _german(body["message"]), body
        assert trap.hits == []
        with platform.db.unit_of_work() as s:
            assert s.scalar(select(HumanTask.completed_at).where(HumanTask.task_id == tid)) is None
    assert [t["id"] for t in open_tasks(as_user("sb1"), iid)] == [tid]


# ------------------------------------------------------------ finding 3: linear-time patterns

@pytest.mark.parametrize("where", ["pattern", "patternProperties"])
def test_catastrophic_pattern_is_answered_quickly(where, as_user, platform):
    evil = "^(a+)+$"
    if where == "pattern":
        form = _form({"code": {"type": "string", "title": "Kennung", "pattern": evil}})
        data = {"code": "a" * 28 + "!"}
    else:
        form = _form({"werte": {"type": "object", "title": "Werte",
                                "patternProperties": {evil: {"type": "integer"}},
                                "additionalProperties": {"type": "string"}}})
        data = {"werte": {"a" * 28 + "!": 1}}
    pid = f"t11_redos_{where.lower()}"
    assert _deploy(as_user("modeler1"), pid, form).status_code == 201
    _, tid = _started_task(as_user, pid)
    if where == "pattern":
        started = time.monotonic()
        r = as_user("sb1").post(f"/api/tasks/{tid}/complete", json={"data": data})
        assert time.monotonic() - started < BOUND_SECONDS
        body = assert_problem(r, 422)
        assert body["errors"] == [{"path": "/code", "message": "„Kennung“ hat nicht das erwartete Format."}]
    else:
        started = time.monotonic()
        r = as_user("sb1").post(f"/api/tasks/{tid}/complete", json={"data": data})
        assert time.monotonic() - started < BOUND_SECONDS
        body = assert_problem(r, 422)  # the key does not match, so it must be a string
        assert [e["path"] for e in body["errors"]] == [f"/werte/{'a' * 28}!"], body
        assert as_user("sb1").post(f"/api/tasks/{tid}/complete",
                                   json={"data": {"werte": {"aaa": 1}}}).status_code == 200


@pytest.mark.parametrize("pattern, where", [
    (r"^(a)\1$", "pattern"), (r"^(?=a)a$", "pattern"), (r"(?<!x)y", "patternProperties"),
    (r"(?P<n>a)(?P=n)", "pattern"),
])
def test_patterns_the_linear_engine_cannot_run_are_refused_at_deploy(pattern, where, as_user, platform):
    if where == "pattern":
        form = _form({"kennung": {"type": "string", "title": "Kennung", "pattern": pattern}})
    else:
        form = _form({"kennung": {"type": "object", "title": "Kennung", "patternProperties": {pattern: {}}}})
    before = fingerprint(platform)
    r = _deploy(as_user("modeler1"), f"t11_muster_{abs(hash(pattern)) % 10_000}", form)
    body = assert_problem(r, 422)
    assert body["code"] == "definition_invalid", body
    [problem] = [e for e in body["errors"] if FORM in e["path"]]
    assert "„Kennung“" in problem["message"] and FORM in problem["message"], problem
    assert "Muster" in problem["message"] and _german(problem["message"]), problem
    assert changed(before, fingerprint(platform)) == {}


# ------------------------------------------------------------ finding 5: readOnly is the server's

READ_ONLY_FORM = _form({
    "gemeinde": {"type": "string", "title": "Gemeinde", "readOnly": True},
    "hinweise": {"type": "array", "title": "Hinweise", "readOnly": True, "items": {"type": "string"}},
    "positionen": {"type": "array", "title": "Positionen", "items": {
        "type": "object", "additionalProperties": False, "properties": {
            "nummer": {"type": "string", "title": "Nummer", "readOnly": True},
            "betrag": {"type": "integer", "title": "Betrag"}}}},
    "kopf": {"type": "object", "title": "Kopf", "properties": {
        "aktenzeichen": {"type": "string", "title": "Aktenzeichen", "readOnly": True},
        "notiz": {"type": "string", "title": "Notiz"}}},
    "bemerkung": {"type": "string", "title": "Bemerkung"},
}, additionalProperties=False, required=["bemerkung"])
READ_ONLY_SCRIPT = ('gemeinde = "Musterstadt"\nhinweise = ["bitte prüfen"]\n'
                    'positionen = [{"nummer": "P-1", "betrag": 0}]\n'
                    'kopf = {"aktenzeichen": "AZ-1", "notiz": ""}')
SERVER = {"gemeinde": "Musterstadt", "hinweise": ["bitte prüfen"],
          "positionen": [{"nummer": "P-1", "betrag": 0}], "kopf": {"aktenzeichen": "AZ-1", "notiz": ""}}


def _read_only_task(as_user) -> tuple[int, str]:  # noqa: ANN001
    r = _deploy(as_user("modeler1"), "t11_nurlesen", READ_ONLY_FORM, READ_ONLY_SCRIPT)
    assert r.status_code == 201, r.get_json()
    return _started_task(as_user, "t11_nurlesen")


@pytest.mark.parametrize("forged, path", [
    ({"gemeinde": "Fremdstadt"}, "/gemeinde"),
    ({"hinweise": []}, "/hinweise"),
    ({"positionen": [{"nummer": "P-999", "betrag": 5}]}, "/positionen/0/nummer"),
    ({"positionen": [{"nummer": "P-1", "betrag": 5}, {"nummer": "P-2", "betrag": 1}]}, "/positionen/1/nummer"),
    ({"kopf": {"aktenzeichen": "AZ-GEFAELSCHT", "notiz": "x"}}, "/kopf/aktenzeichen"),
])
def test_client_cannot_overwrite_read_only_values(forged, path, as_user, platform):
    iid, tid = _read_only_task(as_user)
    before = fingerprint(platform)
    r = as_user("sb1").post(f"/api/tasks/{tid}/complete", json={"data": {"bemerkung": "ok", **forged}})
    body = assert_problem(r, 422)
    assert body["code"] == "validation_failed"
    assert [e["path"] for e in body["errors"]] == [path], body
    assert "schreibgeschützt" in body["errors"][0]["message"], body
    assert changed(before, fingerprint(platform)) == {}
    assert [t["id"] for t in open_tasks(as_user("sb1"), iid)] == [tid]


@pytest.mark.parametrize("sent", [
    {},  # left out
    {k: v for k, v in SERVER.items() if k != "positionen"},  # echoed as the GET returned it
    {"positionen": [{"betrag": 7}], "kopf": {"notiz": "neu"}},  # nested read-only left out
    {**SERVER, "positionen": [{"nummer": "P-1", "betrag": 7}], "kopf": {"aktenzeichen": "AZ-1", "notiz": "neu"}},
])
def test_server_values_survive_completion(sent, as_user, platform):
    from app.services import processes
    from app.services.context import SYSTEM

    iid, tid = _read_only_task(as_user)
    shown = as_user("sb1").get(f"/api/tasks/{tid}").get_json()["data"]
    assert {k: shown[k] for k in SERVER} == SERVER
    r = as_user("sb1").post(f"/api/tasks/{tid}/complete", json={"data": {"bemerkung": "ok", **sent}})
    assert r.status_code == 200, r.get_json()
    data = processes.get_instance(platform, SYSTEM, iid)["data"]
    assert data["gemeinde"] == "Musterstadt" and data["hinweise"] == ["bitte prüfen"]
    assert [p.get("nummer") for p in data["positionen"]] == ["P-1"]
    assert data["kopf"]["aktenzeichen"] == "AZ-1"
    if "positionen" in sent:
        assert data["positionen"][0]["betrag"] == 7 and data["kopf"]["notiz"] == "neu"


def test_a_draft_cannot_smuggle_a_read_only_value_into_the_task_page(as_user, platform):
    from app.models import HumanTask

    _, tid = _read_only_task(as_user)
    with platform.db.unit_of_work() as s:  # a draft as a forged save would leave it
        s.scalar(select(HumanTask).where(HumanTask.task_id == tid)).draft = {
            "gemeinde": "Fremdstadt", "bemerkung": "Entwurf"}
    shown = as_user("sb1").get(f"/api/tasks/{tid}").get_json()["data"]
    assert shown["gemeinde"] == "Musterstadt" and shown["bemerkung"] == "Entwurf"


# ------------------------------------------------------------ finding 7: every keyword, German

KEYWORD_FORM = _form({
    "typ_string": {"type": "string"}, "typ_integer": {"type": "integer"},
    "typ_number": {"type": "number"}, "typ_boolean": {"type": "boolean"},
    "typ_object": {"type": "object"}, "typ_array": {"type": "array"}, "typ_null": {"type": "null"},
    "typ_mehrere": {"type": ["string", "null"]},
    "enum_int": {"enum": [1, 2, 3]}, "enum_null": {"enum": [None]},
    "enum_gemischt": {"enum": ["a", 1, None, True, {"x": 1}, [1]]},
    "const": {"const": 5}, "const_objekt": {"const": {"a": 1}},
    "one_of": {"oneOf": [{"type": "integer"}, {"type": "number", "minimum": 0}]},
    "any_of": {"anyOf": [{"type": "integer"}, {"type": "boolean"}]},
    "all_of": {"allOf": [{"type": "string"}, {"minLength": 3}]},
    "not": {"not": {"type": "string"}},
    "contains": {"type": "array", "contains": {"type": "integer"}},
    "min_contains": {"type": "array", "contains": {"const": 1}, "minContains": 2},
    "max_contains": {"type": "array", "contains": {"const": 1}, "maxContains": 1},
    "dependent_required": {"type": "object", "dependentRequired": {"a": ["b"]}},
    "dependent_schemas": {"type": "object", "dependentSchemas": {"a": {"required": ["c"]}}},
    "if_then_else": {"if": {"type": "integer"}, "then": {"minimum": 10}, "else": {"type": "string"}},
    "property_names": {"type": "object", "propertyNames": {"maxLength": 3}},
    "unevaluated_properties": {"type": "object", "properties": {"a": {}}, "unevaluatedProperties": False},
    "additional_properties": {"type": "object", "properties": {"a": {}}, "additionalProperties": False},
    "additional_schema": {"type": "object", "additionalProperties": {"type": "integer"}},
    "pattern_properties": {"type": "object", "patternProperties": {"^n_": {"type": "integer"}}},
    "min_properties": {"type": "object", "minProperties": 2},
    "max_properties": {"type": "object", "maxProperties": 1},
    "unique_items": {"type": "array", "uniqueItems": True},
    "multiple_of": {"multipleOf": 0.5}, "min_items": {"minItems": 2}, "max_items": {"maxItems": 1},
    "min_length": {"minLength": 2}, "max_length": {"maxLength": 1},
    "minimum": {"minimum": 1}, "maximum": {"maximum": 1},
    "exclusive_minimum": {"exclusiveMinimum": 1}, "exclusive_maximum": {"exclusiveMaximum": 1},
    "prefix_items": {"type": "array", "prefixItems": [{"type": "integer"}], "items": False},
    "unevaluated_items": {"type": "array", "prefixItems": [{"type": "integer"}], "unevaluatedItems": False},
    "pattern": {"type": "string", "pattern": "^[0-9]+$"},
    "format_date": {"format": "date"}, "format_time": {"format": "time"},
    "format_email": {"format": "email"}, "format_ipv4": {"format": "ipv4"},
    "format_ipv6": {"format": "ipv6"}, "format_uuid": {"format": "uuid"},
    "format_regex": {"format": "regex"}, "format_hostname": {"format": "idn-hostname"},
    "falsch": False,
    "ref": {"$ref": "#/$defs/zahl"},
    "dynamic_ref": {"$dynamicRef": "#zahl"},
    "zeilen": {"type": "array", "items": {"type": "object", "required": ["name"],
                                          "properties": {"name": {"type": "string", "title": "Name"}}}},
}, additionalProperties=False, **{"$defs": {"zahl": {"$dynamicAnchor": "zahl", "type": "integer"}}})
for _name, _prop in KEYWORD_FORM["properties"].items():
    if isinstance(_prop, dict):
        _prop["title"] = f"Feld {_name}"

KEYWORD_CASES = [
    ("typ_string", 5), ("typ_integer", 1.5), ("typ_number", "x"), ("typ_boolean", 1),
    ("typ_object", []), ("typ_array", {}), ("typ_null", 0), ("typ_mehrere", 1),
    ("enum_int", 4), ("enum_null", "x"), ("enum_gemischt", "b"), ("const", 6), ("const_objekt", {}),
    ("one_of", 5), ("one_of", "x"), ("any_of", "x"), ("all_of", "a"), ("all_of", 1), ("not", "x"),
    ("contains", ["a"]), ("min_contains", [1]), ("max_contains", [1, 1]),
    ("dependent_required", {"a": 1}), ("dependent_schemas", {"a": 1}),
    ("if_then_else", 5), ("if_then_else", True), ("property_names", {"abcd": 1}),
    ("unevaluated_properties", {"b": 1}), ("additional_properties", {"b": 1}),
    ("additional_schema", {"b": "x"}), ("pattern_properties", {"n_a": "x"}),
    ("min_properties", {"a": 1}), ("max_properties", {"a": 1, "b": 2}), ("unique_items", [1, 1]),
    ("unique_items", [{"a": 1}, {"a": 1}]),
    ("multiple_of", 0.3), ("min_items", [1]), ("max_items", [1, 2]), ("min_length", "a"),
    ("max_length", "ab"), ("minimum", 0), ("maximum", 2), ("exclusive_minimum", 1),
    ("exclusive_maximum", 1), ("prefix_items", [1, 2]), ("prefix_items", ["x"]),
    ("unevaluated_items", [1, 2]), ("pattern", "12a"), ("format_date", "2026-13-45"),
    ("format_time", "25:00"), ("format_email", "keine-adresse"), ("format_ipv4", "999.1.1.1"),
    ("format_ipv6", "::g"), ("format_uuid", "nein"), ("format_regex", "("),
    ("format_hostname", "-.-"), ("falsch", 1), ("ref", "x"), ("dynamic_ref", "x"),
    ("zeilen", [{"name": 1}, {}]), ("unbekannt", 1),
]


@pytest.mark.parametrize("field, value", KEYWORD_CASES,
                         ids=[f"{f}-{i}" for i, (f, _) in enumerate(KEYWORD_CASES)])
def test_every_keyword_gives_a_german_message_at_the_field(field, value, as_user, platform):
    assert _deploy(as_user("modeler1"), "t11_schluesselwoerter", KEYWORD_FORM).status_code in (200, 201)
    iid, tid = _started_task(as_user, "t11_schluesselwoerter")
    r = as_user("sb1").post(f"/api/tasks/{tid}/complete", json={"data": {field: value}})
    body = assert_problem(r, 422)
    assert body["code"] == "validation_failed", body
    assert body["errors"] and all(e["path"].startswith(f"/{field}") for e in body["errors"]), body
    assert all(_german(e["message"]) and "„" in e["message"] for e in body["errors"]), body
    assert _german(body["message"])
    assert [t["id"] for t in open_tasks(as_user("sb1"), iid)] == [tid]


# ------------------------------------------------------------ finding 7: lone surrogates

@pytest.mark.parametrize("raw, path", [
    ('{"data": {"pattern": "\\ud800"}}', "/pattern"),
    ('{"data": {"typ_string": "a\\udfff"}}', "/typ_string"),
    ('{"data": {"zeilen": [{"name": "\\ud83d"}]}}', "/zeilen/0/name"),
    ('{"data": {"additional_schema": {"\\ud800": 1}}}', "/additional_schema"),
])
def test_lone_surrogates_in_form_data_are_refused_at_the_field(raw, path, as_user, platform, client):
    """Refused where the request is decoded (one rule for every route): 400 invalid_text with the
    pointer of the offending value in the request body."""
    assert _deploy(as_user("modeler1"), "t11_schluesselwoerter", KEYWORD_FORM).status_code in (200, 201)
    iid, tid = _started_task(as_user, "t11_schluesselwoerter")
    before = fingerprint(platform)
    sb = as_user("sb1")
    r = client.post(f"/api/tasks/{tid}/complete", data=raw.encode(), headers=sb.headers,
                    content_type="application/json")
    body = assert_problem(r, 400)
    assert body["code"] == "invalid_text"
    assert any(e["path"].startswith("/data" + path) and _german(e["message"])
               for e in body["errors"]), body
    assert changed(before, fingerprint(platform)) == {}
    assert [t["id"] for t in open_tasks(sb, iid)] == [tid]


def test_unique_items_over_many_objects_is_answered_quickly(as_user, platform):
    """jsonschema compares unhashable items pairwise: 4,000 small objects took 40 s."""
    assert _deploy(as_user("modeler1"), "t11_schluesselwoerter", KEYWORD_FORM).status_code in (200, 201)
    iid, tid = _started_task(as_user, "t11_schluesselwoerter")
    rows = [{"i": i} for i in range(4000)]
    started = time.monotonic()
    r = as_user("sb1").post(f"/api/tasks/{tid}/complete", json={"data": {"unique_items": [*rows, {"i": 7.0}]}})
    assert time.monotonic() - started < BOUND_SECONDS
    body = assert_problem(r, 422)
    assert body["errors"] == [{"path": "/unique_items", "message": "„Feld unique_items“ enthält doppelte Einträge."}]
    assert [t["id"] for t in open_tasks(as_user("sb1"), iid)] == [tid]
