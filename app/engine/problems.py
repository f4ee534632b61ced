"""A problem found in a definition file: file, element, line and a German message."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Problem:
    file: str
    message: str
    element_id: str | None = None
    line: int | None = None

    def as_dict(self) -> dict:
        return {
            "file": self.file, "element_id": self.element_id, "line": self.line,
            "message": self.message,
        }


class DefinitionInvalid(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(f"{p.file}: {p.message}" for p in problems))
        self.problems = problems


def unique(problems: list[Problem]) -> list[Problem]:
    """The problems without repeats (a multi-instance task reports through two specs)."""
    seen: set[tuple] = set()
    result = []
    for p in problems:
        key = (p.file, p.element_id, p.message)
        if key not in seen:
            seen.add(key)
            result.append(p)
    return result
