"""A case's history speaks in words: every event the code records has a German label, and the
machinery's events are folded away (issue 12)."""

from __future__ import annotations

import re
from pathlib import Path

from app.web.filters import ACTIONS, TECHNICAL_ACTIONS, action_label, is_technical

ROOT = Path(__file__).resolve().parents[3]
RECORDED = re.compile(r'audit\.record\(\s*[^,()]+,\s*[^,()]+,\s*"([a-z0-9_]+\.[a-z0-9_]+)"', re.S)


LITERAL = re.compile(r'"([a-z0-9_]+)\.([a-z0-9_]+)"')


def _recorded_actions() -> set[str]:
    """Codes passed to audit.record, plus every literal "prefix.name" with one of their prefixes
    (codes handed on through helpers, e.g. the sign-in's "user.token_issued")."""
    sources = [p.read_text(encoding="utf-8") for p in
               [*ROOT.joinpath("app").rglob("*.py"), *ROOT.joinpath("workers").rglob("*.py")]]
    found = {code for text in sources for code in RECORDED.findall(text)}
    prefixes = {"user", "instance", "task", "incident", "service", "timer"}
    for text in sources:
        found |= {f"{a}.{b}" for a, b in LITERAL.findall(text) if a in prefixes}
    return found


def test_every_recorded_event_has_a_german_label() -> None:
    recorded = _recorded_actions()
    assert {"aufruf.registriert", "digicheck.ergebnis", "timer.due"} <= recorded
    assert sorted(recorded - set(ACTIONS)) == []
    assert all("." not in action_label(a) for a in recorded)


def test_unknown_codes_are_never_shown_raw_and_count_as_technical() -> None:
    assert action_label("irgendwas.neues") == "Sonstiges Ereignis"
    assert is_technical("irgendwas.neues")
    assert TECHNICAL_ACTIONS <= set(ACTIONS)
    assert is_technical("timer.due") and not is_technical("task.completed")
