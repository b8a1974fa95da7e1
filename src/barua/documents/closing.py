"""The end of a document: the totals on the right; payment terms, notes and bank details beside
them on the left. When the left side would be much taller than the totals, it follows them
instead, full width and line by line, so that long notes can cross a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from barua.documents.context import GAP, WHITE, RenderContext
from barua.documents.fonts import Font
from barua.documents.layout import MIN_SIZE, Block, fit, wrap
from barua.documents.pdf import Ink, PdfWriter

SummaryKind = Literal["normal", "total", "due"]
"""``total`` is bold under a rule; ``due`` is the highlighted bottom line."""

_TOTALS_WIDTH = 236.0
_SIDE_LIMIT = 28
"""More left-side lines than this and they go under the totals instead of beside them."""

ItemKind = Literal["heading", "text", "strong", "pair", "gap"]


@dataclass(frozen=True)
class SummaryRow:
    label: str
    amount: str
    kind: SummaryKind = "normal"


@dataclass(frozen=True)
class _Item:
    kind: ItemKind
    text: str = ""
    value: str = ""


def _items(ctx: RenderContext, width: float) -> list[_Item]:
    """Payment terms, notes and bank details as lines wrapped to ``width``."""
    document, words, style = ctx.document, ctx.words, ctx.style
    items: list[_Item] = []
    terms = getattr(document, "payment_terms", None)
    for heading, text in ((words["payment_terms"], terms), (words["notes"], document.notes)):
        if text:
            if items:
                items.append(_Item("gap"))
            items.append(_Item("heading", heading.upper()))
            items += [_Item("text", line) for line in wrap(text, ctx.regular, style.body, width)]
    accounts = document.business.bank_accounts
    if accounts:
        if items:
            items.append(_Item("gap"))
        items.append(_Item("heading", words["bank_details"].upper()))
    fields = (
        ("account_name", "account_name"),
        ("account_number", "bank_account_number"),
        ("iban", "iban"),
        ("swift", "swift"),
        ("routing_number", "routing_number"),
    )
    for index, account in enumerate(accounts):
        if index:
            items.append(_Item("gap"))
        bank = f"{account.bank_name}, {account.branch}" if account.branch else account.bank_name
        if account.currency:
            bank += f" ({account.currency})"
        items.append(_Item("strong", fit(bank, ctx.bold, style.body, width)))
        items += [
            _Item("pair", words[label], str(getattr(account, name)))
            for name, label in fields
            # The account name is worth a line only when it is not the business's own.
            if getattr(account, name)
            and not (name == "account_name" and account.account_name == document.business.name)
        ]
    return items


def _item_height(ctx: RenderContext, item: _Item) -> float:
    style = ctx.style
    if item.kind == "heading":
        return style.line_height(style.label) + 2.5
    if item.kind == "gap":
        return 7.0
    return style.line_height(style.body)


def _draw_item(
    pdf: PdfWriter,
    ctx: RenderContext,
    item: _Item,
    *,
    x: float,
    top: float,
    width: float,
    label_width: float,
) -> None:
    style = ctx.style
    body = style.body
    baseline = top - body * 0.93
    if item.kind == "heading":
        pdf.text(x, top - style.label, item.text, Ink(ctx.bold, style.label, style.accent))
    elif item.kind == "text":
        pdf.text(x, baseline, item.text, Ink(ctx.regular, body, style.ink))
    elif item.kind == "strong":
        pdf.text(x, baseline, item.text, Ink(ctx.bold, body, style.ink))
    elif item.kind == "pair":
        pdf.text(x, baseline, item.text, Ink(ctx.regular, body, style.muted))
        value = fit(item.value, ctx.regular, body, width - label_width)
        pdf.text(x + label_width, baseline, value, Ink(ctx.regular, body, style.ink))


def _label_width(ctx: RenderContext, items: list[_Item], width: float) -> float:
    widths = [ctx.regular.width(i.text, ctx.style.body) for i in items if i.kind == "pair"]
    return min(max(widths, default=0.0) + 10, width * 0.45)


def _totals_height(ctx: RenderContext, rows: list[SummaryRow]) -> float:
    step = ctx.style.line_height(ctx.style.body) + 4
    return sum(step + (3 if row.kind == "due" else 0) for row in rows) + 6


_ROW_ROOM = _TOTALS_WIDTH - 14 - 8
"""Label and amount of a totals row side by side: the box less its padding and a gap."""


def _fitted(row: SummaryRow, font: Font, size: float) -> tuple[str, float]:
    """The label and type size that print the whole amount beside its label.

    The type shrinks (down to the tables' smallest) until both fit; a label still too long
    is shortened then, never the amount.
    """
    label_width, amount_width = font.width(row.label, size), font.width(row.amount, size)
    if label_width + amount_width <= _ROW_ROOM:
        return row.label, size
    size = max(size * _ROW_ROOM / (label_width + amount_width), MIN_SIZE)
    size = min(size, _ROW_ROOM / font.width(row.amount, 1.0))  # the amount whole, always
    return fit(row.label, font, size, _ROW_ROOM - font.width(row.amount, size)), size


def _draw_totals(pdf: PdfWriter, ctx: RenderContext, rows: list[SummaryRow], top: float) -> None:
    style, frame = ctx.style, ctx.frame
    body = style.body
    step = style.line_height(body) + 4
    x = frame.x_end - _TOTALS_WIDTH
    y = top - step + 5
    for row in rows:
        if row.kind == "due":
            label, size = _fitted(row, ctx.bold, body + 1.4)
            pdf.rect(x, y - 6.5, _TOTALS_WIDTH, step + 3, style.accent)
            pdf.text(x + 7, y - 1, label, Ink(ctx.bold, size, WHITE))
            pdf.text_right(frame.x_end - 7, y - 1, row.amount, Ink(ctx.bold, size, WHITE))
            y -= step + 3
            continue
        if row.kind == "total":
            pdf.hline(x, frame.x_end, y + step - 5, 0.8, style.ink)
            font, size, color = ctx.bold, body + 0.6, style.ink
        else:
            font, size, color = ctx.regular, body, style.muted
        label, size = _fitted(row, font, size)
        pdf.text(x + 7, y, label, Ink(font, size, color))
        pdf.text_right(frame.x_end - 7, y, row.amount, Ink(font, size, style.ink))
        y -= step


def closing_blocks(ctx: RenderContext, rows: list[SummaryRow]) -> list[Block]:
    """The totals (``rows``, possibly none) with terms, notes and bank details."""
    frame = ctx.frame
    side_width = frame.content_width - _TOTALS_WIDTH - GAP if rows else frame.content_width
    items = _items(ctx, side_width)
    if not rows:
        return _flowing(ctx, items)
    if sum(1 for item in items if item.kind != "gap") <= _SIDE_LIMIT:
        return [_side_by_side(ctx, rows, items, side_width)]
    return [
        _side_by_side(ctx, rows, [], side_width),
        *_flowing(ctx, _items(ctx, frame.content_width)),
    ]


def _side_by_side(
    ctx: RenderContext, rows: list[SummaryRow], items: list[_Item], width: float
) -> Block:
    frame = ctx.frame
    label_width = _label_width(ctx, items, width)
    side_height = sum(_item_height(ctx, item) for item in items)
    height = max(_totals_height(ctx, rows) if rows else 0.0, side_height)

    def draw(pdf: PdfWriter, top: float) -> None:
        if rows:
            _draw_totals(pdf, ctx, rows, top)
        y = top
        for item in items:
            _draw_item(pdf, ctx, item, x=frame.left, top=y, width=width, label_width=label_width)
            y -= _item_height(ctx, item)

    return Block(height, draw, space_before=14)


def _flowing(ctx: RenderContext, items: list[_Item]) -> list[Block]:
    """Terms, notes and bank details full width, one block per line, free to cross pages."""
    frame = ctx.frame
    label_width = _label_width(ctx, items, frame.content_width)
    blocks: list[Block] = []
    for index, item in enumerate(items):

        def draw(pdf: PdfWriter, top: float, item: _Item = item) -> None:
            _draw_item(
                pdf,
                ctx,
                item,
                x=frame.left,
                top=top,
                width=frame.content_width,
                label_width=label_width,
            )

        blocks.append(
            Block(
                _item_height(ctx, item),
                draw,
                space_before=16 if index == 0 else 0.0,
                keep_with_next=item.kind in {"heading", "strong"},
            )
        )
    return blocks


def signature_block(ctx: RenderContext) -> Block:
    """Two lines to sign on: who received the goods, and when."""
    style, frame, words = ctx.style, ctx.frame, ctx.words
    width = (frame.content_width - GAP) / 2

    def draw(pdf: PdfWriter, top: float) -> None:
        for index, label in enumerate((words["received_by"], words["signature_date"])):
            x = frame.left + index * (width + GAP)
            pdf.hline(x, x + width, top - 36, 0.7, style.ink)
            pdf.text(x, top - 47, label, Ink(ctx.regular, style.small, style.muted))

    return Block(52.0, draw, space_before=30)
