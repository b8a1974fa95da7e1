"""English and Kiswahili: the catalog holds every text the code marks, each translated."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

import barua
from barua.i18n import LANGUAGES, catalog_path, resolve_language, translator

PACKAGE = Path(barua.__file__).parent


def marked_texts() -> set[str]:
    found: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for _, text, _, _ in extract_from_file(
            "python", str(path), keywords={"N_": None, "_": None}
        ):
            if isinstance(text, str):
                found.add(text)
    return found


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("lang", [code for code in LANGUAGES if code != "en"])
def test_catalog_is_complete_and_current(lang: str) -> None:
    with catalog_path(lang).open("rb") as po:
        catalog = read_po(po)
    translated = {m.id: m.string for m in catalog if m.id}
    texts = marked_texts()
    assert sorted(texts - translated.keys()) == [], "run pybabel extract + update, translate"
    assert sorted(translated.keys() - texts) == [], "the catalog holds texts no longer used"
    for source, target in translated.items():
        assert isinstance(source, str) and isinstance(target, str)
        assert target.strip(), f"not translated: {source!r}"
        assert fields(target) == fields(source), f"placeholders differ: {source!r}"
    assert not any(m.fuzzy for m in catalog if m.id)


def test_language_is_chosen_by_flag_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BARUA_LANG", "sw_TZ.UTF-8")
    assert resolve_language() == "sw"
    assert resolve_language("en") == "en"
    monkeypatch.setenv("BARUA_LANG", "fr")  # not a language barua speaks: the next choice
    monkeypatch.setattr("locale.getlocale", lambda category: ("sw_KE", "UTF-8"))
    assert resolve_language() == "sw"
    monkeypatch.setattr("locale.getlocale", lambda category: (None, None))
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    assert resolve_language() == "en"
    assert translator("sw").gettext("log in") == "kuingia"
    assert translator("en").gettext("log in") == "log in"


def test_no_placeholder_is_left_unfilled_in_a_translation() -> None:
    with catalog_path("sw").open("rb") as po:
        catalog = read_po(po)
    for message in catalog:
        if message.id:
            assert not re.search(r"\{[^}]*\s[^}]*\}", str(message.string))
