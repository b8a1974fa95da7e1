"""Documents as print-ready PDF: A4 or US Letter, in the document's language and locale.

>>> pdf = render_pdf(invoice)          # A4, or Letter for en_US  # doctest: +SKIP
>>> pdf[:5]                                             # doctest: +SKIP
b'%PDF-'

The first page carries the letterhead (:mod:`~barua.documents.letterhead`), then comes the
body of the document (:mod:`~barua.documents.bodies`) and its closing: totals, terms, notes
and bank details (:mod:`~barua.documents.closing`). Every page has a footer with "Page 2 of
3"; tables repeat their header row on each page they continue on. The layout is computed
first (:mod:`~barua.documents.layout`), which gives the page count, then drawn in one pass.

Numbers are never shortened. A table whose numbers do not fit across the page even in
small type (a monthly profit and loss: twelve columns of millions) turns the whole document
to landscape; if they do not fit that way either, the document is refused with an error
naming the table.
"""

from __future__ import annotations

from datetime import datetime

from reportlab.lib.pagesizes import A4, LETTER  # type: ignore[import-untyped]

from barua.documents import messages
from barua.documents.bodies import body
from barua.documents.context import RenderContext, document_label
from barua.documents.errors import DocumentError
from barua.documents.fonts import document_fonts
from barua.documents.formatting import formatter
from barua.documents.labels import labels
from barua.documents.layout import MIN_SIZE, Frame, Page, Style, TableTooWide, paginate, parse_color
from barua.documents.letterhead import (
    CONTINUATION_HEIGHT,
    addresses,
    draw_continuation,
    draw_footer,
    masthead,
)
from barua.documents.models import AnyDocument
from barua.documents.paper import Paper
from barua.documents.pdf import Metadata, PdfWriter, load_logo
from barua.documents.printable import check_printable

_SIZES = {Paper.A4: A4, Paper.LETTER: LETTER}


def _context(document: AnyDocument, paper: Paper, *, landscape: bool = False) -> RenderContext:
    fonts = document_fonts()
    accent = document.business.accent_color
    style = Style(fonts=fonts, accent=parse_color(accent)) if accent else Style(fonts=fonts)
    width, height = _SIZES[paper]
    if landscape:
        width, height = height, width
    logo = load_logo(document.business.logo) if document.business.logo else None
    return RenderContext(
        document=document,
        style=style,
        frame=Frame(width=width, height=height),
        fmt=formatter(document.effective_locale, document.currency),
        words=labels(document.language),
        logo=logo,
    )


def _pages(ctx: RenderContext) -> list[Page]:
    highlight, blocks = body(ctx)
    top = ctx.frame.height - ctx.frame.top
    return paginate(
        [masthead(ctx), addresses(ctx, highlight), *blocks],
        first_top=top,
        next_top=top - CONTINUATION_HEIGHT,
        bottom=ctx.frame.bottom,
    )


def _paper(document: AnyDocument, paper: Paper | str | None) -> Paper:
    """The paper asked for, else the document's own, else its locale's country's."""
    return Paper(paper) if paper is not None else document.effective_paper


def _layout(document: AnyDocument, paper: Paper) -> tuple[RenderContext, list[Page]]:
    """The context and pages of ``document``: portrait, or landscape when a table needs it."""
    ctx = _context(document, paper)
    try:
        return ctx, _pages(ctx)
    except TableTooWide:
        pass
    ctx = _context(document, paper, landscape=True)
    try:
        return ctx, _pages(ctx)
    except TableTooWide as exc:
        problem = messages.TOO_WIDE(
            need=f"{exc.need:.0f}", size=f"{MIN_SIZE:g}", width=f"{exc.width:.0f}"
        )
        raise DocumentError({exc.path: problem}, hint=messages.TOO_WIDE_HINT()) from None


def count_pages(document: AnyDocument, *, paper: Paper | str | None = None) -> int:
    """How many pages ``document`` prints on, without drawing it."""
    return len(_layout(document, _paper(document, paper))[1])


def _metadata(ctx: RenderContext, created: datetime | None) -> Metadata:
    document = ctx.document
    label = document_label(document)
    party = document.party.name if document.party is not None else ""
    locale = ctx.fmt.locale
    return Metadata(
        title=label,
        author=document.business.name,
        subject=f"{label} \N{EN DASH} {party}" if party else label,
        created=created or datetime.now().astimezone(),
        language=f"{locale.language}-{locale.territory}" if locale.territory else locale.language,
        keywords=", ".join(part for part in (str(document.type), document.number or "") if part),
    )


def render_pdf(
    document: AnyDocument,
    *,
    paper: Paper | str | None = None,
    created: datetime | None = None,
) -> bytes:
    """``document`` as a PDF file.

    ``paper`` is ``a4`` or ``letter``; when absent, the document's own ``paper``, else the
    paper of its locale's country (:func:`~barua.documents.paper.paper_for`: Letter for
    ``en_US``, ``es_MX``, ``fr_CA``…, A4 elsewhere). It turns to landscape when a table's
    numbers need the width; ``created`` is the creation date written into the metadata (now
    when absent).
    Raises :class:`~barua.documents.errors.DocumentError` when the fonts or the logo cannot
    be read, a field holds characters the fonts cannot draw, or a table is too wide even in
    landscape.
    """
    check_printable(document)
    ctx, pages = _layout(document, _paper(document, paper))
    pdf = PdfWriter(pagesize=(ctx.frame.width, ctx.frame.height), metadata=_metadata(ctx, created))
    top = ctx.frame.height - ctx.frame.top
    for number, page in enumerate(pages, start=1):
        if number > 1:
            draw_continuation(pdf, ctx, top)
        for y, block in page.placed:
            block.draw(pdf, y)
        draw_footer(pdf, ctx, number, len(pages))
        pdf.end_page()
    return pdf.finish()
