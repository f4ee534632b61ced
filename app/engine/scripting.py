"""Eingeschränkte Ausführung aller Skripte und Ausdrücke der Prozess-Engine.

SpiffWorkflow führt Skript-Tasks, Pre-/Post-Skripte, Gateway-Bedingungen, DMN-Zellen,
Service-Task-Parameter, Timer-Ausdrücke, Nachrichten-Payloads und Korrelationsausdrücke
über ``script_engine.environment.evaluate``/``execute`` aus. ``RestrictedEnvironment``
ersetzt dort ``eval``/``exec`` durch RestrictedPython:

* Übersetzung mit ``compile_restricted_exec``/``compile_restricted_eval`` und einer
  eigenen Policy (Unterklasse von ``RestrictingNodeTransformer``); übersetzter Code wird
  je Quelltext in einem LRU-Cache gehalten.
* Zur Übersetzungszeit abgelehnt: ``import``, Klassendefinitionen, Namen und Attribute mit
  ``_`` am Anfang, Frame-/Code-Attribute (``gi_frame``, ``f_globals`` …), ``exec``/``eval``.
* Zur Laufzeit: nur eine kleine Liste eingebauter Funktionen (kein ``open``, ``getattr``,
  ``type``, ``globals``, ``vars``, ``compile``, ``__import__`` …), Attributzugriff über
  einen Wächter (kein ``_``-Präfix, kein ``str.format``/``format_map``), Schreiben nur in
  ``dict``/``list``.

Zeitlimit
    Die Policy fügt an den Anfang jedes Schleifenrumpfs und jeder Funktion/Lambda einen
    Aufruf ``_tick_()`` ein, und ``_getiter_`` (jede ``for``-Schleife, jede Comprehension)
    prüft ebenfalls. Nach Ablauf löst jeder weitere Tick ``ScriptTimeoutError`` aus; fängt
    das Skript den Fehler ab, wird er am Ende trotzdem gemeldet. Das funktioniert in jedem
    Thread und ohne ``sys.settrace``. (Ein ``sys.settrace``-Ansatz reicht nicht: unter
    Python 3.11 erzeugt ``while True: pass`` in einer Zeile keine Line-Events, und eine
    Ausnahme aus der Trace-Funktion schaltet das Tracing ab, sodass ``except:`` sie
    schlucken und danach endlos weiterlaufen könnte.)

Begrenzt (``ScriptLimitError``)
    ``range`` ≤ 1.000.000 Elemente; ``*``, ``+``, ``+=``, ``*=``, ``list.extend`` und
    ``sum`` für Listen/Tupel ≤ 1.000.000 Elemente, für Texte ≤ 10.000.000 Zeichen;
    ``**``, ``pow``, ``<<`` und ``*`` für ganze Zahlen ≤ 100.000 Bit; Textmethoden
    ``ljust``/``rjust``/``center``/``zfill``/``expandtabs``/``replace``/``join``/
    ``translate`` und ``int.to_bytes`` nach Ergebnisgröße; Breiten/Genauigkeiten in
    f-Strings und ``%``-Formaten ≤ 10.000; ``Decimal`` mit Exponent über ±4.300 wird weder
    erzeugt noch in ``int`` umgewandelt, gerundet oder formatiert
    (``int(Decimal('1e999999'))`` dauert sonst 26 s).

Harte Grenzen (``sandbox``, siehe :mod:`app.engine.sandbox`)
    Die Wächter oben wirken kooperativ; Arbeit innerhalb eines einzelnen C-Aufrufs
    (``sum(map(sum, [range(10**6)] * 1500))``, ``str()`` einer vielfach geteilten Liste) und
    schrittweise aufgebauter Speicher lassen sich so nicht begrenzen. Mit ``sandbox`` (die
    Plattform setzt ihn immer, ``SCRIPT_SANDBOX``) laufen deshalb alle Skripte und jeder
    Ausdruck, der nicht nachweislich beschränkt ist (:mod:`app.engine.bounded`: Namen,
    Konstanten, Zugriffe, Vergleiche, ``and``/``or``/``not``, ``len`` …), in einem
    Kindprozess mit ``RLIMIT_AS``/``RLIMIT_CPU``; der Aufrufer erhält spätestens nach
    Zeitlimit + Karenz ein Ergebnis oder ``ScriptTimeoutError``/``ScriptLimitError``.
    Beschränkte Ausdrücke (die meisten Gateway-Bedingungen und DMN-Zellen) bleiben im Prozess:
    ihr Aufwand ist höchstens proportional zur Größe der Prozessdaten.

Fehler
    ``ScriptSecurityError``/``ScriptLimitError``/``ScriptTimeoutError`` tragen deutsche
    Meldungen. ``RestrictedScriptEngine`` (von ``make_script_engine``) verpackt sie wie
    ``PythonScriptEngine`` in ``WorkflowTaskException``, übernimmt dabei aber den Grund in
    den Meldungstext – auch bei Ausdrücken, bei denen SpiffWorkflow ihn sonst verwirft.
"""

from __future__ import annotations

import ast
import copy
import datetime as _datetime
import decimal
import functools
import operator
import re
import time
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safe_builtins,
)
from RestrictedPython.PrintCollector import PrintCollector
from RestrictedPython.transformer import (
    INSPECT_ATTRIBUTES,
    IOPERATOR_TO_STR,
    RestrictingNodeTransformer,
    copy_locations,
)
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment
from SpiffWorkflow.exceptions import SpiffWorkflowException

from app.engine.bounded import is_bounded_expression

__all__ = [
    "MAX_FORMAT_WIDTH",
    "MAX_INT_BITS",
    "MAX_RANGE_LENGTH",
    "MAX_SEQUENCE_LENGTH",
    "MAX_STRING_LENGTH",
    "SCRIPT_FILENAME",
    "RestrictedEnvironment",
    "RestrictedScriptEngine",
    "ScriptLimitError",
    "ScriptSandbox",
    "ScriptSecurityError",
    "ScriptTimeoutError",
    "compile_expression",
    "compile_script",
    "make_script_engine",
    "script_line",
]

# SpiffWorkflow sucht in Tracebacks nach Frames dieses Dateinamens, um Zeilennummern zu melden.
SCRIPT_FILENAME = "<string>"

MAX_RANGE_LENGTH = 1_000_000
MAX_SEQUENCE_LENGTH = 1_000_000
MAX_STRING_LENGTH = 10_000_000
MAX_INT_BITS = 100_000
MAX_FORMAT_WIDTH = 10_000
MAX_DECIMAL_EXPONENT = 4_300  # entspricht Pythons Grenze für int<->str-Umwandlungen

_COMPILE_CACHE_SIZE = 4096


# --------------------------------------------------------------------------- Fehler


class ScriptSecurityError(Exception):
    """Ein Skript oder Ausdruck versucht etwas Unzulässiges (Übersetzung oder Laufzeit)."""

    prefix = "Unzulässiger Zugriff im Skript"

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.set_line(line)

    def set_line(self, line: int | None) -> None:
        self.line = line
        where = f" (Zeile {line})" if line else ""
        self.message = f"{self.prefix}: {self.reason}{where}"
        self.args = (self.message,)

    def __str__(self) -> str:
        return self.message


class ScriptLimitError(ScriptSecurityError):
    """Ein Skript würde ein zu großes Ergebnis erzeugen (Speicher-/Rechenzeitschutz)."""

    prefix = "Skript-Grenze überschritten"


class ScriptTimeoutError(Exception):
    """Ein Skript oder Ausdruck hat das Zeitlimit überschritten."""

    def __init__(self, limit_seconds: float, line: int | None = None) -> None:
        self.limit_seconds = limit_seconds
        self.line = line
        self.message = (
            f"Zeitlimit überschritten: Das Skript lief länger als {limit_seconds:g} Sekunden "
            "und wurde abgebrochen"
        )
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


def _limit(reason: str) -> ScriptLimitError:
    return ScriptLimitError(reason)


# --------------------------------------------------------------------------- Übersetzung

_BINOP_GUARDS: dict[type[ast.operator], str] = {
    ast.Add: "_binop_add_",
    ast.Mult: "_binop_mul_",
    ast.Pow: "_binop_pow_",
    ast.LShift: "_binop_lshift_",
    ast.Mod: "_binop_mod_",
}


def _name(identifier: str) -> ast.Name:
    return ast.Name(identifier, ast.Load())


def _call(identifier: str, args: list[ast.expr], location: ast.AST) -> ast.Call:
    node = ast.Call(func=_name(identifier), args=args, keywords=[])
    copy_locations(node, location)
    return node


def _tick_statement(location: ast.AST) -> ast.Expr:
    statement = ast.Expr(_call("_tick_", [], location))
    copy_locations(statement, location)
    return statement


class _ScriptPolicy(RestrictingNodeTransformer):
    """RestrictedPython-Policy mit Zeit-Ticks, Größenwächtern und deutschen Meldungen."""

    # -- verboten
    def visit_Import(self, node: ast.Import) -> ast.AST:
        self.error(node, "import ist nicht erlaubt")
        return node

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST:
        self.error(node, "import ist nicht erlaubt")
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        self.error(node, "Klassendefinitionen sind nicht erlaubt")
        return node

    # -- Zeitlimit
    def visit_While(self, node: ast.While) -> ast.AST:
        node = super().visit_While(node)
        node.body.insert(0, _tick_statement(node))
        return node

    def visit_For(self, node: ast.For) -> ast.AST:
        node = super().visit_For(node)
        node.body.insert(0, _tick_statement(node))
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node = super().visit_FunctionDef(node)
        node.body.insert(0, _tick_statement(node))
        return node

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        node = super().visit_Lambda(node)
        # lambda: body  ->  lambda: _tick_() or body   (_tick_ liefert None)
        body = ast.BoolOp(op=ast.Or(), values=[_call("_tick_", [], node), node.body])
        copy_locations(body, node.body)
        node.body = body
        return node

    # -- Größenwächter
    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = super().visit_BinOp(node)
        guard = _BINOP_GUARDS.get(type(node.op))
        if guard is None:
            return node
        return _call(guard, [node.left, node.right], node)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        target = node.target
        if not isinstance(target, ast.Subscript):
            return super().visit_AugAssign(node)  # Name -> _inplacevar_, Attribut -> Fehler
        if any(isinstance(part, ast.Slice) for part in ast.walk(target.slice)):
            self.error(node, "erweiterte Zuweisung (z. B. +=) auf Slices ist nicht erlaubt")
            return node
        # d[k] += v  ->  _inplaceitem_(d, k, "+=", v)
        container = self.visit(target.value)
        key = self.visit(target.slice)
        value = self.visit(node.value)
        operator_text = ast.Constant(IOPERATOR_TO_STR[type(node.op)])
        statement = ast.Expr(
            _call("_inplaceitem_", [container, key, operator_text, value], node),
        )
        copy_locations(statement, node)
        return statement

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        node = super().visit_FormattedValue(node)
        if node.format_spec is None:
            return node
        # f"{v!c:spec}"  ->  f"{_format_value_(v, c, spec)}"
        call = _call(
            "_format_value_",
            [node.value, ast.Constant(node.conversion), node.format_spec],
            node,
        )
        new_node = ast.FormattedValue(value=call, conversion=-1, format_spec=None)
        copy_locations(new_node, node)
        return new_node


_ERROR_LINE = re.compile(r"^Line (?P<line>\d+|None): (?P<info>.*)$", re.DOTALL)
_ERROR_TRANSLATIONS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r'^"(?P<n>[^"]+)" is an invalid variable name because it starts with "_"'),
        "der Name '{n}' ist nicht erlaubt (Namen mit '_' am Anfang sind gesperrt)",
    ),
    (
        re.compile(r'^"(?P<n>[^"]+)" is an invalid attribute name because it starts with "_"'),
        "der Zugriff auf das Attribut '{n}' ist nicht erlaubt "
        "(Attribute mit '_' am Anfang sind gesperrt)",
    ),
    (
        re.compile(r'^"(?P<n>[^"]+)" is an invalid (?:variable|attribute) name because it ends'),
        "der Name '{n}' ist nicht erlaubt",
    ),
    (
        re.compile(r'^"(?P<n>[^"]+)" is a restricted name'),
        "der Zugriff auf '{n}' ist nicht erlaubt",
    ),
    (re.compile(r'^"(?P<n>[^"]+)" is a reserved name'), "der Name '{n}' ist reserviert"),
    (re.compile(r"^Exec calls are not allowed"), "exec ist nicht erlaubt"),
    (re.compile(r"^Eval calls are not allowed"), "eval ist nicht erlaubt"),
    (
        re.compile(r"^Augmented assignment of attributes"),
        "erweiterte Zuweisung (z. B. +=) an Attribute ist nicht erlaubt",
    ),
    (
        re.compile(r"^Unpacking in comprehensions"),
        "Entpacken (*) in Comprehensions ist nicht erlaubt",
    ),
    (re.compile(r"^(?P<n>\w+) statements are not allowed"), "die Anweisung '{n}' ist nicht erlaubt"),
]


def _translate_compile_error(raw: str) -> tuple[str, int | None]:
    match = _ERROR_LINE.match(raw)
    line: int | None = None
    info = raw
    if match:
        info = match.group("info")
        if match.group("line") != "None":
            line = int(match.group("line"))
    for pattern, german in _ERROR_TRANSLATIONS:
        found = pattern.search(info)
        if found:
            return german.format(**found.groupdict()), line
    return info.rstrip("."), line


class _CompileResult:
    """Ergebnis einer Übersetzung; Ausnahmen werden bei jedem Abruf frisch erzeugt."""

    __slots__ = ("code", "security", "syntax")

    def __init__(
        self,
        code: types.CodeType | None = None,
        security: tuple[str, int | None] | None = None,
        syntax: tuple[str, int | None, int | None, str | None] | None = None,
    ) -> None:
        self.code = code
        self.security = security
        self.syntax = syntax

    def unwrap(self) -> types.CodeType:
        if self.syntax is not None:
            msg, lineno, offset, text = self.syntax
            raise SyntaxError(f"Syntaxfehler: {msg}", (SCRIPT_FILENAME, lineno, offset, text))
        if self.security is not None:
            raise ScriptSecurityError(*self.security)
        assert self.code is not None
        return self.code


@functools.lru_cache(maxsize=_COMPILE_CACHE_SIZE)
def _compile_cached(source: str, mode: str) -> _CompileResult:
    try:
        tree = ast.parse(source, SCRIPT_FILENAME, mode)
    except SyntaxError as exc:
        return _CompileResult(syntax=(exc.msg, exc.lineno, exc.offset, exc.text))
    except ValueError as exc:  # z. B. NUL-Bytes im Quelltext
        return _CompileResult(syntax=(str(exc), None, None, None))
    compiler = compile_restricted_exec if mode == "exec" else compile_restricted_eval
    result = compiler(tree, filename=SCRIPT_FILENAME, policy=_ScriptPolicy)
    if result.errors:
        translated = [_translate_compile_error(error) for error in result.errors]
        reasons: list[str] = []
        for reason, _line in translated:
            if reason not in reasons:
                reasons.append(reason)
        first_line = next((line for _reason, line in translated if line), None)
        return _CompileResult(security=("; ".join(reasons), first_line))
    return _CompileResult(code=result.code)


def compile_script(source: str) -> types.CodeType:
    """Übersetzt ein Skript (exec) eingeschränkt; Ergebnis wird gecacht.

    :raises SyntaxError: bei Syntaxfehlern (mit ``lineno``).
    :raises ScriptSecurityError: bei unzulässigen Konstrukten.
    """
    if not isinstance(source, str):
        raise TypeError(f"Skript muss ein str sein, nicht {type(source).__name__}")
    return _compile_cached(source, "exec").unwrap()


def compile_expression(source: str) -> types.CodeType:
    """Übersetzt einen Ausdruck (eval) eingeschränkt; Ergebnis wird gecacht."""
    if not isinstance(source, str):
        raise TypeError(f"Ausdruck muss ein str sein, nicht {type(source).__name__}")
    return _compile_cached(source.strip(), "eval").unwrap()


# --------------------------------------------------------------------------- Größenwächter

_TEXT = (str, bytes)
_SEQUENCE = (list, tuple)


def _check_decimal(value: Any) -> None:
    if isinstance(value, decimal.Decimal) and value.is_finite() and value:
        if abs(value.adjusted()) > MAX_DECIMAL_EXPONENT:
            raise _limit(
                f"Decimal-Wert mit Exponent {value.adjusted()} ist zu groß "
                f"(erlaubt: ±{MAX_DECIMAL_EXPONENT})",
            )


def _check_text_length(length: int) -> None:
    if length > MAX_STRING_LENGTH:
        raise _limit(f"Text mit {length} Zeichen ist zu lang (höchstens {MAX_STRING_LENGTH})")


def _check_sequence_length(length: int) -> None:
    if length > MAX_SEQUENCE_LENGTH:
        raise _limit(
            f"Liste/Tupel mit {length} Elementen ist zu groß (höchstens {MAX_SEQUENCE_LENGTH})",
        )


def _check_int_bits(bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise _limit(f"Ganzzahl mit etwa {bits} Bit ist zu groß (höchstens {MAX_INT_BITS} Bit)")


def _check_combined_length(a: Any, b: Any) -> None:
    if isinstance(a, _TEXT) and isinstance(b, _TEXT):
        _check_text_length(len(a) + len(b))
    elif isinstance(a, _SEQUENCE) and hasattr(b, "__len__"):
        _check_sequence_length(len(a) + len(b))


def _check_repeat(a: Any, b: Any) -> None:
    if isinstance(a, int) and isinstance(b, int):
        _check_int_bits(a.bit_length() + b.bit_length())
        return
    if isinstance(b, int):
        sequence, times = a, b
    elif isinstance(a, int):
        sequence, times = b, a
    else:
        return
    if isinstance(sequence, _TEXT):
        _check_text_length(len(sequence) * max(times, 0))
    elif isinstance(sequence, _SEQUENCE):
        _check_sequence_length(len(sequence) * max(times, 0))


def _check_power(base: Any, exponent: Any) -> None:
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        _check_int_bits(exponent * abs(base).bit_length())


def _check_shift(value: Any, shift: Any) -> None:
    if isinstance(value, int) and isinstance(shift, int) and value and shift > 0:
        _check_int_bits(value.bit_length() + shift)


_PRINTF_FIELD = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")
_PRINTF_FIELD_BYTES = re.compile(rb"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")
_SPEC_NUMBER = re.compile(r"\d+")


def _check_printf(template: str | bytes, args: Any) -> None:
    pattern = _PRINTF_FIELD if isinstance(template, str) else _PRINTF_FIELD_BYTES
    for width, precision in pattern.findall(template):
        for part in (width, precision):
            if part in ("*", b"*"):
                raise _limit("'*' als Breite in %-Formaten ist nicht erlaubt")
            if part and int(part) > MAX_FORMAT_WIDTH:
                raise _limit(f"Formatbreite {int(part)} ist zu groß (höchstens {MAX_FORMAT_WIDTH})")
    if isinstance(args, Mapping):
        values: Iterable[Any] = args.values()
    elif isinstance(args, tuple):
        values = args
    else:
        values = (args,)
    for value in values:
        _check_decimal(value)


def _check_format_spec(spec: str) -> None:
    for number in _SPEC_NUMBER.findall(spec):
        if int(number) > MAX_FORMAT_WIDTH:
            raise _limit(f"Formatbreite {int(number)} ist zu groß (höchstens {MAX_FORMAT_WIDTH})")


def _binop_add(a: Any, b: Any) -> Any:
    _check_combined_length(a, b)
    return a + b


def _binop_mul(a: Any, b: Any) -> Any:
    _check_repeat(a, b)
    return a * b


def _binop_pow(a: Any, b: Any) -> Any:
    _check_power(a, b)
    return a**b


def _binop_lshift(a: Any, b: Any) -> Any:
    _check_shift(a, b)
    return a << b


def _binop_mod(a: Any, b: Any) -> Any:
    if isinstance(a, _TEXT):
        _check_printf(a, b)
    return a % b


_CONVERSIONS: dict[int, Callable[[Any], str]] = {
    ord("s"): str,
    ord("r"): repr,
    ord("a"): ascii,
}


def _format_value(value: Any, conversion: int, spec: str) -> str:
    if conversion in _CONVERSIONS:
        value = _CONVERSIONS[conversion](value)
    _check_format_spec(spec)
    _check_decimal(value)
    return format(value, spec)


def _materialize(iterable: Iterable[Any]) -> list[Any] | tuple[Any, ...]:
    if isinstance(iterable, list | tuple):
        return iterable
    return list(iterable)


def _inplace(op: str, current: Any, value: Any) -> Any:
    if op == "+=":
        if isinstance(current, list) and not hasattr(value, "__len__"):
            value = _materialize(value)
        _check_combined_length(current, value)
        return operator.iadd(current, value)
    if op == "*=":
        _check_repeat(current, value)
        return operator.imul(current, value)
    if op == "**=":
        _check_power(current, value)
        return operator.ipow(current, value)
    if op == "<<=":
        _check_shift(current, value)
        return operator.ilshift(current, value)
    if op == "%=":
        if isinstance(current, _TEXT):
            _check_printf(current, value)
        return operator.imod(current, value)
    function = _INPLACE_OPERATORS.get(op)
    if function is None:
        raise ScriptSecurityError(f"Operator {op} ist nicht erlaubt")
    return function(current, value)


_INPLACE_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "-=": operator.isub,
    "/=": operator.itruediv,
    ">>=": operator.irshift,
    "|=": operator.ior,
    "^=": operator.ixor,
    "&=": operator.iand,
    "//=": operator.ifloordiv,
    "@=": operator.imatmul,
}


def _inplace_item(container: Any, key: Any, op: str, value: Any) -> None:
    writable = full_write_guard(container)
    writable[key] = _inplace(op, container[key], value)


# -- geschützte Textmethoden (gebunden an eine Instanz)


def _guard_padding(text: str | bytes, method: Callable[..., Any]) -> Callable[..., Any]:
    def padded(width: Any, *args: Any) -> Any:
        if isinstance(width, int):
            _check_text_length(width)
        return method(width, *args)

    return padded


def _guard_expandtabs(text: str | bytes, method: Callable[..., Any]) -> Callable[..., Any]:
    def expandtabs(tabsize: Any = 8) -> Any:
        if isinstance(tabsize, int):
            tabs = text.count("\t" if isinstance(text, str) else b"\t")
            _check_text_length(len(text) + tabs * max(tabsize, 0))
        return method(tabsize)

    return expandtabs


def _guard_replace(text: str | bytes, method: Callable[..., Any]) -> Callable[..., Any]:
    def replace(old: Any, new: Any, count: int = -1) -> Any:
        if isinstance(old, _TEXT) and isinstance(new, _TEXT) and isinstance(count, int):
            occurrences = len(text) + 1 if not old else text.count(old)
            if count >= 0:
                occurrences = min(occurrences, count)
            _check_text_length(len(text) + occurrences * max(len(new) - len(old), 0))
        return method(old, new, count)

    return replace


def _guard_join(text: str | bytes, method: Callable[..., Any]) -> Callable[..., Any]:
    def join(iterable: Iterable[Any]) -> Any:
        items = _materialize(iterable)
        total = sum(len(item) for item in items if isinstance(item, _TEXT))
        _check_text_length(total + len(text) * max(len(items) - 1, 0))
        return method(items)

    return join


def _guard_translate(text: str | bytes, method: Callable[..., Any]) -> Callable[..., Any]:
    def translate(table: Any, *args: Any) -> Any:
        longest = 1
        if isinstance(table, Mapping):
            longest = max(
                (len(value) for value in table.values() if isinstance(value, _TEXT)),
                default=1,
            )
        _check_text_length(len(text) * longest)
        return method(table, *args)

    return translate


_TEXT_METHOD_GUARDS: dict[str, Callable[[Any, Callable[..., Any]], Callable[..., Any]]] = {
    "ljust": _guard_padding,
    "rjust": _guard_padding,
    "center": _guard_padding,
    "zfill": _guard_padding,
    "expandtabs": _guard_expandtabs,
    "replace": _guard_replace,
    "join": _guard_join,
    "translate": _guard_translate,
}


def _list_extend_guard(target: list[Any]) -> Callable[[Iterable[Any]], None]:
    def extend(iterable: Iterable[Any]) -> None:
        items = _materialize(iterable)
        _check_sequence_length(len(target) + len(items))
        target.extend(items)

    return extend


def _to_bytes_guard(method: Callable[..., Any]) -> Callable[..., Any]:
    def to_bytes(length: Any = 1, *args: Any, **kwargs: Any) -> Any:
        if isinstance(length, int):
            _check_text_length(length)
        return method(length, *args, **kwargs)

    return to_bytes


def _guarded_getattr(obj: Any, name: str) -> Any:
    if type(name) is not str:
        raise TypeError("Attributnamen müssen Texte sein")
    if name.startswith("_"):
        raise ScriptSecurityError(
            f"der Zugriff auf das Attribut '{name}' ist nicht erlaubt "
            "(Attribute mit '_' am Anfang sind gesperrt)",
        )
    if name in INSPECT_ATTRIBUTES:
        raise ScriptSecurityError(f"der Zugriff auf '{name}' ist nicht erlaubt")
    is_text = isinstance(obj, _TEXT)
    is_text_type = isinstance(obj, type) and issubclass(obj, _TEXT)
    if name in ("format", "format_map") and (is_text or is_text_type):
        raise ScriptSecurityError(
            f"str.{name}() ist nicht erlaubt, bitte f-Strings verwenden",
        )
    value = getattr(obj, name)
    if name in _TEXT_METHOD_GUARDS:
        if is_text:
            return _TEXT_METHOD_GUARDS[name](obj, value)
        if is_text_type:
            raise ScriptSecurityError(
                f"{obj.__name__}.{name}(...) ist nicht erlaubt, bitte text.{name}(...) verwenden",
            )
    if name == "to_bytes" and isinstance(obj, int):
        return _to_bytes_guard(value)
    if name == "extend":
        if isinstance(obj, list):
            return _list_extend_guard(obj)
        if isinstance(obj, type) and issubclass(obj, list):
            raise ScriptSecurityError("list.extend(...) ist nicht erlaubt, bitte liste.extend(...)")
    return value


def _guarded_getitem(obj: Any, key: Any) -> Any:
    return obj[key]


def _apply(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return function(*args, **kwargs)


# -- geschützte eingebaute Funktionen


def _safe_range(*args: int) -> range:
    result = range(*args)
    if len(result) > MAX_RANGE_LENGTH:
        raise _limit(
            f"range() mit {len(result)} Elementen ist zu groß (höchstens {MAX_RANGE_LENGTH})",
        )
    return result


def _safe_pow(base: Any, exponent: Any, mod: Any = None) -> Any:
    if mod is None:
        _check_power(base, exponent)
        return pow(base, exponent)
    for value in (base, exponent, mod):
        if isinstance(value, int):
            _check_int_bits(value.bit_length())
    return pow(base, exponent, mod)


def _safe_sum(iterable: Iterable[Any], /, start: Any = 0) -> Any:
    if not isinstance(start, int | float | complex | decimal.Decimal):
        raise ScriptSecurityError(
            "sum() ist nur für Zahlen erlaubt; Listen bitte mit einer Comprehension verbinden",
        )
    return sum(iterable, start)


def _safe_round(number: Any, *args: Any) -> Any:
    _check_decimal(number)
    return round(number, *args)


class _DelegatingTypeMeta(type):
    """Lässt ``isinstance``/``issubclass`` gegen den geschützten Typ wie gegen den echten
    Typ funktionieren (``isinstance(5, int)`` bleibt wahr)."""

    _wrapped: type

    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, cls._wrapped)

    def __subclasscheck__(cls, subclass: type) -> bool:
        return issubclass(subclass, cls._wrapped)


class _GuardedInt(int, metaclass=_DelegatingTypeMeta):
    _wrapped = int

    def __new__(cls, *args: Any, **kwargs: Any) -> int:  # type: ignore[misc]
        if args:
            _check_decimal(args[0])
        return int(*args, **kwargs)


class _GuardedDecimal(decimal.Decimal, metaclass=_DelegatingTypeMeta):
    _wrapped = decimal.Decimal

    def __new__(cls, value: Any = "0", context: Any = None) -> decimal.Decimal:  # type: ignore[misc]
        result = decimal.Decimal(value, context)
        _check_decimal(result)
        return result


_GuardedInt.__name__ = _GuardedInt.__qualname__ = "int"
_GuardedDecimal.__name__ = _GuardedDecimal.__qualname__ = "Decimal"


def _build_builtins() -> dict[str, Any]:
    builtins = dict(safe_builtins)
    # Raus: Klassenbau, Attributschreiber, und Ausnahmen, die an SpiffWorkflows
    # ``except Exception`` vorbei den Worker beenden könnten.
    for name in (
        "__build_class__",
        "_getattr_",
        "setattr",
        "delattr",
        "BaseException",
        "GeneratorExit",
        "KeyboardInterrupt",
        "SystemExit",
    ):
        builtins.pop(name, None)
    builtins.update({
        "abs": abs,
        "all": all,
        "any": any,
        "bool": bool,
        "dict": dict,
        "divmod": divmod,
        "enumerate": enumerate,
        "filter": filter,
        "float": float,
        "frozenset": frozenset,
        "int": _GuardedInt,
        "isinstance": isinstance,
        "len": len,
        "list": list,
        "map": map,
        "max": max,
        "min": min,
        "next": next,
        "pow": _safe_pow,
        "range": _safe_range,
        "reversed": reversed,
        "round": _safe_round,
        "set": set,
        "sorted": sorted,
        "str": str,
        "sum": _safe_sum,
        "tuple": tuple,
        "zip": zip,
        "Decimal": _GuardedDecimal,
        "date": _datetime.date,
        "datetime": _datetime.datetime,
        "time": _datetime.time,
        "timedelta": _datetime.timedelta,
        "timezone": _datetime.timezone,
    })
    return builtins


# Ein gemeinsames dict (exec verlangt ein echtes dict); Skripte erreichen es nicht.
_RESTRICTED_BUILTINS: dict[str, Any] = _build_builtins()

# Eingebaute Funktionen, deren Fehlen (NameError) als Sicherheitsverstoß gemeldet wird.
_FORBIDDEN_BUILTINS = frozenset({
    "breakpoint",
    "bytearray",
    "classmethod",
    "compile",
    "delattr",
    "dir",
    "eval",
    "exec",
    "exit",
    "getattr",
    "globals",
    "hasattr",
    "help",
    "locals",
    "memoryview",
    "open",
    "quit",
    "setattr",
    "staticmethod",
    "super",
    "vars",
})

_STATIC_GUARDS: Mapping[str, Any] = types.MappingProxyType({
    "_getattr_": _guarded_getattr,
    "_getitem_": _guarded_getitem,
    "_write_": full_write_guard,
    "_inplacevar_": _inplace,
    "_inplaceitem_": _inplace_item,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_apply_": _apply,
    "_print_": PrintCollector,
    "_binop_add_": _binop_add,
    "_binop_mul_": _binop_mul,
    "_binop_pow_": _binop_pow,
    "_binop_lshift_": _binop_lshift,
    "_binop_mod_": _binop_mod,
    "_format_value_": _format_value,
})


# --------------------------------------------------------------------------- Ausführung


def script_line(traceback: types.TracebackType | None) -> int | None:
    """Letzte Zeile des Skripts im Traceback (``None``, wenn keine dabei ist)."""
    line = None
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == SCRIPT_FILENAME:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


class _Run:
    """Zustand einer einzelnen Ausführung: Frist und Wächter, die sie prüfen."""

    __slots__ = ("deadline", "expired", "limit")

    def __init__(self, limit_seconds: float) -> None:
        self.limit = limit_seconds
        self.deadline = time.monotonic() + limit_seconds
        self.expired = False

    def tick(self) -> None:
        if self.expired or time.monotonic() > self.deadline:
            self.expired = True
            raise ScriptTimeoutError(self.limit)

    def getiter(self, obj: Any) -> Any:
        self.tick()
        return iter(obj)

    def namespace(self) -> dict[str, Any]:
        names = dict(_STATIC_GUARDS)
        names["__builtins__"] = _RESTRICTED_BUILTINS
        names["_tick_"] = self.tick
        names["_getiter_"] = self.getiter
        return names

    def run(self, runner: Callable[[types.CodeType, dict[str, Any]], Any],
            code: types.CodeType, namespace: dict[str, Any]) -> Any:
        try:
            result = runner(code, namespace)
        except ScriptTimeoutError as exc:
            if exc.line is None:
                exc.line = script_line(exc.__traceback__)
            raise
        except NameError as exc:
            if self.expired:
                raise ScriptTimeoutError(self.limit, script_line(exc.__traceback__)) from exc
            if exc.name in _FORBIDDEN_BUILTINS:
                raise ScriptSecurityError(
                    f"die Funktion '{exc.name}' ist in Skripten nicht erlaubt",
                    line=script_line(exc.__traceback__),
                ) from exc
            raise
        except ScriptSecurityError as exc:
            if exc.line is None:
                exc.set_line(script_line(exc.__traceback__))
            raise
        except Exception as exc:
            if self.expired:  # Skript hat den Timeout abgefangen und ist dann gescheitert
                raise ScriptTimeoutError(self.limit, script_line(exc.__traceback__)) from exc
            raise
        if self.expired:  # Skript hat den Timeout abgefangen und einfach weitergemacht
            raise ScriptTimeoutError(self.limit)
        return result


def _run_eval(code: types.CodeType, namespace: dict[str, Any]) -> Any:
    return eval(code, namespace)  # noqa: S307 - eingeschränkt übersetzter Code


def _run_exec(code: types.CodeType, namespace: dict[str, Any]) -> None:
    exec(code, namespace)  # noqa: S102 - eingeschränkt übersetzter Code


class ScriptSandbox(Protocol):
    """Führt Skripte/Ausdrücke außerhalb des Prozesses aus (siehe :mod:`app.engine.sandbox`)."""

    def evaluate(self, source: str, context: Mapping[str, Any],
                 external_context: Mapping[str, Any] | None, limit: float) -> Any: ...

    def execute(self, source: str, context: dict[str, Any],
                external_context: Mapping[str, Any] | None, limit: float) -> None: ...


class RestrictedEnvironment(TaskDataEnvironment):
    """``TaskDataEnvironment`` mit RestrictedPython, Zeitlimit und Größenwächtern.

    Verhalten wie ``TaskDataEnvironment``: Skripte laufen direkt auf ``task.data``; im
    Skript zugewiesene Variablen landen in den Task-Daten, ``functions`` sind aufrufbar,
    werden aber nicht in die Task-Daten geschrieben (ebenso wenig andere aufrufbare Werte).
    """

    def __init__(
        self,
        functions: Mapping[str, Callable[..., Any]] | None = None,
        time_limit_seconds: float = 2.0,
        sandbox: ScriptSandbox | None = None,
    ) -> None:
        functions = dict(functions or {})
        for name, function in functions.items():
            if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
                raise ValueError(f"Ungültiger Name für eine Skriptfunktion: {name!r}")
            if not callable(function):
                raise ValueError(f"Skriptfunktion {name!r} ist nicht aufrufbar")
        if not time_limit_seconds > 0:
            raise ValueError("time_limit_seconds muss größer als 0 sein")
        super().__init__(functions)
        self.time_limit_seconds = float(time_limit_seconds)
        self.sandbox = sandbox
        self._function_names = frozenset(functions)

    def runs_in_process(self, expression: str) -> bool:
        """Wahr, wenn ``expression`` ohne Sandbox-Prozess ausgewertet wird."""
        return self.sandbox is None or is_bounded_expression(expression, self._function_names)

    def evaluate(
        self,
        expression: str,
        context: dict[str, Any],
        external_context: Mapping[str, Any] | None = None,
    ) -> Any:
        code = compile_expression(expression)
        if not self.runs_in_process(expression):
            assert self.sandbox is not None
            return self.sandbox.evaluate(
                expression, context, external_context, self.time_limit_seconds,
            )
        namespace = copy.copy(self.globals)
        self._prepare_context(context)
        namespace.update(external_context or {})
        namespace.update(context)
        run = _Run(self.time_limit_seconds)
        namespace.update(run.namespace())
        return run.run(_run_eval, code, namespace)

    def execute(
        self,
        script: str,
        context: dict[str, Any],
        external_context: Mapping[str, Any] | None = None,
    ) -> bool:
        code = compile_script(script)
        external_context = external_context or {}
        self.check_for_overwrite(context, external_context)
        if self.sandbox is not None:
            self.sandbox.execute(script, context, external_context, self.time_limit_seconds)
            return True
        extra = copy.copy(self.globals)
        self._prepare_context(context)
        extra.update(external_context)
        context.update(extra)
        # Skripte können keine Namen mit "_" am Anfang anlegen; solche Schlüssel stammen also
        # aus den Task-Daten (werden gesichert und zurückgelegt) oder aus der Sandbox
        # (Wächter, "_print", Hilfsvariablen "_tmpN" des Transformers; werden entfernt).
        shadowed = {name: value for name, value in context.items() if name.startswith("_")}
        run = _Run(self.time_limit_seconds)
        context.update(run.namespace())
        try:
            run.run(_run_exec, code, context)
        finally:
            for name in [name for name in context if name.startswith("_")]:
                del context[name]
            self._remove_globals_and_functions_from_context(context, external_context)
            context.update(shadowed)
        return True


# --------------------------------------------------------------------------- Engine


def _describe(error: BaseException) -> str:
    if isinstance(error, ScriptSecurityError | ScriptTimeoutError):
        return str(error)
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class RestrictedScriptEngine(PythonScriptEngine):
    """``PythonScriptEngine`` mit ``RestrictedEnvironment`` und lesbaren Fehlermeldungen.

    Unterschiede zu SpiffWorkflow 3.2:
    * ``evaluate`` nimmt den Grund in die Meldung auf (die Basisklasse meldet nur
      "Error evaluating expression '...'").
    * ``evaluate`` und ``execute`` hängen die ursprüngliche Ausnahme als ``__cause__`` an.
    * ``create_task_exec_exception`` verträgt Ausnahmen ohne Text-Argument und nutzt die
      Zeilennummer aus ``ScriptSecurityError``/``ScriptTimeoutError``.
    * ``call_service`` verpackt Fehler korrekt (die Basisklasse verweist im Fehlerfall auf
      eine nicht definierte Variable ``script`` und wirft ``NameError``).
    """

    def __init__(self, environment: TaskDataEnvironment | None = None) -> None:
        super().__init__(environment or RestrictedEnvironment())

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except SpiffWorkflowException as se:
            se.add_note(f"Fehler im Ausdruck '{expression}'")
            raise se
        except Exception as exc:
            raise WorkflowTaskException(
                f"Fehler im Ausdruck '{expression}': {_describe(exc)}",
                task=task,
                exception=exc,
                line_number=getattr(exc, "line", None),
            ) from exc

    def execute(self, task: Any, script: str, external_context: Any = None) -> Any:
        try:
            return self.environment.execute(script, task.data, external_context or {})
        except Exception as err:
            wrapped = self.create_task_exec_exception(task, script, err)
            if wrapped is err:
                raise
            raise wrapped from err

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        try:
            return self.environment.call_service(task.data, **kwargs)
        except SpiffWorkflowException:
            raise
        except Exception as exc:
            raise WorkflowTaskException(
                f"Fehler beim Aufruf des Dienstes: {_describe(exc)}", task=task, exception=exc,
            ) from exc

    def create_task_exec_exception(self, task: Any, script: str, err: Exception) -> Exception:
        line_number, error_line = self.get_error_line_number_and_content(script, err)
        if isinstance(err, SpiffWorkflowException):
            err.line_number = line_number
            err.error_line = error_line
            err.add_note(f"Python script error on line {line_number}: '{error_line}'")
            return err
        return WorkflowTaskException(
            _describe(err),
            task=task,
            exception=err,
            line_number=line_number,
            error_line=error_line,
        )

    def get_error_line_number_and_content(self, script: str, err: Exception) -> tuple[int, str]:
        line_number: int | None
        if isinstance(err, SyntaxError):
            line_number = err.lineno
        else:
            line_number = getattr(err, "line", None) or script_line(err.__traceback__)
        lines = script.splitlines() if isinstance(script, str) else []
        if line_number and 0 < line_number <= len(lines):
            return line_number, lines[line_number - 1]
        return line_number or 0, ""


def make_script_engine(
    functions: Mapping[str, Callable[..., Any]] | None = None,
    time_limit_seconds: float = 2.0,
    sandbox: ScriptSandbox | None = None,
) -> PythonScriptEngine:
    """Script-Engine für ``BpmnWorkflow(spec, script_engine=...)``; mit ``sandbox`` (ein
    :class:`app.engine.sandbox.SandboxPool`) laufen Skripte und nicht beschränkte Ausdrücke
    in Kindprozessen mit harten Grenzen."""
    return RestrictedScriptEngine(RestrictedEnvironment(functions, time_limit_seconds, sandbox))
