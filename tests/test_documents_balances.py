"""Paid in full, overpaid, a statement in credit: the email and the PDF say so in words.

Without this, an invoice paid to the last cent was mailed as "The balance of $0.00 is due",
an overpaid one printed "Balance due -$552.24", and a customer in credit was asked to
"ignore this reminder" of a negative amount due.
"""

from __future__ import annotations

import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader

from barua.documents import (
    AnyDocument,
    Language,
    load_document,
    render_email,
    render_pdf,
    template_fields,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def example(name: str, language: Language, **changes: object) -> AnyDocument:
    document = load_document(EXAMPLES / name)
    return document.model_copy(update={"language": language, "locale": None, **changes})


def invoice(language: Language, paid: str) -> AnyDocument:
    # The total is $7,447.76.
    return example("invoice.json", language, amount_paid=Decimal(paid))


def statement_in_credit(language: Language) -> AnyDocument:
    # The example closes at 9,595.89 from an opening balance of 1,240.00: 10,000 less
    # leaves the customer 404.11 in credit.
    return example("statement.json", language, opening_balance=Decimal("-8760.00"))


def printed(document: AnyDocument) -> str:
    pdf = PdfReader(io.BytesIO(render_pdf(document)))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in pdf.pages))


def body_of(document: AnyDocument) -> str:
    return " ".join(render_email(document)[1].split())


@pytest.mark.parametrize(
    ("language", "said", "unsaid"),
    [
        (Language.EN, "It has been paid in full. Thank you.", ["is due", "Net 30"]),
        (Language.SW, "Ankara hii imelipwa kikamilifu.", ["Tafadhali lipa", "kabla ya tarehe"]),
    ],
)
def test_an_invoice_paid_in_full_thanks_instead_of_asking(
    language: Language, said: str, unsaid: list[str]
) -> None:
    document = invoice(language, "7447.76")
    fields = template_fields(document)
    assert (fields["paid_in_full"], fields["in_credit"], fields["credit_balance"]) == (
        True,
        False,
        "",
    )
    body = body_of(document)
    assert said in body
    assert [phrase for phrase in unsaid if phrase in body] == []


@pytest.mark.parametrize(
    ("language", "said", "printed_phrases"),
    [
        (
            Language.EN,
            "You have paid $8,000.00, so you have a credit of $552.24 with us.",
            ["Amount paid -$8,000.00", "Credit balance $552.24"],
        ),
        (
            Language.SW,
            "Umelipa US$ 8,000.00, hivyo una salio la marejesho la US$ 552.24 kwetu.",
            ["Kiasi kilicholipwa -US$ 8,000.00", "Salio la marejesho US$ 552.24"],
        ),
    ],
)
def test_an_overpaid_invoice_shows_a_credit_not_a_negative_balance(
    language: Language, said: str, printed_phrases: list[str]
) -> None:
    document = invoice(language, "8000")
    fields = template_fields(document)
    assert (fields["paid_in_full"], fields["in_credit"]) == (False, True)
    body = body_of(document)
    assert said in body
    assert "is due" not in body and "-$" not in body and "-US$" not in body
    text = printed(document)
    assert [phrase for phrase in printed_phrases if phrase not in text] == []
    assert "-$552.24" not in text and "-US$ 552.24" not in text
    assert "Balance due" not in text and "Salio linalodaiwa" not in text


@pytest.mark.parametrize(
    ("language", "said", "label", "unsaid"),
    [
        (
            Language.EN,
            "Your account is in credit by $404.11, so nothing is due.",
            "Credit balance $404.11",
            ["ignore this reminder", "Amount due"],
        ),
        (
            Language.SW,
            "Akaunti yako ina salio la marejesho la US$ 404.11 kwetu; hakuna kinachodaiwa.",
            "Salio la marejesho US$ 404.11",
            ["puuza ukumbusho", "Kiasi kinachodaiwa"],
        ),
    ],
)
def test_a_statement_in_credit_says_so(
    language: Language, said: str, label: str, unsaid: list[str]
) -> None:
    document = statement_in_credit(language)
    body = body_of(document)
    assert said in body
    assert [phrase for phrase in unsaid if phrase in body] == []
    text = printed(document)
    assert label in text
    assert "Amount due" not in text and "Kiasi kinachodaiwa" not in text


@pytest.mark.parametrize(
    ("language", "said"),
    [
        (Language.EN, "Your account is settled and nothing is due. Thank you."),
        (Language.SW, "Akaunti yako haina deni; hakuna kinachodaiwa. Asante."),
    ],
)
def test_a_settled_statement_asks_for_nothing(language: Language, said: str) -> None:
    document = example("statement.json", language, opening_balance=Decimal("-8355.89"))
    body = body_of(document)
    assert said in body
    assert "reminder" not in body and "ukumbusho" not in body


def test_a_bill_with_something_left_to_pay_still_asks_for_it() -> None:
    document = invoice(Language.EN, "2000")
    assert (template_fields(document)["paid_in_full"], template_fields(document)["in_credit"]) == (
        False,
        False,
    )
    assert "The balance of $5,447.76 is due on April 2, 2025." in body_of(document)
    assert "Balance due $5,447.76" in printed(document)
