"""The outbox's error, and the messages it says."""

from __future__ import annotations

from barua.database.errors import DatabaseError
from barua.texts import Message


class OutboxError(DatabaseError):
    """The outbox cannot be read or written, or an entry does not exist or cannot change."""


NO_ENTRY = Message("outbox.no_entry", "there is no outbox entry {id}")
NO_ENTRY_HINT = Message(
    "outbox.no_entry_hint", "`barua outbox list` shows the entries and their ids."
)
CANNOT_RETRY = Message("outbox.cannot_retry", "outbox entry {id} is {status} and cannot be retried")
RETRY_HINT = Message("outbox.retry_hint", "Only deferred and failed entries can be retried.")
CANNOT_CANCEL = Message(
    "outbox.cannot_cancel", "outbox entry {id} is {status} and cannot be cancelled"
)
CANCEL_HINT = Message("outbox.cancel_hint", "Only queued and deferred entries can be cancelled.")
NEEDS_POSIX = Message(
    "outbox.processes_need_posix", "several worker processes need a POSIX system (Linux, macOS)"
)
NEEDS_POSIX_HINT = Message(
    "outbox.processes_need_posix_hint",
    "Leave out --processes, or start several `barua worker` yourself.",
)
PROCESS_FAILED = Message(
    "outbox.process_failed", "worker process {number} ended with exit code {exit_code}"
)
PROCESS_FAILED_HINT = Message(
    "outbox.process_failed_hint",
    "Its error is printed above; the messages it held are sent by the others once their "
    "lease runs out.",
)
