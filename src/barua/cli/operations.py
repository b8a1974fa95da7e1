"""The endpoints the people who run barua point their tools at, in front of every server:

``GET /healthz``  200 while the process runs (a liveness probe; it asks nothing else).
``GET /readyz``   200 when the database answers and is at the schema this barua knows, else
                  503 with the reason (a readiness probe, or a load balancer's check).
``GET /metrics``  the Prometheus text format (:mod:`barua.app.metrics`), to clients on
                  loopback and in the networks of ``--metrics-from`` only: business names are
                  no one else's business.

They answer before the web app's host allow-list and sign-in, on any ``Host``; everything
else goes to the server's own application. The same endpoints serve ``barua worker
--health-port`` on a port of their own.

With ``--access-log`` every request to the application is one event: the client's address,
the method, the path, the status and the time taken. Never the query string (a sign-in's
code travels there) nor a setup link's token.
"""

from __future__ import annotations

import ipaddress
import json
import re
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from barua.app.metrics import CONTENT_TYPE, Metrics

if TYPE_CHECKING:
    import socket

    from barua.app import Barua
    from barua.cli.events import EventLog

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGI = Callable[[Scope, Receive, Send], Awaitable[None]]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(value: str | None) -> tuple[Network, ...] | None:
    """The networks of a comma-separated list, or None when one item is not a network."""
    found: list[Network] = []
    for item in (value or "").split(","):
        if not item.strip():
            continue
        try:
            found.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            return None
    return tuple(found)


def _peer_allowed(scope: Scope, networks: tuple[Network, ...]) -> bool:
    client = scope.get("client")
    if not client:
        return False
    try:
        address = ipaddress.ip_address(client[0])
    except ValueError:
        return False
    return address.is_loopback or any(address in network for network in networks)


class OperationsEndpoints:
    """``/healthz``, ``/readyz`` and ``/metrics`` in front of ``app`` (or alone, without)."""

    def __init__(
        self,
        app: ASGI | None,
        barua: Barua,
        *,
        metrics_from: tuple[Network, ...] = (),
        count_relay_answers: bool = False,
        access_log: EventLog | None = None,
    ) -> None:
        self.app = app
        self.access_log = access_log
        self.barua = barua
        self.metrics = Metrics(barua.census, relay=count_relay_answers)
        self.metrics_from = metrics_from
        self.count_relay_answers = count_relay_answers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in {"GET", "HEAD"}:
            path = scope["path"]
            if path == "/healthz":
                return await _answer(send, 200, _json({"status": "alive"}))
            if path == "/readyz":
                return await self._ready(send)
            if path == "/metrics":
                if not _peer_allowed(scope, self.metrics_from):
                    body = _json({"error": "metrics are served to loopback and --metrics-from"})
                    return await _answer(send, 403, body)
                from starlette.concurrency import run_in_threadpool

                rendered = await run_in_threadpool(self.metrics.render)
                return await _answer(send, 200, rendered, CONTENT_TYPE)
        if self.app is None:
            if scope["type"] == "http":
                return await _answer(send, 404, _json({"error": "not found"}))
            return None
        if (
            self.count_relay_answers
            and scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] == "/v1/messages"
        ):
            send = self._counting(send)
        if self.access_log is not None and scope["type"] == "http":
            return await self._logged(scope, receive, send)
        return await self.app(scope, receive, send)

    async def _logged(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.access_log is not None and self.app is not None
        started = time.perf_counter()
        status = 500  # what uvicorn answers when the application fails before it does

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            ms = round((time.perf_counter() - started) * 1000, 1)
            client = scope.get("client")
            address = str(client[0]) if client else "-"
            method = _printable(str(scope["method"]))
            path = shown_path(scope)
            self.access_log(
                "request",
                f'{address} "{method} {path}" {status} {ms} ms',
                method=method,
                path=path,
                status=status,
                ms=ms,
                client=address,
            )

    def _counting(self, send: Send) -> Send:
        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.metrics.relay_answers.labels(code=str(message["status"])).inc()
            await send(message)

        return counted

    async def _ready(self, send: Send) -> None:
        from starlette.concurrency import run_in_threadpool

        found = await run_in_threadpool(self.barua.readiness)
        body = {
            "status": "ready" if found.ready else "not ready",
            "database": found.database,
            "schema": found.schema,
            "expected_schema": found.expected,
        }
        if found.problem is not None:
            body["problem"] = found.problem
        await _answer(send, 200 if found.ready else 503, _json(body))


_SETUP_TOKEN = re.compile(r"^/setup/[^/]+")
_UNPRINTABLE = re.compile(r"[^\x21-\x7e]")


def _printable(text: str, limit: int = 200) -> str:
    """``text`` on one line of printable ASCII: nothing a client sends can start a line of its
    own in the log or hide what follows."""
    shown = _UNPRINTABLE.sub(lambda found: f"%{ord(found.group()):02X}", text[:limit])
    return shown + ("..." if len(text) > limit else "")


def shown_path(scope: Scope) -> str:
    """The request's path as the log shows it: as the client sent it (still percent-encoded),
    without the query, a setup link's token replaced by ``...``."""
    raw = scope.get("raw_path") or str(scope["path"]).encode()
    path = raw.decode("latin-1").split("?", 1)[0]
    return _printable(_SETUP_TOKEN.sub("/setup/...", path))


def _json(value: object) -> bytes:
    return json.dumps(value).encode()


async def _answer(
    send: Send, status: int, body: bytes, content_type: str = "application/json"
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def serve_in_thread(endpoints: OperationsEndpoints, listener: socket.socket) -> Callable[[], None]:
    """Serve ``endpoints`` alone on ``listener`` in a thread (``barua worker --health-port``);
    returns the function that stops it."""
    import asyncio

    import uvicorn

    config = uvicorn.Config(endpoints, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve(sockets=[listener])),
        name="barua-health",
        daemon=True,
    )
    thread.start()

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()

    return stop
