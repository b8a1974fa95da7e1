"""English and Kiswahili: gettext catalogs kept as ``.po`` files and compiled on first use.

Texts are written in English in the code. ``N_`` marks a text for extraction where it is
defined (a table, a preset); ``translator(lang).gettext`` translates it where it is shown.
The catalogs live in ``barua/locale/<lang>/LC_MESSAGES/barua.po`` and are managed with Babel
(``pybabel extract`` / ``update``); compiling them in memory means there is no build step and
no stale ``.mo`` file.
"""

from __future__ import annotations

import locale
import os
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LANGUAGES = ("en", "sw")
"""The languages barua speaks; English is the source language."""

LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "barua"


def N_(text: str) -> str:
    """Mark ``text`` for translation without translating it yet."""
    return text


def resolve_language(requested: str | None = None) -> str:
    """The language to speak: ``requested``, else ``BARUA_LANG``, else the system locale."""
    candidates = [requested, os.environ.get("BARUA_LANG")]
    try:
        system = locale.getlocale(locale.LC_MESSAGES)[0]
    except (ValueError, AttributeError):
        system = None
    candidates += [system, os.environ.get("LC_ALL"), os.environ.get("LANG")]
    for candidate in candidates:
        if candidate:
            code = candidate.replace("-", "_").split("_")[0].split(".")[0].lower()
            if code in LANGUAGES:
                return code
    return "en"


def catalog_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def translator(lang: str | None = None) -> NullTranslations:
    """The translations for ``lang`` (resolved as :func:`resolve_language` does)."""
    return _compiled(resolve_language(lang))


@cache
def _compiled(code: str) -> NullTranslations:
    path = catalog_path(code)
    if code == "en" or not path.exists():
        return NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=code, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)
