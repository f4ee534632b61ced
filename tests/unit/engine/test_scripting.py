"""Tests für app.engine.scripting: RestrictedPython für alle Skripte und Ausdrücke.

Die Prozesse laufen echt durch SpiffWorkflow (SpiffBpmnParser + BpmnWorkflow +
do_engine_steps), damit geprüft ist, was die Engine tatsächlich aufruft.
"""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from app.engine.scripting import (
    MAX_RANGE_LENGTH,
    RestrictedEnvironment,
    ScriptLimitError,
    ScriptSecurityError,
    ScriptTimeoutError,
    compile_expression,
    compile_script,
    make_script_engine,
)
from app.engine.xmlsafe import parse_xml

FIXTURES = Path(__file__).parent / "fixtures"
GATEWAY_BPMN = (FIXTURES / "script_gateway.bpmn").read_text(encoding="utf-8")
BUSINESS_RULE_BPMN = (FIXTURES / "business_rule.bpmn").read_bytes()
DECISION_DMN = (FIXTURES / "foerderquote.dmn").read_text(encoding="utf-8")
TIME_LIMIT = 0.25

SCRIPT_PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="Definitions_escape" targetNamespace="http://foerderportal.example/bpmn">
  <bpmn:process id="escape" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:{tag} id="script" name="Skript">
      {extensions}<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      {body}
    </bpmn:{tag}>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="script" />
    <bpmn:sequenceFlow id="f2" sourceRef="script" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""

GUARD_NAMES = {"__builtins__", "_getattr_", "_getitem_", "_getiter_", "_write_", "_tick_",
               "_print", "_print_", "_inplacevar_", "_apply_"}


def erhoehe(wert):
    return wert + 100


FUNCTIONS = {"erhoehe": erhoehe}


def _spec(xml: str, process_id: str):
    parser = SpiffBpmnParser()
    parser.add_bpmn_xml(parse_xml(xml, filename=f"{process_id}.bpmn"), filename=f"{process_id}.bpmn")
    return parser.get_spec(process_id)


def _workflow(spec, data=None, engine=None) -> BpmnWorkflow:
    workflow = BpmnWorkflow(
        spec,
        script_engine=engine or make_script_engine(FUNCTIONS, time_limit_seconds=TIME_LIMIT),
    )
    if data:
        workflow.get_tasks(state=TaskState.READY)[0].data.update(data)
    return workflow


def _script_workflow(script: str, data=None) -> BpmnWorkflow:
    body = f"<bpmn:script>{escape(script)}</bpmn:script>"
    xml = SCRIPT_PROCESS.format(tag="scriptTask", extensions="", body=body)
    return _workflow(_spec(xml, "escape"), data)


def _task_with_scripts_workflow(pre_script: str, post_script: str = "y = 2") -> BpmnWorkflow:
    # SpiffWorkflow 3.2 wertet pre-/postScript an bpmn:task aus (an scriptTask nicht).
    extensions = (
        "<bpmn:extensionElements>"
        f"<spiffworkflow:preScript>{escape(pre_script)}</spiffworkflow:preScript>"
        f"<spiffworkflow:postScript>{escape(post_script)}</spiffworkflow:postScript>"
        "</bpmn:extensionElements>"
    )
    xml = SCRIPT_PROCESS.format(tag="task", extensions=extensions, body="")
    return _workflow(_spec(xml, "escape"))


def _gateway_workflow(condition: str | None = None, eingabe=(4, 5.5)) -> BpmnWorkflow:
    xml = GATEWAY_BPMN
    if condition is not None:
        xml = xml.replace("total &gt; 10", escape(condition, {'"': "&quot;"}))
    return _workflow(_spec(xml, "script_gateway"), {"eingabe": list(eingabe)})


def _run_to_end(workflow: BpmnWorkflow) -> BpmnWorkflow:
    """Engine-Schritte ausführen und manuelle Tasks (bpmn:task) wie ein Bearbeiter abschließen."""
    workflow.do_engine_steps()
    while manual := [t for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.manual]:
        manual[0].run()
        workflow.do_engine_steps()
    return workflow


def _errored(workflow: BpmnWorkflow) -> list[str]:
    return [task.task_spec.bpmn_id for task in workflow.get_tasks(state=TaskState.ERROR)]


# ============================================================ (a) normale Prozesse


@pytest.mark.parametrize(
    ("eingabe", "entscheidung", "total"),
    [((4, 5.5), "hoch", 11.5), ((1, 2), "niedrig", 5)],
)
def test_script_task_and_gateway_run_and_write_task_data(eingabe, entscheidung, total) -> None:
    workflow = _run_to_end(_gateway_workflow(eingabe=eingabe))

    assert workflow.is_completed()
    data = workflow.data
    assert data["entscheidung"] == entscheidung
    assert data["total"] == total
    assert data["antrag"]["status"] == "geprueft"
    assert data["antrag"]["positionen"][-1] == {"betrag": 2}
    assert data["betraege"] == [*eingabe, 2]
    assert data["verdoppelt"] == {str(i): b * 2 for i, b in enumerate([*eingabe, 2])}
    assert data["zaehler"] == {"a": 3, "liste": [1, 2, 3]}
    assert data["gross"] == sorted([b for b in [*eingabe, 2] if b > 3], reverse=True)
    assert (data["erster"], data["zweiter"], data["dritter"]) == (1, 2, 3)
    assert data["text"] == f"Summe: {total:.2f} EUR"
    assert data["rabatt"] == "21.11"
    assert data["frist"] == "2024-03-01"
    assert data["erhoeht"] == total + 100
    assert data["flaeche"] == 9 and data["naechster"] == 10
    # Funktionen (übergebene wie im Skript definierte) landen nicht in den Task-Daten,
    # ebenso wenig Wächter oder Builtins.
    assert "erhoehe" not in data and "quadrat" not in data and "hilfe" not in data
    assert not GUARD_NAMES & set(data)
    # Pre-/Post-Skripte laufen ebenfalls über die eingeschränkte Umgebung.
    if entscheidung == "hoch":
        assert data["vorher"] == "pre" and data["nachher"] == "post"


def test_results_match_the_unrestricted_task_data_environment() -> None:
    restricted = _run_to_end(_gateway_workflow())

    plain_environment = TaskDataEnvironment({
        "erhoehe": erhoehe,
        "Decimal": Decimal,
        "date": __import__("datetime").date,
        "timedelta": __import__("datetime").timedelta,
    })
    plain = _workflow(
        _spec(GATEWAY_BPMN, "script_gateway"),
        {"eingabe": [4, 5.5]},
        engine=PythonScriptEngine(environment=plain_environment),
    )
    _run_to_end(plain)

    assert restricted.is_completed() and plain.is_completed()
    assert restricted.data == plain.data


def test_everyday_script_features_keep_working() -> None:
    script = "\n".join([
        'namen = ", ".join(["Anna", "Ben"])',
        'kurz = "ab".ljust(5, ".") + "7".zfill(3) + "x".center(3)',
        'ersetzt = "a-b-c".replace("-", "+")',
        'prozent = "%5.1f %%" % 12.345',
        'formatiert = f"{3.14159:8.3f}|{42:>6}|{\'x\'!r}"',
        "liste = [1, 2]",
        "liste.extend(range(3))",
        "liste += [9]",
        "liste *= 2",
        "wort = 'ab' * 3",
        "potenz = 2 ** 64 + pow(3, 4) + (1 << 10)",
        "typen = [isinstance(5, int), isinstance(True, int), isinstance(Decimal('1'), Decimal),",
        "         isinstance(1.5, (int, float)), isinstance('x', int)]",
        "ganz = int('42') + int(Decimal('12.7')) + int(3.9)",
        "gerundet = str(round(Decimal('2.675'), 2))",
        "summe = sum([1, 2, 3]) + sum((Decimal('0.1') for _ in range(3)), Decimal('0'))",
        "paare = dict(zip(['a', 'b'], [1, 2]))",
        "umgekehrt = list(reversed(sorted({3, 1, 2})))",
        "gefiltert = list(filter(None, map(abs, [-1, 0, 2])))",
        "menge = sorted(frozenset([1, 1, 2]))",
        "minmax = (min(3, 1), max([4, 7]), len('abc'), abs(-2), divmod(7, 2))",
        "print('Debug-Ausgabe', 1)",
        "gesamt = 0",
        "i = 0",
        "while i < 5:",
        "    i += 1",
        "    if i == 2:",
        "        continue",
        "    gesamt += i",
        "try:",
        "    {}['fehlt']",
        "except KeyError as fehler:",
        "    abgefangen = fehler.args[0]",
        "jetzt_ok = datetime.now() > datetime(2020, 1, 1, tzinfo=None)",
        "d = {'a': {'b': 1}}",
        "d['a']['b'] += 1",
        "del d['a']['b']",
        "(walrus := 5)",
    ])
    workflow = _script_workflow(script)
    workflow.do_engine_steps()
    data = workflow.data
    assert workflow.is_completed()
    assert data["namen"] == "Anna, Ben"
    assert data["kurz"] == "ab...007 x "
    assert data["ersetzt"] == "a+b+c"
    assert data["prozent"] == " 12.3 %"
    assert data["formatiert"] == "   3.142|    42|'x'"
    assert data["liste"] == [1, 2, 0, 1, 2, 9] * 2
    assert data["wort"] == "ababab"
    assert data["potenz"] == 2**64 + 81 + 1024
    assert data["typen"] == [True, True, True, True, False]
    assert data["ganz"] == 42 + 12 + 3
    assert data["gerundet"] == "2.68"
    assert data["summe"] == Decimal("6.3")
    assert data["paare"] == {"a": 1, "b": 2}
    assert data["umgekehrt"] == [3, 2, 1]
    assert data["gefiltert"] == [1, 2]
    assert data["menge"] == [1, 2]
    assert data["minmax"] == (1, 7, 3, 2, (3, 1))
    assert data["gesamt"] == 13
    assert data["abgefangen"] == "fehlt"
    assert data["jetzt_ok"] is True
    assert data["d"] == {"a": {}}
    assert data["walrus"] == 5
    assert "printed" not in data and not GUARD_NAMES & set(data)


# ============================================================ (b) Ausbruchsversuche

# MARKER wird durch den Pfad einer Datei ersetzt, die nur entstehen könnte, wenn der
# Ausbruch gelingt.
SECURITY = "Unzulässiger Zugriff im Skript"
LIMIT = "Skript-Grenze überschritten"
TIMEOUT = "Zeitlimit überschritten"

ESCAPES = [
    ("import-os", 'import os; os.system("touch " + MARKER)', "import ist nicht erlaubt"),
    ("from-import", "from os import system\nsystem('touch ' + MARKER)", "import ist nicht erlaubt"),
    ("dunder-import", '__import__("os").system("touch " + MARKER)', "'__import__'"),
    ("open", 'open(MARKER, "w").write("x")', "'open'"),
    ("subclasses",
     "[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'Popen'][0]"
     "(['touch', MARKER])", "'__class__'"),
    ("class-attr", "x = [].__class__", "'__class__'"),
    ("getattr-builtin", 'getattr([], "__class__")', "'getattr'"),
    ("lambda-globals", '(lambda: 0).__globals__["__builtins__"]["open"](MARKER, "w")',
     "'__globals__'"),
    ("generator-frame",
     'g = (x for x in [1])\ng.gi_frame.f_globals["__builtins__"]["open"](MARKER, "w")',
     "'gi_frame'"),
    ("format-attribute", 'x = "{0.__class__.__base__}".format(1)', "str.format()"),
    ("format-map-attribute", 'x = "{a.__class__}".format_map({"a": 1})', "str.format_map()"),
    ("eval", "eval(\"open(MARKER, 'w')\")", "eval ist nicht erlaubt"),
    ("exec", "exec(\"open(MARKER, 'w')\")", "exec ist nicht erlaubt"),
    ("compile", "c = compile(\"open(MARKER, 'w')\", 'x', 'exec')", "'compile'"),
    ("globals", 'globals()["__builtins__"]', "'globals'"),
    ("vars", "v = vars()", "'vars'"),
    ("locals", "v = locals()", "'locals'"),
    ("type-subclasses", "type(1).__subclasses__", "'__subclasses__'"),
    ("decorator-exec",
     "@exec\n@lambda _: \"open(MARKER, 'w')\"\ndef f():\n    pass", "'exec'"),
    ("decorator-getattr", "@getattr\ndef f():\n    pass", "'getattr'"),
    ("lambda-default-builtin", '(lambda f=open: f(MARKER, "w"))()', "'open'"),
    ("lambda-default-dunder", "(lambda c=().__class__: c)()", "'__class__'"),
    ("comprehension-bases", "[x for x in ().__class__.__bases__]", "'__class__'"),
    ("fstring-dunder", 'x = f"{().__class__}"', "'__class__'"),
    ("traceback-frame",
     "try:\n    1 / 0\nexcept Exception as e:\n    e.__traceback__.tb_frame", "'__traceback__'"),
    ("function-globals", "erhoehe.__globals__['os']", "'__globals__'"),
    ("class-definition", "class X:\n    pass", "Klassendefinitionen"),
    ("builtins-name", '__builtins__["open"](MARKER, "w")', "'__builtins__'"),
    ("system-exit", "raise SystemExit(1)", "SystemExit"),
    ("while-true", "while True: pass", TIMEOUT),
    ("while-true-multiline", "n = 0\nwhile True:\n    n += 1", TIMEOUT),
    ("swallowed-timeout",
     "try:\n    while True: pass\nexcept Exception:\n    pass\nfertig = True", TIMEOUT),
    ("bare-except-loop",
     "while True:\n    try:\n        while True: pass\n    except:\n        pass", TIMEOUT),
    ("runaway-recursion", "def f():\n    return [f() for _ in range(10)]\nf()", "RecursionError"),
    ("exponential-calls",
     "def f(n):\n    return 0 if n == 0 else f(n - 1) + f(n - 1)\nx = f(60)", TIMEOUT),
    ("nested-comprehension",
     "x = [1 for a in range(10**6) for b in range(10**6)]", TIMEOUT),
    ("string-bomb", 'x = "a" * 10**10', LIMIT),
    ("list-bomb", "x = list(range(10**9))", LIMIT),
    ("list-multiply", "x = [0] * 10**9", LIMIT),
    ("power-bomb", "x = 10**10**10", LIMIT),
    ("shift-bomb", "x = 1 << 10**10", LIMIT),
    ("pow-builtin", "x = pow(10, 10**9)", LIMIT),
    ("format-width", 'x = f"{1:>1000000000}"', LIMIT),
    ("printf-width", 'x = "%1000000000d" % 1', LIMIT),
    ("ljust-bomb", 'x = "a".ljust(10**10)', LIMIT),
    ("replace-bomb", 'x = ("a" * 10**6).replace("", "b" * 10**6)', LIMIT),
    ("join-bomb", 'x = ("a" * 10**6).join(["b"] * 10**6)', LIMIT),
    ("decimal-to-int", "x = int(Decimal('9') * Decimal('1e999998'))", LIMIT),
    ("decimal-huge-literal", "x = Decimal('1e100000000')", LIMIT),
    ("sum-of-lists", "x = sum([[0] * 1000] * 1000, [])", SECURITY),
]


@pytest.mark.parametrize(("payload", "reason"), [(p, r) for _, p, r in ESCAPES],
                         ids=[name for name, _, _ in ESCAPES])
def test_escape_attempt_fails_the_task_and_does_not_run(tmp_path, payload, reason) -> None:
    marker = tmp_path / "pwned"
    script = payload.replace("MARKER", repr(str(marker)))
    workflow = _script_workflow(script)

    started = time.monotonic()
    with pytest.raises(WorkflowTaskException) as info:
        workflow.do_engine_steps()
    elapsed = time.monotonic() - started

    error = info.value
    assert _errored(workflow) == ["script"]
    assert error.task.task_spec.bpmn_id == "script"
    assert not workflow.is_completed()
    assert not marker.exists()
    assert reason in str(error)
    assert elapsed < TIME_LIMIT + 1.0
    # Nichts von der Sandbox bleibt in den Task-Daten zurück.
    assert not GUARD_NAMES & set(error.task.data)


def test_escape_corpus_is_large_enough() -> None:
    assert len(ESCAPES) >= 15


def test_security_error_is_readable_and_carries_type_and_line() -> None:
    workflow = _script_workflow("a = 1\nb = 2\nc = open('/etc/passwd')")
    with pytest.raises(WorkflowTaskException) as info:
        workflow.do_engine_steps()
    error = info.value
    assert error.error_type == "ScriptSecurityError"
    assert error.line_number == 3
    assert error.error_line == "c = open('/etc/passwd')"
    assert "Unzulässiger Zugriff im Skript: die Funktion 'open' ist in Skripten nicht erlaubt" \
        in str(error)
    assert isinstance(error.__cause__, ScriptSecurityError)


def test_compile_time_refusal_reports_the_line() -> None:
    workflow = _script_workflow("x = 1\n\nimport os")
    with pytest.raises(WorkflowTaskException) as info:
        workflow.do_engine_steps()
    assert info.value.line_number == 3
    assert "import ist nicht erlaubt (Zeile 3)" in str(info.value)


def test_timeout_error_type_and_message() -> None:
    workflow = _script_workflow("x = 0\nwhile True:\n    x = x + 1")
    with pytest.raises(WorkflowTaskException) as info:
        workflow.do_engine_steps()
    assert info.value.error_type == "ScriptTimeoutError"
    assert f"länger als {TIME_LIMIT:g} Sekunden" in str(info.value)
    assert info.value.line_number == 2


@pytest.mark.parametrize("where", ["pre", "post"])
def test_pre_and_post_scripts_are_restricted_too(tmp_path, where) -> None:
    marker = tmp_path / "pwned"
    payload = f"__import__('os').system('touch {marker}')"
    if where == "pre":
        workflow = _task_with_scripts_workflow(payload)
    else:
        workflow = _task_with_scripts_workflow("x = 1", post_script=payload)
    with pytest.raises(WorkflowTaskException) as info:
        _run_to_end(workflow)
    assert SECURITY in str(info.value)
    assert f"Error occurred in the {where.capitalize()}-Script" in str(info.value)
    assert _errored(workflow) == ["script"]
    assert not marker.exists()


def test_pre_and_post_scripts_run_normally() -> None:
    workflow = _run_to_end(_task_with_scripts_workflow("x = [1, 2]\nx.append(3)", "y = sum(x)"))
    assert workflow.is_completed()
    assert workflow.data == {"x": [1, 2, 3], "y": 6}


def test_normal_runtime_errors_keep_spiffworkflow_behaviour() -> None:
    workflow = _script_workflow("betrag = 1\nergebnis = betrg + 1")
    with pytest.raises(WorkflowTaskException) as info:
        workflow.do_engine_steps()
    message = str(info.value)
    assert "NameError: name 'betrg' is not defined" in message
    assert "Did you mean" in message  # Hinweis von SpiffWorkflow bleibt erhalten
    assert info.value.line_number == 2


def test_syntax_error_reports_line() -> None:
    workflow = _script_workflow("x = 1\ny = (")
    with pytest.raises(WorkflowTaskException) as info:
        workflow.do_engine_steps()
    assert info.value.error_type == "SyntaxError"
    assert info.value.line_number == 2
    assert "Syntaxfehler" in str(info.value)


# ============================================================ (c) Gateway-Bedingungen


@pytest.mark.parametrize(
    ("condition", "reason"),
    [
        ("__import__('os').system('touch MARKER')", SECURITY),
        ("open('MARKER', 'w') is not None", "'open'"),
        ("().__class__.__base__ is not None", "'__class__'"),
        ("'{0.__class__}'.format(total) != ''", "str.format()"),
        ("len([1 for a in range(10**6) for b in range(10**6)]) > 0", TIMEOUT),
        ("len('a' * 10**10) > 0", LIMIT),
    ],
    ids=["dunder-import", "open", "subclasses", "format", "timeout", "limit"],
)
def test_gateway_conditions_are_restricted(tmp_path, condition, reason) -> None:
    marker = tmp_path / "pwned"
    workflow = _gateway_workflow(condition.replace("MARKER", str(marker)))
    with pytest.raises(WorkflowTaskException) as info:
        workflow.do_engine_steps()
    error = info.value
    assert _errored(workflow) == ["check"]
    assert error.task.task_spec.bpmn_id == "check"
    assert "Fehler im Ausdruck" in str(error)
    assert reason in str(error)
    assert error.__cause__ is not None
    assert not marker.exists()
    # Das Skript davor ist normal gelaufen.
    assert error.task.data["total"] == 11.5


# ============================================================ DMN-Zellen


def _decision_workflow(antrag: dict, cell: str = "0.6") -> BpmnWorkflow:
    parser = SpiffBpmnParser()
    parser.add_bpmn_xml(parse_xml(BUSINESS_RULE_BPMN), filename="business_rule.bpmn")
    dmn = parse_xml(DECISION_DMN.replace("MALICIOUS_CELL", escape(cell)))
    # add_dmn_xml braucht das Wurzelelement (liest .nsmap), add_bpmn_xml nimmt auch den Baum.
    parser.add_dmn_xml(dmn.getroot(), filename="foerderquote.dmn")
    return _workflow(parser.get_spec("business_rule"), {"antrag": antrag})


@pytest.mark.parametrize(
    ("antrag", "quote"),
    [
        ({"betrag": 500, "art": "Verein"}, 0.5),
        ({"betrag": 5000, "art": "Kommune"}, 0.9),
        ({"betrag": 5000, "art": "Verein"}, 0.6),
    ],
)
def test_decision_tables_evaluate_in_the_restricted_environment(antrag, quote) -> None:
    workflow = _decision_workflow(antrag)
    workflow.do_engine_steps()
    assert workflow.is_completed()
    assert workflow.data["quote"] == pytest.approx(quote)


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("__import__('os').system('touch MARKER')", SECURITY),
        ("open('MARKER', 'w')", "'open'"),
        ("[].__class__", "'__class__'"),
        ("len([1 for a in range(10**6) for b in range(10**6)])", TIMEOUT),
    ],
    ids=["dunder-import", "open", "class", "timeout"],
)
def test_decision_table_cells_are_restricted(tmp_path, cell, reason) -> None:
    marker = tmp_path / "pwned"
    workflow = _decision_workflow({"betrag": 5000, "art": "Verein"},
                                  cell.replace("MARKER", str(marker)))
    with pytest.raises(WorkflowTaskException) as info:
        workflow.do_engine_steps()
    assert reason in str(info.value)
    assert _errored(workflow) == ["decide"]
    assert not marker.exists()


# ============================================================ Umgebung direkt


def test_make_script_engine_returns_a_python_script_engine() -> None:
    engine = make_script_engine({"erhoehe": erhoehe}, time_limit_seconds=1.5)
    assert isinstance(engine, PythonScriptEngine)
    assert isinstance(engine.environment, RestrictedEnvironment)
    assert isinstance(engine.environment, TaskDataEnvironment)
    assert engine.environment.time_limit_seconds == 1.5
    assert engine.environment.globals == {"erhoehe": erhoehe}


def test_execute_keeps_functions_out_of_task_data() -> None:
    environment = RestrictedEnvironment({"erhoehe": erhoehe})
    data = {"wert": 1}
    assert environment.execute("wert = erhoehe(wert)\nf = lambda: 1", data) is True
    assert data == {"wert": 101}


def test_evaluate_sees_task_data_external_context_and_functions() -> None:
    environment = RestrictedEnvironment({"erhoehe": erhoehe})
    data = {"a": 2}
    assert environment.evaluate("erhoehe(a) + b", data, {"b": 3}) == 105
    assert environment.evaluate("  a * 2\n", data) == 4
    assert data == {"a": 2}


def test_task_data_may_not_shadow_functions() -> None:
    environment = RestrictedEnvironment({"erhoehe": erhoehe})
    with pytest.raises(ValueError, match="erhoehe"):
        environment.execute("x = 1", {"erhoehe": 5})


def test_task_data_with_reserved_names_is_preserved() -> None:
    environment = RestrictedEnvironment()
    data = {"_getattr_": "Formularwert", "x": 1}
    environment.execute("x = x + 1", data)
    assert data == {"_getattr_": "Formularwert", "x": 2}


def test_task_data_values_stay_plain_and_mutations_are_visible() -> None:
    environment = RestrictedEnvironment()
    positionen = [{"betrag": 1}]
    data = {"positionen": positionen}
    environment.execute("positionen.append({'betrag': 2})\npositionen[0]['betrag'] = 5", data)
    assert data["positionen"] is positionen
    assert type(data["positionen"]) is list and type(data["positionen"][0]) is dict
    assert positionen == [{"betrag": 5}, {"betrag": 2}]


def test_write_guard_only_allows_dicts_and_lists() -> None:
    environment = RestrictedEnvironment()
    with pytest.raises(TypeError):
        environment.execute("t = (1, 2)\nt[0] = 5", {})
    with pytest.raises(TypeError):
        environment.execute("d = date(2024, 1, 1)\nd.year = 2000", {})


@pytest.mark.parametrize(
    "source",
    ["import os", "x = ().__class__", "y = __name__", "exec('1')", "class A:\n    pass"],
)
def test_compile_refusals_raise_script_security_error(source: str) -> None:
    with pytest.raises(ScriptSecurityError) as info:
        compile_script(source)
    assert str(info.value).startswith("Unzulässiger Zugriff im Skript: ")
    assert info.value.line == 1


def test_compiled_code_is_cached_per_source() -> None:
    assert compile_script("x = 1") is compile_script("x = 1")
    assert compile_expression("a + 1") is compile_expression("a + 1")
    assert compile_script("x = 1") is not compile_script("x = 2")


def test_range_is_bounded_but_usable() -> None:
    environment = RestrictedEnvironment()
    assert environment.evaluate(f"len(range({MAX_RANGE_LENGTH}))", {}) == MAX_RANGE_LENGTH
    with pytest.raises(ScriptLimitError):
        environment.evaluate(f"range({MAX_RANGE_LENGTH + 1})", {})


def test_timeout_applies_to_expressions() -> None:
    environment = RestrictedEnvironment(time_limit_seconds=TIME_LIMIT)
    with pytest.raises(ScriptTimeoutError) as info:
        environment.evaluate("[1 for a in range(10**6) for b in range(10**6)]", {})
    assert "Zeitlimit überschritten" in info.value.message


def test_timeout_works_in_worker_threads_and_leaves_tracing_alone() -> None:
    environment = RestrictedEnvironment(time_limit_seconds=TIME_LIMIT)
    trace_before = sys.gettrace()

    def spin() -> str:
        assert threading.current_thread() is not threading.main_thread()
        try:
            environment.execute("while True: pass", {})
        except ScriptTimeoutError as exc:
            return str(exc)
        return "kein Timeout"

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda _: spin(), range(2)))
    assert all("Zeitlimit überschritten" in result for result in results)
    assert sys.gettrace() is trace_before


def test_fast_scripts_do_not_hit_the_time_limit() -> None:
    environment = RestrictedEnvironment(time_limit_seconds=TIME_LIMIT)
    data: dict = {}
    environment.execute("s = 0\nfor i in range(20000):\n    s += i", data)
    assert data["s"] == sum(range(20000))


def test_invalid_function_names_are_rejected() -> None:
    with pytest.raises(ValueError):
        RestrictedEnvironment({"_geheim": erhoehe})
    with pytest.raises(ValueError):
        RestrictedEnvironment({"kein_callable": 5})  # type: ignore[dict-item]
    with pytest.raises(ValueError):
        RestrictedEnvironment(time_limit_seconds=0)
