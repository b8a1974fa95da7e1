"""A transport that keeps messages in memory: for tests and for applications' own tests."""

from __future__ import annotations

from collections.abc import Callable

from barua.message import OutgoingMessage
from barua.transports.base import ClosesOnExit, SendResult


class MemoryTransport(ClosesOnExit):
    """Accepts every message and appends it to ``outbox``; no socket involved."""

    def __init__(self) -> None:
        self.outbox: list[OutgoingMessage] = []
        self.closed = False

    def send(
        self,
        message: OutgoingMessage,
        *,
        meanwhile: Callable[[], None] | None = None,
        then: OutgoingMessage | None = None,
    ) -> SendResult:
        """Append ``message`` to ``outbox``, then call ``meanwhile`` once, as a server would
        have the message by then; ``then`` is ignored, as there is nothing to prepare."""
        self.outbox.append(message)
        if meanwhile is not None:
            meanwhile()
        return SendResult(
            message_id=message.message_id,
            accepted=message.recipients,
            reply="accepted into memory",
            queue_id=str(len(self.outbox)),
            server="memory",
        )

    def close(self) -> None:
        self.closed = True
