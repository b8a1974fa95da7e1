"""The top of the first page, the top of the others, and the footer of all of them.

First page: the logo (or the business's name) and the title, then three columns: who sends,
who receives, and the document's numbers and dates with the amount due highlighted.
Other pages: a one-line reminder of the business and the document. Footer: the business's
name and contact details, and "Page 2 of 3".
"""

from __future__ import annotations

from dataclasses import dataclass

from barua.documents.context import GAP, WHITE, RenderContext, document_label, document_title
from barua.documents.fonts import Font
from barua.documents.labels import PARTY_ROLES
from barua.documents.layout import Block, fit, wrap
from barua.documents.models import (
    Business,
    CreditNote,
    DebitNote,
    DeliveryNote,
    Party,
    PurchaseInvoice,
    PurchaseOrder,
    Report,
    SalesInvoice,
    SalesOrder,
    SalesQuote,
    Statement,
)
from barua.documents.pdf import Ink, PdfWriter

EN_DASH = "\N{EN DASH}"
_LOGO_BOX = (190.0, 54.0)
_TITLE_SIZE = 21.0
_AMOUNT_SIZE = 14.0
"""The highlighted amount's type size, when it fits its box."""


@dataclass(frozen=True)
class Highlight:
    """The one amount the reader looks for, boxed under the document's dates."""

    label: str
    amount: str


def masthead(ctx: RenderContext) -> Block:
    """The logo, or the business's name, on the left; the title on the right."""
    style, frame, document = ctx.style, ctx.frame, ctx.document
    logo = ctx.logo
    logo_w = logo_h = 0.0
    if logo is not None:
        scale = min(_LOGO_BOX[0] / logo.width, _LOGO_BOX[1] / logo.height)
        logo_w, logo_h = logo.width * scale, logo.height * scale
    name_size = 15.0
    left_width = logo_w if logo is not None else frame.content_width * 0.5
    right_width = frame.content_width - left_width - GAP
    title_lines = wrap(document_title(document), ctx.bold, _TITLE_SIZE, right_width)
    subtitle = document.subtitle if isinstance(document, Report) else None
    subtitle_lines = wrap(subtitle, ctx.regular, 10, right_width) if subtitle else []
    right_height = len(title_lines) * _TITLE_SIZE * 1.15 + len(subtitle_lines) * 13
    name_lines = wrap(document.business.name, ctx.bold, name_size, left_width)
    left_height = logo_h if logo is not None else len(name_lines) * name_size * 1.2
    height = max(right_height, left_height)

    def draw(pdf: PdfWriter, top: float) -> None:
        if logo is not None:
            pdf.image(logo, frame.left, top - logo_h, logo_w, logo_h)
        else:
            y = top - name_size * 0.9
            for line in name_lines:
                pdf.text(frame.left, y, line, Ink(ctx.bold, name_size, style.accent))
                y -= name_size * 1.2
        y = top - _TITLE_SIZE * 0.86
        for line in title_lines:
            pdf.text_right(frame.x_end, y, line, Ink(ctx.bold, _TITLE_SIZE, style.accent))
            y -= _TITLE_SIZE * 1.15
        for line in subtitle_lines:
            pdf.text_right(frame.x_end, y + 2, line, Ink(ctx.regular, 10, style.muted))
            y -= 13

    return Block(height, draw)


@dataclass(frozen=True)
class _Line:
    text: str
    bold: bool = False
    muted: bool = False
    value: str = ""
    """The end of ``text`` that stays on one line (``VRN 40-012345-K`` after its label)."""


_MIN_TOKEN_SIZE = 6.5
"""How small an email address or website may print to stay on one line."""


def _line_parts(line: _Line, font: Font, size: float, width: float) -> tuple[list[str], float]:
    """How a line of an address column prints: its parts and their type size.

    A value never breaks away from itself: it goes under its label instead. An address or
    website (one word) prints in smaller type rather than break; only if it still does not
    fit does it break, after its ``@`` or a dot.
    """
    text = line.text
    if font.width(text, size) <= width:
        return [text], size
    if line.value and font.width(line.value, size) <= width:
        label = text.removesuffix(line.value).rstrip()
        return [*wrap(label, font, size, width), line.value], size
    if " " not in text:
        smaller = max(width / font.width(text, 1.0), _MIN_TOKEN_SIZE)
        if font.width(text, smaller) <= width + 1e-6:  # exactly as wide, but for rounding
            return [text], smaller
        local, at, domain = text.partition("@")
        halves = [local + at, domain]
        if at and all(font.width(half, smaller) <= width for half in halves):
            return halves, smaller  # the domain stays whole
        return wrap(text, font, smaller, width), smaller
    return wrap(text, font, size, width), size


def labelled(label: str, value: str) -> str:
    """``label value``, or the value alone when it starts with the label already (a tax
    number given as ``TIN 987-654-321`` under the label ``TIN``)."""
    if value.casefold().startswith(label.casefold() + " "):
        return value
    return f"{label} {value}"


def _labelled(label: str, value: str) -> _Line:
    return _Line(labelled(label, value), muted=True, value=value)


def _business_lines(ctx: RenderContext, business: Business) -> list[_Line]:
    words = ctx.words
    lines = [_Line(business.name, bold=True), *(_Line(line) for line in business.address)]
    if business.tax_number:
        lines.append(_labelled(words["tax_number"], business.tax_number))
    if business.registration_number:
        lines.append(_labelled(words["registration_number"], business.registration_number))
    lines += [_Line(email, muted=True) for email in business.emails[:1]]
    if business.phone:
        lines.append(_Line(business.phone, muted=True))
    return lines


def _party_lines(ctx: RenderContext, party: Party) -> list[_Line]:
    words = ctx.words
    lines = [_Line(party.name, bold=True)]
    if party.contact:
        lines.append(_Line(f"{words['attention']} {party.contact}"))
    lines += [_Line(line) for line in party.address]
    if party.tax_number:
        lines.append(_labelled(words["tax_number"], party.tax_number))
    lines += [_Line(email, muted=True) for email in party.emails[:1]]
    if party.phone:
        lines.append(_Line(party.phone, muted=True))
    return lines


def _period(ctx: RenderContext, start: object, end: object) -> str:
    fmt = ctx.fmt
    first = fmt.date(start) if start else ""  # type: ignore[arg-type]
    last = fmt.date(end) if end else ""  # type: ignore[arg-type]
    return f"{first} {EN_DASH} {last}".strip(f" {EN_DASH}")


def meta_pairs(ctx: RenderContext) -> list[tuple[str, str]]:
    """The label/value pairs of the document's number, dates and references."""
    document, words, fmt = ctx.document, ctx.words, ctx.fmt
    pairs: list[tuple[str, str]] = []
    if isinstance(document, Report):
        if document.period_start or document.period_end:
            period = _period(ctx, document.period_start, document.period_end)
            pairs.append((words["period"], period))
        pairs.append((words["prepared_on"], fmt.date(document.issue_date)))
        if document.number:
            pairs.append((words["number"], document.number))
        pairs.append((words["currency"], document.currency))
    else:
        pairs.append((words["number"], document.number))
    if isinstance(document, Statement):
        pairs.append((words["statement_date"], fmt.date(document.issue_date)))
        if document.period_start:
            end = document.period_end or document.issue_date
            pairs.append((words["period"], _period(ctx, document.period_start, end)))
    elif not isinstance(document, Report):
        pairs.append((words["issue_date"], fmt.date(document.issue_date)))
    if isinstance(document, SalesInvoice | PurchaseInvoice) and document.due_date:
        pairs.append((words["due_date"], fmt.date(document.due_date)))
    if isinstance(document, SalesQuote) and document.valid_until:
        pairs.append((words["valid_until"], fmt.date(document.valid_until)))
    if isinstance(document, SalesOrder | PurchaseOrder | DeliveryNote) and document.delivery_date:
        pairs.append((words["delivery_date"], fmt.date(document.delivery_date)))
    if isinstance(document, CreditNote | DebitNote) and document.invoice_number:
        pairs.append((words["invoice_number"], document.invoice_number))
    if isinstance(document, DeliveryNote) and document.order_number:
        pairs.append((words["order_number"], document.order_number))
    if document.party is not None and document.party.account_number:
        pairs.append((words["account_number"], document.party.account_number))
    if document.reference:
        pairs.append((words["reference"], document.reference))
    return pairs


def _meta_value(ctx: RenderContext, label: str, value: str, width: float) -> list[str]:
    """A value's lines in the meta panel: beside its label when it fits there, else under it.

    A date or a number is never broken ("11 Mac / 2025"): it moves to its own line, right
    aligned under its label; only a value wider than the panel (a long reference) wraps.
    """
    body = ctx.style.body
    if ctx.bold.width(value, body) <= width - ctx.regular.width(label, body) - 24:
        return [value]
    # The empty first line is the label's own: the value starts on the next one.
    return ["", *wrap(value, ctx.bold, body, width - 14)]


def addresses(ctx: RenderContext, highlight: Highlight | None) -> Block:
    """From, to (with a delivery address) and the meta data with the highlight, side by side."""
    style, frame, document, words = ctx.style, ctx.frame, ctx.document, ctx.words
    room = frame.content_width - 2 * GAP
    widths = (room * 0.315, room * 0.315, room * 0.37)
    body, line_height = style.body, style.line_height(style.body)
    heading_height = style.line_height(style.label) + 3
    columns: list[tuple[str, list[_Line]]] = [
        (words["from"], _business_lines(ctx, document.business))
    ]
    if document.party is not None:
        lines = _party_lines(ctx, document.party)
        address = getattr(document, "delivery_address", None)
        if address:
            lines += [_Line(""), _Line(words["deliver_to"], bold=True)]
            lines += [_Line(line) for line in address]
        columns.append((PARTY_ROLES[document.language][document.type], lines))
    wrapped = [
        [
            _line_parts(line, ctx.bold if line.bold else ctx.regular, body, widths[index] - 6)
            for line in lines
        ]
        for index, (_, lines) in enumerate(columns)
    ]
    # The meta data: labels on the left, values right-aligned.
    meta_width = widths[2]
    pairs = meta_pairs(ctx)
    values = [_meta_value(ctx, label, value, meta_width) for label, value in pairs]
    pair_gap = 1.0
    panel_height = sum(len(v) * line_height + pair_gap for v in values) + 8
    box_height = 36.0 if highlight else 0.0
    heights = [heading_height + sum(len(parts) for parts, _ in w) * line_height for w in wrapped]
    heights.append(panel_height + box_height)
    height = max(heights)

    def draw(pdf: PdfWriter, top: float) -> None:
        x = frame.left
        for (heading, lines), parts_of_lines, width in zip(columns, wrapped, widths, strict=False):
            pdf.text(
                x, top - style.label, heading.upper(), Ink(ctx.bold, style.label, style.accent)
            )
            y = top - heading_height - body * 0.93
            for line, (parts, size) in zip(lines, parts_of_lines, strict=True):
                font = ctx.bold if line.bold else ctx.regular
                color = style.muted if line.muted else style.ink
                for part in parts:
                    pdf.text(x, y, part, Ink(font, size, color))
                    y -= line_height
            x += width + GAP
        x = frame.x_end - meta_width
        pdf.rect(x, top - panel_height, meta_width, panel_height, style.tint)
        y = top - 5 - body * 0.93
        for (label, _), parts in zip(pairs, values, strict=True):
            pdf.text(x + 7, y, label, Ink(ctx.regular, body, style.muted))
            for part in parts:
                pdf.text_right(frame.x_end - 7, y, part, Ink(ctx.bold, body, style.ink))
                y -= line_height
            y -= pair_gap
        if highlight is not None:
            box_top = top - panel_height
            pdf.rect(x, box_top - box_height, meta_width, box_height, style.accent)
            pdf.text(x + 7, box_top - 11.5, highlight.label, Ink(ctx.regular, style.small, WHITE))
            # The whole amount, in smaller type when it is long: never "1,180,000,00…".
            amount = highlight.amount
            size = min(_AMOUNT_SIZE, (meta_width - 14) / ctx.bold.width(amount, 1.0))
            pdf.text_right(frame.x_end - 7, box_top - 28.5, amount, Ink(ctx.bold, size, WHITE))

    return Block(height, draw, space_before=20)


# Every page ---------------------------------------------------------------------------------

CONTINUATION_HEIGHT = 30.0


def draw_continuation(pdf: PdfWriter, ctx: RenderContext, top: float) -> None:
    """The top of pages after the first: the business's name and the document's."""
    style, frame = ctx.style, ctx.frame
    size = 9.0
    label = document_label(ctx.document)
    pdf.text_right(frame.x_end, top - size, label, Ink(ctx.bold, size, style.accent))
    room = frame.content_width - ctx.bold.width(label, size) - 20
    pdf.text(
        frame.left,
        top - size,
        fit(ctx.document.business.name, ctx.bold, size, room),
        Ink(ctx.bold, size, style.ink),
    )
    pdf.hline(frame.left, frame.x_end, top - size - 8, 0.6, style.rule)


def _footer_text(ctx: RenderContext, room: float) -> str:
    """The business's name and contacts, dropping the last ones that do not fit."""
    business = ctx.document.business
    parts = [business.name]
    if business.tax_number:
        parts.append(labelled(ctx.words["tax_number"], business.tax_number))
    parts += business.emails[:1]
    if business.phone:
        parts.append(business.phone)
    if business.website:
        parts.append(business.website)
    size = ctx.style.small
    while len(parts) > 1 and ctx.regular.width(" · ".join(parts), size) > room:
        parts.pop()
    return fit(" · ".join(parts), ctx.regular, size, room)


def draw_footer(pdf: PdfWriter, ctx: RenderContext, page: int, pages: int) -> None:
    """The business's contact line and "Page 2 of 3"."""
    style, frame = ctx.style, ctx.frame
    y = frame.bottom - 22
    pdf.hline(frame.left, frame.x_end, y + 11, 0.5, style.rule)
    label = ctx.words["page"].format(page=page, pages=pages)
    pdf.text_right(frame.x_end, y, label, Ink(ctx.regular, style.small, style.muted))
    room = frame.content_width - ctx.regular.width(label, style.small) - 20
    pdf.text(frame.left, y, _footer_text(ctx, room), Ink(ctx.regular, style.small, style.muted))
