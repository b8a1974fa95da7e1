"""The durable outbox: every email is written here first, then delivered by a worker.

::

    enqueue ──► outbox (SQLite or PostgreSQL) ──► Worker: claim under a lease ──► transport
                                                     └─► delivery log, per attempt

Start with :meth:`Outbox.open`, :meth:`Outbox.enqueue` and :class:`Worker`.
"""

from __future__ import annotations

from barua.outbox.database import OutboxError, database_url
from barua.outbox.outcome import Decision, decide
from barua.outbox.profile import DEFAULT_PROFILE, settings_fingerprint
from barua.outbox.queue import Attempt, Outbox, OutboxEntry, Pause, Recipient
from barua.outbox.retry import RetryPolicy
from barua.outbox.session import Claimed, Record
from barua.outbox.status import AttemptOutcome, MessageStatus, RecipientStatus
from barua.outbox.worker import (
    Delivery,
    SendingLimits,
    Worker,
    WorkerConfig,
    WorkerReport,
    limits_for,
)

__all__ = [
    "DEFAULT_PROFILE",
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
    "database_url",
    "decide",
    "limits_for",
    "settings_fingerprint",
]
