"""Email addresses and header values, checked strictly (pure: no I/O).

barua never relies on ``email.utils.parseaddr`` (CVE-2023-27043 misreads malformed addresses)
nor on the email package to refuse line breaks in headers (CVE-2024-6923): every value that
reaches a header passes through :func:`check_no_line_breaks` first, which also refuses every
other control character (an ESC in a sender name would reach the terminals that show it).

Text that came from bytes which are not UTF-8 (a Latin-1 terminal, a file name from an old
system) reaches Python holding lone surrogates; no email can carry them, so
:func:`check_utf8` refuses them by name before anything tries to encode them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

from barua.errors import MessageError
from barua.i18n import NC_
from barua.texts import Message, Text, untranslated

_LINE_BREAKS = re.compile(r"[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\x00]")
# C0 controls but the tab (a header may hold one), DEL and the C1 controls.
_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_SURROGATES = re.compile(r"[\ud800-\udfff]")
_LIST_SEPARATORS = re.compile(r"[,;\s]+")
_NAMED = re.compile(r'^\s*(?:"(?P<quoted>[^"]*)"|(?P<plain>[^"<>]*?))\s*<(?P<addr>[^<>]+)>\s*$')

FIELD_NAMES = (
    NC_("field", "to"),
    NC_("field", "cc"),
    NC_("field", "bcc"),
    NC_("field", "subject"),
    NC_("field", "reply_to"),
    NC_("field", "sender_name"),
    NC_("field", "recipient"),
    NC_("field", "email"),
    NC_("field", "text"),
    NC_("field", "html"),
    NC_("field", "attachment"),
    NC_("field", "attachment file name"),
    NC_("field", "header name"),
)
"""The parts of an email a message can name (``{field}``), marked for the catalog."""

NOT_UTF8 = Message("addresses.not_utf8", "{field} is not valid UTF-8 text")
NOT_UTF8_HINT = Message(
    "addresses.not_utf8_hint",
    "It holds characters of another encoding (such as Latin-1): type or save it as UTF-8.",
)
LINE_BREAK = Message("addresses.line_break", "{field} must not contain line breaks")
LINE_BREAK_HINT = Message(
    "addresses.line_break_hint", "Remove the line break: it could be used to add hidden headers."
)
CONTROL = Message(
    "addresses.control", "{field} must not contain control characters (it holds {character})"
)
CONTROL_HINT = Message(
    "addresses.control_hint",
    "Type the value again: a control character (such as ESC) is invisible, and a terminal "
    "showing it could be made to do something else.",
)
SEVERAL = Message(
    "addresses.several", '{field}: "{value}" holds several addresses: give them one at a time'
)
SEVERAL_HINT = Message("addresses.several_hint", "Give each address as a value of its own.")
NOT_AN_ADDRESS = Message(
    "addresses.invalid", '{field}: "{value}" is not a valid email address ({reason})'
)
NOT_AN_ADDRESS_HINT = Message(
    "addresses.invalid_hint", "An email address looks like name@example.com."
)


# The reasons email-validator gives, in its words: a reader of another language reads them in
# theirs. A reason not listed here is shown as the library wrote it.
_REASONS = {
    reason.template: reason
    for reason in (
        Message("addresses.reason.no_at", "An email address must have an @-sign."),
        Message("addresses.reason.nothing_before", "There must be something before the @-sign."),
        Message("addresses.reason.nothing_after", "There must be something after the @-sign."),
        Message(
            "addresses.reason.no_period",
            "The part after the @-sign is not valid. It should have a period.",
        ),
        Message(
            "addresses.reason.two_periods", "An email address cannot have two periods in a row."
        ),
        Message(
            "addresses.reason.period_hyphen",
            "An email address cannot have a period and a hyphen next to each other.",
        ),
        Message(
            "addresses.reason.invalid_character", "The email address contains an invalid character."
        ),
        Message(
            "addresses.reason.invalid_before",
            "The email address contains invalid characters before the @-sign.",
        ),
        Message(
            "addresses.reason.anything_after", "There can't be anything after the email address."
        ),
        Message("addresses.reason.not_ascii", "The email address is not valid ASCII."),
        Message(
            "addresses.reason.no_tld",
            "The part after the @-sign is not valid. It is not within a valid top-level domain.",
        ),
        Message(
            "addresses.reason.reserved",
            "The part after the @-sign is a special-use or reserved name that cannot be used "
            "with email.",
        ),
        Message(
            "addresses.reason.display_name",
            "A display name and angle brackets around the email address are not permitted here.",
        ),
    )
}
_REASONS_WITH_DETAIL = tuple(
    (reason.template.removesuffix("{detail}"), reason)
    for reason in (
        Message(
            "addresses.reason.invalid_before_detail",
            "The email address contains invalid characters before the @-sign: {detail}",
        ),
        Message(
            "addresses.reason.invalid_after_detail",
            "The part after the @-sign contains invalid characters: {detail}",
        ),
        Message(
            "addresses.reason.unsafe_detail",
            "The email address contains unsafe characters: {detail}",
        ),
    )
)


def address_reason(reason: str) -> Text:
    """Why email-validator refused an address, as a text to show in the reader's language."""
    if reason in _REASONS:
        return _REASONS[reason]()
    for start, message in _REASONS_WITH_DETAIL:
        if reason.startswith(start):
            return message(detail=reason.removeprefix(start))
    return untranslated(reason)


def check_utf8(value: str, *, field: str) -> str:
    """Return ``value``, or refuse it when it holds bytes that were not UTF-8 text."""
    if _SURROGATES.search(value):
        raise MessageError(NOT_UTF8(field=field), field=field, hint=NOT_UTF8_HINT())
    return value


def readable(value: str) -> str:
    """``value`` fit to print: each byte that was not UTF-8 becomes U+FFFD."""
    if not _SURROGATES.search(value):
        return value
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def check_no_line_breaks(value: str, *, field: str) -> str:
    """Return ``value``, or refuse it when it holds a line break that could inject a header,
    another control character (C0 but the tab, DEL, C1), or bytes that were not UTF-8, which
    no header can carry."""
    check_utf8(value, field=field)
    if _LINE_BREAKS.search(value):
        raise MessageError(LINE_BREAK(field=field), field=field, hint=LINE_BREAK_HINT())
    control = _CONTROLS.search(value)
    if control is not None:
        character = f"\\x{ord(control.group()):02x}"
        raise MessageError(
            CONTROL(field=field, character=character), field=field, hint=CONTROL_HINT()
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


class SeveralAddressesError(MessageError):
    """One value holds a list of addresses (``a@x.com, b@y.com``) where one is expected;
    ``value`` is that value and ``addresses`` the addresses in it."""

    def __init__(self, value: str, addresses: list[str], *, field: str) -> None:
        super().__init__(SEVERAL(field=field, value=value), field=field, hint=SEVERAL_HINT())
        self.value = value
        self.addresses = addresses


def several_addresses(value: str) -> list[str] | None:
    """The addresses in ``value`` when it is a list of two or more (``a@x.com, b@y.com``,
    separated by commas, semicolons or spaces), else None."""
    parts = [part for part in _LIST_SEPARATORS.split(value) if part]
    if len(parts) < 2:
        return None
    for part in parts:
        try:
            validate_email(part, check_deliverability=False, allow_smtputf8=True)
        except EmailNotValidError:
            return None
    return parts


def display_address(address: str) -> str:
    """``address`` as a person writes it: an internationalised domain in Unicode.

    >>> display_address("duka@xn--exmple-cua.com")
    'duka@exämple.com'
    """
    local, at, domain = address.rpartition("@")
    if not at:
        return address
    labels = []
    for label in domain.split("."):
        try:
            shown = (
                label[4:].encode("ascii").decode("punycode")
                if label.lower().startswith("xn--")
                else label
            )
        except UnicodeError:
            return address
        labels.append(shown)
    return f"{local}@{'.'.join(labels)}"


def validate_address(value: str, *, field: str) -> Mailbox:
    """Check one bare address such as ``jane@example.com`` (syntax only, no DNS)."""
    check_no_line_breaks(value, field=field)
    addresses = several_addresses(value)
    if addresses is not None:
        raise SeveralAddressesError(value, addresses, field=field)
    try:
        result = validate_email(value.strip(), check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as exc:
        raise MessageError(
            NOT_AN_ADDRESS(field=field, value=value, reason=address_reason(str(exc))),
            field=field,
            hint=NOT_AN_ADDRESS_HINT(),
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
