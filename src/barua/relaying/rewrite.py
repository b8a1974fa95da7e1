"""Section 6 of the protocol: the checks of a message's MIME and the rewrite for sending it
from the relay's own address (pure: no I/O).

>>> mime = (b"From: Duka la Mama <office@duka.example>\\r\\nDate: Mon, 7 Dec 2026 10:00:00 +0000"
...         b"\\r\\nMessage-ID: <1@duka.example>\\r\\nBcc: hidden@example.com\\r\\n\\r\\nHi\\n")
>>> parsed = inspect_mime(mime)
>>> for line in rewrite(parsed, sending_address="noreply@mail.example").split(b"\\r\\n"):
...     print(line.decode())
From: Duka la Mama <noreply@mail.example>
Reply-To: Duka la Mama <office@duka.example>
Date: Mon, 7 Dec 2026 10:00:00 +0000
Message-ID: <1@duka.example>
<BLANKLINE>
Hi
<BLANKLINE>

Every line of what comes out ends in CRLF: a bare LF or a bare CR in the body becomes CRLF,
so no bare line ending reaches the next hop, and a ``<LF>.<LF>`` or ``<CR>.<CR>`` hidden in
the content becomes a line holding a dot, which SMTP's dot-stuffing doubles (CVE-2023-51764:
it cannot end the DATA early). A bare CR or LF inside the header block is a line break inside
a header value: the message is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from barua.wire import crlf_only

REMOVED = frozenset({b"bcc", b"sender", b"return-path", b"dkim-signature"})
"""Headers the relay removes (section 6.4): blind copies, and what no longer holds after the
From is rewritten."""
MAX_HEADER_LINES = 1000
"""The most header lines a message may have; more is refused (a header block of a million
one-character lines would cost every step after it)."""

_LINE_ENDINGS = re.compile(rb"\r\n|\r|\n")
_NAME = re.compile(rb"[!-9;-~]+")
_ANGLE = re.compile(r"^(?P<name>.*?)\s*<(?P<address>[^<>]*)>\s*$", re.S)
_BARE_ADDRESS = re.compile(
    r"^\s*(?P<address>[^\s<>(),;:\"]+@[^\s<>(),;:\"]+)\s*(?:\([^()]*\))?\s*$"
)


class InvalidMime(ValueError):
    """The MIME cannot be sent as it is: :attr:`code` is the protocol's error code
    (``invalid_mime``, ``message_id_mismatch``, ``sender_mismatch``) and the message one line
    of English naming what is wrong."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Header:
    name: bytes
    """As written, without the colon."""
    value: bytes
    """Everything after the colon, folding included, without the final CRLF."""

    @property
    def key(self) -> bytes:
        return self.name.lower()

    def text(self) -> str:
        """The value unfolded and trimmed, as text (bytes that are not UTF-8 kept as
        surrogates, so they come back unchanged)."""
        unfolded = self.value.replace(b"\r\n", b"")
        return unfolded.decode("utf-8", "surrogateescape").strip()

    def line(self) -> bytes:
        return self.name + b":" + self.value + b"\r\n"


@dataclass(frozen=True, slots=True)
class ParsedMime:
    """A message split into its headers and its body, line endings already CRLF."""

    headers: tuple[Header, ...]
    body: bytes
    """After the empty line that ends the headers."""
    from_header: Header
    from_name: str
    """The display name as written (encoded words kept), empty when there is none."""
    from_address: str
    message_id: str

    def get(self, key: bytes) -> Header | None:
        return next((h for h in self.headers if h.key == key), None)


def needs_smtputf8(data: bytes) -> bool:
    """Whether the message ``data`` (CRLF line endings) has UTF-8 in its header block
    (RFC 6532), which only a next hop offering SMTPUTF8 may take."""
    end = data.find(b"\r\n\r\n")
    return not (data if end < 0 else data[:end]).isascii()


def inspect_mime(mime: bytes) -> ParsedMime:
    """``mime`` split and checked; :class:`InvalidMime` (``invalid_mime``) when there is no
    header/body separator, no ``From``, ``Date`` or ``Message-ID``, more than one of them, a
    From that is not one mailbox, a header line that is not a header, or a bare CR or LF or
    a NUL inside the header block."""
    end, separator = _header_end(mime)
    if end < 0:
        raise InvalidMime("invalid_mime", "The MIME has no empty line between headers and body.")
    block = mime[:end]
    if b"\x00" in block:
        raise InvalidMime("invalid_mime", "A header holds a NUL byte.")
    if b"\r" in block.replace(b"\r\n", b""):
        raise InvalidMime("invalid_mime", "A header value holds a line break (a bare CR).")
    lines = _LINE_ENDINGS.split(block)
    if len(lines) > MAX_HEADER_LINES:
        raise InvalidMime(
            "invalid_mime", f"The MIME has more than {MAX_HEADER_LINES} header lines."
        )
    headers: list[list[bytes]] = []
    for number, line in enumerate(lines, 1):
        if line[:1] in (b" ", b"\t"):
            if not headers:
                raise InvalidMime("invalid_mime", "The MIME starts with a continuation line.")
            headers[-1][1] += b"\r\n" + line
            continue
        name, colon, value = line.partition(b":")
        if not colon or not _NAME.fullmatch(name):
            raise InvalidMime("invalid_mime", f"Header line {number} is not a header.")
        headers.append([name, value])
    parsed = tuple(Header(name, value) for name, value in headers)
    body = _crlf(mime[end + len(separator) :])
    found: dict[bytes, list[Header]] = {}
    for header in parsed:
        found.setdefault(header.key, []).append(header)
    for required in (b"from", b"date", b"message-id"):
        count = len(found.get(required, []))
        shown = {b"from": "From", b"date": "Date", b"message-id": "Message-ID"}[required]
        if count == 0:
            raise InvalidMime("invalid_mime", f"The MIME has no {shown} header.")
        if count > 1:
            raise InvalidMime("invalid_mime", f"The MIME has more than one {shown} header.")
    from_header = found[b"from"][0]
    name, address = _mailbox(from_header.text())
    return ParsedMime(
        headers=parsed,
        body=body,
        from_header=from_header,
        from_name=name,
        from_address=address,
        message_id=found[b"message-id"][0].text(),
    )


def check_request(parsed: ParsedMime, *, message_id: str, mail_from: str) -> None:
    """The request's ``message_id`` and ``envelope.mail_from`` agree with the MIME
    (``message_id_mismatch``, ``sender_mismatch``): the address of From, its domain
    compared case-insensitively."""
    if parsed.message_id != message_id.strip():
        raise InvalidMime("message_id_mismatch", "message_id differs from the Message-ID header.")
    if not same_address(parsed.from_address, mail_from):
        raise InvalidMime(
            "sender_mismatch", "envelope.mail_from differs from the address of the From header."
        )


def same_address(one: str, other: str) -> bool:
    """Two addresses are one: the local part compared exactly, the domain without case."""
    local, _, domain = one.rpartition("@")
    other_local, _, other_domain = other.rpartition("@")
    return local == other_local and domain.lower() == other_domain.lower()


def rewrite(parsed: ParsedMime, *, sending_address: str, display_name: str | None = None) -> bytes:
    """The message as the relay sends it (section 6, steps 1 to 4): From with the relay's
    ``sending_address`` and the display name as written (``display_name``, when the From
    had none), a Reply-To holding the original From when there was none, no Bcc, Sender,
    Return-Path or DKIM-Signature; every other byte as the client built it."""
    name = parsed.from_name or (display_name or "")
    has_reply_to = parsed.get(b"reply-to") is not None
    lines: list[bytes] = []
    for header in parsed.headers:
        if header.key in REMOVED:
            continue
        if header.key == b"from":
            value = f"{name} <{sending_address}>" if name else sending_address
            lines.append(header.name + b": " + _encoded(value) + b"\r\n")
            if not has_reply_to:
                lines.append(b"Reply-To:" + header.value + b"\r\n")
            continue
        lines.append(header.line())
    return b"".join(lines) + b"\r\n" + parsed.body


def _encoded(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _header_end(mime: bytes) -> tuple[int, bytes]:
    """Where the header block ends, and the empty line that ends it (-1 when none)."""
    if mime.startswith((b"\r\n", b"\n")):
        return -1, b""
    best, separator = -1, b""
    for candidate in (b"\r\n\r\n", b"\n\n", b"\r\n\n", b"\n\r\n"):
        # Only before the best so far: a separator that is absent is not searched for
        # through the whole body (200 KB four times).
        end = len(mime) if best < 0 else best + len(candidate) - 1
        at = mime.find(candidate, 0, end)
        if at >= 0:
            best, separator = at, candidate
    return best, separator


def _crlf(data: bytes) -> bytes:
    """``data`` with every bare LF and bare CR made CRLF (a copy only when needed)."""
    if crlf_only(data):
        return data
    return _LINE_ENDINGS.sub(b"\r\n", data)


def _mailbox(value: str) -> tuple[str, str]:
    """The display name (as written) and the address of a From holding one mailbox."""
    angle = _ANGLE.match(value)
    if angle is not None:
        name, address = angle["name"].strip(), angle["address"].strip()
        if "<" in name or ">" in name or _several(name):
            raise InvalidMime("invalid_mime", "The From header must hold one mailbox.")
    else:
        bare = _BARE_ADDRESS.match(value)
        if bare is None:
            raise InvalidMime("invalid_mime", "The From header must hold one mailbox.")
        name, address = "", bare["address"]
    if address.count("@") < 1 or not address.rpartition("@")[0] or not address.rpartition("@")[2]:
        raise InvalidMime("invalid_mime", "The From header must hold one mailbox.")
    return name, address


def _several(name: str) -> bool:
    """Whether a display name holds a comma outside quotes (a second mailbox, or a group)."""
    quoted = False
    escaped = False
    for char in name:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char in ",;:" and not quoted:
            return True
    return False
