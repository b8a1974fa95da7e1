"""How fast barua renders documents, side by side with the usual ways of making a PDF in Python.

    .venv/bin/python bench/documents_render.py            (bench/install-deps installs the rest)

bench/documents_email.py prints the same table before its end-to-end emailing runs.

Everything runs pinned to one CPU core, in one process, on the same invoice
(examples/invoice.json: 20 lines, a logo, totals, notes, bank details, "Page 1 of 1") and the
same 20-page statement:

* barua: ReportLab's canvas with the layout computed first (barua.documents.render_pdf);
* ReportLab platypus, written the straightforward way (SimpleDocTemplate, Table, Paragraph,
  a canvas that numbers "Page x of y"), fonts registered once;
* fpdf2, the straightforward way (fonts added to each document, as its docs show);
* WeasyPrint, from HTML and CSS.

The baselines receive the documents' strings already formatted (amounts, dates): only their
rendering is timed, while barua's time includes formatting and totals too. The same goes for
a 20-page statement (examples/statement.json's transactions repeated until barua prints 20
pages; the baselines print the same lines, running balances, totals and ageing, on however
many pages their layout takes, shown in the table). Each renderer's output is checked to
contain the document's number and its balance, so no one wins by printing less.
"""

from __future__ import annotations

import argparse
import html
import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF
from pypdf import PdfReader
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from weasyprint import HTML

from barua.documents import (
    SalesInvoice,
    Statement,
    Transaction,
    count_pages,
    document_totals,
    font_dir,
    load_document,
    render_pdf,
    statement_totals,
)
from barua.documents.formatting import formatter

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


# The invoice as strings, for the baselines ----------------------------------------------------


@dataclass
class View:
    """A document as the strings the baselines print: the same for all of them."""

    title: str
    number: str
    business: list[str]
    party: list[str]
    meta: list[tuple[str, str]]
    header: list[str]
    rows: list[list[str]]
    totals: list[tuple[str, str]]
    notes: list[tuple[str, str]]
    bank: list[str]
    logo: Path
    balance_due: str
    widths: tuple[int, ...]
    """The line table's column widths in points (505 in all, A4's width between margins)."""


def invoice_view(invoice: SalesInvoice) -> View:
    fmt = formatter(invoice.effective_locale, invoice.currency)
    totals = document_totals(invoice)
    rows = [
        [
            str(i),
            line.description,
            fmt.number(line.quantity) + (f" {line.unit}" if line.unit else ""),
            fmt.price(line.unit_price),
            fmt.percent(line.discount_percent) if line.discount_percent else "",
            fmt.percent(line.tax_rate),
            fmt.amount(amount.net),
        ]
        for i, (line, amount) in enumerate(zip(invoice.lines, totals.lines, strict=True), 1)
    ]
    business, party = invoice.business, invoice.party
    bank = business.bank_accounts[0]
    assert invoice.due_date is not None and business.logo is not None
    return View(
        title="Invoice",
        number=invoice.number,
        business=[business.name, *business.address, f"Tax no. {business.tax_number}"],
        party=[party.name, *party.address, f"Tax no. {party.tax_number}"],
        meta=[
            ("Number", invoice.number),
            ("Date", fmt.date(invoice.issue_date)),
            ("Due date", fmt.date(invoice.due_date)),
            ("Reference", invoice.reference or ""),
        ],
        header=["#", "Description", "Qty", "Unit price", "Disc.", "Tax", "Amount"],
        rows=rows,
        totals=[
            ("Subtotal", fmt.money(totals.subtotal)),
            *((f"VAT {fmt.percent(t.rate)}", fmt.money(t.tax)) for t in totals.taxes),
            ("Total", fmt.money(totals.total)),
            ("Amount paid", fmt.money(-totals.amount_paid)),
            ("Balance due", fmt.money(totals.balance_due)),
        ],
        notes=[("Payment terms", invoice.payment_terms or ""), ("Notes", invoice.notes or "")],
        bank=[
            f"{bank.bank_name}, {bank.branch}",
            f"Account no. {bank.account_number}",
            f"SWIFT/BIC {bank.swift}",
        ],
        logo=Path(business.logo),
        balance_due=fmt.money(totals.balance_due),
        widths=(18, 237, 55, 55, 40, 40, 60),
    )


def statement_view(statement: Statement) -> View:
    """The statement's strings: a line per transaction with its running balance, then the
    totals and the ageing, as barua prints them."""
    fmt = formatter(statement.effective_locale, statement.currency)
    totals = statement_totals(statement)
    rows = [
        [
            str(i),
            row.transaction.description,
            fmt.date(row.transaction.date),
            row.transaction.reference or "",
            fmt.amount(row.debit) if row.debit else "",
            fmt.amount(row.credit) if row.credit else "",
            fmt.amount(row.balance),
        ]
        for i, row in enumerate(totals.rows, 1)
    ]
    business, party = statement.business, statement.party
    bank = business.bank_accounts[0]
    assert business.logo is not None
    ageing = ("Current", "1-30 days", "31-60 days", "61-90 days", "Over 90 days")
    return View(
        title="Statement",
        number=statement.number,
        business=[business.name, *business.address, f"Tax no. {business.tax_number}"],
        party=[party.name, *party.address],
        meta=[
            ("Number", statement.number),
            ("Date", fmt.date(statement.issue_date)),
            ("Account", party.account_number or ""),
        ],
        header=["#", "Description", "Date", "Reference", "Debit", "Credit", "Balance"],
        rows=rows,
        totals=[
            ("Opening balance", fmt.money(totals.opening_balance)),
            ("Charges", fmt.money(totals.total_debit)),
            ("Payments and credits", fmt.money(-totals.total_credit)),
            ("Closing balance", fmt.money(totals.closing_balance)),
            *zip(ageing, map(fmt.money, totals.ageing.buckets()), strict=True),
        ],
        notes=[("Payment terms", statement.payment_terms or "")],
        bank=[
            f"{bank.bank_name}, {bank.branch}",
            f"Account no. {bank.account_number}",
            f"SWIFT/BIC {bank.swift}",
        ],
        logo=Path(business.logo),
        balance_due=fmt.money(totals.closing_balance),
        widths=(18, 183, 52, 56, 62, 62, 72),
    )


# ReportLab platypus, straightforward ----------------------------------------------------------


def platypus_renderer(view: View) -> Callable[[], bytes]:
    fonts = font_dir()
    pdfmetrics.registerFont(TTFont("BenchSans", str(fonts / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont("BenchSans-Bold", str(fonts / "DejaVuSans-Bold.ttf")))
    body = ParagraphStyle("body", fontName="BenchSans", fontSize=8.6, leading=11.5)
    bold = ParagraphStyle("bold", parent=body, fontName="BenchSans-Bold")
    right = ParagraphStyle("right", parent=body, alignment=TA_RIGHT)
    title = ParagraphStyle(
        "title",
        fontName="BenchSans-Bold",
        fontSize=21,
        leading=25,
        alignment=TA_RIGHT,
        textColor=colors.HexColor("#1A4A73"),
    )

    class NumberedCanvas(canvas.Canvas):  # the classic "Page x of y" recipe
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            self._saved: list[dict[str, object]] = []

        def showPage(self) -> None:
            self._saved.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            for state in self._saved:
                self.__dict__.update(state)
                self.setFont("BenchSans", 7.4)
                self.drawRightString(
                    A4[0] - 46, 30, f"Page {self._pageNumber} of {len(self._saved)}"
                )
                super().showPage()
            super().save()

    def render() -> bytes:
        buffer = io.BytesIO()
        doc = SimpleDocTemplate(
            buffer,
            pagesize=A4,
            leftMargin=16 * mm,
            rightMargin=16 * mm,
            topMargin=15 * mm,
            bottomMargin=18 * mm,
            title=f"{view.title} {view.number}",
        )
        story: list[object] = []
        logo = Image(str(view.logo), width=190, height=55)
        story.append(Table([[logo, Paragraph(view.title, title)]], colWidths=[250, 255]))
        story.append(Spacer(1, 14))
        meta = "<br/>".join(f"{k}: <b>{html.escape(v)}</b>" for k, v in view.meta)
        story.append(
            Table(
                [
                    [
                        Paragraph("<br/>".join(map(html.escape, view.business)), body),
                        Paragraph("<br/>".join(map(html.escape, view.party)), body),
                        Paragraph(meta, body),
                    ]
                ],
                colWidths=[168, 168, 169],
            )
        )
        story.append(Spacer(1, 14))
        data = [view.header]
        for row in view.rows:
            data.append([row[0], Paragraph(html.escape(row[1]), body), *row[2:]])
        table = Table(data, colWidths=list(view.widths), repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("FONT", (0, 0), (-1, 0), "BenchSans-Bold", 7.4),
                    ("FONT", (0, 1), (-1, -1), "BenchSans", 8.6),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#1A4A73")),
                    ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
                    ("ALIGN", (2, 0), (-1, -1), "RIGHT"),
                    ("LINEBELOW", (0, 1), (-1, -1), 0.5, colors.HexColor("#D4D8DE")),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        story.append(table)
        story.append(Spacer(1, 12))
        totals = Table(
            [[Paragraph(k, body), Paragraph(v, right)] for k, v in view.totals],
            colWidths=[140, 96],
            hAlign="RIGHT",
        )
        story.append(totals)
        for heading, text in view.notes:
            story.append(Paragraph(heading, bold))
            story.append(Paragraph(html.escape(text), body))
        story.append(Paragraph("Bank details", bold))
        story.append(Paragraph("<br/>".join(view.bank), body))
        doc.build(story, canvasmaker=NumberedCanvas)
        return buffer.getvalue()

    return render


# fpdf2, straightforward -----------------------------------------------------------------------


def fpdf_renderer(view: View) -> Callable[[], bytes]:
    fonts = font_dir()

    class NumberedPDF(FPDF):  # fpdf2's way to print "Page x of y" on every page
        def footer(self) -> None:
            self.set_y(-14)
            self.set_font("DejaVu", "", 7.4)
            self.cell(0, 4, f"Page {self.page_no()} of {{nb}}", align="R")

    def render() -> bytes:
        pdf = NumberedPDF(format="A4")
        pdf.add_font("DejaVu", "", str(fonts / "DejaVuSans.ttf"))
        pdf.add_font("DejaVu", "B", str(fonts / "DejaVuSans-Bold.ttf"))
        pdf.set_title(f"{view.title} {view.number}")
        pdf.alias_nb_pages()
        pdf.set_auto_page_break(True, margin=18)
        pdf.add_page()
        pdf.image(str(view.logo), x=16, y=15, w=67)
        pdf.set_font("DejaVu", "B", 21)
        pdf.set_xy(120, 15)
        pdf.cell(74, 10, view.title, align="R")
        pdf.set_font("DejaVu", "", 8.6)
        y = 40
        for x, lines in (
            (16, view.business),
            (76, view.party),
            (136, [f"{k}: {v}" for k, v in view.meta]),
        ):
            pdf.set_xy(x, y)
            pdf.multi_cell(58, 4.2, "\n".join(lines))
        pdf.set_y(80)
        with pdf.table(
            col_widths=view.widths,
            text_align=("RIGHT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"),
            line_height=4.6,
            first_row_as_headings=True,
        ) as table:
            for row in [view.header, *view.rows]:
                cells = table.row()
                for value in row:
                    cells.cell(value)
        pdf.ln(3)
        for label, amount in view.totals:
            pdf.set_x(120)
            pdf.cell(40, 5, label)
            pdf.cell(34, 5, amount, align="R", new_x="LMARGIN", new_y="NEXT")
        for heading, text in view.notes:
            pdf.set_font("DejaVu", "B", 8)
            pdf.cell(0, 5, heading, new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("DejaVu", "", 8.6)
            pdf.multi_cell(0, 4.2, text, new_x="LMARGIN", new_y="NEXT")
        pdf.multi_cell(0, 4.2, "\n".join(view.bank), new_x="LMARGIN", new_y="NEXT")
        return bytes(pdf.output())

    return render


# WeasyPrint -----------------------------------------------------------------------------------

_CSS = """
@page { size: A4; margin: 15mm 16mm 18mm;
        @bottom-right { content: "Page " counter(page) " of " counter(pages);
                        font: 7.4pt "DejaVu Sans"; color: #666; } }
body { font: 8.6pt/1.3 "DejaVu Sans"; color: #1f2129; } p { margin: 6pt 0; }
.head { display: flex; justify-content: space-between; }
h1 { color: #1A4A73; font-size: 21pt; margin: 0; }
.cols { display: flex; gap: 18pt; margin: 12pt 0; } .cols div { flex: 1; }
table { width: 100%; border-collapse: collapse; }
th { background: #1A4A73; color: white; font-size: 7.4pt; text-align: left; padding: 4pt 5pt; }
td { padding: 2.5pt 5pt; border-bottom: 0.5pt solid #d4d8de; vertical-align: top; }
td.n, th.n { text-align: right; } thead { display: table-header-group; }
.totals { width: 236pt; margin: 12pt 0 0 auto; } .totals td { border: none; }
"""


def weasyprint_renderer(view: View) -> Callable[[], bytes]:
    def esc(value: str) -> str:
        return html.escape(value)

    head = "".join(
        f'<th class="{"n" if i > 1 else ""}">{esc(h)}</th>' for i, h in enumerate(view.header)
    )
    rows = "".join(
        "<tr>"
        + "".join(f'<td class="{"n" if i > 1 else ""}">{esc(c)}</td>' for i, c in enumerate(r))
        + "</tr>"
        for r in view.rows
    )
    totals = "".join(
        f'<tr><td>{esc(k)}</td><td class="n">{esc(v)}</td></tr>' for k, v in view.totals
    )
    title = esc(view.title)
    document = f"""<html><head><meta charset="utf-8"><title>{title} {esc(view.number)}</title>
<style>{_CSS}</style></head><body>
<div class="head"><img src="{view.logo.as_uri()}" style="height:55pt"><h1>{title}</h1></div>
<div class="cols"><div>{"<br>".join(map(esc, view.business))}</div>
<div>{"<br>".join(map(esc, view.party))}</div>
<div>{"<br>".join(f"{esc(k)}: <b>{esc(v)}</b>" for k, v in view.meta)}</div></div>
<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>
<table class="totals">{totals}</table>
{"".join(f"<p><b>{esc(h)}</b><br>{esc(t)}</p>" for h, t in view.notes)}
<p><b>Bank details</b><br>{"<br>".join(map(esc, view.bank))}</p>
</body></html>"""

    def render() -> bytes:
        return HTML(string=document).write_pdf()

    return render


# Measuring ------------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    median: float
    p95: float
    runs: int
    pages: int
    size_kb: float


def measure(name: str, render: Callable[[], bytes], *, runs: int, check: tuple[str, ...]) -> Result:
    """Median and 95th percentile of ``runs`` renderings, after one checked warm-up."""
    output = render()  # warm up: imports, font registration, caches
    pages = PdfReader(io.BytesIO(output)).pages
    text = " ".join(page.extract_text() for page in pages)
    missing = [word for word in check if word not in text]
    if missing:
        sys.exit(f"{name}: the PDF lacks {missing}")
    times: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        render()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return Result(name, statistics.median(times), p95, runs, len(pages), len(output) / 1024)


def long_statement(pages: int) -> Statement:
    """The example statement, its transactions repeated until it prints on ``pages`` pages."""
    base = load_document(EXAMPLES / "statement.json")
    assert isinstance(base, Statement)
    transactions: list[Transaction] = []
    while True:
        transactions.extend(base.transactions)
        statement = base.model_copy(update={"transactions": transactions})
        if count_pages(statement) >= pages:
            break
    while count_pages(statement) > pages:
        transactions.pop()
        statement = base.model_copy(update={"transactions": transactions})
    return statement


@dataclass
class Row:
    """One renderer's two documents."""

    name: str
    invoice: Result
    statement: Result


# How many renderings each median is of: fewer for the slow renderers and the long document.
RUNS = {"barua": (300, 20), "platypus": (40, 10), "fpdf2": (12, 4), "weasyprint": (12, 4)}


def measure_all(*, quick: bool = False) -> list[Row]:
    """Every renderer on the one-page invoice and on a 20-page statement, barua first, on the
    current CPU core. ``quick``: two renderings each, to check that the benchmark works."""
    invoice = load_document(EXAMPLES / "invoice.json")
    assert isinstance(invoice, SalesInvoice)
    statement = long_statement(20)
    views = invoice_view(invoice), statement_view(statement)
    checks = [(view.number, view.balance_due.replace("\xa0", " ")) for view in views]
    renderers: list[tuple[str, str, Callable[[View], Callable[[], bytes]]]] = [
        ("barua (ReportLab canvas, layout first)", "barua", lambda _: lambda: b""),
        ("ReportLab platypus, straightforward", "platypus", platypus_renderer),
        ("fpdf2, straightforward", "fpdf2", fpdf_renderer),
        ("WeasyPrint (HTML + CSS)", "weasyprint", weasyprint_renderer),
    ]
    rows: list[Row] = []
    for name, key, make in renderers:
        if key == "barua":
            renders = [lambda: render_pdf(invoice), lambda: render_pdf(statement)]
        else:
            renders = [make(view) for view in views]
        results = [
            measure(name, render, runs=2 if quick else runs, check=check)
            for render, runs, check in zip(renders, RUNS[key], checks, strict=True)
        ]
        rows.append(Row(name, *results))
    return rows


def print_table(rows: list[Row]) -> None:
    """The side-by-side table, in Markdown, and the verdict on the issue's target."""
    first = rows[0]
    print(
        f"| {'renderer':40} | invoice ms | p95 ms | statement ms | pages "
        f"| x barua, invoice | x barua, statement |"
    )
    print(f"|{'-' * 42}|------------|--------|--------------|-------|{'-' * 18}|{'-' * 20}|")
    for row in rows:
        inv, long = row.invoice, row.statement
        print(
            f"| {row.name:40} | {inv.median:10.1f} | {inv.p95:6.1f} | {long.median:12.1f} "
            f"| {long.pages:5d} | {inv.median / first.invoice.median:15.1f}x "
            f"| {long.median / first.statement.median:17.1f}x |"
        )
    barua, weasy = first.invoice.median, rows[-1].invoice.median
    target = 15.0
    verdict = "met" if barua <= target and weasy / barua >= 15 else "NOT met"
    print(
        f"\nTarget (one-page invoice <= {target:.0f} ms median, >= 15x faster than WeasyPrint): "
        f"{verdict}, {barua:.1f} ms, {weasy / barua:.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="two renderings each (a check)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    rows = measure_all(quick=args.quick)
    print(
        f"Rendering on one core, A4, Python {sys.version.split()[0]}: a one-page invoice "
        f"(20 lines, logo) and a 20-page statement, median ms"
    )
    print_table(rows)


if __name__ == "__main__":
    main()
