"""Amounts as printed: the currency's own decimals, and only characters the embedded fonts have."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from babel import localedata
from pypdf import PdfReader

from barua.documents import load_document, parse_document, render_pdf
from barua.documents.fonts import missing_glyphs
from barua.documents.formatting import Formatter, formatter

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
YEN = "\N{YEN SIGN}"
FULLWIDTH_YEN = "\N{FULLWIDTH YEN SIGN}"


def printed(data: dict[str, Any]) -> str:
    pdf = render_pdf(parse_document(data))
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return re.sub(r"\s+", " ", text)


def small_invoice(currency: str, lines: list[dict[str, Any]], **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": "sales_invoice",
        "number": "INV-7",
        "currency": currency,
        "issue_date": "2025-03-03",
        "business": {"name": "Baobab Studio Ltd"},
        "party": {"name": "Café Zürich AG"},
        "lines": lines,
    }
    data.update(changes)
    return data


# Worked by hand, rounding half up to whole yen line by line, then tax per rate:
#   3 x 1,234.5 = 3,703.5 -> 3,704 (10 %);  1 x 0.4 = 0.4 -> 0 (10 %);
#   7 x 99.99 = 699.93, less 5 % = 664.9335 -> 665 (8 %)
#   subtotal 4,369; tax 8 % of 665 = 53.2 -> 53; tax 10 % of 3,704 = 370.4 -> 370
#   total 4,792; paid 1,000.6 -> 1,001; balance 3,791
YEN_LINES = [
    {"description": "Washi paper", "quantity": 3, "unit_price": "1234.5", "tax_rate": 10},
    {"description": "Stamp", "quantity": 1, "unit_price": "0.4", "tax_rate": 10},
    {
        "description": "Tea",
        "quantity": 7,
        "unit_price": "99.99",
        "discount_percent": 5,
        "tax_rate": 8,
    },
]


@pytest.mark.parametrize("locale", ["en_US", "ja_JP"])
def test_yen_amounts_print_without_decimals(locale: str) -> None:
    text = printed(small_invoice("JPY", YEN_LINES, locale=locale, amount_paid="1000.6"))
    for phrase in (
        f"Subtotal {YEN}4,369",
        f"Tax 8% on 665 {YEN}53",
        f"Tax 10% on 3,704 {YEN}370",
        f"Total {YEN}4,792",
        f"Amount paid -{YEN}1,001",
        f"Balance due {YEN}3,791",
        "3 1,234.5 10% 3,704",  # the price keeps what was written, the amount is whole yen
        "1 0.4 10% 0",
    ):
        assert phrase in text, phrase
    assert not re.search(r"\d\.\d\d(?!\d)", text.split("Subtotal")[1]), "decimals in the totals"
    # ja_JP's CLDR symbol is the fullwidth yen, which DejaVu Sans cannot draw.
    assert FULLWIDTH_YEN not in text


def test_the_example_invoice_in_yen_is_rounded_to_whole_yen() -> None:
    invoice = load_document(EXAMPLES / "invoice.json").model_copy(update={"currency": "JPY"})
    text = " ".join(
        page.extract_text() for page in PdfReader(io.BytesIO(render_pdf(invoice))).pages
    )
    text = re.sub(r"\s+", " ", text)
    assert f"Total {YEN}7,448" in text
    assert "7,447.76" not in text


# By hand, to the fils (three decimals), half up:
#   2 x 12.3456 = 24.6912 -> 24.691 (10 %);  1 x 0.0005 -> 0.001 (10 %)
#   3 x 1.1 = 3.3, less 10 % = 2.97 -> 2.970 (0 %)
#   subtotal 27.662; tax 10 % of 24.692 = 2.4692 -> 2.469; total 30.131; paid 10; balance 20.131
FILS_LINES = [
    {"description": "Pearl clasp", "quantity": 2, "unit_price": "12.3456", "tax_rate": 10},
    {"description": "Pin", "quantity": 1, "unit_price": "0.0005", "tax_rate": 10},
    {"description": "Cord", "quantity": 3, "unit_price": "1.1", "discount_percent": 10},
]


@pytest.mark.parametrize(
    ("currency", "language", "phrases"),
    [
        (
            "BHD",
            "en",
            [
                "Subtotal BHD 27.662",
                "Tax 10% on 24.692 BHD 2.469",
                "Total BHD 30.131",
                "Amount paid -BHD 10.000",
                "Balance due BHD 20.131",
                "2 12.3456 10% 24.691",
                "1 0.0005 10% 0.001",
                "3 1.100 10% 0% 2.970",
            ],
        ),
        (
            "KWD",
            "sw",
            [
                "Jumla ndogo KWD 27.662",
                "Kodi 10% ya 24.692 KWD 2.469",
                "Jumla KWD 30.131",
                "Kiasi kilicholipwa -KWD 10.000",
                "Salio linalodaiwa KWD 20.131",
                "2 12.3456 10% 24.691",
            ],
        ),
    ],
)
def test_three_decimal_currencies_print_three_decimals(
    currency: str, language: str, phrases: list[str]
) -> None:
    text = printed(small_invoice(currency, FILS_LINES, language=language, amount_paid="10"))
    for phrase in phrases:
        assert phrase in text, phrase


def test_missing_glyphs_names_what_the_fonts_cannot_draw() -> None:
    assert missing_glyphs("Zürich Ołówek Δέλτα Москва ¥ € TSh") == ""
    assert missing_glyphs(f"{FULLWIDTH_YEN}1,000 元 {FULLWIDTH_YEN}") == f"{FULLWIDTH_YEN}元"


def test_fullwidth_signs_print_as_their_ordinary_forms() -> None:
    assert formatter("ja_JP", "JPY").money(Decimal("7447.76")) == f"{YEN}7,448"
    assert formatter("ja_JP", "JPY").money(Decimal("-5")) == f"-{YEN}5"


def test_a_symbol_the_fonts_lack_gives_way_to_the_currency_code() -> None:
    # Japanese writes the yuan as 元, which DejaVu Sans does not have.
    assert formatter("ja_JP", "CNY").money(Decimal("1234.5")) == "CNY 1,234.50"
    assert formatter("ja_JP", "CNY").money(Decimal("-1234.5")) == "-CNY 1,234.50"
    assert formatter("en", "CNY").money(Decimal("1234.5")) == "CN¥1,234.50"


def test_dates_in_a_script_the_fonts_lack_are_written_as_iso_dates() -> None:
    day = dt.date(2025, 3, 3)
    assert formatter("th_TH", "THB").date(day) == "2025-03-03"
    assert formatter("hi_IN", "INR").date(day) == "2025-03-03"
    assert formatter("sw_TZ", "TZS").date(day) == "3 Mac 2025"
    assert formatter("ru_RU", "RUB").date(day) == "3 мар. 2025 \N{CYRILLIC SMALL LETTER GHE}."


def test_a_letter_symbol_is_spaced_from_the_digits() -> None:
    assert formatter("en", "BHD").money(Decimal("1")) == "BHD 1.000"
    assert formatter("en", "UGX").money(Decimal("-1500")) == "-UGX 1,500"
    assert formatter("en_US", "USD").money(Decimal("1")) == "$1.00"


@pytest.mark.parametrize("currency", ["TZS", "USD", "EUR", "JPY", "BHD", "CNY", "KRW"])
def test_every_locale_prints_only_characters_the_fonts_have(currency: str) -> None:
    undrawable = {}
    for locale in localedata.locale_identifiers():
        fmt = Formatter(locale, currency)
        value = Decimal("-1234567.891")
        text = "".join(
            [
                fmt.money(value),
                fmt.amount(value),
                fmt.price(Decimal("0.125")),
                fmt.number(value),
                fmt.percent(Decimal("12.5")),
                *(fmt.date(dt.date(2025, month, 28)) for month in range(1, 13)),
            ]
        )
        missing = missing_glyphs(text)
        if missing:
            undrawable[locale] = missing
    assert undrawable == {}
