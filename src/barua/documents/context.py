"""What every part of a page layout needs to know about the document being rendered."""

from __future__ import annotations

from dataclasses import dataclass

from barua.documents.fonts import Font
from barua.documents.formatting import Formatter
from barua.documents.labels import title
from barua.documents.layout import Frame, Style
from barua.documents.models import AnyDocument
from barua.documents.pdf import Logo

WHITE = (1.0, 1.0, 1.0)
GAP = 18.0
"""Space between columns, in points."""


def document_title(document: AnyDocument) -> str:
    """The printed title: the document's own (``Tax invoice``), else its type's (``Ankara``)."""
    return document.title or title(document.type, document.language)


def document_label(document: AnyDocument) -> str:
    """Title and number, as in the PDF's metadata and the attachment's name."""
    number = document.number
    return f"{document_title(document)} {number}" if number else document_title(document)


@dataclass(frozen=True)
class RenderContext:
    """The document with its style, paper, formats, words and logo."""

    document: AnyDocument
    style: Style
    frame: Frame
    fmt: Formatter
    words: dict[str, str]
    logo: Logo | None

    @property
    def regular(self) -> Font:
        return self.style.fonts.regular

    @property
    def bold(self) -> Font:
        return self.style.fonts.bold
