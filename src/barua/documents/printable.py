"""Text the PDF fonts cannot draw, found before rendering.

ReportLab prints a character its font lacks as nothing at all, without a warning: a customer
named in Thai would get an invoice with a blank where their name belongs. Formatted values
(amounts, dates) already avoid such characters (``formatting``); what the user wrote is checked
here, field by field, so the error names the field to change.

Text written right to left (Hebrew, Arabic, and the digits Arabic script uses) is refused too:
the fonts have its letters, but the layout draws every string left to right, without the
bidirectional reordering and Arabic joining it needs, so ``שלום`` would print as ``םולש``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

from pydantic import BaseModel

from barua.documents import messages
from barua.documents.errors import DocumentError
from barua.documents.fonts import FONT_DIR_ENV, missing_glyphs
from barua.texts import Text

RIGHT_TO_LEFT = frozenset({"R", "AL", "AN"})
"""The bidirectional classes of right-to-left letters (Hebrew, Arabic) and Arabic digits."""


def unprintable(document: BaseModel) -> dict[str, Text]:
    """Each text field of ``document`` the PDF cannot print as written: path -> problem.

    A field cannot be printed when it holds characters the fonts lack, or right-to-left text.
    """
    problems: dict[str, Text] = {}
    for path, text in _texts(document, ""):
        if text.isascii():  # every font barua can use has ASCII, all of it left to right
            continue
        if any(unicodedata.bidirectional(char) in RIGHT_TO_LEFT for char in text):
            problems[path] = messages.RIGHT_TO_LEFT()
            continue
        missing = "".join(char for char in missing_glyphs(text) if _drawn(char))
        if missing:
            problems[path] = messages.NO_GLYPHS(characters=repr(missing))
    return problems


def check_printable(document: BaseModel, *, source: str | None = None) -> None:
    """Raise :class:`DocumentError` naming every field the PDF cannot print as written."""
    problems = unprintable(document)
    if problems:
        raise DocumentError(problems, hint=_hint(problems), source=source)


def _hint(problems: dict[str, Text]) -> Text:
    right_to_left = sum(
        1 for problem in problems.values() if problem.code == messages.RIGHT_TO_LEFT.code
    )
    if right_to_left == len(problems):
        return messages.RIGHT_TO_LEFT_HINT()
    fonts = messages.FONTS_HINT(variable=FONT_DIR_ENV)
    if not right_to_left:
        return fonts
    return messages.FONTS_AND_RIGHT_TO_LEFT_HINT(
        fonts=fonts, right_to_left=messages.RIGHT_TO_LEFT_HINT()
    )


def _drawn(char: str) -> bool:
    """Whether ``char`` would be drawn at all: line breaks, tabs and invisible format
    characters (a zero-width joiner) are laid out or dropped, never looked up in the font."""
    return not char.isspace() and unicodedata.category(char) not in {"Cc", "Cf"}


def _texts(value: object, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _texts(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _texts(item, f"{path}[{index}]")
