"""A real SMTP server for the tests: aiosmtpd on 127.0.0.1, port 0, real TLS and AUTH.

Faults are injected on purpose with ``faults``: a map from an SMTP command (``MAIL``, ``RCPT``,
``DATA``, ``AUTH``) to the reply the server gives instead of accepting it. More kinds:

* ``"CONNECT"``: the reply given instead of the greeting, then the connection closes (e.g.
  ``"421 4.7.0 Too many connections"``);
* ``"HANG <seconds>"`` for ``MAIL`` or ``DATA``: the server waits that long before it answers
  (for DATA it records the message first: the client gives up waiting, yet the server has
  delivered, as a real Postfix would);
* ``"DROP"`` for ``DATA``: the whole message arrives, the reply never leaves;
* ``"DROP_MID"`` for ``DATA``: the connection closes after the first bytes of the message.

``fault_counts`` limits a fault to its next N uses, after which the server behaves again
("fail the next N commands, then recover"); ``on_message`` is called with each recorded message.

aiosmtpd does not advertise PIPELINING (RFC 2920), though it reads pipelined commands in order;
``SmtpServer(pipelining=True)`` advertises it, and its recorder keeps, for each MAIL FROM, the
commands that had already arrived behind it (``queued_behind_mail``): a pipelining client's
RCPT TOs and DATA are there, a lock-step client's never are.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.certs import CertFiles

Mode = Literal["ssl", "starttls", "plain"]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    mail_options: list[str]


@dataclass
class Recorder:
    """The aiosmtpd handler: records every message and applies the injected faults."""

    faults: dict[str, str] = field(default_factory=dict)
    refuse_recipients: dict[str, str] = field(default_factory=dict)
    messages: list[Received] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    fault_counts: dict[str, int] = field(default_factory=dict)
    on_message: Callable[[Received], None] | None = None

    def take_fault(self, command: str) -> str | None:
        """The fault to apply to ``command`` now, counting it down when it is limited."""
        with self.lock:
            fault = self.faults.get(command)
            if fault is not None and command in self.fault_counts:
                self.fault_counts[command] -= 1
                if self.fault_counts[command] <= 0:
                    del self.fault_counts[command]
                    self.faults.pop(command, None)
            return fault

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        fault = self.take_fault("MAIL")
        if fault is not None and fault.startswith("HANG"):
            await asyncio.sleep(float(fault.split()[1]))
        elif fault is not None:
            return fault
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        fault = self.take_fault("RCPT")
        if fault is not None:
            return fault
        if address in self.refuse_recipients:
            return self.refuse_recipients[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        fault = self.take_fault("DATA")
        if fault == "DROP":
            # The whole message arrived, but the reply never leaves: outcome unknown.
            server.transport.close()
            return "250 never sent"
        hang = 0.0
        if fault is not None and fault.startswith("HANG"):
            hang = float(fault.split()[1])
        elif fault is not None:
            return fault
        content = envelope.original_content or b""
        with self.lock:
            self.messages.append(
                Received(
                    mail_from=str(envelope.mail_from),
                    rcpt_tos=list(envelope.rcpt_tos),
                    data=content,
                    mail_options=list(envelope.mail_options),
                )
            )
            number = len(self.messages)
        if self.on_message is not None:
            self.on_message(self.messages[-1])
        if hang:
            # Delivered already, like a Postfix that queued the message before it answered.
            await asyncio.sleep(hang)
        return f"250 2.0.0 Ok: queued as TEST{number:05d}"


@dataclass
class TokenRecorder(Recorder):
    """A :class:`Recorder` whose server logs in with access tokens only (XOAUTH2, OAUTHBEARER),
    checked with ``check(user, token)``; refusals read as Microsoft's or Google's do."""

    check: Callable[[str, str], bool] | None = None
    refusal: str = "535 5.7.3 Authentication unsuccessful"
    token_logins: list[tuple[str, str]] = field(default_factory=list)
    """Each login tried: (mechanism, user)."""

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        # Like Microsoft 365: a mailbox signed in sends only as itself (no "Send As" here).
        user = str(session.auth_data or "")
        sender = str(envelope.mail_from or "")
        if user and sender.lower() != user.lower():
            return (
                f"554 5.2.252 SendAsDenied; {user} not allowed to send as {sender}; "
                "STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied"
            )
        return await super().handle_DATA(server, session, envelope)

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        raw = await self._initial(server, args)
        fields = dict(part.split("=", 1) for part in raw.split("\x01") if "=" in part)
        return await self._verdict(
            server, "XOAUTH2", fields.get("user", ""), fields.get("auth", "")
        )

    async def auth_OAUTHBEARER(self, server: SMTP, args: list[str]) -> AuthResult:
        raw = await self._initial(server, args)
        header, _, rest = raw.partition("\x01")
        user = header.split("a=", 1)[1].rstrip(",") if "a=" in header else ""
        fields = dict(part.split("=", 1) for part in rest.split("\x01") if "=" in part)
        return await self._verdict(server, "OAUTHBEARER", user, fields.get("auth", ""))

    async def _initial(self, server: SMTP, args: list[str]) -> str:
        import base64

        if len(args) > 1:
            return base64.b64decode(args[1]).decode("utf-8", "replace")
        blob = await server.challenge_auth("")
        return blob.decode("utf-8", "replace") if isinstance(blob, bytes) else ""

    async def _verdict(self, server: SMTP, mechanism: str, user: str, auth: str) -> AuthResult:
        self.token_logins.append((mechanism, user))
        token = auth.removeprefix("Bearer ")
        if self.check is not None and self.check(user, token):
            return AuthResult(success=True, auth_data=user)
        # The error comes as a challenge; the client's empty answer ends the exchange.
        await server.challenge_auth('{"status":"401","schemes":"bearer","scope":"mail"}')
        return AuthResult(success=False, handled=False, message=self.refusal)


@dataclass
class PipeliningRecorder(Recorder):
    """A :class:`Recorder` whose server advertises PIPELINING."""

    queued_behind_mail: list[bytes] = field(default_factory=list)
    queued_behind_data: list[bytes] = field(default_factory=list)
    """For each message, what had arrived behind its final dot (an envelope sent ahead)."""

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.queued_behind_data.append(bytes(server._reader._buffer))
        return await super().handle_DATA(server, session, envelope)

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        self.queued_behind_mail.append(bytes(server._reader._buffer))
        return await super().handle_MAIL(server, session, envelope, address, options)

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]


class _FaultySMTP(SMTP):  # type: ignore[misc]
    """aiosmtpd's server with the faults that need the protocol itself: a refused greeting and
    a connection dropped in the middle of DATA."""

    async def _handle_client(self) -> None:
        fault = self.event_handler.take_fault("CONNECT")
        if fault is not None:
            await self.push(fault)
            self.transport.close()
            return
        await super()._handle_client()

    async def smtp_DATA(self, arg: str) -> None:
        if self.event_handler.faults.get("DATA") == "DROP_MID" and self.envelope.rcpt_tos:
            self.event_handler.take_fault("DATA")
            await self.push("354 End data with <CR><LF>.<CR><LF>")
            await self._reader.read(1024)
            self.transport.close()
            return
        await super().smtp_DATA(arg)


class _LoopbackController(Controller):  # type: ignore[misc]
    """aiosmtpd's Controller on a port the kernel picks (port 0)."""

    def __init__(self, handler: Any, **kwargs: Any) -> None:
        # IPPROTO_TCP named: asyncio turns Nagle's algorithm off only on sockets that say they
        # are TCP, and with it on, the replies to a pipelined envelope wait 40 ms for an ACK.
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        super().__init__(
            handler, hostname="127.0.0.1", port=self._listener.getsockname()[1], **kwargs
        )

    def factory(self) -> SMTP:
        return _FaultySMTP(self.handler, **self.SMTP_kwargs)

    def _create_server(self) -> Awaitable[Any]:
        return self.loop.create_server(
            self._factory_invoker, sock=self._listener, ssl=self.ssl_context
        )


class SmtpServer:
    """A running aiosmtpd server; ``messages`` holds what arrived."""

    def __init__(
        self,
        *,
        mode: Mode,
        certs: CertFiles | None = None,
        users: dict[str, str] | None = None,
        faults: dict[str, str] | None = None,
        size_limit: int = 33554432,
        smtputf8: bool = True,
        auth_required: bool = False,
        pipelining: bool = False,
        tokens: Callable[[str, str], bool] | None = None,
        mechanisms: tuple[str, ...] = ("XOAUTH2", "OAUTHBEARER"),
    ) -> None:
        recorder: type[Recorder] = PipeliningRecorder if pipelining else Recorder
        if tokens is not None:
            recorder = TokenRecorder
        self.recorder = recorder(faults=dict(faults or {}))
        if isinstance(self.recorder, TokenRecorder):
            self.recorder.check = tokens
        self.users = dict(users or {})
        tls: ssl.SSLContext | None = None
        if mode != "plain":
            assert certs is not None
            tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls.load_cert_chain(certs.cert, certs.key)
        kwargs: dict[str, Any] = {
            "data_size_limit": size_limit,
            "enable_SMTPUTF8": smtputf8,
            "auth_required": auth_required,
            # Implicit TLS is invisible to aiosmtpd's check, and a plain server that offers AUTH
            # anyway lets the tests prove barua refuses to send a password over it.
            "auth_require_tls": mode == "starttls",
            "ready_timeout": 10,
            # A fixed name: aiosmtpd would otherwise look up this machine's FQDN per session.
            "server_hostname": "mail.test",
        }
        if self.users:
            kwargs["authenticator"] = self._authenticate
        if tokens is not None:
            # A server that takes tokens only: no password login at all.
            offered = {"XOAUTH2", "OAUTHBEARER"}
            kwargs["auth_exclude_mechanism"] = [
                "PLAIN",
                "LOGIN",
                *(m for m in offered if m not in mechanisms),
            ]
        if mode == "ssl":
            kwargs["ssl_context"] = tls
        elif mode == "starttls":
            kwargs["tls_context"] = tls
            kwargs["require_starttls"] = False
        self.controller = _LoopbackController(self.recorder, **kwargs)
        self.host = "127.0.0.1"
        self.port: int = self.controller.port
        self.mode = mode

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if self.recorder.take_fault("AUTH") is not None:
            return AuthResult(success=False, handled=False)
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = data.login.decode("utf-8")
        password = data.password.decode("utf-8")
        self.recorder.logins.append((login, password))
        # handled=False makes aiosmtpd answer 535 itself on failure.
        return AuthResult(success=self.users.get(login) == password, handled=False)

    @property
    def messages(self) -> list[Received]:
        return self.recorder.messages

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
