"""R7 — script escapes through the whole stack: a process definition uploaded over HTTP puts a
payload into a script task, a gateway condition or a DMN cell; starting it over HTTP leaves the
instance in the error state with a readable German reason, and nothing of the payload runs
(a marker file it would create never appears). Long-running code is stopped by the time limit,
also inside a real Celery worker, which then goes on with other work.

The unit corpus (tests/unit/engine/test_scripting.py) checks the sandbox itself in memory; this
suite checks that every expression the platform evaluates goes through it, end to end.
"""

from __future__ import annotations

import time
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from sqlalchemy import func, select

from app.models import AuditEntry, ProcessInstance
from tests.hardening.conftest import assert_problem
from tests.integration.helpers import BPMN_HEAD, open_tasks, script_process, with_start_form
from tests.integration.worker_support import wait_for

# Expressions: usable as a script (`ergebnis = …`), a gateway condition and a DMN cell.
# MARKER becomes the quoted path of a file that exists only if the payload ran.
EXPRESSIONS = {
    "dunder_import": "__import__('os').system('touch ' + MARKER)",
    "open_builtin": "open(MARKER, 'w').write('x')",
    "subclasses_walk": "[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'Popen'][0]"
                       "(['touch', MARKER])",
    "mro_walk": "object.__subclasses__()",
    "lambda_globals": "(lambda: 0).__globals__['__builtins__']['open'](MARKER, 'w')",
    "generator_frame": "(x for x in [1]).gi_frame.f_globals['__builtins__']['open'](MARKER, 'w')",
    "generator_code": "(x for x in [1]).gi_code.co_consts",
    "format_attribute": "'{0.__class__.__base__.__subclasses__}'.format(1)",
    "format_map_attribute": "'{a.__init__.__globals__}'.format_map({'a': MARKER})",
    "fstring_dunder": "f'{().__class__.__mro__[1].__subclasses__()}'",
    "getattr_builtin": "getattr((), '__class__')",
    "eval_builtin": "eval(\"open(\" + repr(MARKER) + \", 'w')\")",
    "exec_builtin": "exec('import os')",
    "compile_builtin": "compile('1', 'x', 'eval')",
    "globals_builtin": "globals()['__builtins__']",
    "vars_builtin": "vars()",
    "lambda_default_builtin": "(lambda f=open: f(MARKER, 'w'))()",
    "comprehension_builtins": "[b for b in [__builtins__]][0]['open'](MARKER, 'w')",
    "type_subclasses": "type(1).__subclasses__()",
    "reduce_ex": "(1).__reduce_ex__(2)",
    "power_bomb": "10 ** 10 ** 10",
    "string_bomb": "'a' * 10 ** 10",
    "list_bomb": "list(range(10 ** 9))",
    "long_loop": "[1 for a in range(10 ** 6) for b in range(10 ** 6)]",
}
# Statements: only meaningful in script tasks.
STATEMENTS = {
    "import_os": "import os\nos.system('touch ' + MARKER)",
    "class_definition": "class X:\n    pass",
    "decorator_exec": "@exec\n@lambda _: \"open(\" + repr(MARKER) + \", 'w')\"\ndef f():\n    pass",
    "traceback_frame": "try:\n    1 / 0\nexcept Exception as e:\n    e.__traceback__.tb_frame.f_globals",
    "while_true": "while True:\n    pass",
    "swallowed_timeout": "try:\n    while True: pass\nexcept Exception:\n    pass\nfertig = True",
    "system_exit": "raise SystemExit(1)",
    "recursion": "def f():\n    return [f() for _ in range(10)]\nf()",
}
REASONS = ("nicht erlaubt", "Unzulässig", "Zeitlimit", "Grenze", "RecursionError", "SystemExit",
           "Fehler im Ausdruck", "zu groß")
TIME_LIMIT = 0.5
STUFE = {"stufe_basis": {"type": "string"}}  # the start data every case is started with


@pytest.fixture
def short_time_limit(platform, monkeypatch):  # noqa: ANN001, ANN201
    monkeypatch.setattr(platform.runtime.script_engine.environment, "time_limit_seconds", TIME_LIMIT)


def _with_marker(code: str, marker: Path) -> str:
    return code.replace("MARKER", repr(str(marker)))


def _gateway_process(pid: str, condition: str) -> bytes:
    return (BPMN_HEAD.format(pid=pid) + f"""
  <bpmn:process id="{pid}" name="R7 {pid}" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="sachbearbeitung">
      <bpmn:flowNodeRef>s</bpmn:flowNodeRef><bpmn:flowNodeRef>gw</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>ja</bpmn:flowNodeRef><bpmn:flowNodeRef>nein</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>e</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:exclusiveGateway id="gw" default="f_nein"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f_ja</bpmn:outgoing><bpmn:outgoing>f_nein</bpmn:outgoing></bpmn:exclusiveGateway>
    {_user_task("ja", "f_ja", "f_ja_e")}{_user_task("nein", "f_nein", "f_nein_e")}
    <bpmn:endEvent id="e"><bpmn:incoming>f_ja_e</bpmn:incoming><bpmn:incoming>f_nein_e</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="gw" />
    <bpmn:sequenceFlow id="f_ja" sourceRef="gw" targetRef="ja">
      <bpmn:conditionExpression>{escape(condition)}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_nein" sourceRef="gw" targetRef="nein" />
    <bpmn:sequenceFlow id="f_ja_e" sourceRef="ja" targetRef="e" />
    <bpmn:sequenceFlow id="f_nein_e" sourceRef="nein" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>""").encode()


def _user_task(tid: str, incoming: str, outgoing: str) -> str:
    return f"""<bpmn:userTask id="{tid}" name="Prüfen {tid}">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="demo/eskalation.schema.json" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>{incoming}</bpmn:incoming><bpmn:outgoing>{outgoing}</bpmn:outgoing></bpmn:userTask>"""


CELLS = ("output", "input_entry", "input_expression")


def _dmn_process(pid: str, payload: str, cell: str) -> dict[str, bytes]:
    decision = f"{pid}_entscheidung"
    expression = payload if cell == "input_expression" else "stufe_basis"
    # an input expression is evaluated only when an entry of its column compares against it
    entry = payload if cell == "input_entry" else ('"x"' if cell == "input_expression" else "-")
    output = payload if cell == "output" else '"normal"'
    dmn = f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="Defs_{decision}"
             name="R7" namespace="http://foerderportal.test/dmn">
  <decision id="{decision}" name="R7 {cell}">
    <decisionTable id="T_{decision}" hitPolicy="UNIQUE">
      <input id="I_{decision}" label="Basis"><inputExpression id="IE_{decision}" typeRef="string">
        <text>{escape(expression)}</text></inputExpression></input>
      <output id="O_{decision}" label="Stufe" name="stufe" typeRef="string" />
      <rule id="R_{decision}"><inputEntry id="RI_{decision}"><text>{escape(entry)}</text></inputEntry>
        <outputEntry id="RO_{decision}"><text>{escape(output)}</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>""".encode()
    bpmn = (BPMN_HEAD.format(pid=pid) + f"""
  <bpmn:process id="{pid}" name="R7 {pid}" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="sachbearbeitung">
      <bpmn:flowNodeRef>s</bpmn:flowNodeRef><bpmn:flowNodeRef>regel</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>ut</bpmn:flowNodeRef><bpmn:flowNodeRef>e</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:businessRuleTask id="regel" name="Stufe bestimmen">
      <bpmn:extensionElements><spiffworkflow:calledDecisionId>{decision}</spiffworkflow:calledDecisionId>
      </bpmn:extensionElements><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:businessRuleTask>
    {_user_task("ut", "f2", "f3")}
    <bpmn:endEvent id="e"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="regel" />
    <bpmn:sequenceFlow id="f2" sourceRef="regel" targetRef="ut" />
    <bpmn:sequenceFlow id="f3" sourceRef="ut" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>""").encode()
    return {**with_start_form(bpmn, pid, STUFE), f"{pid}.dmn": dmn}


def _cases(context: str, marker: Path) -> dict[str, dict[str, bytes]]:
    """process key → files to deploy, for every payload in this context."""
    cases = {}
    if context == "script":
        payloads = {**{k: f"ergebnis = {v}" for k, v in EXPRESSIONS.items()}, **STATEMENTS}
        for name, code in payloads.items():
            pid = f"r7_script_{name}"
            cases[pid] = with_start_form(script_process(pid, _with_marker(code, marker)), pid, STUFE)
    elif context == "gateway":
        for name, code in EXPRESSIONS.items():
            pid = f"r7_gateway_{name}"
            cases[pid] = with_start_form(_gateway_process(pid, _with_marker(code, marker)), pid, STUFE)
    else:
        for i, (name, code) in enumerate(EXPRESSIONS.items()):
            cell = CELLS[i % len(CELLS)] if name not in ("open_builtin", "dunder_import") else "output"
            pid = f"r7_dmn_{name}"
            cases[pid] = _dmn_process(pid, _with_marker(code, marker), cell)
    return cases


def _deploy(user, files: dict[str, bytes]):  # noqa: ANN001, ANN202
    from io import BytesIO

    data = {"files": [(BytesIO(content), name) for name, content in files.items()]}
    return user.post("/api/process-definitions", data=data, content_type="multipart/form-data")


@pytest.mark.parametrize("context", ["script", "gateway", "dmn"])
def test_escape_payloads_end_in_an_error_state_and_never_run(context, as_user, tmp_path,
                                                              short_time_limit):
    marker = tmp_path / "pwned"
    cases = _cases(context, marker)
    assert len(cases) >= 15
    modeler, sb = as_user("modeler1"), as_user("sb1")
    per_case = list(cases.values())
    for chunk in range(0, len(per_case), 15):  # a case's files (BPMN, start form, DMN) together
        part = {name: content for case in per_case[chunk:chunk + 15] for name, content in case.items()}
        r = _deploy(modeler, part)
        assert r.status_code == 201, r.get_json()
    failures = []
    for pid in cases:
        started = time.monotonic()
        r = sb.post("/api/process-instances", json={"process_key": pid, "data": {"stufe_basis": "x"}})
        elapsed = time.monotonic() - started
        body = r.get_json()
        if r.status_code != 201 or body["status"] != "error":
            failures.append((pid, r.status_code, body.get("status"), body.get("error_message")))
            continue
        message = body["error_message"] or ""
        if not message or "Traceback" in message or 'File "' in message or len(message) > 2000 \
                or not any(reason in message for reason in REASONS):
            failures.append((pid, "unreadable reason", message))
        if elapsed > TIME_LIMIT + 5:
            failures.append((pid, "not stopped in time", elapsed))
        assert open_tasks(sb, body["id"]) == []
        detail = sb.get(f"/api/process-instances/{body['id']}").get_json()
        assert detail["status"] == "error" and detail["error_message"] == message
    assert not marker.exists(), "a payload ran"
    assert failures == []
    # the server keeps serving
    assert sb.get("/api/process-instances", query_string={"status": "error"}).get_json()["total"] >= len(cases)


def test_readable_reason_names_the_element(as_user, tmp_path, short_time_limit):
    marker = tmp_path / "pwned"
    modeler, sb = as_user("modeler1"), as_user("sb1")
    assert _deploy(modeler, _dmn_process("r7_dmn_einzeln", _with_marker(EXPRESSIONS["open_builtin"], marker),
                                         "output")).status_code == 201
    body = sb.post("/api/process-instances", json={"process_key": "r7_dmn_einzeln"}).get_json()
    assert body["status"] == "error"
    assert "'open'" in body["error_message"], body["error_message"]
    assert not marker.exists()


def test_a_deployed_payload_cannot_be_smuggled_in_through_start_data(as_user, tmp_path):
    """Start data is data: an expression-looking string is never evaluated."""
    marker = tmp_path / "pwned"
    modeler, sb = as_user("modeler1"), as_user("sb1")
    assert _deploy(modeler, with_start_form(script_process("r7_daten", "laenge = len(eingabe)"),
                                            "r7_daten", {"eingabe": {"type": "string"}})).status_code == 201
    payload = _with_marker(EXPRESSIONS["dunder_import"], marker)
    body = sb.post("/api/process-instances", json={"process_key": "r7_daten",
                                                   "data": {"eingabe": payload}}).get_json()
    assert body["status"] == "running" and body["data"]["laenge"] == len(payload)
    assert not marker.exists()


# ---------------------------------------------------------------- inside a real worker

def _service_then_script(pid: str, script: str) -> bytes:
    return (BPMN_HEAD.format(pid=pid) + f"""
  <bpmn:process id="{pid}" name="R7 {pid}" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="sachbearbeitung">
      <bpmn:flowNodeRef>s</bpmn:flowNodeRef><bpmn:flowNodeRef>ut</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="svc" name="Fachverfahren">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="test_record_and_block" resultVariable="ergebnis">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="nummer" type="int" value="instance_id" />
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:scriptTask id="skript" name="Nachbearbeitung"><bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing><bpmn:script>{escape(script)}</bpmn:script></bpmn:scriptTask>
    {_user_task("ut", "f3", "f4")}
    <bpmn:endEvent id="e"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="svc" />
    <bpmn:sequenceFlow id="f2" sourceRef="svc" targetRef="skript" />
    <bpmn:sequenceFlow id="f3" sourceRef="skript" targetRef="ut" />
    <bpmn:sequenceFlow id="f4" sourceRef="ut" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>""").encode()


def _status(platform, iid: int) -> str:  # noqa: ANN001
    with platform.db.unit_of_work() as s:
        return s.get(ProcessInstance, iid).status


def test_long_running_script_in_the_worker_is_stopped_and_the_worker_goes_on(
        as_user, platform, worker_env, celery_processes, tmp_path):
    worker_env["SCRIPT_TIME_LIMIT_SECONDS"] = "1"
    marker = tmp_path / "pwned"
    modeler, sb = as_user("modeler1"), as_user("sb1")
    files = {
        "r7_w_schleife.bpmn": _service_then_script("r7_w_schleife", "while True:\n    pass"),
        "r7_w_speicher.bpmn": _service_then_script("r7_w_speicher", "x = [0] * 10 ** 9"),
        "r7_w_flucht.bpmn": _service_then_script(
            "r7_w_flucht", _with_marker("ergebnis2 = " + EXPRESSIONS["subclasses_walk"], marker)),
        "r7_w_gut.bpmn": _service_then_script("r7_w_gut", "summe = 1 + 2"),
    }
    assert _deploy(modeler, files).status_code == 201
    celery_processes("worker")
    bad = [sb.post("/api/process-instances", json={"process_key": k}).get_json()["id"]
           for k in ("r7_w_schleife", "r7_w_speicher", "r7_w_flucht")]
    started = time.monotonic()
    for iid in bad:
        wait_for(lambda i=iid: _status(platform, i) == "error", 60, message=f"instance {iid} in error")
    assert time.monotonic() - started < 45
    good = sb.post("/api/process-instances", json={"process_key": "r7_w_gut"}).get_json()["id"]
    wait_for(lambda: open_tasks(sb, good), 60, message="the worker still serves the next job")
    for iid in bad:
        detail = sb.get(f"/api/process-instances/{iid}").get_json()
        assert detail["status"] == "error" and detail["error_message"]
        assert any(reason in detail["error_message"] for reason in REASONS), detail["error_message"]
    with platform.db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.instance_id.in_(bad), AuditEntry.action == "service.completed")) == 3
    assert not marker.exists()


def test_deploying_a_script_with_a_syntax_error_is_a_clear_4xx(as_user):
    r = _deploy(as_user("modeler1"), {"r7_syntax.bpmn": script_process("r7_syntax", "x = = 1")})
    if r.status_code != 201:  # validated at deploy time …
        assert_problem(r, 422)
        return
    body = as_user("sb1").post("/api/process-instances", json={"process_key": "r7_syntax"}).get_json()
    assert body["status"] == "error" and body["error_message"]  # … or at the first run
