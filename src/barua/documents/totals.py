"""Totals of documents, in exact decimal arithmetic (pure: no I/O).

The rules, which are the ones accountants expect:

* A line's amount is ``quantity x unit_price - discount``, rounded to the currency's minor
  unit (2 decimals for TZS, USD and EUR, none for JPY and UGX, 3 for BHD, from Babel's CLDR
  data) with ROUND_HALF_UP, the commercial rule.
* Tax is computed once per rate on the sum of the rounded line amounts at that rate (its
  base), then rounded. Taxing each line and adding the results can be a cent off; this
  cannot. Zero-rated lines are listed with their base and no tax, when any line is taxed.
* ``total = subtotal + tax``; ``balance_due = total - amount_paid``.
* Statements: the running balance starts at the opening balance, adds debits and subtracts
  credits in the order given. Ageing applies the credits to the oldest charges first (FIFO)
  and sorts what is left by how many days past its due date it is on the statement date.

>>> from decimal import Decimal
>>> round_money(Decimal("2.345"), "USD"), round_money(Decimal("2.5"), "JPY")
(Decimal('2.35'), Decimal('3'))
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from functools import cache

from babel.numbers import get_currency_precision

from barua.documents.models import (
    ColumnKind,
    Line,
    PricedDocument,
    ReportTable,
    Statement,
    Transaction,
)

_HUNDRED = Decimal(100)
_ZERO = Decimal(0)


@cache
def currency_digits(currency: str) -> int:
    """How many decimals the currency's minor unit has: 2 for TZS, 0 for JPY."""
    return int(get_currency_precision(currency))


@cache
def _quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-currency_digits(currency))


def round_money(amount: Decimal, currency: str) -> Decimal:
    """``amount`` rounded half up to the currency's minor unit."""
    with localcontext() as ctx:
        ctx.prec = 60
        return amount.quantize(_quantum(currency), rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class LineAmount:
    """The money of one line."""

    gross: Decimal
    """``quantity x unit_price``, unrounded."""
    discount: Decimal
    """The discount, rounded to the currency."""
    net: Decimal
    """What the line adds to the subtotal, rounded to the currency."""


@dataclass(frozen=True, slots=True)
class TaxAmount:
    """The tax at one rate."""

    rate: Decimal
    base: Decimal
    """The sum of the line amounts taxed at this rate."""
    tax: Decimal


@dataclass(frozen=True, slots=True)
class Totals:
    """Everything the totals block of a priced document prints."""

    currency: str
    lines: tuple[LineAmount, ...]
    subtotal: Decimal
    """The sum of the line amounts, after discounts, before tax."""
    discount: Decimal
    """The sum of the line discounts (already taken off the subtotal)."""
    taxes: tuple[TaxAmount, ...]
    """One entry per rate, lowest rate first, zero-rated lines' base included (its tax 0);
    empty when no line is taxed at all."""
    tax: Decimal
    total: Decimal
    amount_paid: Decimal
    balance_due: Decimal


def line_amount(line: Line, currency: str) -> LineAmount:
    """The gross, discount and net amount of ``line``."""
    with localcontext() as ctx:
        ctx.prec = 60
        gross = line.quantity * line.unit_price
        raw_discount = gross * line.discount_percent / _HUNDRED
        net = round_money(gross - raw_discount, currency)
        # The printed discount is whatever makes gross - discount = net, to the cent.
        discount = round_money(gross, currency) - net
    return LineAmount(gross=gross, discount=discount, net=net)


def compute_totals(lines: Sequence[Line], *, currency: str, amount_paid: Decimal = _ZERO) -> Totals:
    """The totals of ``lines`` in ``currency``, with ``amount_paid`` already received."""
    amounts = tuple(line_amount(line, currency) for line in lines)
    bases: dict[Decimal, Decimal] = {}
    for line, amount in zip(lines, amounts, strict=True):
        bases[line.tax_rate] = bases.get(line.tax_rate, _ZERO) + amount.net
    with localcontext() as ctx:
        ctx.prec = 60
        # An accountant wants the zero-rated base beside the taxed ones; a document without
        # any tax has no breakdown at all.
        taxes = (
            tuple(
                TaxAmount(rate=rate, base=base, tax=round_money(base * rate / _HUNDRED, currency))
                for rate, base in sorted(bases.items())
            )
            if any(bases)
            else ()
        )
        subtotal = sum((a.net for a in amounts), _ZERO)
        discount = sum((a.discount for a in amounts), _ZERO)
        tax = sum((t.tax for t in taxes), _ZERO)
        total = subtotal + tax
        paid = round_money(amount_paid, currency)
    return Totals(
        currency=currency,
        lines=amounts,
        subtotal=subtotal,
        discount=discount,
        taxes=taxes,
        tax=tax,
        total=total,
        amount_paid=paid,
        balance_due=total - paid,
    )


def document_totals(document: PricedDocument) -> Totals:
    """The totals of an invoice, quote, order, credit or debit note, or purchase document."""
    return compute_totals(
        document.lines, currency=document.currency, amount_paid=document.amount_paid
    )


# Statements ---------------------------------------------------------------------------------

AGEING_BUCKETS = ("current", "days_1_30", "days_31_60", "days_61_90", "over_90")
"""The ageing columns, youngest first."""


@dataclass(frozen=True, slots=True)
class Ageing:
    """What the customer owes, by how late it is on the statement date."""

    current: Decimal
    """Not yet due (or in credit, when negative)."""
    days_1_30: Decimal
    days_31_60: Decimal
    days_61_90: Decimal
    over_90: Decimal

    @property
    def total(self) -> Decimal:
        return self.current + self.days_1_30 + self.days_31_60 + self.days_61_90 + self.over_90

    def buckets(self) -> tuple[Decimal, ...]:
        """The amounts in the order of :data:`AGEING_BUCKETS`."""
        return (self.current, self.days_1_30, self.days_31_60, self.days_61_90, self.over_90)


@dataclass(frozen=True, slots=True)
class StatementRow:
    """A transaction with the balance after it."""

    transaction: Transaction
    debit: Decimal
    credit: Decimal
    balance: Decimal


@dataclass(frozen=True, slots=True)
class StatementTotals:
    """Everything a statement prints that is computed."""

    currency: str
    opening_balance: Decimal
    rows: tuple[StatementRow, ...]
    total_debit: Decimal
    total_credit: Decimal
    closing_balance: Decimal
    ageing: Ageing


def _bucket(days_late: int) -> int:
    if days_late <= 0:
        return 0
    if days_late <= 30:
        return 1
    if days_late <= 60:
        return 2
    if days_late <= 90:
        return 3
    return 4


def age_balances(
    charges: Iterable[tuple[dt.date, Decimal]], credits: Decimal, *, as_of: dt.date
) -> Ageing:
    """Spread what is owed over the ageing buckets.

    ``charges`` are ``(due date, amount)``; ``credits`` (payments, credit notes) pay the charges
    that fell due first. Credits beyond every charge show as a negative ``current`` amount.
    """
    buckets = [_ZERO] * 5
    remaining = credits
    for due, amount in sorted(charges, key=lambda item: item[0]):
        paid = min(remaining, amount)
        remaining -= paid
        open_amount = amount - paid
        if open_amount:
            buckets[_bucket((as_of - due).days)] += open_amount
    buckets[0] -= remaining
    return Ageing(*buckets)


def opening_balance_date(statement: Statement) -> dt.date:
    """The date the opening balance is aged from: the statement's first day, when given.

    Without ``period_start`` it is the day before the first transaction, the latest day the
    balance certainly existed; without transactions either, the statement date. The balance
    then shows as at least that late, never as "Current" for want of a date.
    """
    if statement.period_start is not None:
        return statement.period_start
    if statement.transactions:
        return min(entry.date for entry in statement.transactions) - dt.timedelta(days=1)
    return statement.issue_date


def statement_totals(statement: Statement) -> StatementTotals:
    """The running balance, closing balance and ageing of ``statement``."""
    currency = statement.currency
    opening = round_money(statement.opening_balance, currency)
    balance = opening
    rows: list[StatementRow] = []
    charges: list[tuple[dt.date, Decimal]] = []
    total_debit = total_credit = _ZERO
    opening_date = opening_balance_date(statement)
    if opening > 0:
        charges.append((opening_date, opening))
    for transaction in statement.transactions:
        debit = round_money(transaction.debit, currency)
        credit = round_money(transaction.credit, currency)
        balance += debit - credit
        total_debit += debit
        total_credit += credit
        if debit:
            charges.append((transaction.due_date or transaction.date, debit))
        rows.append(StatementRow(transaction, debit, credit, balance))
    credits = total_credit + (-opening if opening < 0 else _ZERO)
    ageing = age_balances(charges, credits, as_of=statement.issue_date)
    return StatementTotals(
        currency=currency,
        opening_balance=opening,
        rows=tuple(rows),
        total_debit=total_debit,
        total_credit=total_credit,
        closing_balance=balance,
        ageing=ageing,
    )


# Reports ------------------------------------------------------------------------------------


def table_totals(table: ReportTable, currency: str) -> list[Decimal | None]:
    """The sum of each totalled column (money rounded cell by cell, as printed); else None."""
    sums: list[Decimal | None] = []
    for index, column in enumerate(table.columns):
        if not column.totalled:
            sums.append(None)
            continue
        total = _ZERO
        for row in table.rows:
            value = row[index]
            if isinstance(value, Decimal):
                total += round_money(value, currency) if column.kind is ColumnKind.MONEY else value
        sums.append(total)
    return sums
