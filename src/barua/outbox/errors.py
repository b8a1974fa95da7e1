"""The outbox's error, and the messages it says."""

from __future__ import annotations

from barua.database.errors import DatabaseError
from barua.outbox.status import AttemptOutcome, MessageStatus, RecipientStatus
from barua.texts import Message, Text, joined, untranslated


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

# The words for each state, as the command line shows them (the English ones are the values).
STATUS_WORDS = {
    MessageStatus.QUEUED: Message("outbox.status.queued", "queued"),
    MessageStatus.SENDING: Message("outbox.status.sending", "sending"),
    MessageStatus.SENT: Message("outbox.status.sent", "sent"),
    MessageStatus.DEFERRED: Message("outbox.status.deferred", "deferred"),
    MessageStatus.FAILED: Message("outbox.status.failed", "failed"),
    MessageStatus.CANCELLED: Message("outbox.status.cancelled", "cancelled"),
}
RECIPIENT_WORDS = {
    RecipientStatus.PENDING: Message("outbox.recipient.pending", "pending"),
    RecipientStatus.ACCEPTED: Message("outbox.recipient.accepted", "accepted"),
    RecipientStatus.REFUSED: Message("outbox.recipient.refused", "refused"),
    RecipientStatus.FAILED: Message("outbox.recipient.failed", "failed"),
    RecipientStatus.CANCELLED: Message("outbox.recipient.cancelled", "cancelled"),
}
OUTCOME_WORDS = {
    AttemptOutcome.ACCEPTED: Message("outbox.outcome.accepted", "accepted"),
    AttemptOutcome.PARTIAL: Message("outbox.outcome.partial", "partial"),
    AttemptOutcome.DEFERRED: Message("outbox.outcome.deferred", "deferred"),
    AttemptOutcome.UNKNOWN: Message("outbox.outcome.unknown", "outcome_unknown"),
    AttemptOutcome.FAILED: Message("outbox.outcome.failed", "failed"),
    AttemptOutcome.PAUSED: Message("outbox.outcome.paused", "paused"),
}
SENT_TO_ONE = Message("outbox.summary.sent_one", "sent to 1 recipient")
SENT_TO_ALL = Message("outbox.summary.sent_all", "sent to all {count} recipients")
SENT_TO_SOME = Message("outbox.summary.sent_some", "sent to {accepted} of {total} recipients")
SENT_TO_NONE_OF_ONE = Message("outbox.summary.sent_none", "sent to {accepted} of 1 recipient")
TRIED_AGAIN = Message("outbox.summary.deferred", "will be tried again at {time}: {error}")
TEMPORARY = Message("outbox.summary.temporary", "temporary failure")
FAILED_BECAUSE = Message("outbox.summary.failed", "failed: {error}")
PERMANENT = Message("outbox.summary.permanent", "permanent failure")
WITH_REPLY = Message("outbox.summary.with_reply", "{error} (server replied: {code} {reply})")


# What the delivery log notes beside an attempt. The log keeps the English words (readable
# with SQL alone); :func:`detail_text` shows them in the reader's language.
NOT_TRIED = Message(
    "outbox.detail.not_tried", "not tried: the connection for this batch had just failed"
)
LEASE_LOST = Message(
    "outbox.detail.lease_lost",
    "the lease had run out and another worker took the message over",
)
_DETAILS = {message.template: message for message in (NOT_TRIED, LEASE_LOST)}


def detail_text(detail: str) -> Text:
    """An attempt's note (notes joined by "; "), each known one in the reader's language."""
    parts = tuple(
        _DETAILS[part]() if part in _DETAILS else untranslated(part) for part in detail.split("; ")
    )
    return parts[0] if len(parts) == 1 else joined("outbox.details", parts)
