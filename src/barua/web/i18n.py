"""Pages in the reader's language: one Jinja2 environment per language, each with ``_`` bound
to that language's catalog, and the choice of language for a request.

In templates, ``_("Saved the settings of {business}.", business=name)`` translates, then fills
the values: the catalog holds one entry per text, with its placeholders, as in the code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from barua.i18n import LANGUAGES, language_code, translator
from barua.texts import Text

TEMPLATES = Path(__file__).with_name("templates")

LANGUAGE_NAMES = {"en": "English", "sw": "Kiswahili"}
"""Each language in its own words, for the switcher."""

LANGUAGE_COOKIE = "barua_lang"


def gettext_for(lang: str) -> Callable[..., str]:
    """``_(text, **values)`` in ``lang``: the translation, with ``values`` filled in."""
    translate = translator(lang).gettext

    def _(text: str, **values: Any) -> str:
        translated = translate(text)
        return translated.format(**values) if values else translated

    return _


def pgettext_for(lang: str) -> Callable[..., str]:
    """``pgettext(context, text, **values)``: a text that reads differently in another place
    (the Email button, the Email column), translated for its ``context``."""
    translations = translator(lang)

    def pgettext(context: str, text: str, **values: Any) -> str:
        translated = translations.pgettext(context, text)
        return translated.format(**values) if values else translated

    return pgettext


@cache
def environment(lang: str) -> Environment:
    """The templates, speaking ``lang``."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["_"] = gettext_for(lang)
    env.globals["pgettext"] = pgettext_for(lang)
    env.globals["lang"] = lang
    env.globals["languages"] = LANGUAGE_NAMES
    env.filters["words"] = lambda text: text.render(lang) if isinstance(text, Text) else text
    return env


def render(lang: str, template: str, values: Mapping[str, Any]) -> str:
    return environment(lang).get_template(template).render(values)


def negotiate(
    chosen: str | None, cookie: str | None, accept_language: str | None, default: str
) -> str:
    """The language of a page: the user's choice, else the language cookie, else the first
    language the browser asks for that barua speaks, else ``default``."""
    for candidate in (chosen, cookie):
        code = language_code(candidate)
        if code is not None:
            return code
    for part in (accept_language or "").split(","):
        code = language_code(part.split(";")[0].strip())
        if code is not None:
            return code
    return default if default in LANGUAGES else "en"
