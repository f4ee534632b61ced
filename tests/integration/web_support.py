"""Helpers for tests of the web UI through Flask's test client (real session cookie + CSRF)."""

from __future__ import annotations

import re
from html import unescape

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


class Browser:
    """A cookie-keeping test client that logs in through the login form."""

    def __init__(self, app, username: str | None = None, password: str = "demo"):  # noqa: ANN001
        self.client = app.test_client()
        self.token = None
        if username:
            self.login(username, password)

    def get(self, url: str, **kw):  # noqa: ANN003, ANN201
        r = self.client.get(url, **kw)
        text = r.get_data(as_text=True)
        if 'name="csrf_token"' in text:
            self.token = csrf_token(text)
        return r

    def post(self, url: str, data: dict | list | None = None, csrf: bool = True, **kw):  # noqa: ANN003, ANN201
        if self.token is None and csrf:
            self.get("/anmelden")
        payload = list(data.items()) if isinstance(data, dict) else list(data or [])
        if csrf:
            payload.append(("csrf_token", self.token))
        from werkzeug.datastructures import MultiDict

        return self.client.post(url, data=MultiDict(payload), **kw)

    def login(self, username: str, password: str = "demo"):  # noqa: ANN201
        self.get("/anmelden")
        r = self.post("/anmelden", {"username": username, "password": password})
        assert r.status_code == 302, r.get_data(as_text=True)[:2000]
        self.get("/")
        return r


def text_of(html: str) -> str:
    """Visible-ish text of a page (tags removed, entities decoded, whitespace folded)."""
    html = re.sub(r"<script\b.*?</script>", " ", html, flags=re.S)
    text = re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()
    return re.sub(r" ([:,.)])", r"\1", text)


# the smallest file that passes the upload check for PDFs
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

FIXTURES = __import__("pathlib").Path(__file__).resolve().parent / "web_fixtures"


def deploy_fixture(platform, name: str) -> list[dict]:  # noqa: ANN001
    """Deploy tests/integration/web_fixtures/<name>: its BPMN files, forms under web/."""
    from app.services.context import SYSTEM
    from app.services.definitions import deploy_files

    folder = FIXTURES / name
    files = {}
    for path in sorted(folder.iterdir()):
        if path.suffix in (".bpmn", ".dmn"):
            files[path.name] = path.read_bytes()
        elif path.suffix == ".json":
            files[f"web/{path.name}"] = path.read_bytes()
    return deploy_files(platform, SYSTEM, files)


def start(browser: Browser, process_key: str) -> str:
    """Start a process from the start page; returns the URL it leads to (task or case page)."""
    browser.get("/")
    r = browser.post("/vorgaenge/starten", {"process_key": process_key})
    assert r.status_code == 302, r.get_data(as_text=True)[:1000]
    return r.headers["Location"]


def task_id_of(url: str) -> str:
    return url.rstrip("/").split("/")[-1]


def forget_new_definitions(platform, before: set[int]) -> None:  # noqa: ANN001
    """Remove definition versions deployed by a test (and their instances), so that later tests
    see the original versions; the spec cache is reset because SQLite may reuse the ids."""
    from sqlalchemy import delete, select

    from app.models import ProcessDefinition, ProcessInstance

    with platform.db.unit_of_work() as s:
        new = set(s.scalars(select(ProcessDefinition.id))) - before
        if new:
            s.execute(delete(ProcessInstance).where(ProcessInstance.definition_id.in_(new)))
            s.execute(delete(ProcessDefinition).where(ProcessDefinition.id.in_(new)))
    platform.specs = type(platform.specs)()


def definition_ids(platform) -> set[int]:  # noqa: ANN001
    from sqlalchemy import select

    from app.models import ProcessDefinition

    with platform.db.unit_of_work() as s:
        return set(s.scalars(select(ProcessDefinition.id)))


def retire_user(platform, username: str) -> None:  # noqa: ANN001
    """Users outlive a test (they are not runtime data): take a test user's groups,
    municipalities and e-mail away and deactivate it, so that later tests never see it."""
    from sqlalchemy import select

    from app.models import User

    with platform.db.unit_of_work() as s:
        user = s.scalar(select(User).where(User.username == username))
        if user is not None:
            user.groups, user.municipalities = [], []
            user.email, user.active = "", False


def result_count(html: str) -> str:
    """The "n Aufgaben" / "n Vorgänge" status line of a list page."""
    return re.search(r'<p class="kern-body" role="status">([^<]+)</p>', html).group(1).strip()
