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

from barua.documents.errors import DocumentError
from barua.documents.fonts import FONT_DIR_ENV, missing_glyphs

RIGHT_TO_LEFT = frozenset({"R", "AL", "AN"})
"""The bidirectional classes of right-to-left letters (Hebrew, Arabic) and Arabic digits."""

RTL_PROBLEM = "is written right to left, which the PDF layout does not support yet"
RTL_HINT = (
    "Documents print left to right only: write these fields in a left-to-right script, "
    "e.g. the name in Latin letters."
)

HINT = (
    "The PDF fonts cover Latin, Greek and Cyrillic letters: write these fields in such letters, "
    f"or set {FONT_DIR_ENV} to a folder of fonts that have the characters (saved as "
    "DejaVuSans.ttf and DejaVuSans-Bold.ttf)."
)


def unprintable(document: BaseModel) -> dict[str, str]:
    """Each text field of ``document`` the PDF cannot print as written: path -> problem.

    A field cannot be printed when it holds characters the fonts lack, or right-to-left text.
    """
    problems: dict[str, str] = {}
    for path, text in _texts(document, ""):
        if text.isascii():  # every font barua can use has ASCII, all of it left to right
            continue
        if any(unicodedata.bidirectional(char) in RIGHT_TO_LEFT for char in text):
            problems[path] = RTL_PROBLEM
            continue
        missing = "".join(char for char in missing_glyphs(text) if _drawn(char))
        if missing:
            problems[path] = f"cannot be printed: the PDF fonts have no {missing!r}"
    return problems


def check_printable(document: BaseModel, *, source: str | None = None) -> None:
    """Raise :class:`DocumentError` naming every field the PDF cannot print as written."""
    problems = unprintable(document)
    if problems:
        raise DocumentError(problems, hint=_hint(problems), source=source)


def _hint(problems: dict[str, str]) -> str:
    right_to_left = sum(1 for problem in problems.values() if problem == RTL_PROBLEM)
    if right_to_left == len(problems):
        return RTL_HINT
    return f"{HINT} {RTL_HINT}" if right_to_left else HINT


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
