"""How the SMTP transport chooses encryption and login, seen from the server's side.

Real aiosmtpd servers on 127.0.0.1 only. A host name that is not a loopback literal, or a
connection to port 465, is made by answering barua's address lookup with the test server's
address: no connection ever leaves loopback.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import aiosmtpd.controller
import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

from barua.errors import Cause, InsecureError, Step, TLSError
from barua.message import build_message
from barua.settings import Security, Settings, make_settings
from barua.transports.base import StepEvent
from barua.transports.smtp import SmtpTransport, make_tls_context
from tests.certs import CertFiles
from tests.conftest import PASSWORD, USER
from tests.smtpd import Recorder, SmtpServer

LoginKey = tuple[str, int]


@dataclass
class TlsRecorder(Recorder):
    """Records, for each message, the TLS version of the connection it arrived on (None:
    plain text), as the server saw it."""

    tls_versions: list[str | None] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert server.transport is not None
        tls = server.transport.get_extra_info("ssl_object")
        self.tls_versions.append(tls.version() if tls is not None else None)
        return str(await super().handle_DATA(server, session, envelope))


def recording_tls(server: SmtpServer) -> TlsRecorder:
    """``server`` (not started yet) with a handler that records the TLS of each message."""
    recorder = TlsRecorder()
    server.recorder = server.controller.handler = recorder
    return recorder


def recording_mechanisms(server: SmtpServer) -> list[str]:
    """The SASL mechanism of every login ``server`` (not started yet) is asked for."""
    mechanisms: list[str] = []

    def authenticate(
        smtp: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        mechanisms.append(mechanism)
        return server._authenticate(smtp, session, envelope, mechanism, data)

    server.controller.SMTP_kwargs["authenticator"] = authenticate
    return mechanisms


@pytest.fixture
def addresses(monkeypatch: pytest.MonkeyPatch) -> dict[LoginKey, LoginKey]:
    """A table of (host, port) → (loopback address, port) that barua's lookups follow."""
    table: dict[LoginKey, LoginKey] = {}
    real = socket.getaddrinfo

    def lookup(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        target = table.get((host, port))
        if target is None:
            return real(host, port, *args, **kwargs)
        assert target[0] in {"127.0.0.1", "::1"}, "tests never leave loopback"
        return real(target[0], target[1], *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    return table


def settings(host: str, port: int, security: str, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "host": host,
        "port": port,
        "security": security,
        "username": USER,
        "password": PASSWORD,
        "timeout": 5,
    }
    values.update(changes)
    return make_settings(**values)


def send_one(config: Settings) -> list[StepEvent]:
    events: list[StepEvent] = []
    message = build_message(config, to=["jane@example.com"], subject="Habari", text="Asante.\n")
    with SmtpTransport(config, observer=events.append) as smtp:
        smtp.send(message)
    return events


# security none: plain AUTH towards this machine only -------------------------------------------


def test_plain_login_is_refused_towards_a_host_that_is_not_loopback(
    plain_server: SmtpServer, addresses: dict[LoginKey, LoginKey]
) -> None:
    # The name resolves to the test server (on 127.0.0.1), but barua cannot know that a name
    # stays on this machine: for it, this is a server across the network.
    addresses[("mail.shop.test", plain_server.port)] = ("127.0.0.1", plain_server.port)
    remote = settings("mail.shop.test", plain_server.port, "none")
    with pytest.raises(InsecureError) as caught:
        send_one(remote)
    assert caught.value.step is Step.AUTH
    assert str(caught.value) == (
        f"mail.shop.test port {plain_server.port} offers no encryption, and barua will not "
        "send your password unencrypted"
    )
    assert plain_server.recorder.logins == [] and plain_server.messages == []

    # The same server, named by its loopback address, gets the login: the refusal above was
    # barua's, not the server's.
    send_one(settings("127.0.0.1", plain_server.port, "none"))
    assert plain_server.recorder.logins == [(USER, PASSWORD)]
    assert len(plain_server.messages) == 1


# port 25 and friends: STARTTLS when offered --------------------------------------------------


@pytest.mark.usefixtures("trust_ca")
@pytest.mark.parametrize("security", ["auto", "starttls_if_offered"])
def test_starttls_is_used_when_offered_on_another_port(certs: CertFiles, security: str) -> None:
    server = SmtpServer(mode="starttls", certs=certs, users={USER: PASSWORD})
    recorder = recording_tls(server)
    with server:
        assert server.port not in {465, 587}
        config = settings("localhost", server.port, security)
        assert config.effective_security is Security.STARTTLS_IF_OFFERED
        events = send_one(config)
    assert recorder.tls_versions in (["TLSv1.2"], ["TLSv1.3"])
    assert recorder.logins == [(USER, PASSWORD)]
    starttls = [e for e in events if e.step is Step.STARTTLS]
    assert [(e.ok, e.detail) for e in starttls] == [(True, recorder.tls_versions[0])]


@pytest.mark.usefixtures("trust_ca")
def test_starttls_when_offered_also_without_a_login(certs: CertFiles) -> None:
    # No password to protect, and still the message itself travels encrypted.
    server = SmtpServer(mode="starttls", certs=certs)
    recorder = recording_tls(server)
    with server:
        send_one(
            settings(
                "localhost",
                server.port,
                "auto",
                username=None,
                password=None,
                email_address=USER,
            )
        )
    assert recorder.tls_versions in (["TLSv1.2"], ["TLSv1.3"])


# 465 and 587 under auto ------------------------------------------------------------------------


def test_auto_derives_the_security_from_the_port() -> None:
    derived = {
        port: settings("smtp.example.com", port, "auto").effective_security
        for port in (465, 587, 25, 2525)
    }
    assert derived == {
        465: Security.SSL,
        587: Security.STARTTLS,
        25: Security.STARTTLS_IF_OFFERED,
        2525: Security.STARTTLS_IF_OFFERED,
    }


@pytest.mark.usefixtures("trust_ca")
def test_auto_on_port_465_speaks_tls_from_the_start(
    ssl_server: SmtpServer, addresses: dict[LoginKey, LoginKey]
) -> None:
    addresses[("localhost", 465)] = ("127.0.0.1", ssl_server.port)
    events = send_one(settings("localhost", 465, "auto"))
    steps = [e.step for e in events if e.ok]
    assert steps[:3] == [Step.RESOLVE, Step.CONNECT, Step.TLS]
    assert Step.STARTTLS not in steps
    assert ssl_server.recorder.logins == [(USER, PASSWORD)]
    assert len(ssl_server.messages) == 1


# AUTH LOGIN in UTF-8 -------------------------------------------------------------------------


@pytest.mark.usefixtures("trust_ca")
def test_auth_login_carries_a_utf8_username_and_password(certs: CertFiles) -> None:
    username, password = "Duka-Mwanzö", "Pässwörd-ß€"
    server = SmtpServer(mode="ssl", certs=certs, users={username: password})
    server.controller.SMTP_kwargs["auth_exclude_mechanism"] = ["PLAIN"]
    mechanisms = recording_mechanisms(server)
    with server:
        send_one(
            settings(
                "localhost",
                server.port,
                "ssl",
                username=username,
                password=password,
                email_address=USER,
            )
        )
        assert len(server.messages) == 1
    assert mechanisms == ["LOGIN"]
    assert server.recorder.logins == [(username, password)]


# TLS 1.2 or newer, TCP_NODELAY ----------------------------------------------------------------


def tls11_only(certs: CertFiles) -> ssl.SSLContext:
    """A server context that speaks TLS 1.0 and 1.1 only (OpenSSL still can, when asked)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1
    context.maximum_version = ssl.TLSVersion.TLSv1_1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")  # TLS 1.1 signs with SHA-1
    context.load_cert_chain(certs.cert, certs.key)
    return context


@pytest.fixture(params=["starttls", "ssl"])
def tls11_server(
    certs: CertFiles, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SmtpServer]:
    server = SmtpServer(mode=request.param, certs=certs, users={USER: PASSWORD})
    if server.mode == "ssl":
        server.controller.ssl_context = tls11_only(certs)
        # aiosmtpd checks that the server is up with a client as strict as barua.
        monkeypatch.setattr(aiosmtpd.controller, "_server_to_client_ssl_ctx", old_client)
    else:
        server.controller.SMTP_kwargs["tls_context"] = tls11_only(certs)
    with server:
        yield server


def old_client(*_: object) -> ssl.SSLContext:
    """A client that still allows TLS 1.0 and 1.1."""
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE
    client.minimum_version = ssl.TLSVersion.TLSv1
    client.set_ciphers("DEFAULT:@SECLEVEL=0")
    return client


def connect_tls11(server: SmtpServer) -> str | None:
    """The TLS version an old client gets from the server."""
    client = old_client()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        if server.mode == "starttls":
            sock.recv(1024)  # greeting
            sock.sendall(b"EHLO client.test\r\n")
            while not sock.recv(1024).rstrip().splitlines()[-1].startswith(b"250 "):
                pass
            sock.sendall(b"STARTTLS\r\n")
            assert sock.recv(1024).startswith(b"220")
        with client.wrap_socket(sock) as tls:
            version = tls.version()
            tls.sendall(b"QUIT\r\n")
            return version


@pytest.mark.usefixtures("trust_ca")  # the certificate is fine: only the version is refused
@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
@pytest.mark.parametrize("skip_tls_verify", [False, True])
def test_a_server_offering_only_tls_1_1_is_refused(
    tls11_server: SmtpServer, certs: CertFiles, skip_tls_verify: bool
) -> None:
    # The server really speaks TLS 1.1 to a client that allows it ...
    assert connect_tls11(tls11_server) == "TLSv1.1"
    # ... and barua, verifying certificates or not, does not, and says why: on the implicit
    # TLS port too, where it once read as "this port expects STARTTLS".
    mode = tls11_server.mode
    config = settings("localhost", tls11_server.port, mode, skip_tls_verify=skip_tls_verify)
    with pytest.raises(TLSError) as caught:
        send_one(config)
    assert caught.value.step is (Step.STARTTLS if mode == "starttls" else Step.TLS)
    assert caught.value.cause is Cause.TLS_FAILED
    assert f"localhost port {tls11_server.port} offers only TLS older than 1.2, which barua " in (
        str(caught.value)
    )
    assert tls11_server.recorder.logins == [] and tls11_server.messages == []


@pytest.mark.parametrize("verify", [True, False])
def test_the_tls_context_refuses_anything_older_than_tls_1_2(verify: bool) -> None:
    context = make_tls_context(verify=verify)
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2


@pytest.mark.usefixtures("trust_ca")
@pytest.mark.parametrize("server_name", ["ssl_server", "starttls_server", "plain_server"])
def test_the_smtp_socket_has_tcp_nodelay(server_name: str, request: pytest.FixtureRequest) -> None:
    server: SmtpServer = request.getfixturevalue(server_name)
    security = {"ssl": "ssl", "starttls": "starttls", "plain": "none"}[server.mode]
    with SmtpTransport(settings("localhost", server.port, security)) as smtp:
        smtp.open()
        assert smtp._client is not None and smtp._client.sock is not None
        sock = smtp._client.sock
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        assert isinstance(sock, ssl.SSLSocket) is (server.mode != "plain")


# timeouts --------------------------------------------------------------------------------------


def test_the_default_timeout_is_30_seconds_on_the_socket(plain_server: SmtpServer) -> None:
    config = make_settings(
        host="localhost", port=plain_server.port, security="none", email_address=USER
    )
    assert Settings.model_fields["timeout"].default == config.timeout == 30.0
    with SmtpTransport(config) as smtp:
        smtp.open()
        assert smtp._client is not None and smtp._client.sock is not None
        assert smtp._client.sock.gettimeout() == 30.0
        assert smtp._client.timeout == 30.0


def test_a_configured_timeout_reaches_the_socket(plain_server: SmtpServer) -> None:
    config = make_settings(
        host="localhost", port=plain_server.port, security="none", email_address=USER, timeout=7
    )
    with SmtpTransport(config) as smtp:
        smtp.open()
        assert smtp._client is not None and smtp._client.sock is not None
        assert smtp._client.sock.gettimeout() == 7.0
