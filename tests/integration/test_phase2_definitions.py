"""Phase 2 BPMN/DMN/forms: deployable, drawable (diagram interchange) and German forms."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import etree

from app.domain import digicheck
from app.engine.parser import parse_definitions

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = sorted((ROOT / "processes" / "phase2").glob("*.bpmn"))
FORMS = ROOT / "forms"
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI"}
NODES = ("startEvent", "endEvent", "userTask", "serviceTask", "scriptTask", "exclusiveGateway",
         "parallelGateway", "callActivity", "subProcess", "intermediateCatchEvent",
         "boundaryEvent", "businessRuleTask")


@pytest.mark.parametrize("path", PROCESSES, ids=lambda p: p.name)
def test_every_element_is_drawn(path: Path):
    tree = etree.parse(str(path))
    shapes = set(tree.xpath("//bpmndi:BPMNShape/@bpmnElement", namespaces=NS))
    edges = set(tree.xpath("//bpmndi:BPMNEdge/@bpmnElement", namespaces=NS))
    for tag in NODES:
        for node_id in tree.xpath(f"//bpmn:{tag}/@id", namespaces=NS):
            assert node_id in shapes, node_id
    assert set(tree.xpath("//bpmn:sequenceFlow/@id", namespaces=NS)) == edges
    assert all(lane in shapes for lane in tree.xpath("//bpmn:lane/@id", namespaces=NS))


def test_phase2_deploys_together_with_german_forms_for_every_user_task():
    files = {p.name: p.read_bytes() for p in (ROOT / "processes" / "phase2").iterdir()}
    defs = {d.key: d for d in parse_definitions(files, lambda ref: (FORMS / ref).read_bytes()
                                                if (FORMS / ref).is_file() else None)}
    assert {"foerderaufruf", "cluster_antrag", "digicheck", "kdlz_beratung"} <= set(defs)
    assert defs["cluster_antrag"].starter_groups == ["kommune"]
    assert defs["foerderaufruf"].starter_groups == ["sachbearbeitung"]
    assert defs["digicheck"].starter_groups == ["kommune"]
    forms = {name: doc for d in defs.values() for name, doc in d.forms.items()}
    assert len(forms) >= 28
    for name, schema in forms.items():
        if name.endswith(".uischema.json"):
            continue
        assert schema["title"] and schema["description"], name
        for prop, spec in schema["properties"].items():
            assert spec.get("title"), (name, prop)
        assert "additionalProperties" in schema, name


def test_digicheck_form_matches_the_domain_questionnaire():
    schema = json.loads((FORMS / "phase2" / "digicheck.schema.json").read_text())
    answers = schema["properties"]["antworten"]
    assert set(answers["properties"]) == set(digicheck.QUESTIONS)
    assert answers["required"] == list(digicheck.QUESTIONS)
    for qid, (_area, question) in digicheck.QUESTIONS.items():
        assert answers["properties"][qid]["title"] == question.text
