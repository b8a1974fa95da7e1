"""Use cases of the outbox: list, show, retry, cancel, purge, resume."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from barua.app.context import Context
from barua.outbox.errors import NO_ENTRY, NO_ENTRY_HINT, OutboxError
from barua.store.businesses import Business

if TYPE_CHECKING:
    from barua.outbox.queue import Attempt, OutboxEntry, Pause
    from barua.outbox.status import MessageStatus


@dataclass(frozen=True, slots=True)
class OutboxPage:
    """Entries of the outbox, newest first, with the counts by status and the pauses."""

    entries: list[OutboxEntry]
    counts: dict[MessageStatus, int]
    paused: dict[str, Pause]
    """The paused businesses among those shown, by key."""
    names: dict[str, str] = field(default_factory=dict)
    """Each business's name, by key."""


@dataclass(frozen=True, slots=True)
class EntryDetail:
    """One outbox entry with its delivery log, and the pause of its business if any."""

    entry: OutboxEntry
    attempts: list[Attempt]
    business_name: str
    paused: Pause | None


_LARGEST_ID = 2**63 - 1
"""The largest id a database keeps (a signed 64-bit integer)."""


def _checked(entry_id: int) -> int:
    """``entry_id``, or the error of an entry that is not there when no entry can have it (a
    database would fail on a number past 64 bits rather than find nothing)."""
    if not 1 <= entry_id <= _LARGEST_ID:
        raise OutboxError(NO_ENTRY(id=entry_id), hint=NO_ENTRY_HINT())
    return entry_id


class OutboxUseCases(Context):
    """The outbox, as a person looks after it."""

    def business_names(self) -> dict[str, str]:
        return {business.key: business.name for business in self.store.businesses()}

    def outbox_page(
        self,
        *,
        business: Business | None = None,
        status: MessageStatus | None = None,
        limit: int = 50,
        before_id: int | None = None,
    ) -> OutboxPage:
        """The newest ``limit`` entries (of ``business``, of ``status``), page by page."""
        key = business.key if business is not None else None
        entries = self.outbox.list_entries(
            status=status, limit=limit, before_id=before_id, business=key
        )
        paused = self.outbox.pauses()
        if key is not None:
            paused = {k: pause for k, pause in paused.items() if k == key}
        return OutboxPage(entries, self.outbox.counts(business=key), paused, self.business_names())

    def outbox_entry(self, entry_id: int) -> EntryDetail:
        """Entry ``entry_id``, its delivery log, and why its business is paused if it is."""
        entry = self.outbox.get(_checked(entry_id))
        attempts = self.outbox.attempts(entry_id)
        pause = None if entry.status.final else self.outbox.pause_of(entry.business)
        name = self.business_names().get(entry.business, entry.business)
        return EntryDetail(entry, attempts, name, pause)

    def retry(self, entry_id: int) -> OutboxEntry:
        """Send a deferred or failed entry again now; it keeps the time it was queued."""
        return self.outbox.retry(_checked(entry_id))

    def cancel(self, entry_id: int) -> OutboxEntry:
        """Cancel an entry that has not been sent."""
        return self.outbox.cancel(_checked(entry_id))

    def purge(self, *, sent_before: datetime) -> int:
        """Delete the entries sent before ``sent_before``; how many."""
        return self.outbox.purge(sent_before=sent_before)

    def resume(self, business: Business) -> bool:
        """Lift the pause of ``business``; True when it was paused."""
        return self.outbox.resume(business.key)
