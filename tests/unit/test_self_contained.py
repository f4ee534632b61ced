"""The repository stands on its own: no tracked code reads data from beside the checkout
(a fresh clone with nothing next to it passes `make test`)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUTSIDE = re.compile(r"""parents?\[?\d*\]?\)?\.parent\s*/\s*["']shared["']|\.\./shared|/ ["']shared["'] /""")


def test_no_code_reaches_beside_the_repository_for_data() -> None:
    offenders = []
    for folder in ("app", "workers", "tests", "bench", "scripts"):
        for path in (ROOT / folder).rglob("*.py"):
            if path == Path(__file__).resolve():
                continue
            text = path.read_text(encoding="utf-8")
            offenders += [f"{path.relative_to(ROOT)}:{n}" for n, line in enumerate(text.splitlines(), 1)
                          if OUTSIDE.search(line)]
    assert offenders == []
