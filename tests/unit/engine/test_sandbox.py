"""The sandbox pool (hard CPU/memory bounds in child processes) and the in-process classifier."""

from __future__ import annotations

import io
import os
import pickle
import signal
import threading
import time

import pytest

from app.domain.phase1 import euro
from app.engine.bounded import is_bounded_expression
from app.engine.sandbox import SandboxConfig, SandboxPool, _DataUnpickler, function_paths
from app.engine.scripting import (
    RestrictedEnvironment,
    ScriptLimitError,
    ScriptSecurityError,
    ScriptTimeoutError,
    make_script_engine,
)

ATTACKS = [
    "sum(map(sum,[range(10**6)]*1500))>0",
    "any(l.append(1) for l in [[1]] for x in l)",
    "len(str([[[0]*1000]*1000]*100))",
    "(0).to_bytes(200_000_000,'big')",
    "[x for x in range(10**6)]",
    "'a' * 10**7",
    "s * n",
    "f'{x:>100}'",
    "(lambda: 1)()",
    "x ** y",
    "len(x) << 100000",
    "'%s' % x",
    "euro(1)",
    "[*x, *x]",
    "[x + x, x + x, x + x, x + x, x + x, x + x, x + x, x + x, x + x]",  # > MAX_COPIES copies
]
BOUNDED = [
    'stufe == "gross"',
    "len(planungsfehler) > 0",
    'len(pruefungsfehler) == 0 and abrechnung["rueckforderung_cents"] > 0',
    "zwischennachweis_erforderlich",
    'freigabe == "freigegeben" and mitzeichnung == "mitgezeichnet"',
    "betrag * 0.75 >= 7500 and not gesperrt",
    "a.b[1:3] in (1, 2) if x else -y",
    "dmninputexpr > 5",
]
LIMIT = 0.5


@pytest.fixture(scope="module")
def pool():  # noqa: ANN201
    pool = SandboxPool(SandboxConfig(functions=function_paths({"euro": euro}), memory_mb=256,
                                     max_processes=3, grace_seconds=0.5))
    yield pool
    pool.close()


@pytest.mark.parametrize("expression", ATTACKS)
def test_classifier_sends_every_attack_to_the_sandbox(expression):
    assert not is_bounded_expression(expression, {"euro"})


@pytest.mark.parametrize("expression", BOUNDED)
def test_classifier_keeps_typical_conditions_in_process(expression):
    assert is_bounded_expression(expression, {"euro"})


def test_len_is_not_in_process_when_a_script_function_is_called_len():
    assert not is_bounded_expression("len(x) > 0", {"len"})


def test_environment_routes_only_unbounded_expressions_to_the_sandbox(pool):
    environment = RestrictedEnvironment({"euro": euro}, LIMIT, sandbox=pool)
    assert environment.runs_in_process("a == 1")
    assert not environment.runs_in_process("euro(100)")
    assert environment.evaluate("euro(100)", {}) == euro(100)


def test_results_and_errors_come_back_like_in_process(pool):
    assert pool.evaluate("a + 1", {"a": 41}, None, LIMIT) == 42
    with pytest.raises(NameError, match="unbekannt"):
        pool.evaluate("unbekannt + 1", {}, None, LIMIT)
    with pytest.raises(ScriptLimitError, match="zu lang"):
        pool.evaluate("'a' * 10**8", {}, None, LIMIT)
    with pytest.raises(ScriptSecurityError, match="nicht erlaubt"):
        pool.evaluate("open('x')", {}, None, LIMIT)
    with pytest.raises(KeyError) as info:
        pool.execute("x = 1\ny = d['fehlt']", {"d": {}}, None, LIMIT)
    assert info.value.line == 2


def test_execute_applies_changed_and_deleted_keys_only(pool):
    shared = {"n": 1}
    context = {"unveraendert": shared, "alt": 1, "weg": 2}
    pool.execute("alt = alt + 1\nneu = [alt]\ndel weg", context, None, LIMIT)
    assert context == {"unveraendert": {"n": 1}, "alt": 2, "neu": [2]}
    assert context["unveraendert"] is shared


def test_a_result_larger_than_the_limits_is_refused(pool):
    with pytest.raises(ScriptLimitError, match="Ergebnis ist zu groß"):
        pool.execute("x = [[[0] * 1000] * 1000] * 100", {}, None, 30.0)


def test_c_call_overrun_is_killed_and_the_child_replaced(pool):
    pool.evaluate("1", {}, None, LIMIT)
    started = time.monotonic()
    with pytest.raises(ScriptTimeoutError, match="Zeitlimit"):
        pool.evaluate("sum(map(sum,[range(10**6)]*1500))>0", {}, None, LIMIT)
    assert time.monotonic() - started < LIMIT + pool.config.grace_seconds + 2
    assert pool.evaluate("2 * 3", {}, None, LIMIT) == 6


def test_memory_bomb_fails_with_the_memory_message_and_the_child_is_replaced(pool):
    pool.evaluate("1", {}, None, LIMIT)
    before = set(pool.process_ids)
    with pytest.raises(ScriptLimitError, match="Speichergrenze.*256 MiB"):
        pool.evaluate("[list(range(10**6)) for i in range(100)]", {}, None, 5.0)
    assert not before & set(pool.process_ids) or len(before) > 1
    assert pool.evaluate("3", {}, None, LIMIT) == 3


def test_a_killed_idle_child_is_replaced(pool):
    pool.evaluate("1", {}, None, LIMIT)
    for pid in pool.process_ids:
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.1)
    results = [pool.evaluate("4", {}, None, LIMIT) for _ in range(4)]
    assert results == [4, 4, 4, 4]


def test_concurrent_evaluations_from_several_threads(pool):
    results: dict[int, int] = {}

    def work(n: int) -> None:
        results[n] = pool.evaluate("sum([i for i in range(n)])", {"n": n}, None, 5.0)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(10, 18)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results == {n: sum(range(n)) for n in range(10, 18)}
    assert len(pool.process_ids) <= pool.config.max_processes


def test_after_fork_the_new_process_uses_its_own_children(pool):
    pool.evaluate("1", {}, None, LIMIT)
    parents_children = set(pool.process_ids)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the forked process
        try:
            answer = (pool.evaluate("5 * 5", {}, None, 5.0), pool.process_ids)
        except BaseException as exc:  # noqa: BLE001
            answer = (repr(exc), [])
        os.write(write_end, pickle.dumps(answer))
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        value, forked_children = pickle.loads(reader.read())  # noqa: S301 - our own fork
    os.waitpid(pid, 0)
    assert value == 25
    assert forked_children and not set(forked_children) & parents_children
    assert pool.evaluate("6", {}, None, LIMIT) == 6


def test_children_get_no_secrets_from_the_environment(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "geheim")
    monkeypatch.setenv("DATABASE_URL", "postgresql://geheim")
    fresh = SandboxPool(SandboxConfig(max_processes=1))
    try:
        fresh.evaluate("1", {}, None, LIMIT)
        (child,) = fresh.process_ids
        with open(f"/proc/{child}/environ", "rb") as environ:
            assert b"geheim" not in environ.read()
    finally:
        fresh.close()


def test_replies_can_only_contain_data_types():
    with pytest.raises(pickle.UnpicklingError):
        _DataUnpickler(io.BytesIO(pickle.dumps(os.system))).load()


def test_script_engine_without_sandbox_stays_in_process():
    engine = make_script_engine({"euro": euro}, time_limit_seconds=LIMIT)
    assert engine.environment.sandbox is None
    assert engine.environment.runs_in_process("euro(1)")
