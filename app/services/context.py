"""Who is acting: the authenticated user as the services see it (no Flask objects)."""

from __future__ import annotations

from dataclasses import dataclass, field

STAFF_GROUPS = frozenset({
    "sachbearbeitung", "gutachter", "spitzenverband", "bewilligung", "prozessverantwortliche",
    "admin",
})
TECHNICAL_GROUPS = frozenset({"admin", "sachbearbeitung", "prozessverantwortliche"})
PLAIN_ERROR = ("Bei der Bearbeitung ist ein technisches Problem aufgetreten. Die Administration "
               "ist informiert und kümmert sich darum.")
ROLES = (
    "kommune", "sachbearbeitung", "gutachter", "spitzenverband", "bewilligung",
    "prozessverantwortliche", "admin",
)


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    username: str
    groups: frozenset[str] = field(default_factory=frozenset)
    municipalities: frozenset[str] = field(default_factory=frozenset)
    # the user's token version when the actor was authenticated (app/services/auth.py)
    token_version: int = 0

    @property
    def is_admin(self) -> bool:
        return "admin" in self.groups

    @property
    def is_staff(self) -> bool:
        """Staff of the Land and the KDLZ see cases of all municipalities (ministries only
        those they were asked about)."""
        return bool(self.groups & STAFF_GROUPS)

    @property
    def is_ressort(self) -> bool:
        return any(g.startswith("ressort-") for g in self.groups)

    @property
    def sees_technical_errors(self) -> bool:
        """Administration, case workers and process owners read the engine's error text; everyone
        else (the applying municipality above all) reads a plain message instead."""
        return bool(self.groups & TECHNICAL_GROUPS)

    def error_text(self, message: str | None) -> str | None:
        """What this actor reads of a case's or job's error message."""
        if message is None or self.sees_technical_errors:
            return message
        return PLAIN_ERROR

    def can_see_municipality(self, ags: str | None) -> bool:
        if self.is_staff:
            return True
        return ags is not None and ags in self.municipalities


SYSTEM = Actor(user_id=None, username="system", groups=frozenset({"admin"}))
