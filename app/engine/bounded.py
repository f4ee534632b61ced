"""Welche Ausdrücke ohne Sandbox-Prozess ausgewertet werden dürfen (schneller Weg).

Ein Ausdruck ist *beschränkt*, wenn seine Arbeit und sein Speicher höchstens proportional zur
Größe der (bereits begrenzten) Prozessdaten und des Quelltexts sind, egal welche Werte die
Namen haben. Erlaubt sind nur:

* Namen, Konstanten, Attribut- und Index-/Slice-Zugriffe, Vergleiche (auch ``in``),
  ``and``/``or``/``not``, unäres ``-``/``+``/``~``, ``x if c else y``, Tupel/Listen/Mengen/
  Dicts aus solchen Teilen;
* ``+``, ``-``, ``/``, ``//`` sowie ``*`` mit einer Gleitkomma-Konstante (``betrag * 0.75``:
  nie eine Wiederholung), zusammen mit Slices höchstens ``MAX_COPIES``-mal je Ausdruck
  (jede Kopie ist höchstens so groß wie die Daten);
* ``len(x)``, solange keine Skriptfunktion ``len`` heißt.

Alles andere (jeder andere Aufruf, Comprehensions, Lambdas, ``**``, ``<<``, ``%``,
f-Strings, ``*`` mit ganzen Zahlen oder Namen) und alle Skripte laufen im Sandbox-Prozess.
Typische Gateway-Bedingungen und DMN-Zellen (``stufe == "gross"``, ``len(fehler) > 0``,
``betrag >= 10000``) bleiben damit im Prozess und kosten keinen Pipe-Umlauf.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterable

__all__ = ["MAX_COPIES", "is_bounded_expression"]

MAX_COPIES = 8
MAX_NODES = 500

_LEAVES = (
    ast.Expression, ast.Name, ast.Constant, ast.Attribute, ast.Subscript, ast.Compare,
    ast.BoolOp, ast.UnaryOp, ast.IfExp, ast.Tuple, ast.List, ast.Set, ast.Dict,
    ast.expr_context, ast.boolop, ast.cmpop, ast.unaryop,
)
_COPYING_OPERATORS = (ast.Add, ast.Sub, ast.Div, ast.FloorDiv)


def _is_float_constant(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is float


def _node_copies(node: ast.AST, functions: frozenset[str]) -> int | None:
    """Anzahl datengroßer Kopien, die ``node`` selbst erzeugt; ``None``: nicht erlaubt."""
    if isinstance(node, _LEAVES):
        return 0
    if isinstance(node, ast.Slice):
        return 1
    if isinstance(node, ast.BinOp | ast.operator):
        if isinstance(node, ast.operator):
            return 0
        if isinstance(node.op, _COPYING_OPERATORS):
            return 1
        if isinstance(node.op, ast.Mult) and (
                _is_float_constant(node.left) or _is_float_constant(node.right)):
            return 1
        return None
    if isinstance(node, ast.Call):
        plain_len = (isinstance(node.func, ast.Name) and node.func.id == "len"
                     and "len" not in functions and len(node.args) == 1 and not node.keywords
                     and not isinstance(node.args[0], ast.Starred))
        return 0 if plain_len else None
    return None


@functools.lru_cache(maxsize=4096)
def _classify(source: str, functions: frozenset[str]) -> bool:
    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, ValueError):
        return False
    copies = nodes = 0
    for node in ast.walk(tree):
        nodes += 1
        cost = _node_copies(node, functions)
        if cost is None or nodes > MAX_NODES:
            return False
        copies += cost
    return copies <= MAX_COPIES


def is_bounded_expression(source: str, functions: Iterable[str] = ()) -> bool:
    """Wahr, wenn ``source`` sicher im Prozess ausgewertet werden darf (siehe Moduldoku)."""
    return _classify(source, frozenset(functions))
