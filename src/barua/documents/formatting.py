"""Numbers, money and dates as the document's locale writes them (pure: Babel's CLDR data).

``TSh 1,234,567.00`` in ``sw_TZ``, ``1.234,56 €`` in ``de_DE``. One :class:`Formatter` per
locale and currency is built once and reused, because parsing Babel's patterns costs more than
applying them. Non-breaking spaces from CLDR become plain spaces: PDF viewers copy them
badly and a table cell never wraps anyway.

What is printed must be drawable with the embedded fonts (:mod:`barua.documents.fonts`), which
ReportLab does not check: a missing glyph prints as nothing. So fullwidth signs become their
ordinary forms (``￥`` of ``ja_JP`` becomes ``¥``); a currency symbol the fonts still lack
gives way to the ISO code (``CNY 1,234.00``), dates in a script they lack to ISO dates, and
number separators they lack to English ones.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import unicodedata
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.dates import format_date
from babel.numbers import NumberPattern, parse_pattern

from barua.documents.errors import DocumentError
from barua.documents.fonts import missing_glyphs
from barua.documents.totals import currency_digits, round_money


def _plain_forms() -> dict[str, str]:
    forms = {"\xa0": " ", "\u202f": " "}
    for code in range(0xFF01, 0xFFEF):  # Halfwidth and Fullwidth Forms
        char = chr(code)
        plain = unicodedata.normalize("NFKC", char)
        if len(plain) == 1 and plain != char:
            forms[char] = plain
    return forms


_SPACES = str.maketrans(_plain_forms())
# CLDR's currency spacing, which Babel does not apply: "BHD 1.000", not "BHD1.000".
_LETTERS_TOUCHING_DIGITS = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")


def _drawable(text: str) -> bool:
    try:
        return not missing_glyphs(text)
    except DocumentError:  # no fonts: nothing is drawn, and rendering says why
        return True


def _with_fraction(pattern: NumberPattern, minimum: int, maximum: int) -> NumberPattern:
    fixed = copy.copy(pattern)
    fixed.frac_prec = (minimum, maximum)
    return fixed


class Formatter:
    """Formats values for one locale and currency."""

    def __init__(self, locale: str, currency: str) -> None:
        self.locale = Locale.parse(locale)
        self.currency = currency
        self.digits = currency_digits(currency)
        decimal = parse_pattern(self.locale.decimal_formats[None].pattern)
        self._amount = _with_fraction(decimal, self.digits, self.digits)
        self._quantity = _with_fraction(decimal, 0, 4)
        self._price = _with_fraction(decimal, self.digits, max(self.digits, 4))
        self._money = _with_fraction(
            parse_pattern(self.locale.currency_formats["standard"].pattern),
            self.digits,
            self.digits,
        )
        self._percent = _with_fraction(
            parse_pattern(self.locale.percent_formats[None].pattern), 0, 3
        )
        self._numbers = self.locale
        sample = Decimal("-1234567.89")
        if not _drawable(self.amount(sample) + self.percent(sample)):
            # Separators or digits in a script the fonts lack: write numbers as English does.
            self._numbers = Locale.parse("en")
        self._symbol_drawable = _drawable(self._with_symbol(sample))
        months = (dt.date(2025, month, 28) for month in range(1, 13))
        self._dates_drawable = _drawable("".join(self._medium_date(day) for day in months))

    def _with_symbol(self, value: Decimal) -> str:
        text = self._money.apply(
            value, self._numbers, currency=self.currency, currency_digits=False
        )
        return _LETTERS_TOUCHING_DIGITS.sub(" ", str(text).translate(_SPACES))

    def _medium_date(self, value: dt.date) -> str:
        return format_date(value, "medium", locale=self.locale).translate(_SPACES)

    def money(self, amount: Decimal) -> str:
        """With the currency symbol: ``TSh 1,234,567.00`` (the code if the fonts lack it)."""
        value = round_money(amount, self.currency)
        if self._symbol_drawable:
            return self._with_symbol(value)
        sign = "-" if value < 0 else ""
        return f"{sign}{self.currency} {self.amount(abs(value))}"

    def amount(self, amount: Decimal) -> str:
        """Without the symbol, for table cells: ``1,234,567.00``."""
        value = round_money(amount, self.currency)
        return str(self._amount.apply(value, self._numbers)).translate(_SPACES)

    def price(self, amount: Decimal) -> str:
        """A unit price: the currency's decimals at least, more when given (``0.125``)."""
        return str(self._price.apply(amount, self._numbers)).translate(_SPACES)

    def number(self, value: Decimal) -> str:
        """A quantity or plain number, with up to four decimals and none trailing: ``2.5``."""
        return str(self._quantity.apply(value, self._numbers)).translate(_SPACES)

    def percent(self, rate: Decimal) -> str:
        """A percentage written as people say it: ``18`` gives ``18%`` (``18 %`` in de)."""
        return str(self._percent.apply(rate / 100, self._numbers)).translate(_SPACES)

    def date(self, value: dt.date) -> str:
        """The locale's medium date: ``Jan 12, 2025``, ``12 Jan 2025``, ``12.01.2025``.

        ISO (``2025-01-12``) when the locale writes months in a script the fonts lack.
        """
        return self._medium_date(value) if self._dates_drawable else value.isoformat()

    def long_date(self, value: dt.date) -> str:
        """The locale's long date, for email texts: ``12 Januari 2025``."""
        return format_date(value, "long", locale=self.locale).translate(_SPACES)


@lru_cache(maxsize=64)
def formatter(locale: str, currency: str) -> Formatter:
    """The shared :class:`Formatter` for ``locale`` and ``currency``."""
    return Formatter(locale, currency)
