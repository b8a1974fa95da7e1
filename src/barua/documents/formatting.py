"""Numbers, money and dates as the document's locale writes them (pure: Babel's CLDR data).

``TSh 1,234,567.00`` in ``sw_TZ``, ``1.234,56 €`` in ``de_DE``. One :class:`Formatter` per
locale and currency is built once and reused, because parsing Babel's patterns costs more than
applying them. Non-breaking spaces from CLDR become plain spaces: PDF viewers copy them
badly and a table cell never wraps anyway.
"""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.dates import format_date
from babel.numbers import NumberPattern, parse_pattern

from barua.documents.totals import currency_digits, round_money

_SPACES = str.maketrans({"\xa0": " ", "\u202f": " "})


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

    def money(self, amount: Decimal) -> str:
        """With the currency symbol: ``TSh 1,234,567.00``."""
        value = round_money(amount, self.currency)
        text = self._money.apply(value, self.locale, currency=self.currency, currency_digits=False)
        return str(text).translate(_SPACES)

    def amount(self, amount: Decimal) -> str:
        """Without the symbol, for table cells: ``1,234,567.00``."""
        value = round_money(amount, self.currency)
        return str(self._amount.apply(value, self.locale)).translate(_SPACES)

    def price(self, amount: Decimal) -> str:
        """A unit price: the currency's decimals at least, more when given (``0.125``)."""
        return str(self._price.apply(amount, self.locale)).translate(_SPACES)

    def number(self, value: Decimal) -> str:
        """A quantity or plain number, with up to four decimals and none trailing: ``2.5``."""
        return str(self._quantity.apply(value, self.locale)).translate(_SPACES)

    def percent(self, rate: Decimal) -> str:
        """A percentage written as people say it: ``18`` gives ``18%`` (``18 %`` in de)."""
        return str(self._percent.apply(rate / 100, self.locale)).translate(_SPACES)

    def date(self, value: dt.date) -> str:
        """The locale's medium date: ``Jan 12, 2025``, ``12 Jan 2025``, ``12.01.2025``."""
        return format_date(value, "medium", locale=self.locale).translate(_SPACES)

    def long_date(self, value: dt.date) -> str:
        """The locale's long date, for email texts: ``12 Januari 2025``."""
        return format_date(value, "long", locale=self.locale).translate(_SPACES)


@lru_cache(maxsize=64)
def formatter(locale: str, currency: str) -> Formatter:
    """The shared :class:`Formatter` for ``locale`` and ``currency``."""
    return Formatter(locale, currency)
