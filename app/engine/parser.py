"""Definition parsing and validation.

Every file is parsed by our own hardened XML parser first (no DOCTYPE, no entities, no network),
validated against the BPMN XSD, then handed as a tree to a SpiffBpmnParser subclass. All problems
are collected — file, element id, message — instead of stopping at the first one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent as StartEventMixin
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import ServiceTaskParser
from SpiffWorkflow.spiff.specs.defaults import BusinessRuleTask, ServiceTask, UserTask

from .specs import DeferredServiceTask
from .xmlsafe import UnsafeXmlError, XmlSyntaxError, parse_xml

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
MAX_XML_ELEMENTS = 20_000  # a large real model with diagram information has a few thousand
# the form a user task asks, and the read-only form of what it is about (its context)
FORM_PROPERTIES = ("formJsonSchemaFilename", "formUiSchemaFilename",
                   "contextJsonSchemaFilename", "contextUiSchemaFilename")


class PortalBpmnParser(SpiffBpmnParser):
    """SpiffBpmnParser whose service tasks are deferred to workers."""

    OVERRIDE_PARSER_CLASSES = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("serviceTask"): (ServiceTaskParser, DeferredServiceTask),
    }


@dataclass
class Problem:
    file: str
    message: str
    element_id: str | None = None
    line: int | None = None

    def as_dict(self) -> dict:
        return {
            "file": self.file, "element_id": self.element_id, "line": self.line,
            "message": self.message,
        }


class DefinitionInvalid(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(f"{p.file}: {p.message}" for p in problems))
        self.problems = problems


@dataclass
class ParsedDefinition:
    key: str
    name: str
    spec: object
    subprocess_specs: dict
    sources: dict[str, str]
    forms: dict[str, dict]
    starter_groups: list[str]
    content_hash: str = ""
    operators: set[str] = field(default_factory=set)


def lane_group(lane: str | None) -> str | None:
    """A lane's name is the candidate group (case and spaces folded)."""
    if not lane:
        return None
    return lane.strip().lower().replace(" ", "-")


def _content_hash(sources: dict[str, str], forms: dict[str, dict]) -> str:
    h = hashlib.sha256()
    for name in sorted(sources):
        h.update(name.encode() + b"\0" + sources[name].encode() + b"\0")
    for name in sorted(forms):
        h.update(name.encode() + b"\0" + json.dumps(forms[name], sort_keys=True).encode() + b"\0")
    return h.hexdigest()


def _decode(data: bytes | str) -> str:
    return data if isinstance(data, str) else data.decode("utf-8")


def parse_definitions(
    files: dict[str, bytes],
    form_lookup: Callable[[str], bytes | None],
    known_operators: Iterable[str] | None = None,
) -> list[ParsedDefinition]:
    """Parse BPMN/DMN/form files into deployable definitions, or raise DefinitionInvalid."""
    problems: list[Problem] = []
    parser = PortalBpmnParser(validator=None)
    bpmn_trees: dict[str, etree._ElementTree] = {}
    uploaded_forms: dict[str, bytes] = {}
    dmn_files: dict[str, list[str]] = {}
    for name, data in files.items():
        lower = name.lower()
        if lower.endswith(".json"):
            uploaded_forms[name] = data
            continue
        if not (lower.endswith(".bpmn") or lower.endswith(".dmn") or lower.endswith(".xml")):
            problems.append(Problem(name, "Unbekannter Dateityp (erlaubt: .bpmn, .dmn, .json)."))
            continue
        try:
            tree = parse_xml(data, name)
        except (UnsafeXmlError, XmlSyntaxError) as exc:
            problems.append(Problem(name, str(exc), line=getattr(exc, "line", None)))
            continue
        root = tree.getroot()
        if sum(1 for _ in root.iter()) > MAX_XML_ELEMENTS:
            problems.append(Problem(name, f"Das Modell hat mehr als {MAX_XML_ELEMENTS} XML-Elemente; "
                                          "bitte in mehrere Prozesse aufteilen."))
            continue
        if root.tag == f"{{{BPMN_NS}}}definitions":
            problems.extend(_xsd_problems(tree, name))
            bpmn_trees[name] = tree
        elif "DMN" in (root.nsmap.get(None) or "") and root.tag.endswith("definitions"):
            try:
                parser.add_dmn_xml(root, filename=name)
                dmn_files[name] = [el.get("id") for el in root.iter()
                                   if str(el.tag).endswith(("}decision", "}decisionTable"))]
            except (ValidationException, SpiffWorkflowException, etree.LxmlError) as exc:
                problems.append(_from_spiff(exc, name))
        else:
            problems.append(Problem(name, "Die Datei ist weder BPMN 2.0 noch DMN."))
    if problems:
        raise DefinitionInvalid(problems)
    for name, tree in bpmn_trees.items():
        try:
            parser.add_bpmn_xml(tree.getroot(), filename=name)
        except (ValidationException, SpiffWorkflowException) as exc:
            problems.append(_from_spiff(exc, name))
    if not bpmn_trees:
        problems.append(Problem("", "Keine BPMN-Datei übergeben."))
    if problems:
        raise DefinitionInvalid(problems)

    definitions = []
    operators = set(known_operators) if known_operators is not None else None
    for pid in parser.get_process_ids():
        try:
            spec = parser.get_spec(pid)
            subprocess_specs = parser.get_subprocess_specs(pid)
        except (ValidationException, SpiffWorkflowException) as exc:
            problems.append(_from_spiff(exc, _file_of(parser, pid)))
            continue
        all_specs = [spec, *subprocess_specs.values()]
        forms, form_problems = _collect_forms(all_specs, uploaded_forms, form_lookup)
        problems.extend(form_problems)
        used_ops = set()
        for s in all_specs:
            for ts in s.task_specs.values():
                if isinstance(ts, ServiceTask):
                    used_ops.add(ts.operation_name)
                    if operators is not None and ts.operation_name not in operators:
                        problems.append(Problem(
                            s.file or "", f"Unbekannter Service-Operator „{ts.operation_name}“.",
                            element_id=ts.bpmn_id))
        sources = {}
        for s in all_specs:
            if s.file:
                sources[s.file] = _decode(files[s.file])
        for dmn_name, decision_ids in dmn_files.items():
            if _uses_any_decision(all_specs, decision_ids):
                sources[dmn_name] = _decode(files[dmn_name])
        definition = ParsedDefinition(
            key=pid,
            name=spec.description or pid,
            spec=spec,
            subprocess_specs=subprocess_specs,
            sources=sources,
            forms=forms,
            starter_groups=_starter_groups(spec),
            operators=used_ops,
        )
        definition.content_hash = _content_hash(sources, forms)
        definitions.append(definition)
    if problems:
        raise DefinitionInvalid(problems)
    return definitions


def _xsd_problems(tree, name: str) -> list[Problem]:  # noqa: ANN001
    VALIDATOR.preprocess(tree.getroot())
    if VALIDATOR.validator.validate(tree):
        return []
    return [
        Problem(name, f"BPMN-Schemafehler: {err.message}", line=err.line)
        for err in VALIDATOR.validator.error_log
    ]


def _from_spiff(exc: Exception, name: str) -> Problem:
    element_id = getattr(exc, "id", None) or getattr(exc, "task_id", None)
    message = getattr(exc, "message", None) or str(exc)
    if "RecursionError" in str(message) or isinstance(exc.__cause__, RecursionError):
        message = ("Der Ablauf ist zu lang oder zu tief verschachtelt, um ihn sicher zu verarbeiten. "
                   "Bitte in Teilprozesse (Aufrufaktivitäten) aufteilen.")
    return Problem(
        getattr(exc, "file_name", None) or name, str(message),
        element_id=element_id, line=getattr(exc, "line_number", None) or None,
    )


def _file_of(parser, pid: str) -> str:  # noqa: ANN001
    pp = parser.get_process_parser(pid)
    return getattr(pp, "filename", "") or ""


def _uses_any_decision(specs, decision_ids: list[str]) -> bool:  # noqa: ANN001
    for s in specs:
        for ts in s.task_specs.values():
            if isinstance(ts, BusinessRuleTask):
                table = getattr(ts.dmnEngine, "decision_table", None)
                if table is None or getattr(table, "id", None) in decision_ids:
                    return True
                # decision id lives on the parent decision; fall back to name match
                if any(d and d in str(getattr(table, "name", "")) for d in decision_ids):
                    return True
    return False


def _collect_forms(specs, uploaded: dict[str, bytes], lookup) -> tuple[dict, list[Problem]]:  # noqa: ANN001
    forms: dict[str, dict] = {}
    problems: list[Problem] = []
    for s in specs:
        for ts in s.task_specs.values():
            if not isinstance(ts, UserTask):
                continue
            props = (ts.extensions or {}).get("properties", {})
            if not (ts.lane or props.get("candidateGroup") or props.get("candidateGroupExpression")):
                problems.append(Problem(
                    s.file or "", f"Die Benutzeraufgabe „{ts.bpmn_name or ts.bpmn_id}“ liegt in "
                    "keiner Lane und nennt keine Gruppe (candidateGroup); niemand könnte sie "
                    "bearbeiten.", element_id=ts.bpmn_id))
            for prop in FORM_PROPERTIES:
                ref = props.get(prop)
                if not ref:
                    if prop == "formJsonSchemaFilename":
                        problems.append(Problem(
                            s.file or "", "Die Benutzeraufgabe verweist auf kein Formular "
                            "(Eigenschaft formJsonSchemaFilename fehlt).", element_id=ts.bpmn_id))
                    continue
                if ref in forms:
                    continue
                raw = _find_form(ref, uploaded, lookup)
                if raw is None:
                    problems.append(Problem(
                        s.file or "", f"Das Formular „{ref}“ existiert nicht.",
                        element_id=ts.bpmn_id))
                    continue
                try:
                    doc = json.loads(raw)
                    if prop.endswith("JsonSchemaFilename"):
                        Draft202012Validator.check_schema(doc)
                except (ValueError, SchemaError) as exc:
                    problems.append(Problem(
                        ref, f"Das Formular „{ref}“ ist kein gültiges JSON Schema: {exc}",
                        element_id=ts.bpmn_id))
                    continue
                forms[ref] = doc
    return forms, problems


def _find_form(ref: str, uploaded: dict[str, bytes], lookup) -> bytes | None:  # noqa: ANN001
    if ref in uploaded:
        return uploaded[ref]
    base = ref.rsplit("/", 1)[-1]
    for name, data in uploaded.items():
        if name.rsplit("/", 1)[-1] == base:
            return data
    return lookup(ref)


def _starter_groups(spec) -> list[str]:  # noqa: ANN001
    groups = set()
    for ts in spec.task_specs.values():
        if isinstance(ts, StartEventMixin) and getattr(ts, "lane", None):
            groups.add(lane_group(ts.lane))
    return sorted(g for g in groups if g)
