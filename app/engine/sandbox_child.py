"""Kindprozess der Skript-Sandbox (siehe :mod:`app.engine.sandbox`).

Wird von ``SandboxPool`` als eigener Python-Prozess gestartet (``python -I -c …``, leere
Umgebung: keine Geheimnisse, keine Datenbank, kein Broker). Ablauf:

1. Konfiguration lesen (Importpfade der Skriptfunktionen, Speichergrenze), Funktionen importieren.
2. ``RLIMIT_AS`` auf den eigenen Grundbedarf plus die Speichergrenze setzen, "ready" melden.
3. Schleife: Auftrag lesen (``eval``/``exec`` mit Quelltext, Daten, Zeitlimit), ``RLIMIT_CPU``
   auf die verbrauchte CPU-Zeit plus Zeitlimit plus Karenz setzen, den Auftrag mit dem
   unveränderten ``RestrictedEnvironment`` (alle Wächter, deutsche Meldungen) ausführen,
   Ergebnisgröße prüfen, Antwort schreiben. Dateiende auf stdin beendet den Prozess.

Nachrichten: 8-Byte-Länge (big endian) + Pickle. Der Elternprozess liest Antworten mit einem
eingeschränkten Unpickler (nur Daten-Typen), falls Code hier je aus der Sandbox ausbricht.
"""

from __future__ import annotations

import importlib
import math
import os
import pickle
import resource
import struct
import sys
from typing import Any

from app.engine.scripting import (
    MAX_SEQUENCE_LENGTH,
    MAX_STRING_LENGTH,
    RestrictedEnvironment,
    ScriptLimitError,
    ScriptSecurityError,
    ScriptTimeoutError,
    script_line,
)

HEADER = struct.Struct("!Q")
PICKLE_PROTOCOL = pickle.HIGHEST_PROTOCOL
# Antwort, wenn selbst das Verpacken eines Fehlers am Speicher scheitert (vorab erzeugt).
_MEMORY_REPLY = pickle.dumps(("memory",), protocol=PICKLE_PROTOCOL)


# --------------------------------------------------------------------------- Rahmen


def read_message(fd: int) -> Any:
    """Liest eine Nachricht blockierend; ``None`` bei Dateiende."""
    header = _read_exact(fd, HEADER.size)
    if header is None:
        return None
    (length,) = HEADER.unpack(header)
    body = _read_exact(fd, length)
    if body is None:
        return None
    return pickle.loads(body)  # noqa: S301 - stammt vom Elternprozess


def _read_exact(fd: int, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = os.read(fd, min(size - len(chunks), 1 << 20))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


def write_frame(fd: int, body: bytes) -> None:
    view = memoryview(HEADER.pack(len(body)) + body)
    while view:
        written = os.write(fd, view)
        view = view[written:]


# --------------------------------------------------------------------------- Ergebnisgröße


def check_result_size(value: Any) -> None:
    """Bricht ab, wenn ein Ergebnis ausgeschrieben mehr als MAX_SEQUENCE_LENGTH Elemente oder
    MAX_STRING_LENGTH Zeichen hätte (geteilte Referenzen zählen mehrfach, wie später im JSON)."""
    items = chars = 0
    stack = [value]
    while stack:
        current = stack.pop()
        items += 1
        if isinstance(current, str | bytes | bytearray):
            chars += len(current)
        elif isinstance(current, dict):
            stack.extend(current.keys())
            stack.extend(current.values())
        elif isinstance(current, list | tuple | set | frozenset):
            stack.extend(current)
        if items > MAX_SEQUENCE_LENGTH or chars > MAX_STRING_LENGTH:
            raise ScriptLimitError(
                f"das Ergebnis ist zu groß (höchstens {MAX_SEQUENCE_LENGTH} Elemente und "
                f"{MAX_STRING_LENGTH} Zeichen)",
            )


# --------------------------------------------------------------------------- Ausführung


def _error_reply(exc: BaseException) -> tuple:
    if isinstance(exc, MemoryError):
        return ("memory",)
    if isinstance(exc, ScriptTimeoutError):
        return ("timeout", exc.limit_seconds, exc.line or script_line(exc.__traceback__))
    if isinstance(exc, ScriptSecurityError):
        return ("security", type(exc).__name__, exc.reason, exc.line)
    if isinstance(exc, SyntaxError):
        return ("syntax", exc.msg, exc.lineno, exc.offset, exc.text)
    args = tuple(a for a in exc.args if isinstance(a, str | int | float | bool | None))
    if len(args) != len(exc.args):
        args = (str(exc),)
    return ("other", type(exc).__name__, args, script_line(exc.__traceback__))


def _changes(before: dict[str, bytes], context: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    changed = {}
    for key, value in context.items():
        if before.get(key) != pickle.dumps(value, protocol=PICKLE_PROTOCOL):
            changed[key] = value
    deleted = [key for key in before if key not in context]
    return changed, deleted


def _snapshot(context: dict[str, Any]) -> dict[str, bytes]:
    return {key: pickle.dumps(value, protocol=PICKLE_PROTOCOL) for key, value in context.items()}


def handle(environment: RestrictedEnvironment, request: tuple) -> tuple:
    """Führt einen Auftrag ``(mode, source, context, external_context, limit)`` aus."""
    mode, source, context, external_context, limit = request
    environment.time_limit_seconds = limit
    try:
        if mode == "eval":
            value = environment.evaluate(source, context, external_context)
            check_result_size(value)
            return ("ok", value)
        before = _snapshot(context)
        environment.execute(source, context, external_context)
        changed, deleted = _changes(before, context)
        check_result_size(changed)
        return ("ok", (changed, deleted))
    except BaseException as exc:  # noqa: BLE001 - alles geht als Antwort zurück
        return _error_reply(exc)


def _encode(reply: tuple) -> bytes:
    try:
        return pickle.dumps(reply, protocol=PICKLE_PROTOCOL)
    except MemoryError:
        return _MEMORY_REPLY
    except Exception as exc:  # noqa: BLE001 - nicht übertragbarer Wert im Ergebnis
        return pickle.dumps(("security", "ScriptSecurityError",
                             f"das Ergebnis enthält einen nicht übertragbaren Wert ({exc})", None),
                            protocol=PICKLE_PROTOCOL)


# --------------------------------------------------------------------------- Grenzen


def _address_space() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[0]) * resource.getpagesize()


def limit_memory(megabytes: int) -> None:
    limit = _address_space() + megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def limit_cpu(seconds: float) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(usage.ru_utime + usage.ru_stime + seconds)
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _resolve(path: str) -> Any:
    module, _, qualname = path.partition(":")
    value: Any = importlib.import_module(module)
    for part in qualname.split("."):
        value = getattr(value, part)
    return value


def main() -> None:
    out_fd = os.dup(1)
    os.dup2(2, 1)  # was sonst auf stdout landet, stört das Protokoll nicht
    config = read_message(0)
    if config is None:
        return
    functions = {name: _resolve(path) for name, path in config["functions"].items()}
    environment = RestrictedEnvironment(functions)
    limit_memory(config["memory_mb"])
    write_frame(out_fd, pickle.dumps(("ready", os.getpid()), protocol=PICKLE_PROTOCOL))
    grace = config["grace_seconds"]
    while True:
        request = read_message(0)
        if request is None:
            return
        limit_cpu(request[4] + grace)
        write_frame(out_fd, _encode(handle(environment, request)))


if __name__ == "__main__":  # pragma: no cover - Start über SandboxPool
    sys.exit(main())
