"""The business documents barua renders, as pydantic models (pure: no I/O except the logo check).

Every document shares the business's own details, a language and locale, a currency and an
issue date. Ten kinds exist, told apart by ``type``::

    sales_invoice, sales_quote, sales_order, credit_note,   lines with prices and tax
    purchase_order, purchase_invoice, debit_note            (the party is a supplier)
    delivery_note                                           lines without prices
    statement                                               opening balance + transactions
    report                                                  titled tables and totals

Money is :class:`~decimal.Decimal` end to end: a JSON number such as ``19.99`` is read as the
decimal it spells (see :mod:`barua.documents.loading`), never through a binary float. A number
may also be written as a string, in plain decimal notation only (``"-1234.50"``: ASCII digits,
an optional minus and point), so that the published JSON Schema can say exactly what is read.
Percentages (``discount_percent``, ``tax_rate``) are written as people say them: ``18`` is 18 %.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from decimal import Decimal, localcontext
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from babel import Locale, UnknownLocaleError
from babel.numbers import is_currency, list_currencies
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from barua.addresses import validate_address
from barua.documents import messages
from barua.documents.logos import (
    MAX_LOGO_BYTES,
    LogoRefused,
    check_logo_image,
    read_logo_file,
)
from barua.documents.paper import Paper, paper_for
from barua.errors import MessageError
from barua.texts import Text as Words

PROBLEMS = "barua_problems"
"""The pydantic error type whose ``ctx["problems"]`` lists ``(sub-path, message)`` pairs."""


ONE_PROBLEM = "barua"
"""The pydantic error type whose ``ctx["text"]`` is the problem, as :class:`Words`."""


def problem_error(text: Words) -> PydanticCustomError:
    """A validation error saying ``text``."""
    return PydanticCustomError(ONE_PROBLEM, "{text}", {"text": text})


def problems_error(problems: list[tuple[str, Words]]) -> PydanticCustomError:
    """One validation error that stands for several problems below the current path.

    pydantic gives a validator one location only; the loader expands ``ctx["problems"]``
    so that every wrong cell of a report table is named on its own line.
    """
    return PydanticCustomError(
        PROBLEMS, "{count} problems", {"count": len(problems), "problems": problems}
    )


class DocumentType(StrEnum):
    """What a document is; the value is the ``type`` field of its JSON."""

    SALES_INVOICE = "sales_invoice"
    """A bill to a customer."""
    SALES_QUOTE = "sales_quote"
    """An offer to a customer, valid until a date."""
    SALES_ORDER = "sales_order"
    """A customer's order, confirmed."""
    CREDIT_NOTE = "credit_note"
    """Money given back to a customer, usually against an invoice."""
    DELIVERY_NOTE = "delivery_note"
    """What was delivered, without prices, with room for a signature."""
    STATEMENT = "statement"
    """A customer's account: opening balance, transactions, running balance and ageing."""
    PURCHASE_ORDER = "purchase_order"
    """An order to a supplier."""
    PURCHASE_INVOICE = "purchase_invoice"
    """A supplier's bill as the business records it (self-billing, remittance)."""
    DEBIT_NOTE = "debit_note"
    """A claim on a supplier, e.g. for goods returned."""
    REPORT = "report"
    """Titled tables with totals: aged receivables, profit and loss."""


class Language(StrEnum):
    """The language of a document's labels and email texts."""

    EN = "en"
    """English."""
    SW = "sw"
    """Kiswahili."""


DEFAULT_LOCALES = {Language.EN: "en", Language.SW: "sw_TZ"}
"""Number and date formats used when a document gives a language but no locale."""

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]
MAX_INTEGER_DIGITS = 15
"""Digits a number may have before its decimal point: up to 999 trillion, in any currency.

A line's quantity x unit price is held to the same bound, so that every total of a
document (at most 5,000 lines, with tax) stays within 20 digits, which the number formats
print exactly; a larger number would make rendering fail where checking had passed."""
MAX_DECIMAL_PLACES = 10
"""Decimal places a number may have (trailing zeros aside): ``0.0000000001`` at most."""
NUMBER_LIMIT = Decimal(10) ** MAX_INTEGER_DIGITS
"""Every number's size must stay below this."""

_DIGITS = r"[0-9]+(\.[0-9]+)?"
_MINUS_ZERO = r"-0+(\.0+)?"
# The same shapes, bounded as the loader bounds them: leading and trailing zeros are free.
_BOUNDED = rf"0*[0-9]{{1,{MAX_INTEGER_DIGITS}}}(\.[0-9]{{1,{MAX_DECIMAL_PLACES}}}0*)?"
DECIMAL_PATTERN = rf"^-?{_DIGITS}$"
"""How a number written as a string must look: ``"1234.50"``, ``"-3"``; no exponent, no spaces."""
AMOUNT_PATTERN = rf"^-?{_BOUNDED}$"
"""The decimal strings within the bounds (:data:`MAX_INTEGER_DIGITS`,
:data:`MAX_DECIMAL_PLACES`), for the JSON Schema."""
NON_NEGATIVE_PATTERN = rf"^({_BOUNDED}|{_MINUS_ZERO})$"
"""The decimal strings from 0 up (``"-0"`` is zero) within the bounds, for the JSON Schema."""
PERCENT_PATTERN = (
    rf"^(0*([0-9]{{1,2}}(\.[0-9]{{1,{MAX_DECIMAL_PLACES}}}0*)?|100(\.0+)?)|{_MINUS_ZERO})$"
)
"""The decimal strings from 0 to 100, for the JSON Schema."""
_DECIMAL = re.compile(DECIMAL_PATTERN)


def _plain_decimal(value: Any) -> Any:
    """Refuse numbers as strings that are not plain decimals before pydantic reads them.

    pydantic would read ``"1e3"``, ``" 5 "``, ``"1_000"`` and fullwidth digits too; no JSON
    Schema pattern can then say what a valid file is. Bounds are checked after, so ``"120"``
    as a tax rate is reported as out of range, not as not a number.
    """
    if isinstance(value, str) and _DECIMAL.fullmatch(value) is None:
        raise PydanticCustomError("decimal_parsing", "must be a number")  # a pydantic type
    return value


def decimal_places(value: Decimal) -> int:
    """The decimal places of ``value`` without its trailing zeros (``1.50`` has 1), exactly:
    no context rounds it."""
    if value.is_zero():
        return 0
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -(exponent + trailing))


def number_problem(value: Decimal) -> Words | None:
    """What is wrong with a finite number's size, or None: too many digits before the
    point (:data:`MAX_INTEGER_DIGITS`) or after it (:data:`MAX_DECIMAL_PLACES`)."""
    if value.copy_abs() >= NUMBER_LIMIT:
        return messages.TOO_MANY_DIGITS(digits=MAX_INTEGER_DIGITS)
    if decimal_places(value) > MAX_DECIMAL_PLACES:
        return messages.DECIMAL_PLACES(places=MAX_DECIMAL_PLACES)
    return None


def _bounded(value: Decimal) -> Decimal:
    problem = number_problem(value)
    if problem is not None:
        raise problem_error(problem)
    return value


def _number_schema(pattern: str, **bounds: int) -> WithJsonSchema:
    return WithJsonSchema(
        {"anyOf": [{"type": "number", **bounds}, {"type": "string", "pattern": pattern}]}
    )


_BOUND = 10**MAX_INTEGER_DIGITS
Percent = Annotated[
    Decimal,
    Field(ge=0, le=100, allow_inf_nan=False),
    BeforeValidator(_plain_decimal),
    AfterValidator(_bounded),
    _number_schema(PERCENT_PATTERN, minimum=0, maximum=100),
]
Amount = Annotated[
    Decimal,
    Field(allow_inf_nan=False),
    BeforeValidator(_plain_decimal),
    AfterValidator(_bounded),
    _number_schema(AMOUNT_PATTERN, exclusiveMinimum=-_BOUND, exclusiveMaximum=_BOUND),
]
NonNegativeAmount = Annotated[
    Decimal,
    Field(ge=0, allow_inf_nan=False),
    BeforeValidator(_plain_decimal),
    AfterValidator(_bounded),
    _number_schema(NON_NEGATIVE_PATTERN, minimum=0, exclusiveMaximum=_BOUND),
]
Color = Annotated[str, StringConstraints(pattern=r"^#[0-9A-Fa-f]{6}$")]

_MAX_LOGO_TEXT = MAX_LOGO_BYTES * 4 // 3 + 1000
"""A data URI of the largest logo, in base64, with room for line breaks."""
_DATA_URI = re.compile(r"^data:image/(png|jpeg);base64,(?P<data>[A-Za-z0-9+/=\s]+)$")


class _Model(BaseModel):
    # Unknown fields are refused so that a typo ("quantiy") is reported instead of ignored.
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, use_attribute_docstrings=True
    )


def _check_emails(values: list[str]) -> list[str]:
    checked: list[str] = []
    problems: list[tuple[str, Words]] = []
    for index, value in enumerate(values):
        try:
            checked.append(validate_address(value, field="email").address)
        except MessageError:
            problems.append((f"[{index}]", messages.NOT_AN_ADDRESS(value=value)))
    if problems:
        raise problems_error(problems)
    return checked


class Party(_Model):
    """The customer or supplier a document is addressed to."""

    name: Text
    address: list[Text] = Field(default_factory=list, max_length=8)
    """Address lines, as they should be printed."""
    tax_number: Text | None = None
    """VAT number, TIN or similar."""
    emails: list[str] = Field(default_factory=list, max_length=10)
    """Where the document is emailed; the first is the main recipient."""
    phone: Text | None = None
    contact: Text | None = None
    """The person to the attention of whom the document goes."""
    account_number: Text | None = None
    """The party's account or customer number with the business."""

    @field_validator("emails")
    @classmethod
    def _valid_emails(cls, values: list[str]) -> list[str]:
        return _check_emails(values)


class BankAccount(_Model):
    """Where to pay: printed under the bank details of invoices and statements."""

    bank_name: Text
    account_name: Text | None = None
    account_number: Text | None = None
    branch: Text | None = None
    swift: Text | None = None
    """SWIFT/BIC code."""
    iban: Text | None = None
    routing_number: Text | None = None
    """Sort code, ABA routing or bank code."""
    currency: Text | None = None
    """The account's currency, when the business has accounts in several."""


class Business(_Model):
    """The business that issues the document."""

    name: Text
    address: list[Text] = Field(default_factory=list, max_length=8)
    tax_number: Text | None = None
    registration_number: Text | None = None
    emails: list[str] = Field(default_factory=list, max_length=10)
    phone: Text | None = None
    website: Text | None = None
    logo: Annotated[str, StringConstraints(max_length=_MAX_LOGO_TEXT)] | None = None
    """A PNG or JPEG file in the JSON file's folder (a path relative to it), or a
    ``data:image/png;base64,`` URI; at most 2 MB and 8 million pixels."""
    bank_accounts: list[BankAccount] = Field(default_factory=list, max_length=4)
    accent_color: Color | None = None
    """The colour of titles and table headings, e.g. ``#1F4E79``."""

    @field_validator("emails")
    @classmethod
    def _valid_emails(cls, values: list[str]) -> list[str]:
        return _check_emails(values)

    @field_validator("logo")
    @classmethod
    def _logo_exists(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Check the logo when the document is read, so a typo is reported with the rest.

        A file must lie in the document's folder (``base_dir`` of the context, else the
        current folder) or one of ``logo_folders``; see :mod:`barua.documents.logos`."""
        if value is None or not value.strip():
            return None
        value = value.strip()
        if value.startswith("data:"):
            match = _DATA_URI.match(value)
            if match is None:
                raise problem_error(messages.LOGO_NOT_PATH_OR_URI())
            try:
                data = base64.b64decode(match.group("data"), validate=False)
            except (binascii.Error, ValueError):
                raise problem_error(messages.LOGO_BAD_BASE64()) from None
            try:
                check_logo_image(data)
            except LogoRefused as exc:
                raise problem_error(exc.text) from None
            return value
        context = info.context or {}
        base = context.get("base_dir") or Path.cwd()
        try:
            path, _ = read_logo_file(value, base_dir=base, folders=context.get("logo_folders", ()))
        except LogoRefused as exc:
            raise problem_error(exc.text) from None
        return str(path)


class Line(_Model):
    """One priced line of an invoice, quote, order or note."""

    description: LongText
    """What was sold; a line break starts a new printed line."""
    quantity: Amount = Decimal(1)
    unit: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)] | None = None
    """Printed after the quantity: ``pcs``, ``kg``, ``hrs``."""
    unit_plural: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)] | None = (
        None
    )
    """The unit's plural, for Kiswahili, which prints the unit first: ``mifuko`` for the unit
    ``mfuko`` prints ``mifuko 40``. Without it a Kiswahili document prints the units in a column
    of their own."""
    unit_price: Amount
    discount_percent: Percent = Decimal(0)
    """Percent taken off this line, from 0 to 100."""
    tax_rate: Percent = Decimal(0)
    """Tax on this line in percent, e.g. 18 for VAT at 18 %."""
    code: Text | None = None
    """Item or SKU code, printed under the description."""


class DeliveryLine(_Model):
    """One line of a delivery note: what and how many, without prices."""

    description: LongText
    quantity: NonNegativeAmount = Decimal(1)
    unit: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)] | None = None
    unit_plural: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)] | None = (
        None
    )
    """As a priced line's: ``mifuko`` for ``mfuko``."""
    code: Text | None = None
    quantity_ordered: NonNegativeAmount | None = None
    """When given, printed next to the quantity delivered."""


class _Common(_Model):
    """What every document has, reports included."""

    language: Language = Language.EN
    locale: str | None = None
    """Number and date formats (``en_US``, ``sw_TZ``, ``de_DE``); the language's own if absent."""
    currency: Annotated[
        str,
        StringConstraints(strip_whitespace=True, to_upper=True),
        # The schema lists the codes in capitals, as written; the loader also takes "usd".
        WithJsonSchema({"type": "string", "enum": sorted(list_currencies())}),
    ]
    """ISO 4217 code in capitals: ``TZS``, ``KES``, ``USD``, ``EUR``."""
    issue_date: dt.date
    business: Business
    reference: Text | None = None
    """The other side's reference: a purchase order number, a project."""
    notes: LongText | None = None
    paper: Paper | None = None
    """``a4`` or ``letter``; when absent, the paper of the locale's country: Letter for
    ``en_US``, ``en_CA``, ``es_MX``, ``fr_CA``…, A4 elsewhere and for a locale without a
    country. A paper given when rendering (``--paper``) overrides both."""

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        if not is_currency(value):
            raise problem_error(messages.NOT_A_CURRENCY(value=value))
        return value

    @field_validator("locale")
    @classmethod
    def _known_locale(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            return str(Locale.parse(value.strip().replace("-", "_")))
        except (UnknownLocaleError, ValueError):
            raise problem_error(messages.NOT_A_LOCALE(value=value)) from None

    @property
    def effective_locale(self) -> str:
        """The locale that formats numbers and dates."""
        return self.locale or DEFAULT_LOCALES[self.language]

    @property
    def effective_paper(self) -> Paper:
        """The paper the document prints on unless told otherwise: its own, else its locale's."""
        return self.paper or paper_for(self.effective_locale)


class _Addressed(_Common):
    """A document with a number, sent to a party."""

    number: Text
    party: Party
    title: Text | None = None
    """Replaces the printed title, e.g. "Tax invoice" or "Pro-forma invoice"."""
    payment_terms: LongText | None = None


class _Priced(_Addressed):
    lines: list[Line] = Field(min_length=1, max_length=5000)
    amount_paid: NonNegativeAmount = Decimal(0)
    tax_name: Text | None = None
    """How tax is called on this document, e.g. "VAT"; "Tax" / "Kodi" when absent."""

    @model_validator(mode="after")
    def _lines_within_bounds(self) -> Any:
        """Each line's quantity x unit price within :data:`NUMBER_LIMIT`, as each number is:
        then no total of the document outgrows what the number formats print."""
        problems: list[tuple[str, Words]] = []
        with localcontext() as context:
            context.prec = 2 * (MAX_INTEGER_DIGITS + MAX_DECIMAL_PLACES)  # exact products
            for index, line in enumerate(self.lines):
                if (line.quantity * line.unit_price).copy_abs() >= NUMBER_LIMIT:
                    problems.append(
                        (f"lines[{index}]", messages.LINE_TOO_LARGE(digits=MAX_INTEGER_DIGITS))
                    )
        if problems:
            raise problems_error(problems)
        return self


class _Due(_Priced):
    due_date: dt.date | None = None

    @model_validator(mode="after")
    def _due_after_issue(self) -> Any:
        if self.due_date is not None and self.due_date < self.issue_date:
            raise problems_error([("due_date", messages.DUE_BEFORE_ISSUE())])
        return self


class SalesInvoice(_Due):
    """A bill to a customer."""

    type: Literal[DocumentType.SALES_INVOICE]


class SalesQuote(_Priced):
    """An offer to a customer."""

    type: Literal[DocumentType.SALES_QUOTE]
    valid_until: dt.date | None = None


class SalesOrder(_Priced):
    """A customer's confirmed order."""

    type: Literal[DocumentType.SALES_ORDER]
    delivery_date: dt.date | None = None


class CreditNote(_Priced):
    """Money given back to a customer."""

    type: Literal[DocumentType.CREDIT_NOTE]
    invoice_number: Text | None = None
    """The invoice this note corrects."""


class PurchaseOrder(_Priced):
    """An order to a supplier."""

    type: Literal[DocumentType.PURCHASE_ORDER]
    delivery_date: dt.date | None = None
    delivery_address: list[Text] = Field(default_factory=list, max_length=8)


class PurchaseInvoice(_Due):
    """A supplier's bill, as recorded and sent back by the business."""

    type: Literal[DocumentType.PURCHASE_INVOICE]


class DebitNote(_Priced):
    """A claim on a supplier."""

    type: Literal[DocumentType.DEBIT_NOTE]
    invoice_number: Text | None = None


class DeliveryNote(_Addressed):
    """What was delivered to a customer."""

    type: Literal[DocumentType.DELIVERY_NOTE]
    lines: list[DeliveryLine] = Field(min_length=1, max_length=5000)
    delivery_date: dt.date | None = None
    delivery_address: list[Text] = Field(default_factory=list, max_length=8)
    order_number: Text | None = None


class Transaction(_Model):
    """One entry of a statement: a charge (debit) or a payment or credit (credit)."""

    date: dt.date
    reference: Text | None = None
    description: Text
    debit: NonNegativeAmount = Decimal(0)
    credit: NonNegativeAmount = Decimal(0)
    due_date: dt.date | None = None
    """When a charge falls due; its date when absent. Drives the ageing."""


class Statement(_Addressed):
    """A customer's account over a period."""

    type: Literal[DocumentType.STATEMENT]
    period_start: dt.date | None = None
    """The first day covered; the ageing counts the opening balance as due on it. When
    absent, the opening balance is aged from the day before the first transaction (or from
    the statement date when there is none)."""
    period_end: dt.date | None = None
    """The statement date (``issue_date``) when absent."""
    opening_balance: Amount = Decimal(0)
    transactions: list[Transaction] = Field(default_factory=list, max_length=20000)

    @model_validator(mode="after")
    def _period_in_order(self) -> Any:
        if (
            self.period_start is not None
            and self.period_end is not None
            and self.period_end < self.period_start
        ):
            raise problems_error([("period_end", messages.END_BEFORE_START())])
        return self


class ColumnKind(StrEnum):
    """How the cells of a report column are read, printed and totalled."""

    TEXT = "text"
    """Free text, left-aligned."""
    MONEY = "money"
    """An amount in the document's currency, rounded to its minor unit."""
    NUMBER = "number"
    """A plain number."""
    PERCENT = "percent"
    """A percentage, written as ``12.5`` for 12.5 %."""
    DATE = "date"
    """A date, written ``2025-01-31``."""


NUMERIC_KINDS = frozenset({ColumnKind.MONEY, ColumnKind.NUMBER, ColumnKind.PERCENT})

Cell = Decimal | dt.date | str | None
"""A report cell once read: a number, a date, text, or nothing."""


class ReportColumn(_Model):
    """A column of a report table."""

    label: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]
    kind: ColumnKind = ColumnKind.TEXT
    total: bool | None = None
    """Sum this column in the totals row; money and number columns do by default."""

    @property
    def totalled(self) -> bool:
        if self.total is None:
            return self.kind in {ColumnKind.MONEY, ColumnKind.NUMBER}
        return self.total and self.kind in NUMERIC_KINDS


class _BadCell(Exception):
    """A cell that is not of its column's kind; ``text`` says what it must be."""

    def __init__(self, text: Words) -> None:
        super().__init__(text.render())
        self.text = text


def _read_cell(value: Any, kind: ColumnKind) -> Cell:
    """The cell as its column's kind, or :class:`_BadCell` with the problem to show."""
    if value is None or value == "":
        return None
    if kind in NUMERIC_KINDS:
        if isinstance(value, bool) or not isinstance(value, int | Decimal | float | str):
            raise _BadCell(messages.NOT_A_NUMBER())
        if isinstance(value, str) and _DECIMAL.fullmatch(value) is None:
            raise _BadCell(messages.NOT_A_NUMBER())
        try:
            # An int as it is: str() of one with over 4,300 digits raises ValueError.
            number = (
                value
                if isinstance(value, Decimal)
                else Decimal(value if isinstance(value, int) else str(value))
            )
        except ArithmeticError:
            raise _BadCell(messages.NOT_A_NUMBER()) from None
        if not number.is_finite():
            raise _BadCell(messages.NOT_A_NUMBER())
        problem = number_problem(number)
        if problem is not None:
            raise _BadCell(problem)
        return number
    if kind is ColumnKind.DATE:
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value).strip())
        except ValueError:
            raise _BadCell(messages.NOT_A_DATE()) from None
    if isinstance(value, bool | dict | list):
        raise _BadCell(messages.NOT_TEXT())
    return str(value)


class ReportTable(_Model):
    """One table of a report, with an optional title and a totals row."""

    title: Text | None = None
    columns: list[ReportColumn] = Field(min_length=1, max_length=12)
    rows: list[list[Annotated[Any, WithJsonSchema({"type": ["string", "number", "null"]})]]] = (
        Field(default_factory=list, max_length=20000)
    )
    """One list per row, one value per column: text, a number, a ``YYYY-MM-DD`` date, or null.

    A number may be a decimal string (``"12.50"``) as elsewhere; which cells must be numbers
    or dates depends on the column's ``kind``, which the loader checks cell by cell."""
    show_totals: bool = False
    """Add a row with the sums of the totalled columns."""

    @field_validator("rows")
    @classmethod
    def _cells_match_columns(cls, rows: list[list[Any]], info: ValidationInfo) -> list[list[Any]]:
        columns: list[ReportColumn] | None = info.data.get("columns")
        if columns is None:  # already reported
            return rows
        problems: list[tuple[str, Words]] = []
        typed: list[list[Any]] = []
        for r, row in enumerate(rows):
            if len(row) != len(columns):
                problems.append((f"[{r}]", messages.CELLS(cells=len(row), columns=len(columns))))
                continue
            cells: list[Any] = []
            for c, (value, column) in enumerate(zip(row, columns, strict=True)):
                try:
                    cells.append(_read_cell(value, column.kind))
                except _BadCell as exc:
                    problems.append((f"[{r}][{c}]", exc.text))
            typed.append(cells)
        if problems:
            raise problems_error(problems)
        return typed


class SummaryLine(_Model):
    """A labelled amount under a report's tables: "Net profit", "Total receivables"."""

    label: Text
    amount: Amount
    emphasis: bool = False
    """Print in bold with a rule above, for the bottom line."""


class Report(_Common):
    """Tables with totals over a period: aged receivables, profit and loss."""

    type: Literal[DocumentType.REPORT]
    title: Text
    subtitle: Text | None = None
    number: Text | None = None
    party: Party | None = None
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    tables: list[ReportTable] = Field(min_length=1, max_length=50)
    summary: list[SummaryLine] = Field(default_factory=list, max_length=50)


PricedDocument = (
    SalesInvoice
    | SalesQuote
    | SalesOrder
    | CreditNote
    | PurchaseOrder
    | PurchaseInvoice
    | DebitNote
)
"""Documents with priced lines, tax and totals."""

Document = Annotated[
    SalesInvoice
    | SalesQuote
    | SalesOrder
    | CreditNote
    | DeliveryNote
    | Statement
    | PurchaseOrder
    | PurchaseInvoice
    | DebitNote
    | Report,
    Field(discriminator="type"),
]
"""Any document; pydantic picks the class from ``type``."""

AnyDocument = (
    SalesInvoice
    | SalesQuote
    | SalesOrder
    | CreditNote
    | DeliveryNote
    | Statement
    | PurchaseOrder
    | PurchaseInvoice
    | DebitNote
    | Report
)
"""The same union without the discriminator, for annotations."""
