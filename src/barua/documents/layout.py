"""Page layout computed before anything is drawn: blocks, tables and pagination.

A document becomes a list of :class:`Block` (each knows its height and how to draw itself),
:func:`paginate` spreads them over pages, and only then are pages drawn. Knowing the page
count first is what prints "Page 2 of 3" in one pass; computing heights from font metrics
is what makes that cheap (no trial rendering, unlike platypus' multi-build).

Tables repeat their header row at the top of every page they continue on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from barua.documents.fonts import Font, FontSet
from barua.documents.pdf import RGB, Ink, PdfWriter

Draw = Callable[[PdfWriter, float], None]
"""Draws a block whose top edge is at the given y."""

Align = Literal["left", "right"]


def _mix(color: RGB, amount: float) -> RGB:
    """``color`` faded towards white by ``amount`` (0 = unchanged, 1 = white)."""
    return (
        color[0] + (1 - color[0]) * amount,
        color[1] + (1 - color[1]) * amount,
        color[2] + (1 - color[2]) * amount,
    )


def parse_color(value: str) -> RGB:
    """``#1F4E79`` as RGB fractions."""
    return (int(value[1:3], 16) / 255, int(value[3:5], 16) / 255, int(value[5:7], 16) / 255)


@dataclass(frozen=True)
class Style:
    """Colours and type sizes, shared by every part of a page."""

    fonts: FontSet
    accent: RGB = (0.10, 0.29, 0.45)
    ink: RGB = (0.12, 0.13, 0.16)
    muted: RGB = (0.40, 0.43, 0.48)
    rule: RGB = (0.83, 0.85, 0.88)
    body: float = 8.6
    small: float = 7.4
    label: float = 7.0
    leading: float = 1.34

    @property
    def tint(self) -> RGB:
        """A very light shade of the accent, for bands and the totals highlight."""
        return _mix(self.accent, 0.92)

    @property
    def stripe(self) -> RGB:
        return _mix(self.accent, 0.965)

    def line_height(self, size: float) -> float:
        return size * self.leading


@dataclass(frozen=True)
class Frame:
    """The paper and its margins, in points."""

    width: float
    height: float
    left: float = 46.0
    right: float = 46.0
    top: float = 44.0
    bottom: float = 54.0

    @property
    def content_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def x_end(self) -> float:
        return self.width - self.right


# Text -------------------------------------------------------------------------------------


_BREAK_AFTER = "@/-_.,;:"


def _split_word(word: str, font: Font, size: float, width: float) -> list[str]:
    """A word wider than a line, cut after ``@``, ``/``, ``-`` or ``.`` where possible."""
    pieces: list[str] = []
    while font.width(word, size) > width:
        cut = 1
        while cut < len(word) and font.width(word[: cut + 1], size) <= width:
            cut += 1
        soft = max((i + 1 for i, char in enumerate(word[:cut]) if char in _BREAK_AFTER), default=0)
        if soft > cut // 3:
            cut = soft
        pieces.append(word[:cut])
        word = word[cut:]
    if word:
        pieces.append(word)
    return pieces


def wrap(text: str, font: Font, size: float, width: float) -> list[str]:
    """``text`` broken into lines no wider than ``width``; ``\\n`` starts a new line."""
    lines: list[str] = []
    space = font.width(" ", size)
    for paragraph in text.split("\n"):
        words = paragraph.split()
        if not words:
            lines.append("")
            continue
        if font.width(paragraph, size) <= width and "  " not in paragraph:
            lines.append(paragraph.strip())
            continue
        current, current_width = "", 0.0
        for word in words:
            word_width = font.width(word, size)
            if word_width > width:
                if current:
                    lines.append(current)
                *whole, current = _split_word(word, font, size, width)
                lines.extend(whole)
                current_width = font.width(current, size)
            elif not current:
                current, current_width = word, word_width
            elif current_width + space + word_width <= width:
                current += " " + word
                current_width += space + word_width
            else:
                lines.append(current)
                current, current_width = word, word_width
        lines.append(current)
    return lines


# A column as wide as its text comes back from adding and taking away padding a hair narrower
# (floating point): such text fits.
_ROUNDING = 1e-6


def fit(text: str, font: Font, size: float, width: float) -> str:
    """``text`` shortened with an ellipsis to fit on one line of ``width``."""
    width += _ROUNDING
    if font.width(text, size) <= width:
        return text
    while text and font.width(text + "…", size) > width:
        text = text[:-1]
    return text.rstrip() + "…"


# Blocks and pages -------------------------------------------------------------------------


@dataclass
class Block:
    """A piece of a page that is never split: a heading, a table row, the totals."""

    height: float
    draw: Draw
    space_before: float = 0.0
    """Gap above the block, dropped at the top of a page."""
    keep_with_next: bool = False
    """Never the last block of a page (headings, a table's header)."""
    repeat: Block | None = None
    """A table header to draw first when this block starts a page."""


@dataclass
class Page:
    placed: list[tuple[float, Block]] = field(default_factory=list)


def paginate(
    blocks: Sequence[Block], *, first_top: float, next_top: float, bottom: float
) -> list[Page]:
    """Place ``blocks`` on as many pages as needed, top to bottom."""
    pages = [Page()]
    y = first_top
    count = len(blocks)
    for index, block in enumerate(blocks):
        page = pages[-1]
        at_top = not page.placed
        # A heading or table header only stays if what follows it fits too.
        need = (0.0 if at_top else block.space_before) + block.height
        follow = index
        while blocks[follow].keep_with_next and follow + 1 < count:
            follow += 1
            need += blocks[follow].space_before + blocks[follow].height
        if not at_top and y - need < bottom:
            pages.append(Page())
            page, y, at_top = pages[-1], next_top, True
            if block.repeat is not None:
                page.placed.append((y, block.repeat))
                y -= block.repeat.height
                at_top = False
        if not at_top:
            y -= block.space_before
        page.placed.append((y, block))
        y -= block.height
    return pages


# Tables -----------------------------------------------------------------------------------


@dataclass
class Column:
    """A table column; ``flex`` columns share the width left over and wrap their text."""

    header: str
    align: Align = "left"
    flex: bool = False
    width: float = 0.0


RowKind = Literal["normal", "emphasis", "total"]


@dataclass
class Row:
    cells: list[str]
    kind: RowKind = "normal"
    notes: dict[int, str] = field(default_factory=dict)
    """Small muted text under a cell, e.g. an item code under the description."""


_PAD_X = 5.0
_PAD_Y = 3.5
_MAX_ROW_LINES = 40
_HEADER_EXTRA = 0.4
_MIN_FLEX = 80.0
"""The room a wrapping column keeps while the type of the others can still shrink."""
_NARROW_FLEX = 40.0
"""The least a wrapping column gets (a word or two a line) before a table is refused."""
MIN_SIZE = 6.0
"""The smallest type a table is printed in, in points: still readable on paper."""


class TableTooWide(Exception):
    """The fixed columns of a table (numbers, dates) do not fit the width in the smallest type.

    Numbers are never shortened, so the caller lays the page out wider (landscape) or
    refuses the document, naming the table by ``path``.
    """

    def __init__(self, path: str, *, need: float, width: float) -> None:
        self.path = path
        self.need = need
        self.width = width
        super().__init__(f"{path}: needs {need:.0f} pt, the page has {width:.0f} pt")


def _fonts_for(style: Style, kind: RowKind) -> Font:
    return style.fonts.bold if kind != "normal" else style.fonts.regular


def _widest(index: int, column: Column, rows: Sequence[Row], style: Style) -> float:
    """The widest text of a column: its header, or a cell (each line of a wrapping one)."""
    widest = style.fonts.bold.width(column.header, style.label + _HEADER_EXTRA)
    for row in rows:
        font = _fonts_for(style, row.kind)
        if column.flex:
            for part in row.cells[index].split("\n"):
                widest = max(widest, font.width(part, style.body))
        else:
            widest = max(widest, font.width(row.cells[index], style.body))
    return widest


def size_columns(columns: list[Column], rows: Sequence[Row], style: Style, width: float) -> None:
    """Give fixed columns their widest content and share the rest among flex columns.

    A fixed column is never narrower than its content (:func:`table_blocks` has chosen a
    type size that lets them all fit); the flexible ones wrap in what is left.
    """
    natural = [
        _widest(index, column, rows, style) + 2 * _PAD_X for index, column in enumerate(columns)
    ]
    flex_natural = [w for w, c in zip(natural, columns, strict=True) if c.flex]
    fixed = sum(w for w, c in zip(natural, columns, strict=True) if not c.flex)
    if not flex_natural:
        # No flexible column: spread the spare room evenly so the table spans the page.
        extra = max(width - fixed, 0.0) / len(columns)
        for column, w in zip(columns, natural, strict=True):
            column.width = w + extra
        return
    room = max(width - fixed, 0.0)
    total_flex = sum(flex_natural)
    for column, w in zip(columns, natural, strict=True):
        if column.flex:
            # Flexible columns share the room in proportion to what they would like, but a
            # short one never gets more than it needs while another one must wrap.
            column.width = room * w / total_flex if total_flex > room else w
        else:
            column.width = w
    spare = width - sum(c.width for c in columns)
    if spare > 0:
        # The spare room goes where the text is: the description, not a short reference.
        max((c for c in columns if c.flex), key=lambda c: c.width).width += spare


def _scaled(style: Style, scale: float) -> Style:
    return replace(
        style, body=style.body * scale, label=style.label * scale, small=style.small * scale
    )


def _fixed_need(columns: list[Column], rows: Sequence[Row], style: Style) -> float:
    return sum(
        _widest(index, column, rows, style) + 2 * _PAD_X
        for index, column in enumerate(columns)
        if not column.flex
    )


def _fitting_style(
    columns: list[Column], rows: Sequence[Row], style: Style, width: float, path: str
) -> Style:
    """The style whose type lets every fixed column print whole within ``width``.

    The type shrinks (down to :data:`MIN_SIZE`) while the wrapping columns keep
    :data:`_MIN_FLEX`; at the smallest type they may narrow to :data:`_NARROW_FLEX`. Beyond
    that the table is too wide: :class:`TableTooWide`.
    """
    fixed = [column for column in columns if not column.flex]
    if not fixed:
        return style
    flexible = len(columns) - len(fixed)
    pads = 2 * _PAD_X * len(fixed)
    need = _fixed_need(columns, rows, style)
    room = width - _MIN_FLEX * flexible
    if need <= room:
        return style
    smallest = MIN_SIZE / style.body
    # Text widths grow with the type size, the padding does not; a header's small extra
    # size makes it a hair off, which the second pass corrects.
    scale = 1.0
    for _ in range(3):
        scale = max(min(scale * (room - pads) / max(need - pads, 1e-9), 1.0), smallest)
        fitted = _scaled(style, scale)
        need = _fixed_need(columns, rows, fitted)
        if need <= room or scale == smallest:
            break
    if need <= width - _NARROW_FLEX * flexible:
        return fitted
    raise TableTooWide(path, need=need + _NARROW_FLEX * flexible, width=width)


def table_blocks(
    columns: list[Column],
    rows: Sequence[Row],
    style: Style,
    *,
    x: float,
    width: float,
    path: str,
    space_before: float = 10.0,
    title: str | None = None,
) -> list[Block]:
    """The blocks of a table: an optional title, the header row, then one block per row.

    Numbers, dates and other unwrapped cells are never shortened: a table too wide for the
    paper is printed in smaller type (down to :data:`MIN_SIZE`), its wrapping columns
    narrower; when even that does not fit, :class:`TableTooWide` names it by ``path``.
    """
    style = _fitting_style(columns, rows, style, width, path)
    size_columns(columns, rows, style, width)
    grid = _Grid(columns, style, x=x, width=width)
    header = grid.header()
    blocks: list[Block] = []
    if title:
        blocks.append(_title_block(title, style, x=x, space_before=space_before))
        space_before = 2.0
    blocks.append(Block(header.height, header.draw, space_before, keep_with_next=True))
    for row in rows:
        blocks.extend(grid.row_blocks(row, repeat=header))
    return blocks


def _title_block(title: str, style: Style, *, x: float, space_before: float) -> Block:
    ink = Ink(style.fonts.bold, style.body + 2.4, style.accent)

    def draw(pdf: PdfWriter, top: float) -> None:
        pdf.text(x, top - ink.size, title, ink)

    return Block(ink.size * 1.6, draw, space_before + 4, keep_with_next=True)


@dataclass(frozen=True)
class _Piece:
    """The part of a row that one block draws: some of its lines (long rows are split)."""

    lines: list[list[str]]
    """Per column, the lines this piece prints."""
    notes: dict[int, list[str]]
    height: float


class _Grid:
    """The geometry of a table whose column widths are known."""

    def __init__(self, columns: list[Column], style: Style, *, x: float, width: float) -> None:
        self.columns = columns
        self.style = style
        self.x = x
        self.width = width
        self.lefts: list[float] = []
        position = x
        for column in columns:
            self.lefts.append(position)
            position += column.width

    def _cell(self, pdf: PdfWriter, index: int, y: float, text: str, ink: Ink) -> None:
        column, left = self.columns[index], self.lefts[index]
        if column.align == "right":
            pdf.text_right(left + column.width - _PAD_X, y, text, ink)
        else:
            pdf.text(left + _PAD_X, y, text, ink)

    def header(self) -> Block:
        """The header row, white on the accent colour."""
        style = self.style
        ink = Ink(style.fonts.bold, style.label + _HEADER_EXTRA, (1.0, 1.0, 1.0))
        height = ink.size + 2 * _PAD_Y + 2
        labels = [
            fit(column.header, ink.font, ink.size, column.width - 2 * _PAD_X)
            for column in self.columns
        ]

        def draw(pdf: PdfWriter, top: float) -> None:
            pdf.rect(self.x, top - height, self.width, height, style.accent)
            baseline = top - height / 2 - ink.size * 0.36
            for index, label in enumerate(labels):
                self._cell(pdf, index, baseline, label, ink)

        return Block(height, draw, keep_with_next=True)

    def row_blocks(self, row: Row, *, repeat: Block) -> list[Block]:
        """One block per row, or several when a description is longer than a page."""
        style = self.style
        ink = Ink(_fonts_for(style, row.kind), style.body, style.ink)
        note_ink = Ink(style.fonts.regular, style.small, style.muted)
        line, note_line = style.line_height(ink.size), style.line_height(note_ink.size)
        wrapped = [
            # Unwrapped cells are as wide as their column, never shortened.
            wrap(text, ink.font, ink.size, column.width - 2 * _PAD_X) if column.flex else [text]
            for column, text in zip(self.columns, row.cells, strict=True)
        ]
        notes = {
            index: wrap(text, note_ink.font, note_ink.size, self.columns[index].width - 2 * _PAD_X)
            for index, text in row.notes.items()
        }
        note_height = max((len(n) for n in notes.values()), default=0) * note_line
        tallest = max(len(lines) for lines in wrapped)
        pieces: list[_Piece] = []
        for start in range(0, tallest, _MAX_ROW_LINES):
            end = min(start + _MAX_ROW_LINES, tallest)
            last = end == tallest
            lines = [
                cell[start:end] if column.flex else (cell if start == 0 else [])
                for column, cell in zip(self.columns, wrapped, strict=True)
            ]
            height = (end - start) * line + (note_height if last else 0.0) + 2 * _PAD_Y
            pieces.append(_Piece(lines, notes if last else {}, height))
        return [
            Block(piece.height, self._drawer(row.kind, piece, ink, note_ink), repeat=repeat)
            for piece in pieces
        ]

    def _drawer(self, kind: RowKind, piece: _Piece, ink: Ink, note_ink: Ink) -> Draw:
        style, x, width, height = self.style, self.x, self.width, piece.height
        line, note_line = style.line_height(ink.size), style.line_height(note_ink.size)

        def draw(pdf: PdfWriter, top: float) -> None:
            if kind == "total":
                pdf.rect(x, top - height, width, height, style.tint)
                pdf.hline(x, x + width, top, 0.9, style.accent)
            elif kind == "emphasis":
                pdf.rect(x, top - height, width, height, style.stripe)
            baseline = top - _PAD_Y - ink.size * 0.93
            for index, lines in enumerate(piece.lines):
                y = baseline
                for text in lines:
                    self._cell(pdf, index, y, text, ink)
                    y -= line
                for text in piece.notes.get(index, ()):
                    pdf.text(self.lefts[index] + _PAD_X, y + line - note_line, text, note_ink)
                    y -= note_line
            if kind != "total":
                pdf.hline(x, x + width, top - height, 0.5, style.rule)

        return draw
