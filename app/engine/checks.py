"""Deploy-time checks on a BPMN file's XML tree: what would otherwise only fail at run time.

Each check takes the file name, the tree's root and the limits and returns a list of problems,
each naming its element; every check runs on every file, so all problems are reported at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from lxml import etree

from .problems import Problem
from .scripting import ScriptSecurityError, compile_expression, compile_script
from .timers import KINDS, TimerLimits, TimerValueError, check_value, literal, looks_unquoted

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
B = f"{{{BPMN_NS}}}"
S = f"{{{SPIFF_NS}}}"

# BPMN elements whose text is a Python expression, with the German word for it
EXPRESSIONS = {
    f"{B}conditionExpression": "Bedingung", f"{B}condition": "Bedingung",
    f"{B}loopCondition": "Schleifenbedingung", f"{B}completionCondition": "Abschlussbedingung",
    f"{B}loopCardinality": "Anzahl der Durchläufe",
}
SCRIPTS = {f"{B}script": "Skript", f"{S}preScript": "Vor-Skript", f"{S}postScript": "Nach-Skript"}
EXPRESSION_PROPERTIES = ("candidateGroupExpression", "municipalityExpression")
PYTHON_HINT = ("Die Plattform erwartet Python-Ausdrücke (z. B. betrag > 1000 statt ${betrag > 1000} "
               "oder =betrag > 1000).")

Check = Callable[[str, etree._Element, TimerLimits], list[Problem]]


def owner(el: etree._Element) -> etree._Element:
    """The BPMN element a nested definition belongs to (a task, an event, a sequence flow)."""
    node = el
    while node is not None:
        tag = etree.QName(node).localname if isinstance(node.tag, str) else ""
        if (isinstance(node.tag, str) and node.tag.startswith(B) and node.get("id")
                and not tag.endswith(("EventDefinition", "LoopCharacteristics"))):
            return node
        node = node.getparent()
    return el


def label(el: etree._Element) -> str:
    """„Name“ (id) of an element, or „id“ when it has no name."""
    name, eid = (el.get("name") or "").strip(), el.get("id") or "?"
    return f"„{name}“ ({eid})" if name and name != eid else f"„{eid}“"


def _problem(file: str, el: etree._Element, message: str) -> Problem:
    return Problem(file, message, element_id=owner(el).get("id"),
                   line=getattr(el, "sourceline", None))


# --- executable processes ----------------------------------------------------------------------

def check_executable(file: str, root: etree._Element, limits: TimerLimits) -> list[Problem]:
    processes = list(root.iter(f"{B}process"))
    if any(p.get("isExecutable", "true") == "true" for p in processes):
        return []
    if not processes:
        return [Problem(file, "Die Datei enthält keinen Prozess.")]
    return [Problem(file, "Die Datei enthält keinen ausführbaren Prozess: "
                    f"{', '.join(label(p) for p in processes)} ist als nicht ausführbar "
                    "(isExecutable=\"false\") markiert; so würde nichts bereitgestellt.",
                    element_id=processes[0].get("id"))]


# --- timers ------------------------------------------------------------------------------------

def check_timers(file: str, root: etree._Element, limits: TimerLimits) -> list[Problem]:
    problems = []
    for definition in root.iter(f"{B}timerEventDefinition"):
        event = owner(definition)
        values = [(etree.QName(c).localname, c) for c in definition
                  if isinstance(c.tag, str) and etree.QName(c).localname in KINDS]
        if not values:
            problems.append(_problem(file, definition, f"Der Zeitgeber {label(event)} nennt weder "
                                     "Zeitpunkt noch Dauer noch Wiederholung."))
            continue
        kind, el = values[0]
        message = _timer_problem(kind, (el.text or "").strip(), limits)
        if message:
            problems.append(_problem(file, el, f"Der Zeitgeber {label(event)} ist ungültig: "
                                     f"{message}"))
    return problems


def _timer_problem(kind: str, expression: str, limits: TimerLimits) -> str | None:
    if not expression:
        return "Es ist kein Wert angegeben."
    if looks_unquoted(expression):
        return (f"Zeitangaben sind Python-Ausdrücke; ein fester Wert steht in Anführungszeichen "
                f"(\"{expression}\").")
    problem = _expression_problem(expression)
    if problem:
        return problem
    value = literal(expression)
    if value is None:
        return None  # computed from process data: checked by the engine when it is evaluated
    try:
        check_value(kind, value, limits)
    except TimerValueError as exc:
        return str(exc)
    return None


# --- expressions and scripts -------------------------------------------------------------------

def check_expressions(file: str, root: etree._Element, limits: TimerLimits) -> list[Problem]:
    problems = []
    for el, what, text, is_script in _code(root):
        problem = _script_problem(text) if is_script else _expression_problem(text)
        if problem:
            problems.append(_problem(file, el, f"{what} an {label(owner(el))}: {problem}"))
    return problems


def _code(root: etree._Element) -> Iterator[tuple[etree._Element, str, str, bool]]:
    for el in root.iter(*EXPRESSIONS):
        if el.getparent() is not None and el.getparent().tag == f"{B}timerEventDefinition":
            continue
        yield el, EXPRESSIONS[el.tag], (el.text or "").strip(), False
    for el in root.iter(*SCRIPTS):
        yield el, SCRIPTS[el.tag], el.text or "", True
    for el in root.iter(f"{S}parameter"):
        yield el, f"Parameter „{el.get('id')}“", (el.get("value") or "").strip(), False
    for el in root.iter(f"{S}property"):
        if el.get("name") in EXPRESSION_PROPERTIES:
            yield el, f"Eigenschaft {el.get('name')}", (el.get("value") or "").strip(), False


def _expression_problem(text: str) -> str | None:
    if not text:
        return None
    if "${" in text or "#{" in text:
        return f"„{_short(text)}“ ist ein JUEL-Ausdruck. {PYTHON_HINT}"
    if text.startswith("="):
        return f"„{_short(text)}“ ist ein FEEL-Ausdruck. {PYTHON_HINT}"
    return _compile_problem(compile_expression, text)


def _script_problem(text: str) -> str | None:
    return _compile_problem(compile_script, text)


def _compile_problem(compiler: Callable[[str], object], text: str) -> str | None:
    """A syntax error, in German; what the sandbox forbids (ScriptSecurityError) is left to run
    time, where it ends the instance in the error state with the sandbox's reason."""
    try:
        compiler(text)
    except SyntaxError as exc:
        where = f" (Zeile {exc.lineno})" if exc.lineno and "\n" in text.strip() else ""
        return f"{_german_syntax(exc.msg)}{where}."
    except ScriptSecurityError:
        return None
    except (RecursionError, MemoryError):
        return "Der Ausdruck ist zu tief verschachtelt oder zu lang, um ihn sicher zu übersetzen."
    return None


SYNTAX_MESSAGES = (
    ("invalid syntax", "ungültige Syntax"),
    ("was never closed", "eine Klammer wird nicht geschlossen"),
    ("unexpected EOF", "der Ausdruck endet unerwartet"),
    ("unterminated string", "eine Zeichenkette wird nicht geschlossen"),
    ("unexpected indent", "unerwartete Einrückung"),
    ("expected an indented block", "ein eingerückter Block fehlt"),
    ("unmatched", "eine schließende Klammer ohne öffnende"),
    ("cannot assign", "Zuweisung an diese Stelle ist nicht möglich"),
)


def _german_syntax(msg: str) -> str:
    text = msg.removeprefix("Syntaxfehler: ")
    for english, german in SYNTAX_MESSAGES:
        if english in text:
            return f"Syntaxfehler: {german}"
    return "Syntaxfehler im Python-Ausdruck"


def _short(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "…"


CHECKS: tuple[Check, ...] = (check_executable, check_timers, check_expressions)


def check_tree(file: str, root: etree._Element, limits: TimerLimits) -> list[Problem]:
    """Every problem the tree checks find in one BPMN file."""
    return [p for check in CHECKS for p in check(file, root, limits)]
