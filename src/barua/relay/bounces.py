"""The relay's bounce listener (``barua relay bounce-listen``): an SMTP server for the bounce
address, so the MX of the bounce domain can hand the relay its bounces directly.

It takes only what is a bounce of this relay: ``RCPT TO`` must be the relay's bounce address
with a message id after the ``+`` (VERP); anything else is refused with ``550``, so the
listener relays nothing. Each message is read within :data:`MAX_BOUNCE_SIZE` bytes and handed
to :meth:`barua.app.relay.RelayUseCases.relay_bounce` (in a thread: the application is
synchronous), once per recipient; the ``250`` comes after the bounce was handled, so a
failure answers ``451`` and the sending server tries again later.

>>> listener = BounceListener(barua, host="127.0.0.1", port=2525)         # doctest: +SKIP
>>> listener.start(); ...; listener.stop()                               # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import TYPE_CHECKING, Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from barua.errors import BaruaError

if TYPE_CHECKING:
    from barua.app import Barua

MAX_BOUNCE_SIZE = 2_000_000
"""The most bytes of one bounce taken (``552`` past it): a report is small, and the message
it returns is cut by most servers already."""
TIMEOUT = 60.0
"""Seconds a session may stay silent before it is closed."""
log = logging.getLogger("barua.relay")


class _Handler:
    def __init__(self, barua: Barua) -> None:
        self._barua = barua

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        loop = asyncio.get_running_loop()
        try:
            ours = await loop.run_in_executor(None, self._barua.is_relay_bounce, address)
        except BaruaError:
            return "451 4.3.0 cannot check the address now, try again later"
        if not ours:
            return "550 5.1.1 not a bounce address of this relay"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or envelope.content or b""
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        loop = asyncio.get_running_loop()
        try:
            for address in envelope.rcpt_tos:
                await loop.run_in_executor(None, self._handle, data, address)
        except BaruaError:
            log.warning("a bounce could not be handled now; the sender will retry")
            return "451 4.3.0 cannot take the bounce now, try again later"
        return "250 OK"

    def _handle(self, data: bytes, address: str) -> None:
        outcome = self._barua.relay_bounce(data, to=address)
        log.info("bounce for %s: %d failed", outcome.message, len(outcome.failed))


class _Controller(Controller):
    """aiosmtpd's Controller serving a socket bound beforehand (so port 0 works, and the
    port taken is known)."""

    def __init__(self, handler: _Handler, listener: socket.socket, **smtp: Any) -> None:
        self._listener = listener
        host, port = listener.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, **smtp)

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker, sock=self._listener)


class BounceListener:
    """The SMTP listener of ``barua``'s relay on ``host``:``port`` (0: a free port), in a
    thread of its own; :attr:`port` is the port it listens on."""

    def __init__(self, barua: Barua, *, host: str = "127.0.0.1", port: int = 25) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # IPPROTO_TCP named: asyncio turns Nagle's algorithm off only on sockets that say so.
        listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((host.strip("[]"), port))
        except OSError:
            listener.close()
            raise
        self.host = host
        self.port = int(listener.getsockname()[1])
        self._controller = _Controller(
            _Handler(barua),
            listener,
            data_size_limit=MAX_BOUNCE_SIZE,
            decode_data=False,
            timeout=TIMEOUT,
        )

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()
