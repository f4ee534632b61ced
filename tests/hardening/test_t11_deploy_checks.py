"""Issue 11, findings 1 (timers) and 8: what used to deploy and then fail (or hang) at run time
is refused at deploy with 422, every problem listed with its file and element, in German; a timer
value computed from process data is checked before the engine's date arithmetic runs."""

from __future__ import annotations

import re
import threading
import time
from xml.sax.saxutils import escape

import pytest
from sqlalchemy import func, select

from app.models import ProcessDefinition, ProcessInstance
from app.services import modeler
from tests.hardening.conftest import TokenUser, assert_problem
from tests.integration.helpers import BPMN_HEAD, deploy

FORM = "demo/eskalation.schema.json"
DEPLOY_BOUND_S = 20  # generous: a deploy takes milliseconds; the old engine spun for minutes
INTERNALS = ("Traceback", "TypeError(", "<", "object at 0x")


def model(pid: str, *, lane: str = "sachbearbeitung", condition: str = "True",
          wait: str = '<bpmn:timeDuration>"PT1H"</bpmn:timeDuration>',
          boundary: str = '<bpmn:timeDuration>"P14D"</bpmn:timeDuration>',
          script: str = "frist = 'P1D'", executable: str = "true") -> bytes:
    """start → script → gateway (condition) → intermediate timer (`wait`) → user task with a
    boundary timer (`boundary`) → end; every element in one lane."""
    nodes = "".join(f"<bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>"
                    for n in ("s", "skript", "gw", "warten", "ut", "frist", "e", "e2"))
    return (BPMN_HEAD.format(pid=pid) + f"""
  <bpmn:process id="{pid}" name="Test {pid}" isExecutable="{executable}">
    <bpmn:laneSet id="ls"><bpmn:lane id="lane1" name="{lane}">{nodes}</bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="skript" name="Frist setzen"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing><bpmn:script>{escape(script)}</bpmn:script></bpmn:scriptTask>
    <bpmn:exclusiveGateway id="gw" name="Betrag hoch?" default="f_nein">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f_ja</bpmn:outgoing>
      <bpmn:outgoing>f_nein</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:intermediateCatchEvent id="warten" name="Warten">
      <bpmn:incoming>f_ja</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:timerEventDefinition id="warten_def">{wait}</bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="ut" name="Prüfen">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="{FORM}" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
    <bpmn:boundaryEvent id="frist" name="Frist abgelaufen" attachedToRef="ut">
      <bpmn:outgoing>f5</bpmn:outgoing>
      <bpmn:timerEventDefinition id="frist_def">{boundary}</bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="e"><bpmn:incoming>f4</bpmn:incoming><bpmn:incoming>f_nein</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="e2"><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="skript" />
    <bpmn:sequenceFlow id="f2" sourceRef="skript" targetRef="gw" />
    <bpmn:sequenceFlow id="f_ja" name="ja" sourceRef="gw" targetRef="warten">
      <bpmn:conditionExpression>{escape(condition)}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_nein" sourceRef="gw" targetRef="e" />
    <bpmn:sequenceFlow id="f3" sourceRef="warten" targetRef="ut" />
    <bpmn:sequenceFlow id="f4" sourceRef="ut" targetRef="e" />
    <bpmn:sequenceFlow id="f5" sourceRef="frist" targetRef="e2" />
  </bpmn:process>
</bpmn:definitions>""").encode()


def _count(platform) -> int:  # noqa: ANN001
    with platform.db.unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(ProcessDefinition))


def refused(as_user, platform, files: dict[str, bytes]) -> list[dict]:  # noqa: ANN001
    """Deploy `files`: 422 in the problem shape, nothing stored, German messages without Python
    internals, each error's path naming its file; returns the errors."""
    before = _count(platform)
    started = time.monotonic()
    r = deploy(as_user("modeler1"), files)
    assert time.monotonic() - started < DEPLOY_BOUND_S
    body = assert_problem(r, 422)
    assert body["code"] == "definition_invalid", body
    assert body["errors"], body
    for err in body["errors"]:
        assert err["path"].startswith(f"/files/{err['file']}"), err
        for bad in INTERNALS:
            assert bad not in err["message"], err
    assert _count(platform) == before
    return body["errors"]


def _one(errors: list[dict], element_id: str, *words: str) -> dict:
    found = [e for e in errors if e.get("element_id") == element_id]
    assert found, errors
    err = found[0]
    assert err["path"].endswith(f"#{element_id}"), err
    for word in words:
        assert word in err["message"], err
    return err


def test_shipped_model_helper_deploys(as_user):
    r = deploy(as_user("modeler1"), {"t11_ok.bpmn": model("t11_ok")})
    assert r.status_code == 201, r.get_json()


# --- finding 1: timers at deploy ------------------------------------------------------------------

@pytest.mark.parametrize("where", ["boundary", "wait"])
def test_timer_duration_beyond_the_horizon_is_refused_naming_the_element(as_user, platform, where):
    huge = '<bpmn:timeDuration>"P99999999Y"</bpmn:timeDuration>'
    errors = refused(as_user, platform, {"t11_h.bpmn": model("t11_h", **{where: huge})})
    element = "frist" if where == "boundary" else "warten"
    err = _one(errors, element, "Zeitgeber", "Zukunft")
    assert ("Frist abgelaufen" if where == "boundary" else "Warten") in err["message"]


def test_timer_date_beyond_the_horizon_is_refused(as_user, platform):
    far = '<bpmn:timeDate>"9999-12-31T00:00:00+00:00"</bpmn:timeDate>'
    _one(refused(as_user, platform, {"t11_d.bpmn": model("t11_d", wait=far)}), "warten", "Zukunft")


@pytest.mark.parametrize("cycle", ["R/PT1S", "R5/PT1S", "R/P1D"])
def test_cycle_firing_too_often_or_forever_is_refused(as_user, platform, cycle):
    errors = refused(as_user, platform, {"t11_c.bpmn": model(
        "t11_c", boundary=f'<bpmn:timeCycle>"{cycle}"</bpmn:timeCycle>')})
    _one(errors, "frist", "Wiederholung")


@pytest.mark.parametrize("value", ['"P14X"', '"morgen"', "P14D", '"P5D"[', '"PT0.5H"x'])
def test_malformed_timer_values_are_refused(as_user, platform, value):
    errors = refused(as_user, platform, {"t11_m.bpmn": model(
        "t11_m", wait=f"<bpmn:timeDuration>{escape(value)}</bpmn:timeDuration>")})
    _one(errors, "warten", "Zeitgeber")


# --- finding 1: a computed timer value at run time ------------------------------------------------

def test_computed_timer_out_of_bounds_becomes_an_error_not_a_long_loop(app, as_user, platform):
    r = deploy(as_user("modeler1"), {"t11_rt.bpmn": model(
        "t11_rt", script="frist = 'P99999999Y'",
        wait="<bpmn:timeDuration>frist</bpmn:timeDuration>")})
    assert r.status_code == 201, r.get_json()  # the value is data: only the engine can check it
    starter = TokenUser(app.test_client(), "sb1", as_user("sb1").headers["Authorization"][7:])
    other = TokenUser(app.test_client(), "kommune", as_user("kommune").headers["Authorization"][7:])
    result: dict = {}

    def start() -> None:
        result["response"] = starter.post("/api/process-instances",
                                          json={"process_key": "t11_rt", "business_key": "T11-RT"})

    thread = threading.Thread(target=start, daemon=True)
    thread.start()
    time.sleep(0.2)
    began = time.monotonic()
    assert other.get("/api/tasks?scope=mine").status_code == 200
    assert time.monotonic() - began < 2.0
    thread.join(timeout=60)
    assert not thread.is_alive(), "starting the instance did not come back within 60 s"
    response = result["response"]
    assert response.status_code < 500, response.get_json()
    with platform.db.unit_of_work() as s:
        instance = s.scalar(select(ProcessInstance).where(ProcessInstance.business_key == "T11-RT"))
        assert instance is not None and instance.status == "error", instance and instance.status
        message = instance.error_message
        assert instance.error_task_id
    assert "Warten" in message and "Zeitgeber" in message, message
    for bad in INTERNALS:
        assert bad not in message, message


def test_computed_timer_within_bounds_still_waits(as_user, platform):
    r = deploy(as_user("modeler1"), {"t11_ok2.bpmn": model(
        "t11_ok2", wait="<bpmn:timeDuration>frist</bpmn:timeDuration>")})
    assert r.status_code == 201, r.get_json()
    r = as_user("sb1").post("/api/process-instances", json={"process_key": "t11_ok2"})
    assert r.status_code == 201, r.get_json()
    with platform.db.unit_of_work() as s:
        instance = s.get(ProcessInstance, r.get_json()["id"])
        assert instance.status == "running" and instance.next_timer_at is not None


# --- finding 8 ------------------------------------------------------------------------------------

def test_file_with_only_non_executable_processes_is_422(as_user, platform):
    errors = refused(as_user, platform, {"t11_ne.bpmn": model("t11_ne", executable="false")})
    assert "ausführbar" in errors[0]["message"]


@pytest.mark.parametrize("lane", [" ", ""])
def test_user_task_without_a_group_is_422(as_user, platform, lane):
    errors = refused(as_user, platform, {"t11_nl.bpmn": model("t11_nl", lane=lane)})
    _one(errors, "ut", "Prüfen", "Gruppe")


def test_lane_naming_an_unknown_group_is_422(as_user, platform):
    errors = refused(as_user, platform, {"t11_ug.bpmn": model("t11_ug", lane="Gibt es nicht")})
    _one(errors, "ut", "gibt-es-nicht")


@pytest.mark.parametrize(("condition", "word"), [
    ("${amount > 1000}", "JUEL"), ("#{amount > 1000}", "JUEL"), ("=amount > 100", "FEEL")])
def test_juel_and_feel_conditions_are_422_asking_for_python(as_user, platform, condition, word):
    errors = refused(as_user, platform, {"t11_j.bpmn": model("t11_j", condition=condition)})
    _one(errors, "f_ja", word, "Python")


@pytest.mark.parametrize(("kw", "element"), [
    ({"condition": "betrag >"}, "f_ja"), ({"script": "x = = 1"}, "skript"),
    ({"script": "if x:\nfrist = 1"}, "skript"), ({"condition": "1+" * 5000 + "1"}, "f_ja")])
def test_expressions_and_scripts_with_syntax_errors_are_422(as_user, platform, kw, element):
    errors = refused(as_user, platform, {"t11_s.bpmn": model("t11_s", **kw)})
    _one(errors, element)


def test_all_problems_of_a_file_are_listed(as_user, platform):
    errors = refused(as_user, platform, {"t11_3.bpmn": model(
        "t11_3", condition="${amount > 1000}", lane="unbekannt",
        boundary='<bpmn:timeDuration>"P99999999Y"</bpmn:timeDuration>')})
    assert {"f_ja", "ut", "frist"} <= {e["element_id"] for e in errors}, errors


def test_problems_of_several_files_are_listed_together(as_user, platform):
    errors = refused(as_user, platform, {
        "a.bpmn": model("t11_a", condition="=x"),
        "b.bpmn": model("t11_b", wait='<bpmn:timeCycle>"R/PT1S"</bpmn:timeCycle>')})
    assert {e["file"] for e in errors} == {"a.bpmn", "b.bpmn"}, errors


def test_schema_errors_are_german(as_user, platform):
    broken = model("t11_x").replace(b'<bpmn:endEvent id="e2">', b'<bpmn:endEvent id="e2" foo="1">')
    errors = refused(as_user, platform, {"t11_x.bpmn": broken})
    text = " ".join(e["message"] for e in errors)
    assert "foo" in text and "nicht erlaubt" in text, errors
    assert not re.search(r"\b(is|not|the|attribute)\b", text), errors


def test_modeler_validation_reports_the_same_problems(platform):
    problems = modeler.validate(platform, {"t11_draft.bpmn": model("t11_draft", condition="${a}")})
    assert any(p["element_id"] == "f_ja" and "JUEL" in p["message"] for p in problems), problems


@pytest.mark.parametrize(("script", "german"), [
    ('x = 1 + "a"', "passt nicht"), ("x = unbekannt + 1", "nicht definiert"), ("x = 1 / 0", "null")])
def test_run_time_errors_reach_users_in_german_without_python_internals(as_user, script, german):
    pid = "t11_err_" + str(abs(hash(script)) % 10_000)
    assert deploy(as_user("modeler1"), {f"{pid}.bpmn": model(pid, script=script)}).status_code == 201
    body = as_user("sb1").post("/api/process-instances", json={"process_key": pid}).get_json()
    assert body["status"] == "error", body
    message = body["error_message"]
    assert german in message, message
    assert not re.search(r"\b\w+(Error|Exception)\b", message), message
    for bad in INTERNALS:
        assert bad not in message, message
