"""barua's web app served by uvicorn in a thread of the test process, on a free port, with a
browser (Debian's chromium through Playwright) to drive it."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn

from barua.app import Barua, Environment
from barua.web import WebOptions, create_app

CHROMIUM = "/usr/bin/chromium"


@dataclass
class Served:
    barua: Barua
    url: str
    port: int

    def setup_link(self) -> str:
        token = self.barua.setup_link_token()
        assert token is not None, "a user exists already"
        return f"{self.url}/setup/{token}"


@contextmanager
def serve(*, worker: bool = False, **options: Any) -> Iterator[Served]:
    """The web app of a barua opened on the environment (the test's BARUA_HOME), until the
    block ends."""
    barua = Barua(Environment.from_environ())
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    app = create_app(barua, WebOptions(worker=worker, **options))
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve(sockets=[listener])), daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the web app did not start"
        time.sleep(0.01)
    try:
        yield Served(barua, f"http://127.0.0.1:{port}", port)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        listener.close()
        barua.close()
