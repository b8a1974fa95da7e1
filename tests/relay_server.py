"""barua's relay served by uvicorn in a thread of the test process, on a free port, with a
relay configured for the tests (its sending address, a DKIM key, a key to send with)."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn

from barua.app import Barua, Environment
from barua.app.present import WorkerConfig
from barua.app.relay import RelayOptions
from barua.cli.operations import OperationsEndpoints
from barua.relay import RelayServeOptions, create_app

SENDING = "noreply@relay.example"
BUSINESS = "office@duka.example"


@dataclass
class Relay:
    barua: Barua
    url: str
    port: int
    key: str


def configure(barua: Barua, *, dkim: bool = True, **config: Any) -> str:
    """The relay's settings for the tests, and a key that may send as @duka.example."""
    barua.update_relay_config(sending_address=SENDING, **config)
    if dkim:
        barua.generate_dkim(domain="relay.example", selector="s1")
    key, _made = barua.create_relay_key("duka", senders=["@duka.example"])
    return key


def send_through(barua: Barua, port: int) -> None:
    """The relay's next hop: the SMTP server on ``port`` of this machine, unencrypted."""
    barua.save_settings(
        barua.business(),
        {"host": "127.0.0.1", "port": port, "security": "none",
         "email_address": "smarthost@relay.example"},
    )  # fmt: skip


@contextmanager
def serve_relay(
    *,
    environment: Environment | None = None,
    worker: bool = False,
    configured: bool = True,
    relay: RelayOptions | None = None,
    poll: float = 0.05,
    **options: Any,
) -> Iterator[Relay]:
    """The relay of a barua opened on the environment (the test's BARUA_HOME)."""
    barua = Barua(environment or Environment.from_environ())
    key = configure(barua) if configured else ""
    # IPPROTO_TCP named: asyncio turns Nagle's algorithm off only on sockets that say they are
    # TCP, and with it on, an answer waits 40 ms for the client's delayed ACK.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    serve_options = RelayServeOptions(
        relay=relay or RelayOptions(),
        worker=worker,
        **{"worker_config": WorkerConfig(poll_interval=poll, lease=5.0), **options},
    )
    # Behind /healthz, /readyz and /metrics, as `barua relay serve` serves it.
    app = OperationsEndpoints(create_app(barua, serve_options), barua, count_relay_answers=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve(sockets=[listener])), daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the relay did not start"
        time.sleep(0.01)
    try:
        yield Relay(barua, f"http://127.0.0.1:{port}", port, key)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        listener.close()
        barua.close()


def mime(
    *,
    sender: str = f"Duka la Mama <{BUSINESS}>",
    to: str = "jane@example.com",
    message_id: str = "<1@duka.example>",
    body: bytes = b"Habari Jane\r\n",
    extra: bytes = b"",
) -> bytes:
    return (
        (
            f"From: {sender}\r\nTo: {to}\r\nSubject: Ankara\r\n"
            f"Date: Mon, 07 Dec 2026 10:00:00 +0000\r\nMessage-ID: {message_id}\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        ).encode()
        + extra
        + b"\r\n"
        + body
    )


def request(
    data: bytes | None = None,
    *,
    mail_from: str = BUSINESS,
    recipients: list[str] | None = None,
    message_id: str = "<1@duka.example>",
) -> bytes:
    """The JSON body of POST /v1/messages."""
    data = mime(message_id=message_id) if data is None else data
    return json.dumps(
        {
            "envelope": {"mail_from": mail_from, "recipients": recipients or ["jane@example.com"]},
            "message_id": message_id,
            "mime": base64.b64encode(data).decode(),
        }
    ).encode()
