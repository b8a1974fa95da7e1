"""The middle of each kind of document: its table and its totals, as layout blocks.

Priced documents (invoices, quotes, orders, notes, purchase documents) print their lines and
totals; delivery notes print quantities and signature lines; statements print the opening
balance, each transaction with the running balance, and the ageing; reports print their
tables and summary lines.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from barua.documents.closing import SummaryRow, closing_blocks, signature_block
from barua.documents.context import RenderContext
from barua.documents.layout import Align, Block, Column, Row, table_blocks
from barua.documents.letterhead import Highlight
from barua.documents.models import (
    ColumnKind,
    CreditNote,
    DebitNote,
    DeliveryLine,
    DeliveryNote,
    Language,
    Line,
    PricedDocument,
    PurchaseInvoice,
    Report,
    SalesInvoice,
    Statement,
)
from barua.documents.pdf import Ink, PdfWriter
from barua.documents.totals import (
    AGEING_BUCKETS,
    document_totals,
    round_money,
    statement_totals,
    table_totals,
)

Body = tuple[Highlight | None, list[Block]]
"""The highlighted amount for the letterhead, and the blocks under it."""


def _table(
    ctx: RenderContext,
    columns: list[Column],
    rows: list[Row],
    *,
    path: str,
    space_before: float,
    title: str | None = None,
) -> list[Block]:
    frame = ctx.frame
    return table_blocks(
        columns,
        rows,
        ctx.style,
        x=frame.left,
        width=frame.content_width,
        path=path,
        space_before=space_before,
        title=title,
    )


class _Quantities:
    """How a document prints a quantity with its unit: ``40 bags`` in English, ``mifuko 40``
    in Kiswahili (the unit first, in the plural). A Kiswahili document that does not give
    every plural it needs prints its units in a column of their own (``Kipimo``) instead."""

    def __init__(self, ctx: RenderContext, lines: Sequence[Line | DeliveryLine]) -> None:
        self.fmt = ctx.fmt
        self.unit_first = ctx.document.language is Language.SW
        self.own_column = self.unit_first and any(
            line.unit and not line.unit_plural for line in lines
        )

    def __call__(self, quantity: Decimal, line: Line | DeliveryLine) -> str:
        number = self.fmt.number(quantity)
        if not line.unit or self.own_column:
            return number
        if not self.unit_first:
            return f"{number} {line.unit}"
        unit = line.unit if quantity == 1 else (line.unit_plural or line.unit)
        return f"{unit} {number}"


def priced_body(ctx: RenderContext, document: PricedDocument) -> Body:
    """Lines with quantity, price, discount and tax; totals down to the balance due."""
    fmt, words = ctx.fmt, ctx.words
    totals = document_totals(document)
    any_discount = any(line.discount_percent for line in document.lines)
    any_tax = any(line.tax_rate for line in document.lines)
    quantity_of = _Quantities(ctx, document.lines)
    columns = [
        Column(words["line_number"], "right"),
        Column(words["description"], flex=True),
        Column(words["quantity"], "right"),
    ]
    if quantity_of.own_column:
        columns.append(Column(words["unit"]))
    columns.append(Column(words["unit_price"], "right"))
    if any_discount:
        columns.append(Column(words["discount"], "right"))
    if any_tax:
        columns.append(Column(words["tax_rate"], "right"))
    columns.append(Column(f"{words['amount']} ({document.currency})", "right"))
    rows: list[Row] = []
    for number, (line, amount) in enumerate(zip(document.lines, totals.lines, strict=True), 1):
        cells = [str(number), line.description, quantity_of(line.quantity, line)]
        if quantity_of.own_column:
            cells.append(line.unit or "")
        cells.append(fmt.price(line.unit_price))
        if any_discount:
            cells.append(fmt.percent(line.discount_percent) if line.discount_percent else "")
        if any_tax:
            cells.append(fmt.percent(line.tax_rate))
        cells.append(fmt.amount(amount.net))
        rows.append(Row(cells, notes={1: line.code} if line.code else {}))

    credit = isinstance(document, CreditNote)
    tax_name = document.tax_name or words["tax"]
    # Without tax the subtotal is the total: print it once.
    summary = [SummaryRow(words["subtotal"], fmt.money(totals.subtotal))] if totals.taxes else []
    # Each rate with its base, as an accountant checks it: "VAT 18% on 6,182.00".
    summary += [
        SummaryRow(
            words["tax_on"].format(
                tax=tax_name, rate=fmt.percent(tax.rate), base=fmt.amount(tax.base)
            ),
            fmt.money(tax.tax),
        )
        for tax in totals.taxes
    ]
    bills = isinstance(document, SalesInvoice | PurchaseInvoice | DebitNote)
    show_balance = bills or bool(totals.amount_paid)
    total_label = words["total_credit"] if credit else words["total"]
    summary.append(
        SummaryRow(total_label, fmt.money(totals.total), "total" if show_balance else "due")
    )
    if totals.amount_paid:
        paid_label = words["amount_refunded"] if credit else words["amount_paid"]
        summary.append(SummaryRow(paid_label, fmt.money(-totals.amount_paid)))
    if show_balance:
        balance, balance_label = totals.balance_due, words["balance_due"]
        if credit:
            balance_label = words["credit_remaining"]
        elif balance < 0:
            # Overpaid: what the party has in credit, not a negative amount "due".
            balance, balance_label = -balance, words["credit_balance"]
        summary.append(SummaryRow(balance_label, fmt.money(balance), "due"))
    highlight = Highlight(summary[-1].label, summary[-1].amount)
    blocks = [
        *_table(ctx, columns, rows, path="lines", space_before=20),
        *closing_blocks(ctx, summary),
    ]
    return highlight, blocks


def delivery_body(ctx: RenderContext, document: DeliveryNote) -> Body:
    """What was delivered, how many (of how many ordered), and lines to sign."""
    words = ctx.words
    ordered = any(line.quantity_ordered is not None for line in document.lines)
    columns = [Column(words["line_number"], "right"), Column(words["description"], flex=True)]
    if ordered:
        columns.append(Column(words["quantity_ordered"], "right"))
    columns.append(Column(words["quantity_delivered"] if ordered else words["quantity"], "right"))
    quantity_of = _Quantities(ctx, document.lines)
    if quantity_of.own_column:
        columns.append(Column(words["unit"]))
    rows: list[Row] = []
    for number, line in enumerate(document.lines, start=1):
        cells = [str(number), line.description]
        if ordered:
            wanted = line.quantity_ordered
            cells.append(quantity_of(wanted, line) if wanted is not None else "")
        cells.append(quantity_of(line.quantity, line))
        if quantity_of.own_column:
            cells.append(line.unit or "")
        rows.append(Row(cells, notes={1: line.code} if line.code else {}))
    blocks = [
        *_table(ctx, columns, rows, path="lines", space_before=20),
        *closing_blocks(ctx, []),
    ]
    blocks.append(signature_block(ctx))
    return None, blocks


def statement_body(ctx: RenderContext, document: Statement) -> Body:
    """Opening balance, transactions with the running balance, closing balance, ageing."""
    fmt, words, frame, style = ctx.fmt, ctx.words, ctx.frame, ctx.style
    totals = statement_totals(document)
    columns = [
        Column(words["date"]),
        Column(words["reference"]),
        Column(words["description"], flex=True),
        Column(words["debit"], "right"),
        Column(words["credit"], "right"),
        Column(f"{words['balance']} ({document.currency})", "right"),
    ]
    opening_date = fmt.date(document.period_start) if document.period_start else ""
    opening = fmt.amount(totals.opening_balance)
    rows = [Row([opening_date, "", words["opening_balance"], "", "", opening], kind="emphasis")]
    for row in totals.rows:
        entry = row.transaction
        rows.append(
            Row(
                [
                    fmt.date(entry.date),
                    entry.reference or "",
                    entry.description,
                    fmt.amount(row.debit) if row.debit else "",
                    fmt.amount(row.credit) if row.credit else "",
                    fmt.amount(row.balance),
                ]
            )
        )
    closing = [
        "",
        "",
        words["closing_balance"],
        fmt.amount(totals.total_debit),
        fmt.amount(totals.total_credit),
        fmt.amount(totals.closing_balance),
    ]
    rows.append(Row(closing, kind="total"))

    keys = (*AGEING_BUCKETS, "total_due")
    amounts = [*totals.ageing.buckets(), totals.ageing.total]
    cell = frame.content_width / len(keys)
    band = 32.0
    heading = style.line_height(style.label) + 3

    def draw_ageing(pdf: PdfWriter, top: float) -> None:
        pdf.text(
            frame.left,
            top - style.label,
            words["ageing"].upper(),
            Ink(ctx.bold, style.label, style.accent),
        )
        band_top = top - heading
        pdf.rect(frame.left, band_top - band, frame.content_width, band, style.tint)
        # Labels first, then amounts: text extraction and screen readers get two clean rows.
        label_ink = Ink(ctx.regular, style.small, style.muted)
        for index, key in enumerate(keys):
            right = frame.left + (index + 1) * cell - 8
            pdf.text_right(right, band_top - 11, words[key], label_ink)
        # Every amount whole: long ones print the row in smaller type, all alike.
        texts = [fmt.amount(amount) for amount in amounts]
        widest = max(ctx.bold.width(text, style.body + 0.8) for text in texts)
        scale = min(1.0, (cell - 12) / widest)
        amount_ink = Ink(ctx.bold, style.body * scale, style.ink)
        total_ink = Ink(ctx.bold, (style.body + 0.8) * scale, style.accent)
        for index, text in enumerate(texts):
            right = frame.left + (index + 1) * cell - 8
            ink = total_ink if index == len(texts) - 1 else amount_ink
            pdf.text_right(right, band_top - 24.5, text, ink)

    blocks = [
        *_table(ctx, columns, rows, path="transactions", space_before=20),
        Block(heading + band, draw_ageing, space_before=18),
        *closing_blocks(ctx, []),
    ]
    closing_balance = totals.closing_balance
    highlight = (
        Highlight(words["credit_balance"], fmt.money(-closing_balance))
        if closing_balance < 0
        else Highlight(words["amount_due"], fmt.money(closing_balance))
    )
    return highlight, blocks


_ALIGN: dict[ColumnKind, Align] = {
    ColumnKind.TEXT: "left",
    ColumnKind.DATE: "left",
    ColumnKind.MONEY: "right",
    ColumnKind.NUMBER: "right",
    ColumnKind.PERCENT: "right",
}


def _cell(ctx: RenderContext, value: object, kind: ColumnKind) -> str:
    fmt = ctx.fmt
    if value is None:
        return ""
    if isinstance(value, Decimal):
        if kind is ColumnKind.MONEY:
            return fmt.amount(value)
        if kind is ColumnKind.PERCENT:
            return fmt.percent(value)
        return fmt.number(value)
    if isinstance(value, dt.date):
        return fmt.date(value)
    return str(value)


def report_body(ctx: RenderContext, document: Report) -> Body:
    """Each table with its title and totals row, then the summary lines."""
    fmt, words = ctx.fmt, ctx.words
    blocks: list[Block] = []
    for number, table in enumerate(document.tables):
        columns = [
            Column(column.label, _ALIGN[column.kind], flex=column.kind is ColumnKind.TEXT)
            for column in table.columns
        ]
        if not any(column.flex for column in columns):
            columns[0].flex = True
        rows = [
            Row([_cell(ctx, value, c.kind) for value, c in zip(row, table.columns, strict=True)])
            for row in table.rows
        ]
        if table.show_totals:
            sums = table_totals(table, document.currency)
            cells = [
                _cell(ctx, value, column.kind)
                for value, column in zip(sums, table.columns, strict=True)
            ]
            label_at = next((i for i, c in enumerate(table.columns) if not c.totalled), None)
            if label_at is not None:
                cells[label_at] = words["total"]
            rows.append(Row(cells, kind="total"))
        blocks += _table(
            ctx,
            columns,
            rows,
            path=f"tables[{number}]",
            space_before=24 if number else 20,
            title=table.title,
        )
    summary = [
        SummaryRow(
            line.label,
            fmt.money(round_money(line.amount, document.currency)),
            "due" if line.emphasis else "normal",
        )
        for line in document.summary
    ]
    blocks += closing_blocks(ctx, summary)
    return None, blocks


def body(ctx: RenderContext) -> Body:
    """The body of whatever ``ctx.document`` is."""
    document = ctx.document
    if isinstance(document, Statement):
        return statement_body(ctx, document)
    if isinstance(document, DeliveryNote):
        return delivery_body(ctx, document)
    if isinstance(document, Report):
        return report_body(ctx, document)
    return priced_body(ctx, document)
