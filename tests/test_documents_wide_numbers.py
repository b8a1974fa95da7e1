"""Numbers are printed whole: smaller type, then landscape, then a refusal naming the table.

A monthly profit and loss (a text column and eleven columns of TSh millions) printed
"123,456,…" in every cell, and the balance box cut a billion shillings to
"TSh 1,180,000,00…". Tests read the text back and look for every amount in full.
"""

from __future__ import annotations

import io
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from barua.documents import (
    DocumentError,
    Language,
    Line,
    Report,
    SalesInvoice,
    Statement,
    count_pages,
    load_document,
    parse_document,
    render_pdf,
)
from tests.conftest import words

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov"]


def read(pdf: bytes) -> tuple[str, list[tuple[float, float]]]:
    """The text of every page, and each page's width and height."""
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(page.extract_text() for page in reader.pages)
    sizes = [(float(page.mediabox.width), float(page.mediabox.height)) for page in reader.pages]
    return re.sub(r"\s+", " ", text), sizes


def profit_and_loss(amount: str, *, months: int = 11) -> Report:
    business = load_document(EXAMPLES / "invoice-sw.json").business
    rows: list[list[Any]] = [
        [name, *[amount] * months]
        for name in ("Mauzo", "Gharama za mauzo", "Mishahara", "Kodi ya pango", "Umeme na maji")
    ]
    data = {
        "type": "report",
        "title": "Faida na hasara",
        "language": "sw",
        "currency": "TZS",
        "issue_date": "2025-12-05",
        "business": business.model_dump(mode="json", exclude_none=True),
        "tables": [
            {
                "title": "Kwa mwezi",
                "columns": [
                    {"label": "Akaunti", "kind": "text"},
                    *[{"label": month, "kind": "money"} for month in MONTHS[:months]],
                ],
                "rows": rows,
                "show_totals": True,
            }
        ],
    }
    document = parse_document(data)
    assert isinstance(document, Report)
    return document


def test_a_monthly_profit_and_loss_prints_every_amount_whole_in_landscape() -> None:
    text, sizes = read(render_pdf(profit_and_loss("1234567")))
    assert "…" not in text
    # Five rows of eleven amounts, and the totals row: five times the amount in each month.
    assert text.count("1,234,567.00") == 5 * 11
    assert text.count("6,172,835.00") == 11
    assert all(width > height for width, height in sizes), "landscape, to fit the columns"


def test_a_table_that_fits_upright_stays_upright() -> None:
    text, sizes = read(render_pdf(profit_and_loss("1234567", months=6)))
    assert text.count("1,234,567.00") == 5 * 6 and "…" not in text
    assert all(width < height for width, height in sizes)


def test_a_table_too_wide_even_in_landscape_is_refused_by_name() -> None:
    too_wide = profit_and_loss("999999999999999")  # the most digits a number may have
    with pytest.raises(DocumentError) as caught:
        render_pdf(too_wide)
    [(path, problem)] = words(caught.value.problems).items()
    assert path == "tables[0]"
    assert problem.startswith("has too many wide columns to print without shortening numbers")
    assert caught.value.hint is not None and "Split the table" in caught.value.hint
    with pytest.raises(DocumentError):
        count_pages(too_wide)


def billion_shilling_invoice() -> SalesInvoice:
    document = load_document(EXAMPLES / "invoice-sw.json")
    assert isinstance(document, SalesInvoice)
    line = Line(description="Ujenzi wa hoteli", quantity=Decimal(1), unit_price=Decimal(10**9))
    return document.model_copy(
        update={"lines": [line], "amount_paid": Decimal(0), "tax_name": None}
    )


def test_the_balance_box_and_totals_print_a_billion_whole() -> None:
    document = billion_shilling_invoice()
    text, sizes = read(render_pdf(document))
    assert "…" not in text
    # In the box under the dates, and as the last line of the totals.
    assert text.count("TSh 1,000,000,000.00") >= 3  # subtotal, total, balance due
    assert "Salio linalodaiwa TSh 1,000,000,000.00" in text
    assert all(width < height for width, height in sizes)


@pytest.mark.parametrize("language", list(Language))
def test_a_trillion_in_the_balance_box_shrinks_its_type_not_its_digits(
    language: Language,
) -> None:
    line = (
        billion_shilling_invoice()
        .lines[0]
        .model_copy(update={"unit_price": Decimal("1180000000000.00")})
    )
    document = billion_shilling_invoice().model_copy(
        update={"lines": [line], "language": language, "locale": "sw_TZ"}
    )
    text, _ = read(render_pdf(document))
    assert "…" not in text
    assert text.count("TSh 1,180,000,000,000.00") >= 3


def test_a_statement_ageing_band_prints_large_amounts_whole() -> None:
    statement = load_document(EXAMPLES / "statement.json")
    assert isinstance(statement, Statement)
    big = statement.model_copy(update={"opening_balance": Decimal("98765432101.25")})
    text, _ = read(render_pdf(big))
    assert "…" not in text
    assert "98,765,432,101.25" in text
