"""Email addresses and header values, checked strictly (pure: no I/O).

barua never relies on ``email.utils.parseaddr`` (CVE-2023-27043 misreads malformed addresses)
nor on the email package to refuse line breaks in headers (CVE-2024-6923): every value that
reaches a header passes through :func:`check_no_line_breaks` first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

from barua.errors import MessageError

_LINE_BREAKS = re.compile(r"[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\x00]")
_NAMED = re.compile(r'^\s*(?:"(?P<quoted>[^"]*)"|(?P<plain>[^"<>]*?))\s*<(?P<addr>[^<>]+)>\s*$')


def check_no_line_breaks(value: str, *, field: str) -> str:
    """Return ``value``, or refuse it when it holds a line break that could inject a header."""
    if _LINE_BREAKS.search(value):
        raise MessageError(
            f"{field} must not contain line breaks",
            field=field,
            hint="Remove the line break: it could be used to add hidden headers.",
        )
    return value


@dataclass(frozen=True, slots=True)
class Mailbox:
    """A checked address, with an optional display name.

    ``address`` is the form to use on the wire: the domain in ASCII (IDNA) when the local part
    is ASCII, otherwise the UTF-8 form, which needs a server offering SMTPUTF8.
    """

    address: str
    name: str | None = None

    @property
    def needs_smtputf8(self) -> bool:
        return not self.address.isascii()

    @property
    def domain(self) -> str:
        return self.address.rsplit("@", 1)[1]


def validate_address(value: str, *, field: str) -> Mailbox:
    """Check one bare address such as ``jane@example.com`` (syntax only, no DNS)."""
    check_no_line_breaks(value, field=field)
    try:
        result = validate_email(value.strip(), check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as exc:
        raise MessageError(
            f'{field}: "{value}" is not a valid email address ({exc})',
            field=field,
            hint="An email address looks like name@example.com.",
        ) from None
    return Mailbox(address=result.ascii_email or result.normalized)


def parse_mailbox(value: str, *, field: str) -> Mailbox:
    """Check ``jane@example.com`` or ``Jane Doe <jane@example.com>``."""
    check_no_line_breaks(value, field=field)
    match = _NAMED.match(value)
    if match is None:
        return validate_address(value, field=field)
    name = match.group("quoted") if match.group("quoted") is not None else match.group("plain")
    mailbox = validate_address(match.group("addr"), field=field)
    return Mailbox(address=mailbox.address, name=name.strip() or None)
