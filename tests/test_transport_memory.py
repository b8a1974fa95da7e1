"""The in-memory transport keeps what it is given and honours the Transport protocol."""

from __future__ import annotations

from barua.message import build_message
from barua.settings import make_settings
from barua.transports.base import Transport
from barua.transports.memory import MemoryTransport


def test_messages_are_kept_in_order_and_meanwhile_runs_once_each() -> None:
    settings = make_settings(host="smtp.example.com", email_address="office@example.com")
    first, second = (
        build_message(settings, to=["jane@example.com"], subject=f"Ankara {n}", text="Hi")
        for n in (1, 2)
    )
    memory = MemoryTransport()
    transport: Transport = memory
    seen: list[int] = []
    with transport:
        result = transport.send(
            first, meanwhile=lambda: seen.append(len(memory.outbox)), then=second
        )
        transport.send(second, meanwhile=lambda: seen.append(len(memory.outbox)))
    assert memory.outbox == [first, second]
    assert seen == [1, 2], "after the message is kept, once per send"
    assert (result.queue_id, result.accepted) == ("1", ("jane@example.com",))
    assert memory.closed
