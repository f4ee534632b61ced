"""E-mail via SMTP from the settings; without SMTP_HOST, mails land as .eml files in var/mail/.

    send_mail(platform, ["a@b.de"], "Betreff", "Text", attachments=[("x.pdf", data, "application/pdf")])

The drop directory is next to DOCUMENTS_DIR (var/documents → var/mail), so the quick start needs
no mail server and tests may use either a local SMTP server (aiosmtpd) or the directory.
"""

from __future__ import annotations

import re
import smtplib
import ssl
import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from app.domain.money import format_euro

from .platform import Platform

ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
MAX_RECIPIENTS = 50


class MailError(Exception):
    """The message could not be built or handed to the SMTP server."""


def mail_dir(platform: Platform) -> Path:
    return Path(platform.settings.DOCUMENTS_DIR).resolve().parent / "mail"


def build_message(platform: Platform, to: list[str], subject: str, body: str,
                  attachments: list[tuple[str, bytes, str]] | None = None) -> EmailMessage:
    recipients = [a.strip() for a in to if a and a.strip()]
    bad = [a for a in recipients if not ADDRESS.match(a)]
    if not recipients or bad or len(recipients) > MAX_RECIPIENTS:
        raise MailError(f"Ungültige Empfängeradresse(n): {', '.join(bad) or '(keine)'}")
    if "\n" in subject or "\r" in subject:
        raise MailError("Der Betreff darf keine Zeilenumbrüche enthalten.")
    msg = EmailMessage()
    msg["From"] = platform.settings.MAIL_FROM
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=platform.settings.MAIL_FROM.split("@")[-1])
    msg.set_content(body)
    for filename, content, mime in attachments or []:
        maintype, _, subtype = (mime or "application/octet-stream").partition("/")
        msg.add_attachment(content, maintype=maintype, subtype=subtype or "octet-stream",
                           filename=filename)
    return msg


def send_mail(platform: Platform, to: list[str], subject: str, body: str,
              attachments: list[tuple[str, bytes, str]] | None = None) -> dict:
    """Send one message; returns {message_id, recipients, transport}."""
    msg = build_message(platform, to, subject, body, attachments)
    s = platform.settings
    recipients = [a.strip() for a in to if a and a.strip()]
    if not s.SMTP_HOST:
        directory = mail_dir(platform)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{uuid.uuid4().hex}.eml"
        path.write_bytes(bytes(msg))
        return {"message_id": msg["Message-ID"], "recipients": recipients,
                "transport": "file", "file": path.name}
    try:
        with smtplib.SMTP(s.SMTP_HOST, int(s.SMTP_PORT), timeout=30) as smtp:
            if s.SMTP_STARTTLS:
                smtp.starttls(context=ssl.create_default_context())
            if s.SMTP_USER:
                smtp.login(s.SMTP_USER, s.SMTP_PASSWORD)
            smtp.send_message(msg, to_addrs=recipients)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"Die E-Mail konnte nicht versendet werden: {exc}") from exc
    return {"message_id": msg["Message-ID"], "recipients": recipients, "transport": "smtp"}


MAIL_TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates" / "mail"
MAIL_TEMPLATE_NAME = re.compile(r"^[a-z0-9_]+\.txt$")


def render_text(template: str, context: dict) -> str:
    """Render a plain-text mail body from app/templates/mail/<template>."""
    if not MAIL_TEMPLATE_NAME.match(template or "") or not (MAIL_TEMPLATE_DIR / template).is_file():
        raise MailError(f"Die Mailvorlage „{template}“ gibt es nicht.")
    env = Environment(loader=FileSystemLoader(str(MAIL_TEMPLATE_DIR)), autoescape=False,  # noqa: S701 - plain text
                      undefined=StrictUndefined, keep_trailing_newline=True)
    env.filters["euro"] = lambda cents: format_euro(int(cents))
    return env.get_template(template).render(**context)
