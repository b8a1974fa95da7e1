"""Text the PDF fonts cannot draw, found before rendering.

ReportLab prints a character its font lacks as nothing at all, without a warning: a customer
named in Thai would get an invoice with a blank where their name belongs. Formatted values
(amounts, dates) already avoid such characters (``formatting``); what the user wrote is checked
here, field by field, so the error names the field to change.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

from pydantic import BaseModel

from barua.documents.errors import DocumentError
from barua.documents.fonts import FONT_DIR_ENV, missing_glyphs

HINT = (
    "The PDF fonts cover Latin, Greek and Cyrillic letters: write these fields in such letters, "
    f"or set {FONT_DIR_ENV} to a folder of fonts that have the characters (saved as "
    "DejaVuSans.ttf and DejaVuSans-Bold.ttf)."
)


def unprintable(document: BaseModel) -> dict[str, str]:
    """Each text field of ``document`` with characters the fonts lack: path -> problem."""
    problems: dict[str, str] = {}
    for path, text in _texts(document, ""):
        if text.isascii():  # every font barua can use has ASCII
            continue
        missing = "".join(char for char in missing_glyphs(text) if _drawn(char))
        if missing:
            problems[path] = f"cannot be printed: the PDF fonts have no {missing!r}"
    return problems


def check_printable(document: BaseModel, *, source: str | None = None) -> None:
    """Raise :class:`DocumentError` naming every field the fonts cannot print."""
    problems = unprintable(document)
    if problems:
        raise DocumentError(problems, hint=HINT, source=source)


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
