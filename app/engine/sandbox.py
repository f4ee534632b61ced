"""Harte Grenzen für Skripte und Ausdrücke: Ausführung in Kindprozessen mit OS-Limits.

RestrictedPython verhindert Ausbrüche, kann aber Arbeit innerhalb eines einzelnen C-Aufrufs
(``sum(map(sum, [range(10**6)] * 1500))``, ``str()`` einer riesigen geteilten Liste) und den
Speicher eines Skripts nicht begrenzen. ``SandboxPool`` führt solche Skripte deshalb in einem
Pool dauerhafter Kindprozesse aus (:mod:`app.engine.sandbox_child`):

* Jeder Kindprozess ist ein frisch gestarteter Interpreter (``python -I``, leere Umgebung,
  keine geerbten Dateideskriptoren): keine Datenbank, kein Broker, keine Geheimnisse.
* Im Kind gelten ``RLIMIT_AS`` (Grundbedarf + ``memory_mb``) und je Auftrag ``RLIMIT_CPU``
  (Zeitlimit + Karenz); dazu wartet der Elternprozess höchstens Zeitlimit + Karenz
  (Wanduhr) und beendet ein Kind, das überzieht, mit SIGKILL. Ein beendetes oder an
  ``MemoryError`` gescheitertes Kind wird verworfen und bei Bedarf neu gestartet.
* Der Aufrufer erhält immer binnen dieser Frist ein Ergebnis oder ``ScriptTimeoutError`` /
  ``ScriptLimitError`` (deutsche Meldung, die die Grenze nennt).
* Antworten werden mit einem eingeschränkten Unpickler gelesen (nur Datentypen), Ergebnisse im
  Kind vorher auf ausgeschriebene Größe geprüft.

Ein Pool gehört zu einem Prozess: nach ``fork`` (Celery prefork) vergisst der neue Prozess die
Kinder des alten und startet bei Bedarf eigene. ``shared_pool`` liefert je Konfiguration einen
Pool pro Prozess; die Kinder starten erst beim ersten Auftrag.
"""

from __future__ import annotations

import atexit
import builtins
import functools
import importlib
import io
import logging
import os
import pickle
import select
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.engine.sandbox_child import HEADER, PICKLE_PROTOCOL, write_frame
from app.engine.scripting import (
    SCRIPT_FILENAME,
    ScriptLimitError,
    ScriptSecurityError,
    ScriptTimeoutError,
)

__all__ = ["SandboxConfig", "SandboxPool", "ScriptRuntimeError", "function_paths", "shared_pool"]

log = logging.getLogger(__name__)

_ROOT = str(Path(__file__).resolve().parents[2])
_BOOTSTRAP = ("import sys; sys.path.insert(0, sys.argv[1]); "
              "from app.engine.sandbox_child import main; main()")
_PASSED_ENVIRONMENT = ("TZ", "LANG", "LC_ALL")
MAX_REPLY_BYTES = 256 * 1024 * 1024
# how long a request may wait for a free sandbox process (at least 3 × (limit + grace))
CHECKOUT_WAIT_SECONDS = 10.0


@dataclass(frozen=True)
class SandboxConfig:
    """Was ein Pool braucht; ``functions`` sind ``(name, "modul:qualname")``-Paare."""

    functions: tuple[tuple[str, str], ...] = ()
    memory_mb: int = 512
    max_processes: int = 4
    grace_seconds: float = 1.0
    start_timeout_seconds: float = 60.0


def function_paths(functions: Mapping[str, Callable[..., Any]]) -> tuple[tuple[str, str], ...]:
    """Importpfade der Skriptfunktionen, damit ein Kindprozess sie selbst importieren kann."""
    paths = []
    for name, function in sorted(functions.items()):
        path = f"{function.__module__}:{function.__qualname__}"
        if _import(path) is not function:
            raise ValueError(f"Skriptfunktion {name!r} ist nicht über {path} importierbar")
        paths.append((name, path))
    return tuple(paths)


def _import(path: str) -> Any:
    module, _, qualname = path.partition(":")
    try:
        value: Any = importlib.import_module(module)
        for part in qualname.split("."):
            value = getattr(value, part)
    except (ImportError, AttributeError):
        return None
    return value


# --------------------------------------------------------------------------- Antworten


class ScriptRuntimeError(Exception):
    """Fehler eines Skripts im Kindprozess, dessen Typ hier kein eingebauter ist."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.line: int | None = None


@functools.lru_cache(maxsize=128)
def _runtime_error_type(name: str) -> type[ScriptRuntimeError]:
    return type(name, (ScriptRuntimeError,), {})


_SAFE_GLOBALS = frozenset({
    ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "complex"),
    ("builtins", "range"), ("builtins", "slice"), ("builtins", "bytearray"),
    ("datetime", "date"), ("datetime", "datetime"), ("datetime", "time"),
    ("datetime", "timedelta"), ("datetime", "timezone"), ("decimal", "Decimal"),
    ("collections", "OrderedDict"),
})


class _DataUnpickler(pickle.Unpickler):
    """Lässt nur Datentypen zu: eine Antwort kann keinen Code im Elternprozess ausführen."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _SAFE_GLOBALS:
            raise pickle.UnpicklingError(f"{module}.{name}")
        return super().find_class(module, name)


def _memory_error(memory_mb: int) -> ScriptLimitError:
    return ScriptLimitError(
        f"Speichergrenze überschritten: das Skript brauchte mehr als {memory_mb} MiB "
        "und wurde abgebrochen",
    )


def _error_from_reply(reply: tuple, memory_mb: int) -> Exception:
    kind = reply[0]
    if kind == "memory":
        return _memory_error(memory_mb)
    if kind == "timeout":
        return ScriptTimeoutError(reply[1], reply[2])
    if kind == "security":
        cls = ScriptLimitError if reply[1] == "ScriptLimitError" else ScriptSecurityError
        return cls(reply[2], reply[3])
    if kind == "syntax":
        return SyntaxError(reply[1], (SCRIPT_FILENAME, reply[2], reply[3], reply[4]))
    _kind, name, args, line = reply
    known = getattr(builtins, name, None) if str(name).isidentifier() else None
    if isinstance(known, type) and issubclass(known, Exception):
        error: Exception = known(*args)
    else:
        error = _runtime_error_type(str(name) if str(name).isidentifier() else "Fehler")(*args)
    error.line = line  # type: ignore[attr-defined]
    return error


# --------------------------------------------------------------------------- Kindprozess


class _ChildGone(Exception):
    """Das Kind hat nicht (rechtzeitig) geantwortet; es wurde beendet."""

    def __init__(self, timed_out: bool, returncode: int | None, before_request: bool = False) -> None:
        super().__init__(timed_out, returncode)
        self.timed_out = timed_out
        self.returncode = returncode
        self.before_request = before_request  # died while idle: the request never ran


class _Child:
    def __init__(self, config: SandboxConfig) -> None:
        environment = {k: os.environ[k] for k in _PASSED_ENVIRONMENT if k in os.environ}
        self.process = subprocess.Popen(  # noqa: S603 - fester Befehl, eigener Interpreter
            [sys.executable, "-I", "-c", _BOOTSTRAP, _ROOT],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=environment, close_fds=True,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self._in = self.process.stdin.fileno()
        self._out = self.process.stdout.fileno()
        config_message = {"functions": dict(config.functions), "memory_mb": config.memory_mb,
                          "grace_seconds": config.grace_seconds}
        try:
            write_frame(self._in, pickle.dumps(config_message, protocol=PICKLE_PROTOCOL))
            ready = self._read(time.monotonic() + config.start_timeout_seconds)
        except BaseException:
            self.kill()
            raise
        if ready[0] != "ready":
            self.kill()
            raise RuntimeError("Sandbox-Prozess meldet sich nicht bereit")

    def request(self, body: bytes, deadline: float) -> tuple:
        try:
            write_frame(self._in, body)
        except OSError as exc:
            self.kill()
            raise _ChildGone(False, self.process.returncode, before_request=True) from exc
        return self._read(deadline)

    def _read(self, deadline: float) -> tuple:
        header = self._read_exact(HEADER.size, deadline)
        (length,) = HEADER.unpack(header)
        if length > MAX_REPLY_BYTES:
            self.kill()
            raise ScriptLimitError(f"das Ergebnis ist zu groß (mehr als {MAX_REPLY_BYTES} Byte)")
        body = self._read_exact(length, deadline)
        try:
            return _DataUnpickler(io.BytesIO(body)).load()
        except (pickle.UnpicklingError, EOFError, ValueError) as exc:
            self.kill()
            raise ScriptSecurityError(
                f"die Antwort der Sandbox enthält einen unzulässigen Wert ({exc})",
            ) from exc

    def _read_exact(self, size: int, deadline: float) -> bytes:
        data = bytearray()
        poller = select.poll()
        poller.register(self._out, select.POLLIN)
        while len(data) < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not poller.poll(remaining * 1000):
                self.kill()
                raise _ChildGone(True, self.process.returncode)
            chunk = os.read(self._out, min(size - len(data), 1 << 20))
            if not chunk:
                self.kill()
                raise _ChildGone(False, self.process.returncode)
            data += chunk
        return bytes(data)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.close_pipes()

    def close(self) -> None:
        """Beendet das Kind ordentlich (Dateiende auf stdin)."""
        self.close_pipes()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()

    def close_pipes(self) -> None:
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None and not stream.closed:
                stream.close()


# --------------------------------------------------------------------------- Pool


class SandboxPool:
    """Thread-sicherer Pool von Kindprozessen; höchstens ``max_processes`` gleichzeitig."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self._reset()
        _ALL_POOLS.add(self)

    def _reset(self) -> None:
        self._condition = threading.Condition()
        self._idle: list[_Child] = []
        self._children: set[_Child] = set()
        self._starting = 0
        self._closed = False
        self._pid = os.getpid()

    def after_fork(self) -> None:
        """Im neuen Prozess nach ``fork``: die Kinder gehören dem alten Prozess."""
        for child in list(self._children):
            child.close_pipes()
        self._reset()

    @property
    def process_ids(self) -> list[int]:
        with self._condition:
            return [child.process.pid for child in self._children]

    def evaluate(self, source: str, context: Mapping[str, Any],
                 external_context: Mapping[str, Any] | None, limit: float) -> Any:
        return self._run("eval", source, context, external_context, limit)

    def execute(self, source: str, context: dict[str, Any],
                external_context: Mapping[str, Any] | None, limit: float) -> None:
        """Führt ein Skript aus und überträgt geänderte/gelöschte Schlüssel nach ``context``."""
        changed, deleted = self._run("exec", source, context, external_context, limit)
        for key in deleted:
            context.pop(key, None)
        context.update(changed)

    def _run(self, mode: str, source: str, context: Mapping[str, Any],
             external_context: Mapping[str, Any] | None, limit: float) -> Any:
        body = _encode_request((mode, source, dict(context), dict(external_context or {}), limit))
        bound = limit + self.config.grace_seconds
        wait_until = time.monotonic() + max(CHECKOUT_WAIT_SECONDS, 3 * bound)
        for attempt in range(2):
            child = self._checkout(wait_until)
            deadline = time.monotonic() + bound  # a child's start-up does not count
            healthy = False
            try:
                reply = child.request(body, deadline)
                healthy = reply[0] in ("ok", "timeout", "security", "syntax", "other")
                break
            except _ChildGone as gone:
                if not gone.before_request or attempt:
                    raise self._gone_error(gone, limit) from None
            finally:
                self._checkin(child, healthy)
        if reply[0] == "ok":
            return reply[1]
        raise _error_from_reply(reply, self.config.memory_mb)

    def _gone_error(self, gone: _ChildGone, limit: float) -> Exception:
        if gone.timed_out or gone.returncode == -signal.SIGXCPU:
            return ScriptTimeoutError(limit)
        return _memory_error(self.config.memory_mb)

    def _checkout(self, deadline: float) -> _Child:
        with self._condition:
            if self._pid != os.getpid():
                self.after_fork()
                return self._checkout(deadline)
            self._drop_dead_idle()
            while not self._idle and len(self._children) + self._starting >= self.config.max_processes:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ScriptLimitError(
                        f"alle {self.config.max_processes} Sandbox-Prozesse sind belegt; "
                        "das Skript wurde nicht gestartet",
                    )
                self._condition.wait(remaining)
            if self._idle:
                return self._idle.pop()
            self._closed = False  # used again after close(): start children again
            self._starting += 1
        try:
            child = _Child(self.config)
        finally:
            with self._condition:
                self._starting -= 1
                self._condition.notify()
        with self._condition:
            self._children.add(child)
        return child

    def _drop_dead_idle(self) -> None:
        for child in [c for c in self._idle if c.process.poll() is not None]:
            self._idle.remove(child)
            self._children.discard(child)
            child.close_pipes()

    def _checkin(self, child: _Child, healthy: bool) -> None:
        if not healthy:
            child.kill()
        elif self._closed:
            healthy = False
            child.close()
        with self._condition:
            if self._pid != os.getpid():
                return
            if healthy:
                self._idle.append(child)
            else:
                self._children.discard(child)
                self._replace_in_background()
            self._condition.notify()

    def _replace_in_background(self) -> None:
        """Start a replacement for a discarded child now, so that the next request (maybe
        inside a database transaction) does not wait for a start-up. Caller holds the lock."""
        if self._closed or len(self._children) + self._starting >= self.config.max_processes:
            return
        self._starting += 1
        threading.Thread(target=self._spawn_idle, name="sandbox-replacement", daemon=True).start()

    def _spawn_idle(self) -> None:
        child = None
        try:
            child = _Child(self.config)
        except Exception:  # noqa: BLE001 - the next request starts one itself
            log.warning("starting a replacement sandbox process failed", exc_info=True)
        with self._condition:
            self._starting -= 1
            keep = child is not None and self._pid == os.getpid() and not self._closed
            if keep:
                self._children.add(child)
                self._idle.append(child)
            self._condition.notify()
        if child is not None and not keep:
            child.close()

    def close(self) -> None:
        """Beendet alle freien Kinder (für Tests und beim Herunterfahren)."""
        with self._condition:
            self._closed = True
            idle, self._idle = self._idle, []
            for child in idle:
                self._children.discard(child)
        for child in idle:
            child.close()


def _encode_request(request: tuple) -> bytes:
    try:
        return pickle.dumps(request, protocol=PICKLE_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise ScriptSecurityError(
            f"die Prozessdaten enthalten einen nicht übertragbaren Wert ({exc})",
        ) from exc


# --------------------------------------------------------------------------- je Prozess

_ALL_POOLS: weakref.WeakSet[SandboxPool] = weakref.WeakSet()
_SHARED: dict[SandboxConfig, SandboxPool] = {}
_SHARED_LOCK = threading.Lock()


def shared_pool(config: SandboxConfig) -> SandboxPool:
    """Der Pool dieses Prozesses für ``config`` (Kinder starten erst beim ersten Auftrag)."""
    with _SHARED_LOCK:
        pool = _SHARED.get(config)
        if pool is None:
            pool = _SHARED[config] = SandboxPool(config)
        return pool


def _after_fork_in_child() -> None:
    global _SHARED_LOCK  # noqa: PLW0603 - die Sperre kann beim fork gehalten worden sein
    _SHARED_LOCK = threading.Lock()
    for pool in list(_ALL_POOLS):
        pool.after_fork()


def _close_all() -> None:
    for pool in list(_ALL_POOLS):
        pool.close()


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_close_all)
