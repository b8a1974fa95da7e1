"""English and Kiswahili: gettext catalogs kept as ``.po`` files and compiled on first use.

Texts are written in English in the code. ``N_`` marks a text for extraction where it is
defined (a table, a preset); ``translator(lang).gettext`` translates it where it is shown.
The catalogs live in ``barua/locale/<lang>/LC_MESSAGES/barua.po`` and are managed with Babel
(``pybabel extract`` / ``update``); compiling them in memory means there is no build step and
no stale ``.mo`` file.
"""

from __future__ import annotations

import gettext
from functools import cache
from io import BytesIO
from pathlib import Path

LANGUAGES = ("en", "sw")
"""The languages barua speaks; English is the source language."""

LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "barua"


def N_(text: str) -> str:
    """Mark ``text`` for translation without translating it yet."""
    return text


def NC_(context: str, text: str) -> str:
    """Mark ``text`` for translation in ``context`` (``NC_("field", "port")``) without
    translating it yet; ``translator(lang).pgettext(context, text)`` translates it."""
    return text


def language_code(value: str | None) -> str | None:
    """The language barua speaks that ``value`` names (``sw_TZ.UTF-8`` → ``sw``), or None."""
    if not value:
        return None
    code = value.replace("-", "_").split("_")[0].split(".")[0].lower()
    return code if code in LANGUAGES else None


def resolve_language(requested: str | None = None) -> str:
    """The language ``requested`` names when barua speaks it, else English. The environment's
    choice (``BARUA_LANG``, the system's) is made once, by :mod:`barua.environment`."""
    return language_code(requested) or "en"


def catalog_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def translator(lang: str | None = None) -> gettext.NullTranslations:
    """The translations for ``lang`` (resolved as :func:`resolve_language` does)."""
    return _compiled(resolve_language(lang))


@cache
def _compiled(code: str) -> gettext.NullTranslations:
    path = catalog_path(code)
    if code == "en" or not path.exists():
        return gettext.NullTranslations()
    # Babel is loaded only for a language other than English: `barua --help` stays fast.
    from babel.messages.mofile import write_mo  # noqa: PLC0415
    from babel.messages.pofile import read_po  # noqa: PLC0415
    from babel.support import Translations  # noqa: PLC0415

    with path.open("rb") as po:
        catalog = read_po(po, locale=code, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)
