"""A local SMTP server (aiosmtpd) for tests that assert sent e-mails.

    def test_x(smtp_server, platform):  # with `from tests.integration.mail_support import smtp_server`
        ...
        [msg] = smtp_server.messages          # email.message.EmailMessage objects
        assert msg["To"] == "a@b.de"

The fixture points the platform's settings at the server (and exports SMTP_HOST/SMTP_PORT for
worker processes started afterwards).
"""

from __future__ import annotations

import email
import email.policy
import socket
import time

import pytest
from aiosmtpd.controller import Controller


class _Collector:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        msg = email.message_from_bytes(envelope.original_content or envelope.content,
                                       policy=email.policy.default)
        self.messages.append(msg)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self) -> None:
        self.handler = _Collector()
        self.port = _free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def messages(self) -> list[email.message.EmailMessage]:
        return self.handler.messages

    def wait_for(self, count: int, timeout: float = 30.0) -> list[email.message.EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server(platform, monkeypatch):  # noqa: ANN001, ANN201
    server = SmtpServer()
    server.controller.start()
    monkeypatch.setattr(platform.settings, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setattr(platform.settings, "SMTP_PORT", server.port)
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(server.port))
    yield server
    server.controller.stop()
