"""German error page for browser requests."""

from __future__ import annotations

from flask import render_template_string

_PAGE = """<!doctype html><html lang="de"><head><meta charset="utf-8">
<title>Fehler {{ status }}</title></head>
<body><main><h1>Fehler {{ status }}</h1><p>{{ message }}</p>
{% if errors %}<ul>{% for e in errors %}<li>{{ e.path }}: {{ e.message }}</li>{% endfor %}</ul>{% endif %}
<p><a href="/">Zur Startseite</a></p></main></body></html>"""


def error_page(status: int, message: str, errors: list | None = None):  # noqa: ANN201
    return render_template_string(_PAGE, status=status, message=message, errors=errors or []), status
