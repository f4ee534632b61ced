"""Sicheres Einlesen von BPMN-/DMN-XML.

SpiffWorkflow ruft lxml mit Standardoptionen auf. Hochgeladene Modelle werden deshalb
hier mit einem gehärteten Parser gelesen (keine Entitäten, kein DTD-Laden, kein Netzwerk,
keine DOCTYPE-Deklaration) und erst der fertige Baum an SpiffWorkflow übergeben::

    tree = parse_xml(upload_bytes, filename="antrag.bpmn")
    parser.add_bpmn_xml(tree, filename="antrag.bpmn")

Geprüft wird in dieser Reihenfolge: Größe, UTF-8-Kodierung, DOCTYPE/ENTITY im Rohtext,
Wohlgeformtheit (lxml), DOCTYPE/Entitäten im geparsten Baum.
"""

from __future__ import annotations

import io
import re

from lxml import etree

__all__ = [
    "DEFAULT_MAX_BYTES",
    "UnsafeXmlError",
    "XmlSyntaxError",
    "parse_xml",
]

DEFAULT_MAX_BYTES = 5_000_000

_UTF8_BOM = b"\xef\xbb\xbf"
# Kodierungsangabe in der XML-Deklaration (nur am Dokumentanfang relevant).
_DECLARED_ENCODING = re.compile(
    rb"""^\s*<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""",
)
_UTF8_NAMES = {"utf-8", "utf8"}
_XINCLUDE_NS = "http://www.w3.org/2001/XInclude"


class _XmlError(Exception):
    """Gemeinsame Basis: ``message`` (deutsch) und ``line`` (int oder None)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self) -> str:
        return self.message


class UnsafeXmlError(_XmlError):
    """Die Eingabe ist wohlgeformt oder nicht, wird aber aus Sicherheitsgründen abgelehnt
    (DOCTYPE, Entitäten, falsche Kodierung, zu groß)."""


class XmlSyntaxError(_XmlError):
    """Die Eingabe ist kein wohlgeformtes XML."""


def _line_of(raw: bytes, position: int) -> int:
    return raw.count(b"\n", 0, max(position, 0)) + 1


def _to_utf8_bytes(data: bytes | str) -> tuple[bytes, bool]:
    """Liefert (UTF-8-Bytes, kam_als_str)."""
    if isinstance(data, str):
        try:
            return data.encode("utf-8"), True
        except UnicodeEncodeError as exc:  # z. B. einzelne Surrogate
            raise UnsafeXmlError(
                "Die XML-Daten enthalten Zeichen, die nicht als UTF-8 darstellbar sind.",
            ) from exc
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data), False
    raise TypeError(f"parse_xml erwartet bytes oder str, nicht {type(data).__name__}")


def _check_encoding(raw: bytes, from_str: bool) -> None:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnsafeXmlError(
            "Die XML-Datei ist UTF-16-kodiert. Erlaubt ist nur UTF-8.", line=1,
        )
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnsafeXmlError(
            "Die XML-Datei ist nicht gültig UTF-8-kodiert "
            f"(ungültiges Byte an Position {exc.start}). Bitte als UTF-8 speichern.",
            line=_line_of(raw, exc.start),
        ) from exc
    if from_str:
        # Bei Text-Eingabe ist eine Kodierungsangabe bedeutungslos; wir kodieren selbst.
        return
    body = raw[len(_UTF8_BOM):] if raw.startswith(_UTF8_BOM) else raw
    match = _DECLARED_ENCODING.match(body)
    declared = match.group(1).decode("ascii") if match else "utf-8"
    if declared.lower() not in _UTF8_NAMES:
        raise UnsafeXmlError(
            f"Die XML-Deklaration nennt die Kodierung '{declared}'. "
            "Erlaubt ist nur UTF-8.",
            line=1,
        )


def _check_raw_markup(raw: bytes) -> None:
    for marker, message in (
        (
            b"<!DOCTYPE",
            "DOCTYPE-Deklarationen sind nicht erlaubt (Schutz vor XXE/Entity-Expansion).",
        ),
        (
            b"<!ENTITY",
            "ENTITY-Deklarationen sind nicht erlaubt (Schutz vor XXE/Entity-Expansion).",
        ),
    ):
        position = raw.upper().find(marker)
        if position >= 0:
            raise UnsafeXmlError(message, line=_line_of(raw, position))


def _make_parser() -> etree.XMLParser:
    # Je Aufruf ein eigener Parser: lxml-Parser sind nicht für gleichzeitige Nutzung
    # aus mehreren Threads gedacht.
    return etree.XMLParser(
        encoding="utf-8",
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=False,
        collect_ids=False,
    )


def _syntax_error(exc: etree.XMLSyntaxError, filename: str) -> XmlSyntaxError:
    line = getattr(exc, "lineno", None) or None
    detail = (getattr(exc, "msg", None) or str(exc)).strip()
    where = f" in {filename}" if filename else ""
    at = f" (Zeile {line})" if line else ""
    return XmlSyntaxError(f"Die XML-Datei{where} ist nicht wohlgeformt{at}: {detail}", line=line)


def parse_xml(
    data: bytes | str,
    filename: str = "",
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> etree._ElementTree:
    """Parst BPMN-/DMN-XML gehärtet und gibt den ``_ElementTree`` zurück.

    :raises UnsafeXmlError: zu groß, nicht UTF-8, DOCTYPE/ENTITY vorhanden.
    :raises XmlSyntaxError: nicht wohlgeformt (mit Zeilennummer, soweit bekannt).
    """
    raw, from_str = _to_utf8_bytes(data)
    if len(raw) > max_bytes:
        raise UnsafeXmlError(
            f"Die XML-Datei ist zu groß ({len(raw):,} Bytes; erlaubt sind höchstens "
            f"{max_bytes:,} Bytes).".replace(",", "."),
        )
    if not raw.strip():
        raise XmlSyntaxError("Die XML-Datei ist leer.", line=None)
    _check_encoding(raw, from_str)
    _check_raw_markup(raw)

    try:
        tree = etree.parse(io.BytesIO(raw), _make_parser())
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc, filename) from exc

    docinfo = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise UnsafeXmlError(
            "DOCTYPE-Deklarationen sind nicht erlaubt (Schutz vor XXE/Entity-Expansion).",
            line=1,
        )
    for node in tree.iter(etree.Entity):
        raise UnsafeXmlError(
            "Entitätsreferenzen sind nicht erlaubt (Schutz vor XXE/Entity-Expansion).",
            line=node.sourceline,
        )
    for node in tree.iter(f"{{{_XINCLUDE_NS}}}*"):
        # wird hier nie aufgelöst; abgelehnt, damit auch kein späterer Leser es auflöst
        raise UnsafeXmlError("XInclude ist nicht erlaubt.", line=node.sourceline)
    return tree
