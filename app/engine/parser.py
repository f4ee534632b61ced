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

from . import messages
from .checks import check_tree
from .problems import DefinitionInvalid, Problem, unique
from .specs import DeferredServiceTask
from .timers import (
    DEFAULT_LIMITS,
    BoundedBoundaryEventParser,
    BoundedIntermediateCatchEventParser,
    BoundedStartEventParser,
    TimerLimits,
)
from .xmlsafe import UnsafeXmlError, XmlSyntaxError, parse_xml

__all__ = ["DefinitionInvalid", "ParsedDefinition", "PortalBpmnParser", "Problem",
           "lane_group", "parse_definitions"]

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
MAX_XML_ELEMENTS = 20_000  # a large real model with diagram information has a few thousand
# the form a user task asks, and the read-only form of what it is about (its context)
FORM_PROPERTIES = ("formJsonSchemaFilename", "formUiSchemaFilename",
                   "contextJsonSchemaFilename", "contextUiSchemaFilename")


def _with_parser(tag: str, parser_class: type) -> tuple[type, type]:
    return parser_class, SpiffBpmnParser.OVERRIDE_PARSER_CLASSES[full_tag(tag)][1]


class PortalBpmnParser(SpiffBpmnParser):
    """SpiffBpmnParser whose service tasks are deferred to workers and whose timers are
    bounded (app/engine/timers.py)."""

    OVERRIDE_PARSER_CLASSES = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("serviceTask"): (ServiceTaskParser, DeferredServiceTask),
        full_tag("startEvent"): _with_parser("startEvent", BoundedStartEventParser),
        full_tag("intermediateCatchEvent"): _with_parser(
            "intermediateCatchEvent", BoundedIntermediateCatchEventParser),
        full_tag("boundaryEvent"): _with_parser("boundaryEvent", BoundedBoundaryEventParser),
    }


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


@dataclass
class _Upload:
    """The files of one deployment, sorted by kind, and the problems found so far."""

    parser: PortalBpmnParser
    bpmn: dict[str, etree._ElementTree] = field(default_factory=dict)
    forms: dict[str, bytes] = field(default_factory=dict)
    dmn: dict[str, list[str]] = field(default_factory=dict)
    fatal: list[Problem] = field(default_factory=list)  # the file cannot be read as a model
    problems: list[Problem] = field(default_factory=list)  # the model can be read but is wrong


def parse_definitions(
    files: dict[str, bytes],
    form_lookup: Callable[[str], bytes | None],
    known_operators: Iterable[str] | None = None,
    known_groups: Iterable[str] | None = None,
    timer_limits: TimerLimits = DEFAULT_LIMITS,
) -> list[ParsedDefinition]:
    """Parse BPMN/DMN/form files into deployable definitions, or raise DefinitionInvalid with
    every problem found (each naming its file and element)."""
    upload = _Upload(PortalBpmnParser(validator=None))
    for name, data in files.items():
        _read(upload, name, data, timer_limits)
    if not upload.fatal:
        for name, tree in upload.bpmn.items():
            try:
                upload.parser.add_bpmn_xml(tree.getroot(), filename=name)
            except (ValidationException, SpiffWorkflowException) as exc:
                upload.fatal.append(_from_spiff(exc, name))
    if not upload.bpmn and not upload.fatal:
        upload.fatal.append(Problem("", "Keine BPMN-Datei übergeben."))
    if upload.fatal:
        raise DefinitionInvalid(unique(upload.fatal + upload.problems))
    groups = {lane_group(g) for g in known_groups} if known_groups is not None else None
    operators = set(known_operators) if known_operators is not None else None
    definitions = []
    for pid in upload.parser.get_process_ids():
        definition = _definition(upload, pid, files, form_lookup, operators, groups)
        if definition is not None:
            definitions.append(definition)
    if upload.problems:
        raise DefinitionInvalid(unique(upload.problems))
    return definitions


def _read(upload: _Upload, name: str, data: bytes, limits: TimerLimits) -> None:
    lower = name.lower()
    if lower.endswith(".json"):
        upload.forms[name] = data
        return
    if not lower.endswith((".bpmn", ".dmn", ".xml")):
        upload.fatal.append(Problem(name, "Unbekannter Dateityp (erlaubt: .bpmn, .dmn, .json)."))
        return
    try:
        tree = parse_xml(data, name)
    except (UnsafeXmlError, XmlSyntaxError) as exc:
        upload.fatal.append(Problem(name, str(exc), line=getattr(exc, "line", None)))
        return
    root = tree.getroot()
    if sum(1 for _ in root.iter()) > MAX_XML_ELEMENTS:
        upload.fatal.append(Problem(name, f"Das Modell hat mehr als {MAX_XML_ELEMENTS} "
                                          "XML-Elemente; bitte in mehrere Prozesse aufteilen."))
    elif root.tag == f"{{{BPMN_NS}}}definitions":
        upload.problems.extend(check_tree(name, root, limits))
        upload.fatal.extend(_xsd_problems(tree, name))
        upload.bpmn[name] = tree
    elif "DMN" in (root.nsmap.get(None) or "") and root.tag.endswith("definitions"):
        try:
            upload.parser.add_dmn_xml(root, filename=name)
            upload.dmn[name] = [el.get("id") for el in root.iter()
                                if str(el.tag).endswith(("}decision", "}decisionTable"))]
        except (ValidationException, SpiffWorkflowException, etree.LxmlError) as exc:
            upload.fatal.append(_from_spiff(exc, name))
    else:
        upload.fatal.append(Problem(name, "Die Datei ist weder BPMN 2.0 noch DMN."))


def _definition(upload: _Upload, pid: str, files: dict[str, bytes], form_lookup,  # noqa: ANN001
                operators: set[str] | None, groups: set[str] | None) -> ParsedDefinition | None:
    parser = upload.parser
    try:
        spec = parser.get_spec(pid)
        subprocess_specs = parser.get_subprocess_specs(pid)
    except (ValidationException, SpiffWorkflowException) as exc:
        problem = _from_spiff(exc, _file_of(parser, pid))
        # an element a deploy check already explains is not repeated in the engine's words
        if (problem.file, problem.element_id) not in {(p.file, p.element_id) for p in upload.problems}:
            upload.problems.append(problem)
        return None
    all_specs = [spec, *subprocess_specs.values()]
    forms, form_problems = _collect_forms(all_specs, upload.forms, form_lookup)
    upload.problems.extend(form_problems)
    upload.problems.extend(_group_problems(all_specs, groups))
    used_ops = _operators(all_specs, operators, upload.problems)
    sources = {s.file: _decode(files[s.file]) for s in all_specs if s.file}
    for dmn_name, decision_ids in upload.dmn.items():
        if _uses_any_decision(all_specs, decision_ids):
            sources[dmn_name] = _decode(files[dmn_name])
    definition = ParsedDefinition(
        key=pid, name=spec.description or pid, spec=spec, subprocess_specs=subprocess_specs,
        sources=sources, forms=forms, starter_groups=_starter_groups(spec), operators=used_ops,
    )
    definition.content_hash = _content_hash(sources, forms)
    return definition


def _operators(specs, known: set[str] | None, problems: list[Problem]) -> set[str]:  # noqa: ANN001
    used = set()
    for s in specs:
        for ts in s.task_specs.values():
            if isinstance(ts, ServiceTask):
                used.add(ts.operation_name)
                if known is not None and ts.operation_name not in known:
                    problems.append(Problem(
                        s.file or "", f"Die Service-Aufgabe {_label(ts)} nennt den unbekannten "
                        f"Service-Operator „{ts.operation_name}“.", element_id=ts.bpmn_id))
    return used


def _label(ts) -> str:  # noqa: ANN001
    name, bpmn_id = (ts.bpmn_name or "").strip(), ts.bpmn_id or ts.name
    return f"„{name}“ ({bpmn_id})" if name and name != bpmn_id else f"„{bpmn_id}“"


def _group_problems(specs, known: set[str] | None) -> list[Problem]:  # noqa: ANN001
    """Every user task needs a group that exists (its lane or candidateGroup, or an expression
    that names one at run time); so does the lane of a start event (who may start)."""
    problems = []
    for ts in specs[0].task_specs.values():
        if isinstance(ts, StartEventMixin) and ts.lane is not None:
            problems.extend(_unknown_group(
                specs[0].file or "", ts, lane_group(ts.lane), known, "Das Startereignis",
                "niemand außer der Administration könnte den Prozess starten"))
    for s in specs:
        for ts in s.task_specs.values():
            if isinstance(ts, UserTask):
                problems.extend(_user_task_group(s.file or "", ts, known))
    return problems


def _user_task_group(file: str, ts, known: set[str] | None) -> list[Problem]:  # noqa: ANN001
    props = (ts.extensions or {}).get("properties", {})
    if (props.get("candidateGroupExpression") or "").strip():
        return []
    group = lane_group(props.get("candidateGroup") or ts.lane)
    if not group:
        return [Problem(file, f"Die Benutzeraufgabe {_label(ts)} liegt in keiner Lane mit Namen "
                        "und nennt keine Gruppe (candidateGroup); niemand könnte sie bearbeiten.",
                        element_id=ts.bpmn_id)]
    return _unknown_group(file, ts, group, known, "Die Benutzeraufgabe",
                          "niemand könnte sie bearbeiten")


def _unknown_group(file: str, ts, group: str | None, known: set[str] | None,  # noqa: ANN001
                   what: str, consequence: str) -> list[Problem]:
    if known is None or not group or group in known:
        return []
    return [Problem(file, f"{what} {_label(ts)} ist über die Lane oder candidateGroup der Gruppe "
                    f"„{group}“ zugeordnet, die es nicht gibt; {consequence}. Bitte eine "
                    "vorhandene Gruppe angeben.", element_id=ts.bpmn_id)]


def _xsd_problems(tree, name: str) -> list[Problem]:  # noqa: ANN001
    VALIDATOR.preprocess(tree.getroot())
    if VALIDATOR.validator.validate(tree):
        return []
    ids = _ids_by_line(tree.getroot())
    return [
        Problem(name, messages.schema_message(err.message), element_id=ids.get(err.line),
                line=err.line)
        for err in VALIDATOR.validator.error_log
    ]


def _ids_by_line(root: etree._Element) -> dict[int, str]:
    """The id of the element starting on each line (or of its nearest ancestor with an id)."""
    ids: dict[int, str] = {}
    for el in root.iter():
        node = el
        while node is not None and node is not root and not node.get("id"):
            node = node.getparent()
        if node is not None and node is not root and el.sourceline not in ids:
            ids[el.sourceline] = node.get("id")
    return ids


def _from_spiff(exc: Exception, name: str) -> Problem:
    element_id = getattr(exc, "id", None) or getattr(exc, "task_id", None)
    raw = str(getattr(exc, "message", None) or exc)
    if "RecursionError" in raw or isinstance(exc.__cause__, RecursionError):
        message = ("Der Ablauf ist zu lang oder zu tief verschachtelt, um ihn sicher zu verarbeiten. "
                   "Bitte in Teilprozesse (Aufrufaktivitäten) aufteilen.")
    else:
        message = messages.spiff_message(raw)
    if element_id:
        name_attr = (getattr(exc, "name", None) or "").strip()
        where = f"„{name_attr}“ ({element_id})" if name_attr and name_attr != element_id \
            else f"„{element_id}“"
        message = f"Element {where}: {message}"
    return Problem(
        getattr(exc, "file_name", None) or name, message,
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
            start_form = s is specs[0] and isinstance(ts, StartEventMixin)  # optional start data form
            if not (start_form or isinstance(ts, UserTask)):
                continue
            props = (ts.extensions or {}).get("properties", {})
            for prop in FORM_PROPERTIES:
                ref = props.get(prop)
                if not ref:
                    if prop == "formJsonSchemaFilename" and not start_form:
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
