"""German wording for what SpiffWorkflow and the BPMN schema (lxml/libxml2) report in English.

Users never see Python internals: object representations (`<… object at 0x…>`), exception class
names such as `TypeError(…)` or tracebacks are removed; known messages are translated, anything
else is kept (cleaned) behind a German lead-in.
"""

from __future__ import annotations

import re

_QNAME = re.compile(r"\{http://www\.omg\.org/spec/BPMN/20100524/MODEL\}")
_ANY_NS = re.compile(r"\{[^}]*\}")
_REPR = re.compile(r"<[^<>]*>")
_EXC_CALL = re.compile(r"\b[A-Z]\w*(?:Error|Exception)\((.*?)\)", re.DOTALL)
_EXC_PREFIX = re.compile(r"\b[A-Z]\w*(?:Error|Exception|Warning):\s*")

_EL = r"^Element '(?P<el>[^']+)'"
_AT = r", attribute '(?P<at>[^']+)'"
_EXPECTED = r"Expected is (?:one of )?\( ?(?P<exp>.*?) ?\)\.?$"
_TYPE = r"'(?P<v>[^']*)' is not a valid value of the (?:atomic|list|union) type '(?P<t>[^']+)'"
SCHEMA = [
    (_EL + r": This element is not expected\. " + _EXPECTED,
     "Das Element „{el}“ ist an dieser Stelle nicht erlaubt (erwartet: {exp})."),
    (_EL + r": This element is not expected\.?$",
     "Das Element „{el}“ ist an dieser Stelle nicht erlaubt."),
    (_EL + _AT + r": The attribute '[^']+' is not allowed\.?$",
     "Das Attribut „{at}“ ist am Element „{el}“ nicht erlaubt."),
    (_EL + r": The attribute '(?P<at>[^']+)' is required but missing\.?$",
     "Am Element „{el}“ fehlt das Pflichtattribut „{at}“."),
    (_EL + _AT + ": " + _TYPE,
     "„{v}“ ist kein gültiger Wert für das Attribut „{at}“ am Element „{el}“ (Typ {t})."),
    (_EL + ": " + _TYPE, "„{v}“ ist kein gültiger Wert für das Element „{el}“ (Typ {t})."),
    (_EL + _AT + r": \[facet 'enumeration'\] The value '(?P<v>[^']*)' is not an element of "
     r"the set \{(?P<set>[^}]*)\}",
     "„{v}“ ist für das Attribut „{at}“ am Element „{el}“ nicht zulässig (erlaubt: {set})."),
    (_EL + r": Missing child element\(s\)\. " + _EXPECTED,
     "Im Element „{el}“ fehlt ein Kindelement (erwartet: {exp})."),
    (_EL + r": Character content other than whitespace is not allowed",
     "Das Element „{el}“ darf keinen Text enthalten."),
    (_EL + r": Duplicate key-sequence \['(?P<v>[^']*)'\]",
     "Die ID „{v}“ ist mehrfach vergeben (Element „{el}“)."),
    (_EL + r": No match found for key-sequence \['(?P<v>[^']*)'\]",
     "Der Verweis „{v}“ am Element „{el}“ zeigt auf kein vorhandenes Element."),
    (_EL + r": No matching global declaration available for the validation root",
     "Das Wurzelelement „{el}“ ist kein BPMN-2.0-Element."),
]

SPIFF = [
    (r"^Process (?P<p>\S+) is not executable",
     "Der Prozess „{p}“ ist nicht ausführbar (isExecutable=\"false\")."),
    (r"^No start event found", "Der Prozess hat kein Startereignis."),
    (r"^Duplicate process ID: (?P<p>\S+)", "Die Prozess-ID „{p}“ ist mehrfach vergeben."),
    (r"^The process '(?P<p>[^']+)' was not found",
     "Der aufgerufene Prozess „{p}“ wurde nicht gefunden."),
    (r"^No \"calledElement\" attribute for Call Activity",
     "Die Aufrufaktivität nennt keinen Prozess (calledElement)."),
    (r"^Non-default exclusive outgoing sequence flow without condition",
     "Ein ausgehender Sequenzfluss eines exklusiven Gateways hat keine Bedingung und ist nicht "
     "der Standardfluss."),
    (r"^Invalid Script Task\.\s+No Script Provided", "Die Skriptaufgabe enthält kein Skript."),
    (r"^A Service Task must have an operator", "Die Service-Aufgabe nennt keinen Operator."),
    (r"^A SubWorkflow Must contain an End event", "Der Teilprozess braucht ein Endereignis."),
    (r"^Exactly one start event is required in a SubWorkflow Task; found (?P<n>\d+)",
     "Ein Teilprozess braucht genau ein Startereignis (gefunden: {n})."),
    (r"^No DMN Diagram available with id \"(?P<d>[^\"]*)\"",
     "Die DMN-Entscheidung „{d}“ ist nicht vorhanden (DMN-Datei fehlt oder die ID stimmt nicht)."),
    (r"^Could not find messageRef from message event definition: (?P<m>\S+)",
     "Die Nachricht „{m}“ ist nicht definiert."),
    (r"^(?P<w>Message|Signal|Error|Escalation|Correlation) identifier is missing from bpmn xml",
     "Eine Definition ({w}) hat keine ID."),
    (r"^Conditional event definition with missing condition",
     "Dem bedingten Ereignis fehlt die Bedingung."),
    (r"Unknown Time Specification",
     "Der Zeitgeber nennt weder Zeitpunkt noch Dauer noch Wiederholung."),
    (r"^Multiple decision tables are not current supported",
     "Je Entscheidung ist nur eine Entscheidungstabelle möglich."),
    (r"^No decisions found", "Die DMN-Datei enthält keine Entscheidung."),
    (r"^Cannot resolve data(?:Input|Output)Association (?P<n>.*)",
     "Die Datenzuordnung „{n}“ lässt sich nicht auflösen."),
    (r"^There is no support implemented for this task type",
     "Dieser Aufgabentyp wird nicht unterstützt."),
    (r"Unsupported Catch Event", "Diese Art von Zwischen- oder Randereignis wird nicht unterstützt."),
]
_SCHEMA = [(re.compile(p), t) for p, t in SCHEMA]
_SPIFF = [(re.compile(p), t) for p, t in SPIFF]


def schema_message(raw: str) -> str:
    """An XSD validation message in German, with `bpmn:` instead of namespace URIs."""
    text = _ANY_NS.sub("", _QNAME.sub("bpmn:", raw.strip()))
    for pattern, german in _SCHEMA:
        match = pattern.match(text)
        if match:
            return german.format(**{k: _clean_names(v) for k, v in match.groupdict().items()})
    return f"BPMN-Schemafehler: {clean(text)}"


def _clean_names(value: str) -> str:
    return value.replace("bpmn:", "").strip()


def spiff_message(raw: str) -> str:
    """A SpiffWorkflow parser message in German (known ones translated, others cleaned)."""
    text = raw.strip()
    for pattern, german in _SPIFF:
        match = pattern.search(text)
        if match:
            return german.format(**match.groupdict())
    return f"Die Prozessdefinition ist fehlerhaft: {clean(text)}"


def clean(text: str) -> str:
    """Remove object representations, exception class names and tracebacks from a message."""
    text = text.split("Traceback (most recent call last)")[0]
    text = _REPR.sub("…", text)
    text = _EXC_CALL.sub(lambda m: m.group(1).strip("'\""), text)
    text = _EXC_PREFIX.sub("", text)
    text = text.replace("<", "‹").replace(">", "›")
    return " ".join(text.split()).strip() or "ohne nähere Angabe"


RUNTIME = [
    (r"name '(?P<n>[^']+)' is not defined", "„{n}“ ist nicht definiert"),
    (r"Did you mean '(?P<n>[^']+)'\?", "Gemeint war vielleicht „{n}“?"),
    (r"Did you mean one of (?P<n>.*)\?", "Gemeint war vielleicht eine dieser Variablen: {n}?"),
    (r"division by zero", "Division durch null"),
    (r"maximum recursion depth exceeded[^.]*",
     "Grenze der Rekursionstiefe überschritten (eine Funktion ruft sich zu oft selbst auf)"),
    (r"unsupported operand type\(s\) for (?P<op>\S+): '(?P<a>[^']+)' and '(?P<b>[^']+)'",
     "der Operator {op} passt nicht zu den Werten ({a} und {b})"),
    (r"'(?P<a>[^']+)' not supported between instances of '(?P<x>[^']+)' and '(?P<y>[^']+)'",
     "der Vergleich {a} passt nicht zu den Werten ({x} und {y})"),
    (r"'(?P<t>[^']+)' object is not subscriptable", "ein Wert vom Typ {t} hat keine Einträge"),
    (r"'(?P<t>[^']+)' object has no attribute '(?P<a>[^']+)'",
     "ein Wert vom Typ {t} hat kein Attribut „{a}“"),
    (r"Invalid duration", "ungültige Dauer"),
]
_RUNTIME = [(re.compile(p), t) for p, t in RUNTIME]


def engine_message(text: str, notes: list[str] | None = None) -> str:
    """A run-time error of the engine or a script in German, without Python internals."""
    parts = [text, *[n for n in (notes or []) if n and n.strip() not in text]]
    result = clean(" ".join(_sentence(p) for p in parts if p and p.strip()))
    for pattern, german in _RUNTIME:
        result = pattern.sub(lambda m, g=german: g.format(**m.groupdict()), result)
    return result


def _sentence(text: str) -> str:
    text = text.strip().rstrip(".").strip()
    return text if text.endswith(("?", "!")) else text + "."
