"""Acceptance: hostile or broken uploads → 422 with a message naming the problem; nothing deployed."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.models import ProcessDefinition
from tests.conftest import ROOT
from tests.integration.helpers import deploy, script_process

GOOD = script_process("upload_test", "x = 1")
XXE_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
<bpmn:process id="p" isExecutable="true"><bpmn:documentation>&xxe;</bpmn:documentation></bpmn:process>
</bpmn:definitions>"""
LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
<bpmn:process id="p" isExecutable="true"><bpmn:documentation>&lol3;</bpmn:documentation></bpmn:process>
</bpmn:definitions>"""
DOCTYPE = GOOD.replace(b"<bpmn:definitions", b"<!DOCTYPE bpmn:definitions>\n<bpmn:definitions", 1)
MALFORMED = GOOD[: len(GOOD) // 2]
MISSING_FORM = GOOD.replace(b"demo/eskalation.schema.json", b"gibt/es/nicht.schema.json")
NO_TARGET = GOOD.replace(b'<bpmn:sequenceFlow id="f3" sourceRef="ut" targetRef="e" />',
                         b'<bpmn:sequenceFlow id="f3" sourceRef="ut" />')


def _count(platform) -> int:  # noqa: ANN001
    with platform.db.unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(ProcessDefinition))


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("xxe.bpmn", XXE_FILE, "DOCTYPE"),
    ("laughs.bpmn", LAUGHS, "DOCTYPE"),
    ("doctype.bpmn", DOCTYPE, "DOCTYPE"),
    ("kaputt.bpmn", MALFORMED, "XML"),
    ("formular.bpmn", MISSING_FORM, "gibt/es/nicht.schema.json"),
    ("ohneziel.bpmn", NO_TARGET, "targetRef"),
])
def test_bad_bpmn_upload_is_422_with_named_problem_and_nothing_deployed(
        login, platform, name, content, expected):
    modeler = login("modeler1")
    before = _count(platform)
    r = deploy(modeler, {name: content})
    assert r.status_code == 422, r.get_json()
    body = r.get_json()
    assert body["code"] == "definition_invalid"
    assert body["errors"], body
    text = " ".join(e["message"] for e in body["errors"])
    assert expected in text, body
    assert all(e["file"] == name for e in body["errors"])
    assert _count(platform) == before
    assert "root:" not in text  # /etc/passwd was never read


def test_missing_form_error_names_the_element(login):
    r = deploy(login("modeler1"), {"formular.bpmn": MISSING_FORM})
    [err] = r.get_json()["errors"]
    assert err["element_id"] == "ut"


def test_missing_dmn_decision_is_invalid(login):
    bpmn = (ROOT / "processes" / "demo" / "demo_antrag.bpmn").read_bytes()
    r = deploy(login("modeler1"), {"demo_antrag.bpmn": bpmn})
    assert r.status_code == 422
    assert "demo_pruefstufe" in r.get_json()["errors"][0]["message"]


def test_only_process_owners_deploy(login):
    r = deploy(login("sb1"), {"ok.bpmn": GOOD})
    assert r.status_code == 403


def test_valid_upload_deploys_a_new_version_only_when_content_changed(login):
    modeler = login("modeler1")
    first = deploy(modeler, {"ok.bpmn": GOOD}).get_json()
    again = deploy(modeler, {"ok.bpmn": GOOD}).get_json()
    changed = deploy(modeler, {"ok.bpmn": GOOD.replace(b'name="Skript"', b'name="Skript 2"')}).get_json()
    assert first[0]["key"] == "upload_test"
    assert again[0]["version"] == first[0]["version"] and again[0]["created"] is False
    assert changed[0]["version"] == first[0]["version"] + 1


def test_deployed_definition_keeps_the_dmn_it_calls(platform):
    with platform.db.unit_of_work() as s:
        definition = s.scalars(select(ProcessDefinition).where(
            ProcessDefinition.key == "demo_antrag").order_by(ProcessDefinition.version.desc())).first()
        assert set(definition.sources) == {"demo/demo_antrag.bpmn", "demo/demo_pruefstufe.dmn"}
