"""The gunicorn worker of `make run` and the containers: gunicorn's own answers to an over-long
request line or header block (written before the app sees the request) come in the platform's
problem JSON with a German message instead of gunicorn's HTML page."""

from __future__ import annotations

import json
import socket

from gunicorn import util
from gunicorn.http.errors import LimitRequestHeaders, LimitRequestLine
from gunicorn.workers.gthread import ThreadWorker

# exception → (status, reason phrase, code, message)
_PROBLEMS: list[tuple[type[Exception], int, str, str, str]] = [
    (LimitRequestLine, 414, "URI Too Long", "uri_too_long",
     "Die Adresse der Anfrage ist zu lang. Bitte kürzen Sie sie (z. B. weniger Filterwerte)."),
    (LimitRequestHeaders, 431, "Request Header Fields Too Large", "headers_too_large",
     "Die Kopfzeilen der Anfrage sind zu groß (z. B. zu viele oder zu lange Cookies)."),
]


def problem_response(status: int, reason: str, code: str, message: str) -> bytes:
    """A complete HTTP/1.1 response carrying {code, message, errors}; the connection closes."""
    body = json.dumps({"code": code, "message": message, "errors": []}, ensure_ascii=False).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body


def _linger(client: socket.socket) -> None:
    """Read (briefly, boundedly) what the client is still sending, so that closing the socket
    does not reset the connection before the client has read the answer."""
    try:
        client.shutdown(socket.SHUT_WR)
        client.settimeout(0.5)
        for _ in range(16):
            if not client.recv(65536):
                break
    except OSError:  # timeout or reset: the answer was sent, nothing more to do
        pass


class ProblemWorker(ThreadWorker):
    """gunicorn's threaded worker (`--threads`) with JSON answers for request-size limits."""

    def handle_error(self, req, client, addr, exc) -> None:  # noqa: ANN001
        for kind, status, reason, code, message in _PROBLEMS:
            if isinstance(exc, kind):
                self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
                try:
                    util.write_nonblock(client, problem_response(status, reason, code, message))
                    _linger(client)
                except OSError:
                    self.log.debug("Failed to send error message.")
                return
        super().handle_error(req, client, addr, exc)
