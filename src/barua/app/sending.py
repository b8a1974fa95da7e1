"""Use case: send an email through the outbox, queued or delivered at once."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from barua.app.context import Context
from barua.app.errors import AppError
from barua.app.settings import SettingsUseCases
from barua.errors import TransportError
from barua.message import (
    CANNOT_READ,
    MAX_MESSAGE_SIZE,
    Attachment,
    build_message,
    read_attachments,
    read_file,
)
from barua.settings import Settings
from barua.store.businesses import Business
from barua.texts import Message

if TYPE_CHECKING:
    from barua.outbox.queue import OutboxEntry
    from barua.transports.base import StepObserver

NOT_A_SIZE = Message(
    "app.not_a_size", 'BARUA_MAX_MESSAGE_SIZE "{value}" is not a size (such as 25MB or 500KB)'
)
NOT_A_SIZE_HINT = Message(
    "app.not_a_size_hint", "Give a number of bytes, or of KB or MB (1 MB = 1,000,000 bytes)."
)
_SIZE = re.compile(r"(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>|B|KB|MB|GB)", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3}


def parse_size(value: str) -> int:
    """``25MB``, ``500 KB`` or ``26214400`` in bytes (KB and MB in thousands, as sizes are
    shown); raises :class:`~barua.app.errors.AppError` for anything else.

    >>> parse_size("25MB")
    25000000
    """
    found = _SIZE.fullmatch(value.strip())
    size = int(float(found["number"]) * _UNITS[found["unit"].lower()]) if found else 0
    if size < 1:
        raise AppError(NOT_A_SIZE(value=value), hint=NOT_A_SIZE_HINT())
    return size


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

    @property
    def max_message_size(self) -> int:
        """The largest email barua builds: ``BARUA_MAX_MESSAGE_SIZE``, else 25 MB."""
        given = self.environment.max_message_size
        return MAX_MESSAGE_SIZE if given is None else parse_size(given)

    def read_file(
        self, path: Path | str, *, field: str, cannot_read: Message = CANNOT_READ
    ) -> bytes:
        """The bytes of the regular file at ``path`` (a body, an attachment), refused unread
        when it is not a regular file or is larger than :attr:`max_message_size`;
        ``cannot_read`` (with ``{path}`` and ``{reason}``) says why it cannot be read."""
        return read_file(path, limit=self.max_message_size, field=field, cannot_read=cannot_read)

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
        sends nothing new. An attachment given as a path is read from that file. Nothing is
        read or queued when the files, or the email built, exceed :attr:`max_message_size`.
        """
        limit = self.max_message_size
        paths = [a for a in attachments if not isinstance(a, Attachment)]
        read = iter(read_attachments(paths, limit=limit))
        files = [a if isinstance(a, Attachment) else next(read) for a in attachments]
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
            max_size=limit,
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
