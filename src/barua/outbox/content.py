"""Cutting a message's bytes into content-addressed pieces, and putting them back (pure).

An invoice sent three times (a reminder, a resend after a correction of the text) carries the
same PDF each time. The outbox stores each large attachment once: the base64 body of every
attachment longer than :data:`MIN_BLOB` becomes a piece of its own, named by the SHA-256 of
its bytes, and the rest of the message (headers, text, boundaries) becomes the pieces between
them. Joining the pieces gives back the exact bytes that were built, byte for byte, so the
Message-ID, the Date and any signature stay what they were at enqueue.

>>> data = b"Subject: x\\r\\n\\r\\n" + b"QUJD" * 19 + b"\\r\\n"
>>> pieces = split(data, min_blob=64)
>>> [len(p) for p in pieces]
[15, 78]
>>> join(pieces) == data
True
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

MIN_BLOB = 4096
"""Base64 runs shorter than this stay inside the surrounding piece."""

# A run of base64 lines as the email package writes them (76 characters and CRLF), ending with
# a possibly shorter last line. Text bodies rarely look like this; when one does, it merely
# becomes a piece of its own, which changes nothing but where it is stored.
_BASE64_RUN = re.compile(rb"(?:[A-Za-z0-9+/]{76}\r\n)+(?:[A-Za-z0-9+/]{0,75}={0,2}\r\n)?")


def digest(piece: bytes) -> str:
    """The name a piece is stored under: ``sha256:`` and 64 hex digits."""
    return "sha256:" + hashlib.sha256(piece).hexdigest()


def split(data: bytes, *, min_blob: int = MIN_BLOB) -> list[bytes]:
    """``data`` as pieces whose concatenation is ``data``; large base64 runs stand alone."""
    pieces: list[bytes] = []
    start = 0
    for match in _BASE64_RUN.finditer(data):
        if match.end() - match.start() < min_blob:
            continue
        if match.start() > start:
            pieces.append(data[start : match.start()])
        pieces.append(data[match.start() : match.end()])
        start = match.end()
    if start < len(data) or not pieces:
        pieces.append(data[start:])
    return pieces


def join(pieces: Iterable[bytes]) -> bytes:
    """The message bytes again."""
    return b"".join(pieces)
