"""Municipalities (Gemeinden) of Hessen as value types.

A municipality is identified by its Amtlicher Gemeindeschlüssel (AGS), eight digits::

    06 4 31 001
    |  |  |  +-- Gemeinde (3)
    |  |  +----- Kreis (2)
    |  +-------- Regierungsbezirk (1)
    +----------- Land (2; 06 = Hessen)

Hessen has three Regierungsbezirke, which the programme calls Landesteile:
Darmstadt → Süd, Gießen → Mittel, Kassel → Nord (RB code 4/5/6 = third digit of the AGS).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Literal

LAND_HESSEN = "06"

#: Population threshold of the HFAG main weighting (and the default for small/large clusters).
DEFAULT_SIZE_THRESHOLD = 7500

SizeClass = Literal["klein", "gross"]
KLEIN: SizeClass = "klein"
GROSS: SizeClass = "gross"


class Landesteil(StrEnum):
    SUED = "Süd"
    MITTEL = "Mittel"
    NORD = "Nord"


class HfagStatus(StrEnum):
    """Status of a municipality that overrides the population step of the HFAG main weighting."""

    MITTELZENTRUM = "mittelzentrum"
    SONDERSTATUS = "sonderstatus"


#: Regierungsbezirk name → Landesteil.
REGIERUNGSBEZIRK_LANDESTEIL: Mapping[str, Landesteil] = {
    "Darmstadt": Landesteil.SUED,
    "Gießen": Landesteil.MITTEL,
    "Kassel": Landesteil.NORD,
}

#: Regierungsbezirk code (third digit of the AGS) → Landesteil.
RB_CODE_LANDESTEIL: Mapping[str, Landesteil] = {
    "4": Landesteil.SUED,
    "5": Landesteil.MITTEL,
    "6": Landesteil.NORD,
}

#: Regierungsbezirk code → name.
RB_CODE_NAME: Mapping[str, str] = {
    "4": "Darmstadt",
    "5": "Gießen",
    "6": "Kassel",
}

#: The seven Hessian Sonderstatus-Städte (§ 4a Abs. 2 HGO; Gebietsstand 2020, before Hanau's
#: planned change to kreisfrei). Convenience default only: the HFAG status is an input per
#: municipality and programme year, callers may pass their own mapping.
SONDERSTATUS_STAEDTE: Mapping[str, str] = {
    "06434001": "Bad Homburg v.d. Höhe",
    "06433012": "Rüsselsheim am Main",
    "06435014": "Hanau",
    "06531005": "Gießen",
    "06532023": "Wetzlar",
    "06534014": "Marburg",
    "06631009": "Fulda",
}

_AGS_RE = re.compile(r"\d{8}")
_RB_PREFIX_RE = re.compile(r"^(reg\.?\s*-?\s*bez\.?|regierungsbezirk|rb)\s*", re.IGNORECASE)


def validate_ags(value: object) -> str:
    """Return the AGS as an 8-digit string or raise ``ValueError`` (German message).

    Surrounding whitespace is ignored; anything else than exactly eight digits is refused
    (an integer would have lost its leading zero, so only strings are accepted).

    >>> validate_ags(" 06431001 ")
    '06431001'
    """
    if not isinstance(value, str):
        raise ValueError(
            f"Gemeindeschlüssel {value!r} ist ungültig: erwartet werden 8 Ziffern als Text."
        )
    s = value.strip()
    if not _AGS_RE.fullmatch(s):
        raise ValueError(f"Gemeindeschlüssel „{s}“ ist ungültig: erwartet werden genau 8 Ziffern.")
    return s


def is_valid_ags(value: object) -> bool:
    try:
        validate_ags(value)
    except ValueError:
        return False
    return True


def size_class(einwohner: int, threshold: int = DEFAULT_SIZE_THRESHOLD) -> SizeClass:
    """``"klein"`` below ``threshold`` inhabitants, ``"gross"`` from ``threshold`` on."""
    if isinstance(einwohner, bool) or not isinstance(einwohner, int):
        raise TypeError("Einwohnerzahl muss eine ganze Zahl sein.")
    return KLEIN if einwohner < threshold else GROSS


def normalize_regierungsbezirk(value: str) -> str:
    """``"Reg.-Bez. Darmstadt"`` → ``"Darmstadt"``, ``"Giessen"`` → ``"Gießen"``, ``"4"`` → name."""
    s = _RB_PREFIX_RE.sub("", str(value).strip()).strip()
    if s in RB_CODE_NAME:
        return RB_CODE_NAME[s]
    if s.casefold() == "giessen":
        return "Gießen"
    return s


def landesteil_for_regierungsbezirk(value: str | int) -> Landesteil:
    """Landesteil for an RB name (``"Darmstadt"``, ``"Reg.-Bez. Gießen"``) or code (``4``)."""
    key = str(value).strip()
    if key in RB_CODE_LANDESTEIL:
        return RB_CODE_LANDESTEIL[key]
    name = normalize_regierungsbezirk(key)
    try:
        return REGIERUNGSBEZIRK_LANDESTEIL[name]
    except KeyError:
        raise ValueError(f"Unbekannter hessischer Regierungsbezirk „{value}“.") from None


def landesteil_from_ags(ags: str) -> Landesteil:
    """Landesteil from the RB digit of a Hessian AGS."""
    ags = validate_ags(ags)
    if ags[:2] != LAND_HESSEN:
        raise ValueError(f"Gemeindeschlüssel „{ags}“ gehört nicht zu Hessen (Land 06).")
    return landesteil_for_regierungsbezirk(ags[2])


def parse_hfag_status(value: object) -> HfagStatus | None:
    """``None``/empty → ``None``; ``"mittelzentrum"``/``"sonderstatus"`` (any case) → enum."""
    if value is None:
        return None
    if isinstance(value, HfagStatus):
        return value
    s = str(value).strip().casefold()
    if not s:
        return None
    try:
        return HfagStatus(s)
    except ValueError:
        raise ValueError(
            f"Unbekannter HFAG-Status „{value}“ (erlaubt: mittelzentrum, sonderstatus oder leer)."
        ) from None


@dataclass(frozen=True, slots=True)
class Municipality:
    """One Gemeinde.

    ``gemeinde_typ`` is the Destatis text mark (``"Gemeinde"``, ``"Stadt"``,
    ``"kreisfreie Stadt"`` ...); ``hfag_status`` is the input for the HFAG main weighting
    (``"mittelzentrum"``, ``"sonderstatus"`` or ``None`` = population step only).
    """

    ags: str
    name: str
    kreis: str
    regierungsbezirk: str
    landesteil: Landesteil
    einwohner: int
    flaeche_km2: Decimal | None = None
    gemeinde_typ: str | None = None
    hfag_status: HfagStatus | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "ags", validate_ags(self.ags))
        if not isinstance(self.landesteil, Landesteil):
            object.__setattr__(self, "landesteil", Landesteil(self.landesteil))
        if isinstance(self.einwohner, bool) or not isinstance(self.einwohner, int):
            raise TypeError("Einwohnerzahl muss eine ganze Zahl sein.")
        if self.einwohner < 0:
            raise ValueError("Einwohnerzahl darf nicht negativ sein.")
        if self.flaeche_km2 is not None and not isinstance(self.flaeche_km2, Decimal):
            raise TypeError("Fläche muss als Decimal angegeben werden.")
        object.__setattr__(self, "hfag_status", parse_hfag_status(self.hfag_status))

    def size_class(self, threshold: int = DEFAULT_SIZE_THRESHOLD) -> SizeClass:
        return size_class(self.einwohner, threshold)
