"""Deadlines for blocking socket work that a library bounds only read by read.

httpx gives each read of an answer its timeout, not the answer: a service that sends a byte a
second holds the client for as long as it likes. A :class:`Deadline` guards one socket: armed
with :meth:`Watchdog.arm`, it shuts the socket down when it passes, which ends at once any read
or write blocked on it. The library then reports a broken connection, and the caller, seeing
:attr:`Deadline.expired`, reports the timeout it was.

One watchdog thread serves the whole process (:data:`WATCHDOG`), started on first use: arming
and disarming cost a lock, not a thread.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from contextlib import suppress


class Deadline:
    """``sock`` must be done with by ``when`` (``time.monotonic()``)."""

    __slots__ = ("_watchdog", "expired", "sock", "when")

    def __init__(self, watchdog: Watchdog, when: float, sock: socket.socket) -> None:
        self._watchdog = watchdog
        self.when = when
        self.sock = sock
        self.expired = False
        """Whether the deadline passed and the socket was shut down."""

    def disarm(self) -> bool:
        """Stop guarding the socket; returns whether the deadline had already passed."""
        return self._watchdog._disarm(self)


class Watchdog:
    """Shuts down the socket of each armed :class:`Deadline` that passes."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._armed: set[Deadline] = set()
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float, sock: socket.socket) -> Deadline:
        """Shut ``sock`` down ``seconds`` from now, unless disarmed before."""
        deadline = Deadline(self, time.monotonic() + seconds, sock)
        with self._changed:
            self._armed.add(deadline)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._watch, name="barua-deadlines", daemon=True
                )
                self._thread.start()
            self._changed.notify()
        return deadline

    def _disarm(self, deadline: Deadline) -> bool:
        with self._changed:
            self._armed.discard(deadline)
            return deadline.expired

    def _watch(self) -> None:
        with self._changed:
            while True:
                now = time.monotonic()
                for deadline in [d for d in self._armed if d.when <= now]:
                    self._armed.discard(deadline)
                    deadline.expired = True
                    with suppress(OSError):  # already closed: nothing is blocked on it
                        # The plain socket's shutdown, also under TLS: SSLSocket's own drops
                        # the TLS state that a thread blocked in a read is still using.
                        socket.socket.shutdown(deadline.sock, socket.SHUT_RDWR)
                if self._armed:
                    self._changed.wait(min(d.when for d in self._armed) - now)
                else:
                    self._changed.wait()

    def _forget_thread(self) -> None:
        """In a child process after fork: the thread stayed in the parent."""
        self._changed = threading.Condition()
        self._armed = set()
        self._thread = None


WATCHDOG = Watchdog()
"""The watchdog of this process."""

os.register_at_fork(after_in_child=WATCHDOG._forget_thread)
