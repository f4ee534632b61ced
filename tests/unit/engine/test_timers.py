"""The timer rule (app/engine/timers.py): bounded values pass, everything else is refused fast
and in German; specs stored with SpiffWorkflow's timer classes come back bounded."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from app.engine.parser import parse_definitions
from app.engine.runtime import EngineError, Runtime
from app.engine.scripting import make_script_engine
from app.engine.serializer import serializer, spec_from_json, spec_to_json
from app.engine.timers import (
    BoundedCycleTimerEventDefinition,
    BoundedDurationTimerEventDefinition,
    BoundedTimeDateEventDefinition,
    TimerLimits,
    TimerValueError,
    check_value,
    literal,
    looks_unquoted,
)

LIMITS = TimerLimits(max_days=3660, min_cycle_seconds=60, max_cycles=1000)
NOW = datetime(2026, 12, 6, tzinfo=UTC)


@pytest.mark.parametrize(("kind", "value"), [
    ("timeDuration", "P14D"), ("timeDuration", "PT2H"), ("timeDuration", "P10Y"),
    ("timeDuration", "P1Y6M"), ("timeDuration", "PT0.5H"), ("timeDuration", "P2W"),
    ("timeDate", "2027-04-30T09:00:00+02:00"), ("timeDate", "2020-01-01"),
    ("timeDate", "2027W011"),
    ("timeCycle", "R3/P7D"), ("timeCycle", "R10/PT1M"), ("timeCycle", "R2/2027-01-01T00:00:00/P1D"),
])
def test_bounded_values_pass(kind, value):
    check_value(kind, value, LIMITS, NOW)


@pytest.mark.parametrize(("kind", "value", "words"), [
    ("timeDuration", "P99999999Y", "Zukunft"), ("timeDuration", "P11Y", "Zukunft"),
    ("timeDuration", "PT999999999999H", "Zukunft"), ("timeDuration", "P" + "9" * 5000 + "D", "lang"),
    ("timeDuration", "P14X", "Dauer"), ("timeDuration", "14D", "Dauer"), ("timeDuration", "P", "Dauer"),
    ("timeDuration", "P-1D", "Dauer"),
    ("timeDate", "9999-12-31T00:00:00", "Zukunft"), ("timeDate", "morgen", "Zeitpunkt"),
    ("timeDate", "P1D", "Zeitpunkt"), ("timeDate", "2027W99", "Zeitpunkt"),
    ("timeCycle", "R/PT1S", "Anzahl"), ("timeCycle", "R5/PT1S", "Sekunden"),
    ("timeCycle", "R/P1D", "Anzahl"), ("timeCycle", "R5000/P1D", "Durchläufe"),
    ("timeCycle", "R999999999999/P1D", "Durchläufe"), ("timeCycle", "R100/P1Y", "Zukunft"),
    ("timeCycle", "R3/P99999999Y", "Zukunft"), ("timeCycle", "P1D", "Wiederholung"),
    ("timeCycle", "R3/2027-01-01/2028-01-01", "Wiederholung"),
])
def test_unbounded_or_malformed_values_are_refused_fast(kind, value, words):
    started = time.monotonic()
    with pytest.raises(TimerValueError) as info:
        check_value(kind, value, LIMITS, NOW)
    assert time.monotonic() - started < 1.0
    assert words in str(info.value)
    assert "Error" not in str(info.value) and "<" not in str(info.value)


@pytest.mark.parametrize("value", [None, 5, {"a": 1}, ["P1D"], datetime.now(UTC), " "])
def test_values_that_are_no_text_are_refused(value):
    with pytest.raises(TimerValueError, match="keine Zeitangabe"):
        check_value("timeDuration", value, LIMITS, NOW)


def test_the_limits_are_configurable():
    check_value("timeDuration", "P20Y", TimerLimits(max_days=8000), NOW)
    with pytest.raises(TimerValueError):
        check_value("timeDuration", "P2D", TimerLimits(max_days=1), NOW)
    check_value("timeCycle", "R5/PT1S", TimerLimits(min_cycle_seconds=1), NOW)


def test_literals_and_unquoted_durations_are_recognised():
    assert literal('"P14D"') == "P14D" and literal("'R3/P1D'") == "R3/P1D"
    assert literal("frist") is None and literal('zn["faellig_timer"]') is None
    assert literal("kaputt(") is None
    assert looks_unquoted("P14D") and looks_unquoted("PT2H") and not looks_unquoted("frist")


@pytest.mark.parametrize("cls", [BoundedTimeDateEventDefinition, BoundedDurationTimerEventDefinition,
                                 BoundedCycleTimerEventDefinition])
def test_specs_keep_spiffworkflows_type_names_and_restore_bounded(cls):
    s = serializer()
    stored = s.to_dict(cls("Frist", '"P1D"'))
    assert stored["typename"] == cls.__mro__[1].__name__
    assert type(s.from_dict(stored)) is cls


def test_a_limit_of_one_horizon_is_a_real_date_bound():
    near = (NOW + timedelta(days=3000)).isoformat()
    far = (NOW + timedelta(days=4000)).isoformat()
    check_value("timeDate", near, LIMITS, NOW)
    with pytest.raises(TimerValueError):
        check_value("timeDate", far, LIMITS, NOW)


TIMER_PROCESS = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"
  targetNamespace="http://foerderportal.test">
  <bpmn:process id="zeit" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="setzen"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>frist = wert</bpmn:script></bpmn:scriptTask>
    <bpmn:intermediateCatchEvent id="warten" name="Warten"><bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>frist</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="e"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="setzen" />
    <bpmn:sequenceFlow id="f2" sourceRef="setzen" targetRef="warten" />
    <bpmn:sequenceFlow id="f3" sourceRef="warten" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>"""


def _run(limits: TimerLimits, wert: str):  # noqa: ANN202
    [definition] = parse_definitions({"zeit.bpmn": TIMER_PROCESS}, lambda ref: None)
    spec, subs = spec_from_json(spec_to_json(definition.spec, definition.subprocess_specs))
    runtime = Runtime(make_script_engine({}), timer_limits=limits)
    workflow = runtime.new_workflow(spec, subs)
    workflow.task_tree.data["wert"] = wert
    for child in workflow.task_tree.children:
        child.data["wert"] = wert
    runtime.step(workflow)
    return runtime.snapshot(workflow)


def test_the_runtime_checks_a_computed_value_with_its_configured_limits():
    assert _run(TimerLimits(max_days=5), "P2D").next_timer_at is not None
    with pytest.raises(EngineError) as info:
        _run(TimerLimits(max_days=1), "P2D")
    assert "„Warten“ (warten)" in info.value.message and "Zukunft" in info.value.message
    started = time.monotonic()
    with pytest.raises(EngineError):
        _run(LIMITS, "P99999999Y")
    assert time.monotonic() - started < 5
