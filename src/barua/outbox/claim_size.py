"""How many messages a sender thread claims at a time: about half a second of its sending.

A claim is a round trip to the database, and a PostgreSQL claim reads every claimed message's
bytes: claimed 32 at a time instead of 8, a worker with one connection to a server on the same
machine delivers ~20% more messages a second. But what a worker has claimed no other worker
can send: against a provider taking a second a message, three workers sharing a short queue
of 40 would leave it to the one that claimed 32 of them. So a thread claims what it sends in
about :data:`HOLD_AHEAD` seconds, measured as it goes: many messages to a fast server, one at
a time to a slow one (whose claim's round trip is then nothing beside the message's).

>>> size = ClaimSize(most=32)
>>> size.next()
1
>>> for _ in range(20):
...     size.sent(0.002)
>>> size.next()
32
>>> for _ in range(20):
...     size.sent(1.5)
>>> size.next()
1
"""

from __future__ import annotations

HOLD_AHEAD = 0.5
"""Seconds of sending a thread claims at a time."""

_FIRST = 1
"""Messages claimed before any was timed."""

_WEIGHT = 0.2
"""Weight of the last message in the running average of the time a message takes."""


class ClaimSize:
    """One sender thread's claim size, from a running average of its time per message."""

    def __init__(self, *, most: int) -> None:
        self.most = max(1, most)
        self._seconds: float | None = None

    def sent(self, seconds: float) -> None:
        """One more message took ``seconds`` (its send, its record, its share of claims)."""
        if self._seconds is None:
            self._seconds = seconds
        else:
            self._seconds += _WEIGHT * (seconds - self._seconds)

    def next(self) -> int:
        """How many messages to claim now."""
        if self._seconds is None:
            return min(_FIRST, self.most)
        fits = int(HOLD_AHEAD / max(self._seconds, 1e-6))
        return max(1, min(self.most, fits))
