"""Which state ministries (Ressorts) are consulted for which Themenbereich — kept as data.

The mapping lives in ``app/domain/data/ressorts.json`` and is loaded once at import into
module-level dicts. Each Ressort is represented in the portal by a user group named
``ressort-<code>`` (see :func:`group_name`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.domain.errors import FieldError, ValidationFailed, pointer

DATA_FILE = Path(__file__).with_name("data") / "ressorts.json"
GROUP_PREFIX = "ressort-"


@dataclass(frozen=True)
class RessortConfig:
    ressorts: dict[str, str]  # code -> official name
    kurznamen: dict[str, str]  # code -> short name
    themenbereiche: dict[str, str]  # code -> German label
    thema_ressorts: dict[str, tuple[str, ...]]  # Themenbereich -> Ressort codes
    immer_beteiligt: tuple[str, ...]  # consulted for every application
    postfaecher: dict[str, str] = field(default_factory=dict)  # code -> functional mailbox


def parse_ressort_config(data: Mapping[str, Any]) -> RessortConfig:
    """Validate and convert the raw JSON structure (raises ``ValueError`` if inconsistent)."""
    raw_ressorts = data.get("ressorts")
    raw_themen = data.get("themenbereiche")
    if not isinstance(raw_ressorts, Mapping) or not isinstance(raw_themen, Mapping):
        raise ValueError("Die Ressortzuordnung braucht „ressorts“ und „themenbereiche“.")
    ressorts = {code: str(r["name"]) for code, r in raw_ressorts.items()}
    kurznamen = {code: str(r.get("kurzname", r["name"])) for code, r in raw_ressorts.items()}
    themen = {code: str(t["label"]) for code, t in raw_themen.items()}
    mapping = {code: tuple(t.get("ressorts", ())) for code, t in raw_themen.items()}
    immer = tuple(data.get("immer_beteiligt", ()))
    unknown = sorted(({r for rs in mapping.values() for r in rs} | set(immer)) - set(ressorts))
    if unknown:
        raise ValueError(f"Unbekannte Ressorts in der Zuordnung: {', '.join(unknown)}")
    for code in [*ressorts, *themen]:
        if not code or not code.isascii() or not code.replace("_", "").isalnum():
            raise ValueError(f"Ungültiger Code in der Ressortzuordnung: {code!r}")
    postfaecher = {code: str(r["postfach"]) for code, r in raw_ressorts.items() if r.get("postfach")}
    return RessortConfig(ressorts, kurznamen, themen, mapping, immer, postfaecher)


def load_ressort_config(path: Path | str = DATA_FILE) -> RessortConfig:
    with open(path, encoding="utf-8") as fh:
        return parse_ressort_config(json.load(fh))


CONFIG: RessortConfig = load_ressort_config()
RESSORTS: dict[str, str] = CONFIG.ressorts
THEMENBEREICHE: dict[str, str] = CONFIG.themenbereiche
THEMA_RESSORTS: dict[str, tuple[str, ...]] = CONFIG.thema_ressorts
IMMER_BETEILIGT: tuple[str, ...] = CONFIG.immer_beteiligt


def ressorts_for(themen: Iterable[str], config: RessortConfig | None = None) -> list[str]:
    """Sorted, unique Ressort codes to consult for the given Themenbereiche (Finanzen always).

    >>> ressorts_for(["mobilitaet", "energie", "gesundheit"])
    ['finanzen', 'gesundheit', 'wirtschaft']
    """
    cfg = config or CONFIG
    codes: set[str] = set(cfg.immer_beteiligt)
    errors: list[FieldError] = []
    for i, thema in enumerate(themen):
        if thema not in cfg.thema_ressorts:
            errors.append(
                FieldError(
                    pointer("themenbereiche", i),
                    f"„{thema}“ ist kein Themenbereich des Förderprogramms; zulässig sind: "
                    f"{', '.join(cfg.themenbereiche.values())}.",
                )
            )
        else:
            codes.update(cfg.thema_ressorts[thema])
    if errors:
        raise ValidationFailed("Die Themenbereiche sind fehlerhaft.", errors)
    return sorted(codes)


def ressort_name(code: str, config: RessortConfig | None = None) -> str:
    """Official name of a Ressort (``KeyError`` for unknown codes)."""
    return (config or CONFIG).ressorts[code]


def ressort_kurzname(code: str, config: RessortConfig | None = None) -> str:
    return (config or CONFIG).kurznamen[code]


def themenbereich_label(code: str, config: RessortConfig | None = None) -> str:
    return (config or CONFIG).themenbereiche[code]


def group_name(code: str) -> str:
    """User group of a Ressort: ``ressort-<code>``."""
    return f"{GROUP_PREFIX}{code}"


def ressort_from_group(group: str, config: RessortConfig | None = None) -> str | None:
    """Inverse of :func:`group_name`; ``None`` if the group is not a known Ressort group."""
    if not group.startswith(GROUP_PREFIX):
        return None
    code = group[len(GROUP_PREFIX) :]
    return code if code in (config or CONFIG).ressorts else None


def ressort_postfach(code: str, config: RessortConfig | None = None) -> str | None:
    """Functional mailbox (Funktionspostfach) of a Ressort for reminders, if configured."""
    return (config or CONFIG).postfaecher.get(code)
