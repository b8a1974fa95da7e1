"""Totals: exact decimals, the currency's rounding, tax per rate, statements and ageing."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal as D
from typing import Any

import pytest
from pypdf import PdfReader

from barua.documents import (
    Line,
    ReportTable,
    Statement,
    compute_totals,
    currency_digits,
    render_pdf,
    round_money,
    statement_totals,
    table_totals,
)
from barua.documents.totals import age_balances

BUSINESS = {"name": "Baobab Studio Ltd"}
PARTY = {"name": "Café Zürich AG"}


def line(price: str, quantity: str = "1", *, tax: str = "0", discount: str = "0") -> Line:
    return Line(
        description="item",
        quantity=D(quantity),
        unit_price=D(price),
        tax_rate=D(tax),
        discount_percent=D(discount),
    )


@pytest.mark.parametrize(
    ("currency", "digits"), [("USD", 2), ("TZS", 2), ("EUR", 2), ("JPY", 0), ("BHD", 3)]
)
def test_currency_digits_come_from_cldr(currency: str, digits: int) -> None:
    assert currency_digits(currency) == digits


def test_round_money_is_half_up_away_from_zero() -> None:
    assert round_money(D("2.345"), "USD") == D("2.35")
    assert round_money(D("-2.345"), "USD") == D("-2.35")
    assert round_money(D("2.5"), "JPY") == D("3")
    assert round_money(D("1.0005"), "BHD") == D("1.001")


def test_decimal_arithmetic_is_exact() -> None:
    totals = compute_totals([line("0.1", "3")], currency="USD")
    assert totals.subtotal == D("0.30")
    assert str(totals.total) == "0.30"


def test_yen_has_no_decimals() -> None:
    totals = compute_totals([line("99.5", tax="10")], currency="JPY")
    assert totals.subtotal == D("100")
    assert totals.taxes[0].tax == D("10")
    assert totals.total == D("110")


def test_tanzanian_shillings_keep_two_decimals() -> None:
    totals = compute_totals([line("72000", "40"), line("98500", "15", tax="18")], currency="TZS")
    assert totals.subtotal == D("4357500.00")
    assert totals.taxes[-1].tax == D("265950.00")
    assert totals.total == D("4623450.00")


def test_tax_is_computed_once_per_rate_on_the_sum() -> None:
    # Per line, 0.10 x 5 % = 0.005 would round to 0.01 three times (0.03); on the sum it is
    # 0.30 x 5 % = 0.015, rounded once: 0.02.
    totals = compute_totals([line("0.10", tax="5")] * 3, currency="USD")
    assert [(t.rate, t.base, t.tax) for t in totals.taxes] == [(D("5"), D("0.30"), D("0.02"))]


def test_taxes_are_listed_per_rate_lowest_first_with_the_zero_rated_base() -> None:
    totals = compute_totals(
        [line("100", tax="18"), line("50", tax="0"), line("10", tax="8"), line("20", tax="18.0")],
        currency="USD",
    )
    assert [(t.rate, t.base, t.tax) for t in totals.taxes] == [
        (D("0"), D("50.00"), D("0.00")),
        (D("8"), D("10.00"), D("0.80")),
        (D("18"), D("120.00"), D("21.60")),
    ]
    assert totals.tax == D("22.40")
    assert totals.total == D("202.40")


def test_a_document_without_tax_has_no_tax_breakdown() -> None:
    totals = compute_totals([line("100"), line("50", tax="0")], currency="USD")
    assert totals.taxes == ()
    assert totals.total == D("150.00")


def test_discount_is_taken_per_line_and_rounded() -> None:
    totals = compute_totals([line("33.33", discount="10")], currency="USD")
    # 33.33 - 10 % = 29.997, printed 30.00; the discount printed is what makes the sum exact.
    assert totals.lines[0].net == D("30.00")
    assert totals.lines[0].discount == D("3.33")
    assert totals.discount == D("3.33")


def test_amount_paid_and_balance_due() -> None:
    totals = compute_totals(
        [line("6182", tax="18"), line("153")], currency="USD", amount_paid=D("2000")
    )
    assert totals.subtotal == D("6335.00")
    assert totals.tax == D("1112.76")
    assert totals.total == D("7447.76")
    assert totals.amount_paid == D("2000.00")
    assert totals.balance_due == D("5447.76")


def test_negative_lines_reduce_the_total() -> None:
    totals = compute_totals([line("100"), line("-15.50")], currency="KES")
    assert totals.total == D("84.50")


def statement(**values: Any) -> Statement:
    data: dict[str, Any] = {
        "type": "statement",
        "number": "ST-1",
        "currency": "USD",
        "issue_date": "2025-04-30",
        "business": BUSINESS,
        "party": PARTY,
    }
    data.update(values)
    return Statement.model_validate(data)


def test_statement_running_balance_and_totals() -> None:
    totals = statement_totals(
        statement(
            opening_balance="100",
            transactions=[
                {"date": "2025-04-01", "description": "INV-1", "debit": "50.005"},
                {"date": "2025-04-02", "description": "Payment", "credit": "120"},
                {"date": "2025-04-03", "description": "INV-2", "debit": "10"},
            ],
        )
    )
    assert [row.balance for row in totals.rows] == [D("150.01"), D("30.01"), D("40.01")]
    assert totals.total_debit == D("60.01")
    assert totals.total_credit == D("120.00")
    assert totals.closing_balance == D("40.01")
    assert totals.ageing.total == totals.closing_balance


def test_ageing_pays_the_oldest_charges_first() -> None:
    totals = statement_totals(
        statement(
            period_start="2025-01-01",
            opening_balance="300",  # due 2025-01-01: 119 days late on 2025-04-30
            transactions=[
                {
                    "date": "2025-02-15",
                    "description": "A",
                    "debit": "200",
                    "due_date": "2025-03-15",
                },
                {"date": "2025-03-20", "description": "B", "debit": "80", "due_date": "2025-04-19"},
                {"date": "2025-04-20", "description": "C", "debit": "40", "due_date": "2025-05-20"},
                {"date": "2025-04-25", "description": "Payment", "credit": "350"},
            ],
        )
    )
    ageing = totals.ageing
    # The 350 paid the opening 300 and 50 of A; 150 of A is 46 days late, B is 11 days late.
    assert ageing.buckets() == (D("40"), D("80"), D("150"), D("0"), D("0"))
    assert ageing.total == totals.closing_balance == D("270.00")


def test_ageing_shows_a_credit_balance_as_negative_current() -> None:
    ageing = age_balances([(dt.date(2025, 1, 1), D("100"))], D("130"), as_of=dt.date(2025, 6, 1))
    assert ageing.buckets() == (D("-30"), D("0"), D("0"), D("0"), D("0"))


@pytest.mark.parametrize(
    ("days", "bucket"), [(0, 0), (1, 1), (30, 1), (31, 2), (60, 2), (61, 3), (90, 3), (91, 4)]
)
def test_ageing_bucket_edges(days: int, bucket: int) -> None:
    as_of = dt.date(2025, 6, 1)
    ageing = age_balances([(as_of - dt.timedelta(days=days), D("10"))], D("0"), as_of=as_of)
    expected = [D("0")] * 5
    expected[bucket] = D("10")
    assert list(ageing.buckets()) == expected


def test_report_table_totals_sum_money_as_printed() -> None:
    table = ReportTable.model_validate(
        {
            "columns": [
                {"label": "Customer"},
                {"label": "Amount", "kind": "money"},
                {"label": "Days", "kind": "number", "total": False},
                {"label": "Share", "kind": "percent"},
            ],
            "rows": [["A", "10.005", 3, "50"], ["B", "20.004", 4, "50"]],
            "show_totals": True,
        }
    )
    assert table_totals(table, "USD") == [None, D("30.01"), None, None]


def test_an_opening_balance_without_a_period_start_is_aged_before_the_first_entry() -> None:
    # Statement of 30 April; the first entry is on 1 February, so the opening balance was
    # owed by 31 January at the latest: 89 days late, not "Current".
    entries = [{"date": "2025-02-01", "description": "Payment", "credit": "10"}]
    totals = statement_totals(statement(opening_balance="100", transactions=entries))
    assert totals.ageing.buckets() == (D("0"), D("0"), D("0"), D("90.00"), D("0"))
    # With a period start, that is its date; with no entries at all, the statement date.
    dated = statement(opening_balance="100", transactions=entries, period_start="2025-04-01")
    assert statement_totals(dated).ageing.days_1_30 == D("90.00")
    alone = statement_totals(statement(opening_balance="100"))
    assert alone.ageing.current == D("100.00")


def test_the_printed_ageing_of_an_undated_opening_balance() -> None:
    entries = [{"date": "2025-02-01", "description": "Payment", "credit": "10"}]
    document = statement(opening_balance="100", transactions=entries)
    text = " ".join(
        page.extract_text() for page in PdfReader(io.BytesIO(render_pdf(document))).pages
    )
    # Current, 1-30, 31-60, 61-90, over 90, total due.
    assert "0.00 0.00 0.00 90.00 0.00 90.00" in " ".join(text.split())
