"""The bytes of a message as they go on the wire.

SMTP's DATA carries a message as lines ending in CRLF, ended by a line holding a single dot;
a line of the message that starts with a dot gets a second one (RFC 5321 section 4.5.2,
"dot-stuffing"). These are pure functions over bytes: the outbox checks once, at enqueue,
whether a message's bytes can go out as they are (:func:`is_wire_ready`), marks them
(:class:`WireData`) when it reads them back, and the SMTP transport sends them
(:func:`data_parts`) without scanning or copying them again.
"""

from __future__ import annotations

import re


class WireData(bytes):
    """Message bytes known to go into DATA as they are: CRLF line endings only, and no line
    that starts with a dot. Like ``markupsafe.Markup`` marks text already escaped, the type
    carries a fact checked once (at enqueue) so that every attempt skips scanning the bytes
    again; it equals the plain bytes it wraps."""

    __slots__ = ()


def is_wire_ready(data: bytes, *, crlf: bool = False) -> bool:
    """True when ``data`` needs neither dot-stuffing nor line-ending repair for DATA;
    ``crlf``: the caller knows every line of ``data`` ends in CRLF (only the dots are looked
    at).

    Scans at C speed: dots are found with ``memchr`` (few in a message whose bulk is base64,
    which has none), line endings are checked by :func:`crlf_only`.
    """
    if data.startswith(b"."):
        return False
    position = data.find(b".")
    for _ in range(64):
        if position < 0:
            break
        if data[position - 2 : position] == b"\r\n":
            return False
        position = data.find(b".", position + 1)
    else:
        # A text with many dots: one search for the pattern beats a long loop.
        if b"\r\n." in data:
            return False
    return crlf or crlf_only(data)


def crlf_only(data: bytes) -> bool:
    """True when every CR and every LF of ``data`` is part of a CRLF (no bare CR or LF).

    Counted in C without a copy: as many CRLF as CR and as LF. (Keeping the line endings
    alone and comparing them with CRLF repeated is five times faster, and wrong: it takes
    ``CR a LF`` for a line break.)"""
    lines = data.count(b"\n")
    return data.count(b"\r") == lines and data.count(b"\r\n") == lines


def dot_stuff(data: bytes) -> bytes:
    """``data`` (CRLF line endings) made safe for DATA and terminated by ``<CRLF>.<CRLF>``."""
    if not crlf_only(data):
        data = re.sub(rb"\r\n|\r|\n", b"\r\n", data)
    if data.startswith(b"."):
        data = b"." + data
    data = data.replace(b"\r\n.", b"\r\n..")
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def data_parts(data: bytes) -> tuple[bytes, ...]:
    """What DATA sends for ``data``, as pieces to write in order: the stored bytes themselves
    and the final ``.`` when they are ready for the wire (no copy of a large message), else one
    dot-stuffed copy."""
    if isinstance(data, WireData) or is_wire_ready(data):
        return (data, b".\r\n" if data.endswith(b"\r\n") else b"\r\n.\r\n")
    return (dot_stuff(data),)
