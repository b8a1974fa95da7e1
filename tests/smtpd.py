"""A real SMTP server for the tests: aiosmtpd on 127.0.0.1, port 0, real TLS and AUTH.

Faults are injected on purpose with ``faults``: a map from an SMTP command (``MAIL``, ``RCPT``,
``DATA``, ``AUTH``) to the reply the server gives instead of accepting it.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Awaitable
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

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if "MAIL" in self.faults:
            return self.faults["MAIL"]
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if "RCPT" in self.faults:
            return self.faults["RCPT"]
        if address in self.refuse_recipients:
            return self.refuse_recipients[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.faults.get("DATA") == "DROP":
            # The whole message arrived, but the reply never leaves: outcome unknown.
            server.transport.close()
            return "250 never sent"
        if "DATA" in self.faults:
            return self.faults["DATA"]
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
        return f"250 2.0.0 Ok: queued as TEST{number:05d}"


class _LoopbackController(Controller):  # type: ignore[misc]
    """aiosmtpd's Controller on a port the kernel picks (port 0)."""

    def __init__(self, handler: Any, **kwargs: Any) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        super().__init__(
            handler, hostname="127.0.0.1", port=self._listener.getsockname()[1], **kwargs
        )

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
    ) -> None:
        self.recorder = Recorder(faults=dict(faults or {}))
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
        if "AUTH" in self.recorder.faults:
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
