"""The English catalogue covers every UI text and the compiled catalogues match their sources."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[3]
TRANSLATIONS = ROOT / "app" / "translations"


def _ui_texts() -> set[str]:
    method_map = [("app/web/**.py", "python"), ("app/templates/web/**.html", "jinja2")]
    texts = set()
    for _, _, message, _, _ in extract_from_dir(str(ROOT), method_map, keywords={"_": None, "_l": None,
                                                                                   "gettext": None}):
        texts.add(message if isinstance(message, str) else message[0])
    return texts


def test_every_ui_text_has_an_english_translation():
    with open(TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po", "rb") as f:
        catalog = read_po(f)
    missing = sorted(t for t in _ui_texts() if not (catalog.get(t) and any(
        [catalog.get(t).string] if isinstance(catalog.get(t).string, str) else catalog.get(t).string)))
    assert not missing, "untranslated: " + "; ".join(missing[:10])


@pytest.mark.parametrize("lang", ["de", "en"])
def test_compiled_catalogue_matches_its_source(lang):
    folder = TRANSLATIONS / lang / "LC_MESSAGES"
    def translated(m) -> bool:  # noqa: ANN001
        return bool(m.id) and (any(m.string) if isinstance(m.string, tuple) else bool(m.string))

    def key(value):  # noqa: ANN001, ANN202
        return tuple(value) if isinstance(value, (list, tuple)) else value

    with open(folder / "messages.po", "rb") as f:
        po = {key(m.id): key(m.string) for m in read_po(f) if translated(m)
              and key(m.string) != key(m.id)}
    with open(folder / "messages.mo", "rb") as f:
        mo = {key(m.id): key(m.string) for m in read_mo(f) if translated(m)
              and key(m.string) != key(m.id)}
    assert po == mo, "run: pybabel compile -d app/translations"
