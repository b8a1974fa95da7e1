"""The barua HTTP email service protocol, version 1, as data (``docs/http-protocol.md``).

What a client sends and what a service answers, for both ends: barua's
:class:`~barua.transports.http.HttpTransport` encodes a request and reads the answer, and a
service (barua's relay) decodes the request and builds the answer with the same functions, so
the two cannot drift apart. Bodies are bytes and nothing here does I/O or needs an HTTP
library. Section numbers refer to the document.

A service, in the order of section 5.1::

    request = decode_request(body)            # raises InvalidRequest: answer error.status
    ...                                       # authenticate, check the MIME, store
    answer = encode_acceptance(Acceptance(id=..., message_id=request.message_id, ...))

and a client::

    acceptance = parse_acceptance(body)       # None: this is no v1 email service
    error = parse_error(status, body, content_type=..., reason=...)
"""

from __future__ import annotations

import base64
import binascii
import codecs
import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any, NoReturn, TypeVar

import pybase64

from barua.message import OutgoingMessage
from barua.transports.base import format_size

PROTOCOL_VERSION = "v1"
"""The major version: the first segment of every path (section 4)."""
MESSAGES_PATH = f"/{PROTOCOL_VERSION}/messages"
"""``POST``: hand over one message for delivery (section 5)."""
HEALTH_PATH = f"/{PROTOCOL_VERSION}/health"
"""``GET``: is the service up, what are its limits, is the key valid (section 10)."""

# Headers and their values (sections 2, 3, 5.2 and 9). Header names are case-insensitive;
# these are the spellings the document uses.
JSON_TYPE = "application/json"
AUTHORIZATION = "Authorization"
WWW_AUTHENTICATE = "WWW-Authenticate"
BEARER_CHALLENGE = 'Bearer realm="barua"'
"""The ``WWW-Authenticate`` value of every ``401`` (RFC 6750)."""
RETRY_AFTER = "Retry-After"
IDEMPOTENT_REPLAYED = "Idempotent-Replayed"
"""Set to ``true`` on an answer replayed for a repeated Message-ID (section 7)."""

# Limits (sections 3, 5.2 and 9).
MAX_MESSAGE_SIZE = 25_000_000
"""The recommended largest decoded ``mime``, in bytes; a service may advertise another."""
MIN_MAX_MESSAGE_SIZE = 10_000_000
"""No v1 service accepts less than this as its largest message."""
MAX_RECIPIENTS = 100
"""The recommended largest ``envelope.recipients``."""
MIN_MAX_RECIPIENTS = 50
"""No v1 service accepts fewer recipients than this per message."""
MAX_MESSAGE_ID_LENGTH = 250
MAX_ADDRESS_LENGTH = 254
MAX_ID_LENGTH = 128
"""The longest ``id`` a service gives an accepted message."""
MAX_API_KEY_LENGTH = 256
IDEMPOTENCY_WINDOW = 24 * 60 * 60
"""Seconds during which a repeated Message-ID is recognised, and a client may retry."""
MAX_REPLY_TEXT = 300
"""Longest text of an answer a client keeps, in characters: the rest is cut."""

# RFC 9110 field values are visible ASCII: a key is 1 to 256 of those characters.
_KEY = re.compile(rf"[\x21-\x7e]{{1,{MAX_API_KEY_LENGTH}}}")
_BEARER = re.compile(r"bearer +(\S+)", re.I)
_CHARSET = re.compile(r";\s*charset\s*=\s*\"?([^\";\s]+)", re.I)
_MAX_JSON_DEPTH = 32
_T = TypeVar("_T")


def request_size_limit(max_message_size: int = MAX_MESSAGE_SIZE) -> int:
    """The largest request body a service with ``max_message_size`` must accept: the base64
    of the message plus room for the rest of the JSON (section 9)."""
    return 4 * math.ceil(max_message_size / 3) + 65_536


class ErrorCode(StrEnum):
    """The machine codes of section 8, each answered with the status :attr:`status` names.

    New codes may appear within v1: a client decides by the HTTP status, and uses a code
    only to refine it (as ``in_progress`` does a ``409``).
    """

    INVALID_JSON = "invalid_json"
    """The body is not JSON, or not a JSON object."""
    INVALID_REQUEST = "invalid_request"
    """A member is missing or of the wrong type; the message names it."""
    INVALID_BASE64 = "invalid_base64"
    """``mime`` is not standard base64 with padding and without white space."""
    INVALID_MIME = "invalid_mime"
    """No header/body separator, or no ``From``, ``Date`` or ``Message-ID`` header."""
    MESSAGE_ID_MISMATCH = "message_id_mismatch"
    """``message_id`` differs from the ``Message-ID`` header."""
    SENDER_MISMATCH = "sender_mismatch"
    """``envelope.mail_from`` differs from the address of the ``From`` header."""
    NO_RECIPIENTS = "no_recipients"
    TOO_MANY_RECIPIENTS = "too_many_recipients"
    MISSING_API_KEY = "missing_api_key"
    INVALID_API_KEY = "invalid_api_key"
    """The key is unknown or revoked."""
    KEY_DISABLED = "key_disabled"
    SENDER_NOT_ALLOWED = "sender_not_allowed"
    """The key may not send as ``envelope.mail_from``."""
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    REQUEST_TIMEOUT = "request_timeout"
    IN_PROGRESS = "in_progress"
    """A request with the same Message-ID is still being processed: temporary."""
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
    """Another message was accepted with the same Message-ID: permanent."""
    MESSAGE_TOO_LARGE = "message_too_large"
    """Carries ``max_size``, the service's largest message in bytes."""
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    RECIPIENTS_REFUSED = "recipients_refused"
    """Every recipient was refused; carries ``refused`` as an acceptance does."""
    RATE_LIMITED = "rate_limited"
    QUOTA_EXCEEDED = "quota_exceeded"
    INTERNAL_ERROR = "internal_error"
    UNAVAILABLE = "unavailable"

    @property
    def status(self) -> int:
        """The HTTP status a service answers with this code."""
        return _STATUS[self]


_STATUS: dict[ErrorCode, int] = {
    **dict.fromkeys(
        (
            ErrorCode.INVALID_JSON,
            ErrorCode.INVALID_REQUEST,
            ErrorCode.INVALID_BASE64,
            ErrorCode.INVALID_MIME,
            ErrorCode.MESSAGE_ID_MISMATCH,
            ErrorCode.SENDER_MISMATCH,
            ErrorCode.NO_RECIPIENTS,
            ErrorCode.TOO_MANY_RECIPIENTS,
        ),
        400,
    ),
    ErrorCode.MISSING_API_KEY: 401,
    ErrorCode.INVALID_API_KEY: 401,
    ErrorCode.KEY_DISABLED: 403,
    ErrorCode.SENDER_NOT_ALLOWED: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.REQUEST_TIMEOUT: 408,
    ErrorCode.IN_PROGRESS: 409,
    ErrorCode.IDEMPOTENCY_CONFLICT: 409,
    ErrorCode.MESSAGE_TOO_LARGE: 413,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.RECIPIENTS_REFUSED: 422,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.QUOTA_EXCEEDED: 429,
    ErrorCode.INTERNAL_ERROR: 500,
    ErrorCode.UNAVAILABLE: 503,
}


# Authentication (section 3) ---------------------------------------------------------------------


def bearer(key: str) -> str:
    """The ``Authorization`` value that carries ``key``."""
    return f"Bearer {key}"


def bearer_key(authorization: str | None) -> str | None:
    """The API key of an ``Authorization`` value, or None when there is none or it is not a
    well-formed key (1 to 256 visible ASCII characters): a service answers ``401`` for both."""
    match = _BEARER.fullmatch(authorization.strip()) if authorization else None
    if match is None or not _KEY.fullmatch(match.group(1)):
        return None
    return match.group(1)


def is_json(content_type: str | None) -> bool:
    """Whether a ``Content-Type`` is JSON as section 5.1 allows: ``application/json``, with a
    charset, if any, of ``utf-8``."""
    if not content_type:
        return False
    media_type = content_type.partition(";")[0]
    if media_type.strip().lower() != JSON_TYPE:
        return False
    charset = _charset(content_type)
    return charset is None or charset.lower() in ("utf-8", "utf8")


# The request (section 5.1) ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MessageRequest:
    """One ``POST /v1/messages``: the SMTP envelope, the Message-ID and the exact MIME bytes."""

    mail_from: str
    recipients: tuple[str, ...]
    message_id: str
    mime: bytes
    """The message as built, not dot-stuffed; base64 only in the JSON."""

    @classmethod
    def of(cls, message: OutgoingMessage) -> MessageRequest:
        """The request that hands over ``message``."""
        return cls(message.sender, message.recipients, message.message_id, message.data)

    def encode(self) -> bytes:
        """The JSON body. The bytes travel base64-encoded, so the service sends what was built
        and stored, byte for byte (the DKIM signature and the Message-ID the recipient sees
        depend on it)."""
        payload = {
            "envelope": {"mail_from": self.mail_from, "recipients": list(self.recipients)},
            "message_id": self.message_id,
            "mime": base64.b64encode(self.mime).decode("ascii"),
        }
        return json.dumps(payload, separators=(",", ":")).encode("utf-8")


def encode_request(message: OutgoingMessage) -> bytes:
    """The JSON body of ``POST /v1/messages`` for ``message``: its envelope and exact bytes."""
    return MessageRequest.of(message).encode()


class InvalidRequest(ValueError):
    """A request a service refuses before looking at its message: :attr:`code` and
    :attr:`status` are the answer's, and the message (English, one line, naming the member
    at fault) is its ``error.message``; :meth:`answer` is the whole body."""

    def __init__(self, code: ErrorCode, message: str, **fields: object) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = fields

    @property
    def status(self) -> int:
        return self.code.status

    def answer(self) -> bytes:
        """The body of the error answer."""
        return encode_error(self.code, self.message, **self.fields)


def decode_request(
    body: bytes,
    *,
    max_message_size: int = MAX_MESSAGE_SIZE,
    max_recipients: int = MAX_RECIPIENTS,
) -> MessageRequest:
    """The request in a ``POST /v1/messages`` body, checked as section 5.1 says, or
    :class:`InvalidRequest` for the first failure: the size (``413``) before the shape
    (``400``: ``invalid_json``, ``invalid_request``, ``invalid_base64``, ``no_recipients``,
    ``too_many_recipients``). Unknown members are ignored, as section 4 asks.

    What needs the message itself (``invalid_mime``, ``message_id_mismatch``,
    ``sender_mismatch``), authentication and the rest are the service's to check.
    """
    too_large = InvalidRequest(
        ErrorCode.MESSAGE_TOO_LARGE,
        f"Messages may be at most {format_size(max_message_size)}.",
        max_size=max_message_size,
    )
    if len(body) > request_size_limit(max_message_size):
        raise too_large
    try:
        data = json.loads(body, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:  # a JSON error, bad UTF-8, NaN, or too deep
        raise InvalidRequest(ErrorCode.INVALID_JSON, "The body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise InvalidRequest(ErrorCode.INVALID_JSON, "The body is not a JSON object.")
    if _depth(data) > _MAX_JSON_DEPTH:
        raise InvalidRequest(ErrorCode.INVALID_JSON, "The body is nested too deeply.")
    mime = _member(data, "mime", str)
    if _decoded_size(mime) > max_message_size:
        raise too_large
    envelope = _member(data, "envelope", dict)
    mail_from = _member(envelope, "mail_from", str, parent="envelope")
    _unicode(mail_from, "envelope.mail_from")
    recipients = _member(envelope, "recipients", list, parent="envelope")
    for number, recipient in enumerate(recipients):
        if not isinstance(recipient, str):
            raise _wrong(f"envelope.recipients[{number}]", str)
        _unicode(recipient, f"envelope.recipients[{number}]")
    message_id = _member(data, "message_id", str)
    _unicode(message_id, "message_id")
    if len(message_id) > MAX_MESSAGE_ID_LENGTH:
        raise InvalidRequest(
            ErrorCode.INVALID_REQUEST,
            f"message_id must be at most {MAX_MESSAGE_ID_LENGTH} characters.",
        )
    try:
        raw = pybase64.b64decode(mime.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error) as exc:
        raise InvalidRequest(
            ErrorCode.INVALID_BASE64,
            "mime must be standard base64 with padding, without line breaks.",
        ) from exc
    if not recipients:
        raise InvalidRequest(ErrorCode.NO_RECIPIENTS, "envelope.recipients is empty.")
    if len(recipients) > max_recipients:
        raise InvalidRequest(
            ErrorCode.TOO_MANY_RECIPIENTS,
            f"envelope.recipients may hold at most {max_recipients} addresses.",
        )
    return MessageRequest(mail_from, tuple(recipients), message_id, raw)


_NAMES: dict[type[object], str] = {str: "a string", list: "an array", dict: "an object"}


def _member(data: dict[str, Any], name: str, kind: type[_T], *, parent: str = "") -> _T:
    """``data[name]``, which must be a ``kind``; the error names it with its ``parent``."""
    path = f"{parent}.{name}" if parent else name
    if name not in data:
        raise InvalidRequest(ErrorCode.INVALID_REQUEST, f"{path} is missing.")
    value = data[name]
    if not isinstance(value, kind):
        raise _wrong(path, kind)
    return value


def _unicode(text: str, path: str) -> None:
    """JSON's ``\\ud800`` escapes make a lone surrogate, which no UTF-8 can hold: refused as the
    request's shape, before it reaches a database that would fail on it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRequest(
            ErrorCode.INVALID_REQUEST, f"{path} holds a lone surrogate (\\uD800 to \\uDFFF)."
        ) from None


def _wrong(path: str, kind: type[object]) -> InvalidRequest:
    return InvalidRequest(ErrorCode.INVALID_REQUEST, f"{path} must be {_NAMES[kind]}.")


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")  # Python's json reads NaN and Infinity; RFC 8259 not


def _depth(value: object) -> int:
    """How deeply ``value`` nests, counted without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(item, dict):
            stack.extend((child, level + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, level + 1) for child in item)
    return deepest


def _decoded_size(text: str) -> int:
    """The size of the bytes a base64 ``text`` stands for, found without decoding it."""
    return len(text) // 4 * 3 - text[-2:].count("=")


# The answers (sections 5.2 and 8) ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Acceptance:
    """The service's ``202`` answer: it took responsibility for the message."""

    id: str
    message_id: str | None
    accepted: tuple[str, ...]
    refused: dict[str, tuple[int, str]] = field(default_factory=dict)
    """Recipients refused at acceptance: address → (SMTP code, one line of text)."""


def encode_acceptance(acceptance: Acceptance) -> bytes:
    """The body of a ``202`` answer."""
    payload = {
        "id": acceptance.id,
        "message_id": acceptance.message_id,
        "accepted": list(acceptance.accepted),
        "refused": encode_refused(acceptance.refused),
    }
    return json.dumps(payload, separators=(",", ":")).encode("utf-8")


def parse_acceptance(body: bytes) -> Acceptance | None:
    """The ``202`` body, or None when it is not a v1 answer (so this is no email service)."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        return None
    accepted = data.get("accepted", [])
    message_id = data.get("message_id")
    if not isinstance(accepted, list) or not all(isinstance(a, str) for a in accepted):
        return None
    try:
        refused = parse_refused(data.get("refused", {}))
    except ValueError:
        return None
    return Acceptance(
        id=data["id"],
        message_id=message_id if isinstance(message_id, str) else None,
        accepted=tuple(accepted),
        refused=refused,
    )


def encode_refused(refused: dict[str, tuple[int, str]]) -> dict[str, dict[str, object]]:
    """barua's ``{"a@x": (550, "...")}`` as the protocol's ``{"a@x": {"code": 550,
    "message": "..."}}``, for an acceptance or a ``422`` (``refused=`` of :func:`encode_error`)."""
    return {address: {"code": code, "message": text} for address, (code, text) in refused.items()}


def parse_refused(value: object) -> dict[str, tuple[int, str]]:
    """``{"a@x": {"code": 550, "message": "..."}}`` as barua's ``{"a@x": (550, "...")}``.

    Raises :class:`ValueError` when ``value`` does not have that shape.
    """
    if not isinstance(value, dict):
        raise ValueError("refused must be an object")
    refused: dict[str, tuple[int, str]] = {}
    for address, reason in value.items():
        code = reason.get("code") if isinstance(reason, dict) else None
        text = reason.get("message", "") if isinstance(reason, dict) else None
        if not isinstance(code, int) or isinstance(code, bool) or not isinstance(text, str):
            raise ValueError(f"refused[{address!r}] must be {{code: int, message: str}}")
        refused[str(address)] = (code, " ".join(text.split()))
    return refused


@dataclass(frozen=True, slots=True)
class ServiceError:
    """An error answer: ``{"error": {"code": ..., "message": ..., ...}}`` or whatever came."""

    status: int
    code: str | None
    """The machine code, such as ``invalid_api_key``; None when the body was not v1 JSON."""
    text: str
    """The human text: the service's message, or the start of a non-JSON body."""
    fields: dict[str, Any] = field(default_factory=dict)
    """The other members of the error object, such as ``max_size`` or ``refused``."""

    @property
    def reply(self) -> str:
        return f"{self.code}: {self.text}" if self.code else self.text


def encode_error(code: ErrorCode | str, message: str, **fields: object) -> bytes:
    """The body of every answer other than ``202``; ``fields`` are the members its status
    defines (``max_size`` for ``413``, ``refused`` for ``422``). The message is made one line.
    """
    error: dict[str, object] = {"code": str(code), "message": " ".join(message.split())}
    error.update(fields)
    return json.dumps({"error": error}, separators=(",", ":")).encode("utf-8")


def parse_error(
    status: int, body: bytes, *, content_type: str = "", reason: str = ""
) -> ServiceError:
    """Read an error answer; a proxy's HTML page becomes its ``reason`` phrase, not markup."""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        code, text = error.get("code"), error.get("message")
        return ServiceError(
            status=status,
            code=code if isinstance(code, str) else None,
            text=_short(text if isinstance(text, str) else reason),
            fields={k: v for k, v in error.items() if k not in ("code", "message")},
        )
    text = "" if "html" in content_type else _short(_decode(body, content_type))
    return ServiceError(status=status, code=None, text=text or reason)


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_REPLY_TEXT else text[: MAX_REPLY_TEXT - 1] + "…"


def _charset(content_type: str) -> str | None:
    match = _CHARSET.search(content_type)
    return match.group(1) if match else None


def _decode(body: bytes, content_type: str) -> str:
    """``body`` as text in the charset its ``Content-Type`` names, UTF-8 when it names none
    or one Python does not know; bytes that do not decode are replaced."""
    charset = _charset(content_type) or "utf-8"
    try:
        codecs.lookup(charset)
    except LookupError:
        charset = "utf-8"
    return body.decode(charset, "replace")


# Retry-After (section 9) ---------------------------------------------------------------------


def retry_after(seconds: float) -> str:
    """The ``Retry-After`` value for a wait of ``seconds``: whole seconds, rounded up, the
    form section 9 asks services to send."""
    return str(max(0, math.ceil(seconds)))


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date), else None."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
