"""Reading an SMTP server's replies within bounds: their size, and the time they take.

smtplib reads a reply line by line, at most 8192 bytes a line but any number of lines, and its
socket timeout bounds each read, not the reply: a server that never ends a ``250-…`` reply
fills the memory, and one that trickles a byte every few seconds holds the client forever.
:class:`BoundedReplies` reads the replies itself instead, so that every reply

* has lines of at most :data:`MAX_LINE` bytes, at most :data:`MAX_LINES` of them and at most
  :data:`MAX_REPLY` bytes in all (:class:`ReplyTooLong` otherwise), and
* arrives in full before a deadline (:class:`ReplyTooSlow` otherwise): ``timeout`` seconds
  from when barua starts to read it, or the deadline of the whole step
  (:meth:`BoundedReplies.within`) when one step waits for several replies.

A reply that breaks a bound leaves the connection unusable (the rest of it is still on the
way), so the connection is closed, as smtplib does with a line it finds too long.
"""

from __future__ import annotations

import builtins
import smtplib
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from enum import StrEnum

MAX_LINE = 1024
"""The longest reply line read, CRLF included. RFC 5321 (4.5.3.1.5) allows 512 octets; some
servers go beyond it with long texts, so barua takes twice that."""
MAX_LINES = 100
"""The most lines in one reply: an EHLO reply has one per extension, a dozen or two."""
MAX_REPLY = 32 * 1024
"""The most bytes in one reply, every line counted."""

_CHUNK = 8192
"""Bytes asked of the socket at a time (smtplib's buffered reader asks as many)."""
_SLACK = 0.05
"""Seconds a read's timeout may differ from what is left before the deadline: it is set only
when it would differ by more, so a quick reply costs no system call to set it."""


class Bound(StrEnum):
    """Which bound a reply broke."""

    LINE = "line"
    """A line longer than :data:`MAX_LINE`."""
    LINES = "lines"
    """More lines than :data:`MAX_LINES`."""
    SIZE = "size"
    """More bytes than :data:`MAX_REPLY`."""


class ReplyTooLong(smtplib.SMTPException):
    """The server's reply broke ``bound``, whose value is ``limit``."""

    def __init__(self, bound: Bound, limit: int) -> None:
        super().__init__(f"reply over the {bound} bound ({limit})")
        self.bound = bound
        self.limit = limit


class ReplyTooSlow(smtplib.SMTPException):
    """The server began its reply and did not end it before the deadline. (Saying nothing at
    all until then is smtplib's own timeout: ``SMTPServerDisconnected`` from ``timeout``.)"""

    def __init__(self, received: int) -> None:
        super().__init__(f"reply not finished before the deadline ({received} bytes received)")
        self.received = received


class BoundedReplies(smtplib.SMTP):
    """smtplib's client with every reply read within bounds (see the module's docstring)."""

    _pending: bytearray
    """What the socket gave beyond the lines read so far (the next replies, pipelined); set
    by :meth:`_line` for each new socket."""
    _pending_from: socket.socket | None = None
    """The socket ``_pending`` came from: after STARTTLS, what arrived before the handshake
    is dropped (RFC 3207: nothing the server said in clear carries over)."""
    deadline: float | None = None
    """When the current step must be over (``time.monotonic()``), or None: each reply then
    gets ``timeout`` seconds from when its reading starts."""

    @contextmanager
    def within(self, seconds: float) -> Iterator[None]:
        """Every reply read inside must have arrived ``seconds`` from now: one deadline for
        a step with several replies (EHLO then HELO, the exchanges of AUTH LOGIN), and for
        the socket's other work in it (the TLS handshake after STARTTLS). Nested, the outer
        deadline holds."""
        if self.deadline is not None:
            yield
            return
        self.deadline = time.monotonic() + seconds
        try:
            yield
        finally:
            self.deadline = None
            self._restore_timeout()

    def getreply(self) -> tuple[int, bytes]:
        """The next reply: its code (-1 when the line has none) and its lines, without the
        codes, joined by LF, as smtplib returns them."""
        deadline = self.deadline if self.deadline is not None else time.monotonic() + self.timeout
        lines: list[bytes] = []
        size = 0
        try:
            while True:
                line = self._line(deadline, size)
                size += len(line)
                if size > MAX_REPLY:
                    raise ReplyTooLong(Bound.SIZE, MAX_REPLY)
                lines.append(line[4:].strip(b" \t\r\n"))
                try:
                    code = int(line[:3])
                except ValueError:
                    code = -1  # as smtplib: no continuation read after a broken code
                    break
                if line[3:4] != b"-":
                    break
                if len(lines) >= MAX_LINES:
                    raise ReplyTooLong(Bound.LINES, MAX_LINES)
        except smtplib.SMTPException:
            self.close()
            raise
        finally:
            if self.deadline is None:
                self._restore_timeout()
        return code, b"\n".join(lines)

    def _restore_timeout(self) -> None:
        """The socket's timeout as smtplib set it, for the work done outside replies."""
        if self.sock is not None and self.sock.gettimeout() != self.timeout:
            with suppress(OSError):  # a socket a failed TLS handshake left closed
                self.sock.settimeout(self.timeout)

    def _line(self, deadline: float, received: int) -> bytes:
        """One line of a reply, CRLF included; ``received`` bytes of the reply came before it."""
        sock = self.sock
        if sock is None:
            raise smtplib.SMTPServerDisconnected("please run connect() first")
        if self._pending_from is not sock:
            self._pending, self._pending_from = bytearray(), sock
        pending = self._pending
        while True:
            end = pending.find(b"\n", 0, MAX_LINE)
            if end >= 0:
                line = bytes(pending[: end + 1])
                del pending[: end + 1]
                return line
            if len(pending) >= MAX_LINE:
                raise ReplyTooLong(Bound.LINE, MAX_LINE)
            left = deadline - time.monotonic()
            try:
                if left <= 0 and (received or pending):
                    raise builtins.TimeoutError("timed out")
                # Past the deadline, a reply that has already arrived is still taken (the
                # test email waits for the greeting's first byte before reading it).
                left = max(left, 0.001)
                current = sock.gettimeout()
                if current is None or abs(current - left) > _SLACK:
                    sock.settimeout(left)
                chunk = sock.recv(_CHUNK)
            except builtins.TimeoutError as exc:
                if received or pending:
                    raise ReplyTooSlow(received + len(pending)) from exc
                self.close()
                # smtplib's words and exception for a server that says nothing in time.
                raise smtplib.SMTPServerDisconnected(
                    f"Connection unexpectedly closed: {exc}"
                ) from exc
            except OSError as exc:
                self.close()
                raise smtplib.SMTPServerDisconnected(
                    f"Connection unexpectedly closed: {exc}"
                ) from exc
            if not chunk:
                self.close()
                raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
            pending += chunk

    def close(self) -> None:
        self._pending, self._pending_from = bytearray(), None
        super().close()
