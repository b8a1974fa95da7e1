"""The states of an outbox entry, of each of its recipients, and of each delivery attempt.

An entry moves like this (``barua outbox show`` prints the path it took)::

    queued ──► sending ──► sent
      │           ├──► deferred ──► sending …      (temporary failure; next_attempt_at set)
      │           └──► failed                       (permanent failure, or retry time exhausted)
      └── queued / deferred ──► cancelled
"""

from __future__ import annotations

from enum import StrEnum


class MessageStatus(StrEnum):
    """Where an outbox entry is on its way out."""

    QUEUED = "queued"
    """Written to the outbox, waiting for a worker."""
    SENDING = "sending"
    """Claimed by a worker under a lease; back to the queue if the worker dies."""
    SENT = "sent"
    """The server took the message; no recipient is left to try (see each recipient)."""
    DEFERRED = "deferred"
    """A temporary failure; tried again at ``next_attempt_at``."""
    FAILED = "failed"
    """A permanent failure, or retried until the maximum age; ``last_error`` says why."""
    CANCELLED = "cancelled"
    """Cancelled before it was sent."""

    @property
    def final(self) -> bool:
        """True when nothing will happen to the entry any more without a person asking."""
        return self in _FINAL


_FINAL = frozenset({MessageStatus.SENT, MessageStatus.FAILED, MessageStatus.CANCELLED})
WAITING = (MessageStatus.QUEUED, MessageStatus.DEFERRED)
"""The states a worker claims from when they are due, and that can be cancelled."""


class RecipientStatus(StrEnum):
    """What became of one envelope recipient."""

    PENDING = "pending"
    """Not accepted yet: still to be tried."""
    ACCEPTED = "accepted"
    """The server accepted the message for this recipient."""
    REFUSED = "refused"
    """The server refused this recipient for good (5xx); ``code`` and ``reply`` say why."""
    FAILED = "failed"
    """Given up: the whole message failed, or the retry time ran out."""
    CANCELLED = "cancelled"
    """The entry was cancelled before this recipient was reached."""


class AttemptOutcome(StrEnum):
    """How one delivery attempt ended; one row per attempt in the delivery log."""

    ACCEPTED = "accepted"
    """The server accepted the message for every recipient tried."""
    PARTIAL = "partial"
    """The server accepted the message for some recipients and refused others."""
    DEFERRED = "deferred"
    """A temporary failure (4xx, connection lost, timeout, DNS): tried again later."""
    UNKNOWN = "outcome_unknown"
    """No reply after the final ".": the server may have delivered it; tried again with the
    same Message-ID so the receiver can spot a duplicate."""
    FAILED = "failed"
    """A permanent failure (5xx), or the last try before the maximum age."""
    PAUSED = "paused"
    """The server refused the login: the queue of these settings is paused, the message
    waits untouched."""
