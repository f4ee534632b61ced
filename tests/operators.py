"""Operators used only by the worker tests (loaded through OPERATOR_MODULES)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from app.services import effects
from app.services.operators import BpmnError, Operator, OperatorContext


def _flags() -> Path:
    return Path(os.environ.get("TEST_FLAG_DIR", "/tmp/foerderportal-test-flags"))


def record_and_block(params: dict, ctx: OperatorContext) -> dict:
    """Records its side effect once per idempotency key, then blocks while `block` exists."""
    result = effects.once(ctx, "test_record_and_block",
                          lambda session: {"instance_id": ctx.instance_id, "nummer": params["nummer"]})
    started = _flags() / f"started-{ctx.instance_id}"
    started.touch()
    while (_flags() / "block").exists():
        time.sleep(0.05)
    return result


def count_and_block(params: dict, ctx: OperatorContext) -> dict:
    """Appends a line to `runs-<instance>` on every run (not idempotent: counts executions),
    records its effect once, then blocks while `block` exists."""
    with (_flags() / f"runs-{ctx.instance_id}").open("a") as fh:
        fh.write(f"{ctx.attempt} {os.getpid()} {time.time()}\n")
    result = effects.once(ctx, "test_count_and_block", lambda session: {"nummer": params["nummer"]})
    while (_flags() / "block").exists():
        time.sleep(0.05)
    return result


def slow(params: dict, ctx: OperatorContext) -> dict:
    """Takes a moment (a Bescheid PDF, say) and notes when it finished."""
    time.sleep(float(os.environ.get("TEST_SLOW_SECONDS", "0.25")))
    (_flags() / f"done-{ctx.instance_id}").touch()
    return {"nummer": params["nummer"]}


def flaky(params: dict, ctx: OperatorContext) -> dict:
    """Fails until the flag `fixed` exists."""
    if not (_flags() / "fixed").exists():
        raise RuntimeError(f"Fachverfahren nicht erreichbar (Versuch {ctx.attempt})")
    return {"ok": True, "attempt": ctx.attempt}


def declared_error(params: dict, ctx: OperatorContext) -> dict:
    raise BpmnError("ABGELEHNT", "Das Fachverfahren hat den Antrag abgelehnt.")


REGISTRY = {op.name: op for op in [
    Operator("test_record_and_block", record_and_block),
    Operator("test_count_and_block", count_and_block),
    Operator("test_slow", slow),
    Operator("test_flaky", flaky, retries=3, backoff_seconds=0.4),
    Operator("test_declared_error", declared_error),
]}
