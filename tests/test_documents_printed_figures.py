"""The figures and details on the PDF of every document type, in English and Kiswahili.

Totals are worked out here (by hand for the priced examples, by a few plain sums for
statements and reports), printed the way the document's locale writes money, and looked for
with their labels in the text pypdf extracts.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader

from barua.documents import (
    AnyDocument,
    CreditNote,
    DeliveryNote,
    DocumentType,
    Language,
    Party,
    Report,
    Statement,
    load_document,
    render_pdf,
)
from barua.documents.formatting import Formatter, formatter
from barua.documents.labels import LABELS, PARTY_ROLES
from barua.documents.models import ColumnKind, PricedDocument
from barua.documents.totals import document_totals

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
LANGUAGES = list(Language)


def example(name: str, language: Language) -> AnyDocument:
    """The example in ``language``, with that language's own number and date formats."""
    document = load_document(EXAMPLES / name)
    return document.model_copy(update={"language": language, "locale": None})


def printed(document: AnyDocument) -> str:
    pdf = render_pdf(document)
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return re.sub(r"\s+", " ", text)


def fmt_of(document: AnyDocument) -> Formatter:
    return formatter(document.effective_locale, document.currency)


def assert_printed(text: str, phrases: list[str]) -> None:
    missing = [phrase for phrase in phrases if phrase not in text]
    assert missing == [], f"not on the PDF: {missing}"


# Priced documents -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Worked:
    """Totals worked out by hand from the example's lines."""

    subtotal: str
    taxes: dict[str, tuple[str, str]]
    """Per rate, its base and its tax; zero-rated bases are listed when anything is taxed."""
    total: str
    paid: str = "0"
    balance: str | None = None
    """Printed for bills, and for any document with something paid."""


WORKED = {
    # 6,182.00 at 18 %, 153.00 zero-rated (two lines); 2,000 paid.
    "invoice.json": Worked(
        "6335.00",
        {"0": ("153.00", "0.00"), "18": ("6182.00", "1112.76")},
        "7447.76",
        "2000.00",
        "5447.76",
    ),
    "invoice-sw.json": Worked(
        "7838625.00",
        {"0": ("5745000.00", "0.00"), "18": ("2093625.00", "376852.50")},
        "8215477.50",
        "1000000.00",
        "7215477.50",
    ),
    # 3,400 + 120 x 14.50 less 10 % (1,566) + 48 x 6 (288) + 480; no tax.
    "quote.json": Worked("5734.00", {}, "5734.00"),
    # 5,000 x 18.50 + 2,000 x 31 + 7,000 x 2.20 less 5 % = 92,500 + 62,000 + 14,630.
    "sales-order.json": Worked(
        "169130.00", {"16": ("169130.00", "27060.80")}, "196190.80", "50000.00", "146190.80"
    ),
    # 2 x 98,500 less 5 % = 187,150; VAT 33,687.
    "credit-note-sw.json": Worked("187150.00", {"18": ("187150.00", "33687.00")}, "220837.00"),
    # 40 x 68 + 60 x 31.50 + 500 x 0.96 = 2,720 + 1,890 + 480; no tax.
    "purchase-order.json": Worked("5090.00", {}, "5090.00"),
    # 2 x 4 x 185,000 + 50 x 12,500 = 1,480,000 + 625,000; VAT 378,900.
    "purchase-invoice.json": Worked(
        "2105000.00", {"18": ("2105000.00", "378900.00")}, "2483900.00", balance="2483900.00"
    ),
    # 6 x 12,500; VAT 13,500.
    "debit-note.json": Worked(
        "75000.00", {"18": ("75000.00", "13500.00")}, "88500.00", balance="88500.00"
    ),
}


def test_every_priced_type_has_a_worked_example() -> None:
    types = {load_document(EXAMPLES / name).type for name in WORKED}
    assert types == {
        DocumentType.SALES_INVOICE,
        DocumentType.SALES_QUOTE,
        DocumentType.SALES_ORDER,
        DocumentType.CREDIT_NOTE,
        DocumentType.PURCHASE_ORDER,
        DocumentType.PURCHASE_INVOICE,
        DocumentType.DEBIT_NOTE,
    }


def totals_phrases(document: PricedDocument, worked: Worked) -> list[str]:
    """The totals block as it should read, label then amount, from the worked figures."""
    fmt, words = fmt_of(document), LABELS[document.language]
    credit = isinstance(document, CreditNote)
    tax_name = document.tax_name or words["tax"]
    phrases = [f"{words['subtotal']} {fmt.money(Decimal(worked.subtotal))}"] if worked.taxes else []
    on = words["tax_on"]
    phrases += [
        on.format(tax=tax_name, rate=fmt.percent(Decimal(rate)), base=fmt.amount(Decimal(base)))
        + f" {fmt.money(Decimal(tax))}"
        for rate, (base, tax) in worked.taxes.items()
    ]
    phrases.append(
        f"{words['total_credit' if credit else 'total']} {fmt.money(Decimal(worked.total))}"
    )
    if Decimal(worked.paid):
        label = words["amount_refunded" if credit else "amount_paid"]
        phrases.append(f"{label} {fmt.money(-Decimal(worked.paid))}")
    if worked.balance is not None:
        label = words["credit_remaining" if credit else "balance_due"]
        phrases.append(f"{label} {fmt.money(Decimal(worked.balance))}")
    return phrases


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", list(WORKED))
def test_priced_totals_are_printed_with_their_labels(name: str, language: Language) -> None:
    document = example(name, language)
    assert not isinstance(document, DeliveryNote | Statement | Report)
    worked = WORKED[name]
    totals = document_totals(document)
    assert (totals.subtotal, totals.total, totals.amount_paid) == (
        Decimal(worked.subtotal),
        Decimal(worked.total),
        Decimal(worked.paid),
    )
    assert {str(t.rate): (t.base, t.tax) for t in totals.taxes} == {
        rate: (Decimal(base), Decimal(tax)) for rate, (base, tax) in worked.taxes.items()
    }
    text = printed(document)
    assert_printed(text, totals_phrases(document, worked))
    words = LABELS[language]
    if not worked.taxes:  # without tax the subtotal would only repeat the total
        assert words["subtotal"] not in text
    if worked.balance is None:
        assert words["balance_due"] not in text.replace(words["credit_remaining"], "")
    # Each line's price, discount, tax rate and amount, as the row of the line table ends.
    fmt = fmt_of(document)
    any_tax = any(line.tax_rate for line in document.lines)
    rows = []
    for line, amount in zip(document.lines, totals.lines, strict=True):
        cells = [fmt.price(line.unit_price)]
        if line.discount_percent:
            cells.append(fmt.percent(line.discount_percent))
        if any_tax:
            cells.append(fmt.percent(line.tax_rate))
        rows.append(" ".join([*cells, fmt.amount(amount.net)]))
    assert_printed(text, rows)


@pytest.mark.parametrize(
    ("language", "phrases"),
    [
        (
            Language.EN,
            [
                "Total credit TZS 220,837.00",
                "Amount refunded -TZS 100,000.00",
                "Credit remaining TZS 120,837.00",
            ],
        ),
        (
            Language.SW,
            [
                "Jumla ya marejesho TSh 220,837.00",
                "Kiasi kilichorejeshwa -TSh 100,000.00",
                "Marejesho yaliyobaki TSh 120,837.00",
            ],
        ),
    ],
)
def test_a_credit_note_partly_refunded_says_what_credit_remains(
    language: Language, phrases: list[str]
) -> None:
    note = example("credit-note-sw.json", language).model_copy(
        update={"amount_paid": Decimal("100000")}
    )
    assert isinstance(note, CreditNote)
    text = printed(note)
    assert_printed(text, phrases)
    worked = Worked(
        "187150.00", {"18": ("187150.00", "33687.00")}, "220837.00", "100000.00", "120837.00"
    )
    assert_printed(text, totals_phrases(note, worked))
    assert "Amount paid" not in text and "Balance due" not in text


# Delivery notes -------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_delivery_note_prints_quantities_and_no_money(language: Language) -> None:
    note = example("delivery-note-sw.json", language)
    assert isinstance(note, DeliveryNote)
    fmt, words = fmt_of(note), LABELS[language]
    text = printed(note)
    assert f"{words['quantity_ordered']} {words['quantity_delivered']}" in text

    def quantity(number: Decimal, unit: str | None, plural: str | None) -> str:
        if language is Language.SW:  # the unit first, in the plural: "mifuko 40"
            return f"{unit if number == 1 else plural} {fmt.number(number)}"
        return f"{fmt.number(number)} {unit}"

    phrases = []
    for line in note.lines:
        assert line.quantity_ordered is not None
        ordered = quantity(line.quantity_ordered, line.unit, line.unit_plural)
        delivered = quantity(line.quantity, line.unit, line.unit_plural)
        phrases.append(f"{line.description} {ordered} {delivered}")
    assert_printed(text, phrases)
    short = {Language.EN: "12 mfuko 10 mfuko", Language.SW: "mifuko 12 mifuko 10"}[language]
    assert f"Sukari ya Kilombero, kilo 50 {short}" in text  # 2 bags short
    assert note.currency not in text and "TSh" not in text


# Statements -----------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_statement_prints_its_running_and_closing_balances_and_ageing(
    language: Language,
) -> None:
    statement = example("statement.json", language)
    assert isinstance(statement, Statement)
    fmt, words = fmt_of(statement), LABELS[language]
    text = printed(statement)

    phrases = [f"{words['opening_balance']} {fmt.amount(statement.opening_balance)}"]
    balance, debits, credits = statement.opening_balance, Decimal(0), Decimal(0)
    for entry in statement.transactions:
        balance += entry.debit - entry.credit
        debits += entry.debit
        credits += entry.credit
        moved = fmt.amount(entry.debit or entry.credit)
        phrases.append(
            f"{fmt.date(entry.date)} {entry.reference} {entry.description} {moved} "
            f"{fmt.amount(balance)}"
        )
    assert balance == Decimal("9595.89")
    phrases.append(
        f"{words['closing_balance']} {fmt.amount(debits)} {fmt.amount(credits)} "
        f"{fmt.amount(balance)}"
    )
    phrases.append(f"{words['amount_due']} {fmt.money(balance)}")

    # Ageing: payments settle the oldest charges first; what is left is aged by its due date.
    charges = [(statement.period_start or statement.issue_date, statement.opening_balance)]
    charges += [(e.due_date or e.date, e.debit) for e in statement.transactions if e.debit]
    unapplied = credits
    buckets = [Decimal(0)] * 5
    for due, amount in sorted(charges, key=lambda charge: charge[0]):
        settled = min(unapplied, amount)
        unapplied -= settled
        late = (statement.issue_date - due).days
        index = 0 if late <= 0 else 1 if late <= 30 else 2 if late <= 60 else 3 if late <= 90 else 4
        buckets[index] += amount - settled
    assert sum(buckets) == balance
    keys = ("current", "days_1_30", "days_31_60", "days_61_90", "over_90", "total_due")
    phrases.append(" ".join(words[key] for key in keys))
    phrases.append(" ".join(fmt.amount(amount) for amount in [*buckets, balance]))
    assert_printed(text, phrases)


# Reports --------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_report_prints_its_table_totals_and_summary(language: Language) -> None:
    report = example("report-aged-receivables.json", language)
    assert isinstance(report, Report)
    fmt, words = fmt_of(report), LABELS[language]
    text = printed(report)
    phrases = []
    totalled = [table for table in report.tables if table.show_totals]
    assert totalled
    for table in totalled:
        sums = []
        for index, column in enumerate(table.columns):
            if column.kind is ColumnKind.MONEY:
                sums.append(fmt.amount(sum(Decimal(row[index] or 0) for row in table.rows)))
        phrases.append(f"{words['total']} {' '.join(sums)}")
    phrases += [f"{line.label} {fmt.money(line.amount)}" for line in report.summary]
    assert_printed(text, phrases)
    if language is Language.EN:
        assert "Total 9,306.45 3,205.65 950.00 1,715.00 15,177.10" in text


# Party and business details -------------------------------------------------------------------

TERMS = "Payment within 14 days by bank transfer; quote the document number."
PARTY = Party(
    name="Ołówek Sp. z o.o.",
    address=["ul. Floriańska 22", "31-019 Kraków", "Polska"],
    tax_number="PL 6762470312",
)


def with_party_and_terms(name: str, language: Language) -> AnyDocument:
    document = example(name, language)
    changes: dict[str, object] = {"party": PARTY}
    if not isinstance(document, Report):
        changes["payment_terms"] = TERMS
    return document.model_copy(update=changes)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    "name",
    ["invoice.json", "delivery-note-sw.json", "statement.json", "report-aged-receivables.json"],
)
def test_business_and_party_details_are_printed(name: str, language: Language) -> None:
    document = with_party_and_terms(name, language)
    words = LABELS[language]
    text = printed(document)
    business = document.business
    assert business.tax_number is not None
    phrases = [*business.address, f"{words['tax_number']} {business.tax_number}"]
    phrases += [PARTY_ROLES[language][document.type].upper(), PARTY.name, *PARTY.address]
    phrases.append(f"{words['tax_number']} {PARTY.tax_number}")
    if not isinstance(document, Report):
        phrases.append(f"{words['payment_terms'].upper()} {TERMS}")
    assert_printed(text, phrases)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_example_invoice_prints_its_own_party_and_terms(language: Language) -> None:
    invoice = example("invoice.json", language)
    words = LABELS[language]
    text = printed(invoice)
    assert_printed(
        text,
        [
            "Plot 12, Sokoine Road",
            "P.O. Box 1234",
            "Arusha, Tanzania",
            f"{words['tax_number']} 123-456-789",
            "Bahnhofstrasse 12",
            "8001 Zürich",
            "Switzerland",
            f"{words['tax_number']} CHE-123.456.789 MWST",
            f"{words['attention']} Anna Müller",
            f"{words['payment_terms'].upper()} Net 30 days.",
            f"{words['due_date']} {fmt_of(invoice).date(dt.date(2025, 4, 2))}",
        ],
    )
