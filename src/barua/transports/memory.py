"""A transport that keeps messages in memory: for tests and for applications' own tests."""

from __future__ import annotations

from barua.message import OutgoingMessage
from barua.transports.base import ClosesOnExit, SendResult


class MemoryTransport(ClosesOnExit):
    """Accepts every message and appends it to ``outbox``; no socket involved."""

    def __init__(self) -> None:
        self.outbox: list[OutgoingMessage] = []
        self.closed = False

    def send(self, message: OutgoingMessage) -> SendResult:
        self.outbox.append(message)
        return SendResult(
            message_id=message.message_id,
            accepted=message.recipients,
            reply="accepted into memory",
            queue_id=str(len(self.outbox)),
            server="memory",
        )

    def close(self) -> None:
        self.closed = True
