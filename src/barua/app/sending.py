"""Use case: send an email through the outbox, queued or delivered at once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from barua.app.context import Context
from barua.app.settings import SettingsUseCases
from barua.errors import TransportError
from barua.message import Attachment, build_message
from barua.settings import Settings
from barua.store.businesses import Business

if TYPE_CHECKING:
    from barua.outbox.queue import OutboxEntry
    from barua.transports.base import StepObserver


@dataclass(frozen=True, slots=True)
class Sent:
    """An email's outbox entry, after it was queued or, when asked, tried at once."""

    entry: OutboxEntry
    settings: Settings
    error: TransportError | None = None
    """Why the attempt made now failed, when it did."""
    tried: bool = False
    """True when a delivery was attempted (or awaited) now."""

    @property
    def waits_for_settings(self) -> bool:
        """True when the email waits until the settings work (the server refused them), not
        for a time."""
        from barua.outbox.outcome import SETTINGS_FAULTS

        return self.entry.next_attempt_at is None or isinstance(self.error, SETTINGS_FAULTS)


class SendingUseCases(SettingsUseCases, Context):
    """Sending one email."""

    def send(
        self,
        business: Business,
        *,
        to: Sequence[str],
        subject: str,
        text: str,
        cc: Sequence[str] = (),
        bcc: Sequence[str] = (),
        html: str | None = None,
        attachments: Sequence[Attachment | Path | str] = (),
        key: str | None = None,
        wait: bool = True,
    ) -> Sent:
        """Build the email with the settings of ``business`` and put it in the outbox; with
        ``wait``, deliver it now and report what the server said.

        ``key`` is an idempotency key: the same key again finds the email already queued and
        sends nothing new. An attachment given as a path is read from that file.
        """
        files = [a if isinstance(a, Attachment) else Attachment.from_path(a) for a in attachments]
        settings = self.settings_in_effect(business)
        message = build_message(
            settings,
            to=to,
            cc=cc,
            bcc=bcc,
            subject=subject,
            text=text,
            html=html,
            attachments=files,
        )
        entry = self.outbox.enqueue(
            message, settings=settings, idempotency_key=key, business=business.key
        )
        if not wait:
            return Sent(entry, settings)
        return self.deliver_now(business, entry, settings)

    def deliver_now(
        self,
        business: Business,
        entry: OutboxEntry,
        settings: Settings | None = None,
        *,
        observer: StepObserver | None = None,
    ) -> Sent:
        """Try to deliver ``entry`` now, in this thread; when another worker is sending it
        already, wait for its result."""
        from barua.app.oauth import transport_factory
        from barua.outbox.worker import Worker, WorkerConfig

        settings = settings or self.settings_in_effect(business)
        if entry.status.final:
            return Sent(entry, settings, tried=True)
        worker = Worker(
            self.outbox,
            settings,
            config=WorkerConfig(business=business.key),
            transport_factory=transport_factory(self.store, business),
        )
        delivery = worker.deliver(entry.id, observer=observer)
        return Sent(delivery.entry, settings, delivery.error, tried=True)
