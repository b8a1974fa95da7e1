"""The durable outbox: every email is written here first, then delivered by a worker.

::

    enqueue ──► outbox (SQLite or PostgreSQL) ──► Worker: claim under a lease ──► transport
                                                     └─► delivery log, per attempt

Start with :meth:`Outbox.open`, :meth:`Outbox.enqueue` and :class:`Worker`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from barua.lazy import lazy_attributes

if TYPE_CHECKING:
    from barua.outbox.errors import OutboxError
    from barua.outbox.fingerprints import settings_fingerprint
    from barua.outbox.limits import SendingLimits, limits_for
    from barua.outbox.outcome import Decision, decide
    from barua.outbox.queue import Attempt, Outbox, OutboxEntry, Pause, Recipient
    from barua.outbox.retry import RetryPolicy
    from barua.outbox.session import Claimed, Record
    from barua.outbox.status import AttemptOutcome, MessageStatus, RecipientStatus
    from barua.outbox.worker import Delivery, Worker, WorkerConfig, WorkerReport

_LAZY: dict[str, str] = {
    "Attempt": "barua.outbox.queue",
    "AttemptOutcome": "barua.outbox.status",
    "Claimed": "barua.outbox.session",
    "Decision": "barua.outbox.outcome",
    "Delivery": "barua.outbox.worker",
    "MessageStatus": "barua.outbox.status",
    "Outbox": "barua.outbox.queue",
    "OutboxEntry": "barua.outbox.queue",
    "OutboxError": "barua.outbox.errors",
    "Pause": "barua.outbox.queue",
    "Recipient": "barua.outbox.queue",
    "RecipientStatus": "barua.outbox.status",
    "Record": "barua.outbox.session",
    "RetryPolicy": "barua.outbox.retry",
    "SendingLimits": "barua.outbox.limits",
    "Worker": "barua.outbox.worker",
    "WorkerConfig": "barua.outbox.worker",
    "WorkerReport": "barua.outbox.worker",
    "decide": "barua.outbox.outcome",
    "limits_for": "barua.outbox.limits",
    "settings_fingerprint": "barua.outbox.fingerprints",
}

__all__ = [
    "Attempt",
    "AttemptOutcome",
    "Claimed",
    "Decision",
    "Delivery",
    "MessageStatus",
    "Outbox",
    "OutboxEntry",
    "OutboxError",
    "Pause",
    "Recipient",
    "RecipientStatus",
    "Record",
    "RetryPolicy",
    "SendingLimits",
    "Worker",
    "WorkerConfig",
    "WorkerReport",
    "decide",
    "limits_for",
    "settings_fingerprint",
]

__getattr__, __dir__ = lazy_attributes(__name__, globals(), _LAZY)
