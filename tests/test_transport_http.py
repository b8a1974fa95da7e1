"""HTTP delivery against a real HTTP email service on loopback, port 0, with real TLS.

The service here is a stand-in for barua's relay: it records every request and answers as a
test scripts it, including the faults a real network produces (a hang, a dropped connection).
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import ssl
import threading
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pydantic import SecretStr

from barua.errors import (
    AuthenticationError,
    Cause,
    ConnectError,
    MessageTooLarge,
    OutcomeUnknown,
    PermanentError,
    RecipientRefused,
    SettingsError,
    Step,
    TemporaryError,
    TimeoutError,
    TLSError,
    TransportError,
)
from barua.message import OutgoingMessage, build_message
from barua.settings import Settings, make_settings
from barua.transports.base import SendResult, StepEvent
from barua.transports.http import HttpTransport
from tests.certs import CertFiles, make_certificates

KEY = "brk_live_7Qm2xV9pLk4sT8wZ"
REPLY_TO = "office@example.com"
ARCHIVE = "archive@example.com"


# A real HTTP email service on loopback -------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What the service answers: a dict becomes JSON, a str is sent with ``content_type``."""

    status: int
    body: dict[str, Any] | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "text/plain; charset=utf-8"


Fault = Literal["hang", "drop"]
"""``hang``: read the request and never answer; ``drop``: read it and close the connection."""


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    client: tuple[str, int]

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so connection reuse is real
    server: _Server

    def do_POST(self) -> None:
        self.server.service.handle(self)

    do_GET = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    service: Service


class Service:
    """The email service stand-in. By default it accepts every message with ``202``.

    ``script`` holds the answers to the next requests, in order: an :class:`Answer`, a
    :data:`Fault`, or None for the default. ``refuse`` maps recipients to refuse in a ``202``.
    """

    def __init__(self, *, certs: CertFiles | None = None) -> None:
        self.received: list[Received] = []
        self.script: list[Answer | Fault | None] = []
        self.refuse: dict[str, tuple[int, str]] = {}
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.service = self
        self.scheme = "http"
        if certs is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(certs.cert, certs.key)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self.port: int = self.server.server_address[1]
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host = "localhost" if self.scheme == "https" else "127.0.0.1"
        return f"{self.scheme}://{host}:{self.port}"

    def __enter__(self) -> Service:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()

    def handle(self, handler: _Handler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length", "0")))
        request = Received(
            method=handler.command,
            path=handler.path,
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=body,
            client=handler.client_address[:2],
        )
        with self.lock:
            self.received.append(request)
            action = self.script.pop(0) if self.script else None
        if action == "hang":
            self.release.wait(10)
            handler.close_connection = True
            return
        if action == "drop":
            handler.close_connection = True
            return
        answer = action if isinstance(action, Answer) else self._accept(request)
        self._answer(handler, answer)

    def _accept(self, request: Received) -> Answer:
        recipients = request.json["envelope"]["recipients"]
        refused = {r: {"code": c, "message": t} for r, (c, t) in self.refuse.items()}
        accepted = [r for r in recipients if r not in refused]
        number = len(self.received)
        return Answer(
            202,
            {
                "id": f"msg_{number:04d}",
                "message_id": request.json["message_id"],
                "accepted": accepted,
                "refused": refused,
            },
        )

    @staticmethod
    def _answer(handler: _Handler, answer: Answer) -> None:
        if isinstance(answer.body, dict):
            payload, content_type = json.dumps(answer.body).encode(), "application/json"
        else:
            payload, content_type = (answer.body or "").encode(), answer.content_type
        handler.send_response(answer.status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(payload)))
        for name, value in answer.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(payload)


@pytest.fixture
def service() -> Iterator[Service]:
    with Service() as running:
        yield running


@pytest.fixture
def tls_service(certs: CertFiles) -> Iterator[Service]:
    with Service(certs=certs) as running:
        yield running


def settings_for(url: str, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "protocol": "http",
        "http_service_url": url,
        "reply_to": REPLY_TO,
        "http_api_key": KEY,
        "sender_name": "Duka la Mama",
        "bcc_copy": ARCHIVE,
        "timeout": 5,
    }
    values.update(changes)
    return make_settings(**values)


def invoice(settings: Settings) -> OutgoingMessage:
    return build_message(
        settings,
        to=["Jane Doe <jane@example.com>"],
        cc=["juma@example.org"],
        subject="Ankara INV-0042 — Zürich",
        text="Habari Jane,\n.\nAsante.\n",
    )


def send(
    settings: Settings, *messages: OutgoingMessage
) -> tuple[list[SendResult], list[StepEvent]]:
    events: list[StepEvent] = []
    with HttpTransport(settings, observer=events.append) as transport:
        results = [transport.send(message) for message in messages]
    return results, events


def send_failing(settings: Settings, message: OutgoingMessage) -> tuple[Any, list[StepEvent]]:
    events: list[StepEvent] = []
    with (
        HttpTransport(settings, observer=events.append) as transport,
        pytest.raises(TransportError) as caught,
    ):
        transport.send(message)
    return caught.value, events


# What goes over the wire ---------------------------------------------------------------------


def test_request_follows_the_protocol(service: Service) -> None:
    settings = settings_for(service.url)
    message = invoice(settings)
    [result], _ = send(settings, message)

    [request] = service.received
    assert (request.method, request.path) == ("POST", "/v1/messages")
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("barua/")
    body = request.json
    assert set(body) == {"envelope", "message_id", "mime"}
    assert body["envelope"] == {
        "mail_from": REPLY_TO,
        "recipients": ["jane@example.com", "juma@example.org", ARCHIVE],
    }
    assert body["message_id"] == message.message_id
    assert base64.b64decode(body["mime"], validate=True) == message.data
    assert b"archive@example.com" not in message.data  # the Bcc copy is in the envelope only

    assert result == SendResult(
        message_id=message.message_id,
        accepted=("jane@example.com", "juma@example.org", ARCHIVE),
        refused={},
        code=202,
        reply="Accepted as msg_0001",
        queue_id="msg_0001",
        server=f"127.0.0.1:{service.port}",
    )


def test_base_url_with_a_path_prefix(service: Service) -> None:
    settings = settings_for(service.url + "/mail/")
    send(settings, invoice(settings))
    assert service.received[0].path == "/mail/v1/messages"


def test_no_authorization_header_without_a_key(service: Service) -> None:
    settings = settings_for(service.url, http_api_key="")
    send(settings, invoice(settings))
    assert "authorization" not in service.received[0].headers


def test_some_recipients_refused_in_an_accepted_message(service: Service) -> None:
    service.refuse = {"juma@example.org": (550, "5.1.1 mailbox unknown")}
    settings = settings_for(service.url)
    [result], _ = send(settings, invoice(settings))
    assert result.accepted == ("jane@example.com", ARCHIVE)
    assert result.refused == {"juma@example.org": (550, "5.1.1 mailbox unknown")}


def test_a_replayed_answer_is_marked(service: Service) -> None:
    settings = settings_for(service.url)
    message = invoice(settings)
    body = {"id": "msg_first", "message_id": message.message_id, "accepted": ["jane@example.com"]}
    service.script = [Answer(202, body, headers={"Idempotent-Replayed": "true"})]
    [result], _ = send(settings, message)
    assert result.reply == "Accepted as msg_first (replayed)"
    assert result.queue_id == "msg_first"


def test_one_connection_serves_many_messages(service: Service) -> None:
    settings = settings_for(service.url)
    _, events = send(settings, invoice(settings), invoice(settings), invoice(settings))
    assert len({request.client for request in service.received}) == 1
    assert [e.step for e in events] == [
        Step.RESOLVE,
        Step.CONNECT,
        Step.HTTP_REQUEST,
        Step.ACCEPTED,
        Step.HTTP_REQUEST,
        Step.ACCEPTED,
        Step.HTTP_REQUEST,
        Step.ACCEPTED,
    ]
    assert all(e.ok for e in events)
    assert events[0].detail == "127.0.0.1", "the name, looked up before connecting"
    assert events[1].detail == "127.0.0.1"
    assert events[2].detail == "202 Accepted"
    assert events[3].detail == "Accepted as msg_0001: 3 accepted, 0 refused"


def test_a_stale_keep_alive_connection_is_replaced_once(service: Service) -> None:
    settings = settings_for(service.url)
    first, second = invoice(settings), invoice(settings)
    service.script = [None, "drop"]  # the second request finds the connection closed
    results, events = send(settings, first, second)

    assert [r.queue_id for r in results] == ["msg_0001", "msg_0003"]
    dropped, retried = service.received[1], service.received[2]
    assert dropped.json == retried.json  # same Message-ID: the service de-duplicates
    assert dropped.client != retried.client
    assert [e.step for e in events] == [
        Step.RESOLVE,
        Step.CONNECT,
        Step.HTTP_REQUEST,
        Step.ACCEPTED,
        Step.CONNECT,
        Step.HTTP_REQUEST,
        Step.ACCEPTED,
    ]
    assert all(e.ok for e in events)


def test_meanwhile_runs_once_before_the_request(service: Service) -> None:
    settings = settings_for(service.url)
    first, second = invoice(settings), invoice(settings)
    service.script = [None, "drop"]  # the second send is retried on a new connection
    seen: list[int] = []
    with HttpTransport(settings) as transport:
        for message in (first, second):
            transport.send(
                message, meanwhile=lambda: seen.append(len(service.received)), then=second
            )
    assert seen == [0, 1], "once per send, before the request: not again for the retry"
    assert len(service.received) == 3


def test_meanwhile_has_run_when_the_request_fails(service: Service) -> None:
    service.script = ["drop", Answer(503, {"error": {"code": "unavailable", "message": "x"}})]
    settings = settings_for(service.url)
    seen: list[str] = []
    with HttpTransport(settings) as transport:
        for _ in range(2):
            with pytest.raises(TransportError):
                transport.send(invoice(settings), meanwhile=lambda: seen.append("ran"))
    assert seen == ["ran", "ran"]


def test_nothing_is_sent_when_meanwhile_raises(service: Service) -> None:
    settings = settings_for(service.url)

    def broken() -> None:
        raise RuntimeError("database down")

    with HttpTransport(settings) as transport:
        with pytest.raises(RuntimeError, match="database down"):
            transport.send(invoice(settings), meanwhile=broken)
        transport.send(invoice(settings))
    assert len(service.received) == 1


def test_closing_twice_and_sending_after_close(service: Service) -> None:
    settings = settings_for(service.url)
    transport = HttpTransport(settings)
    transport.send(invoice(settings))
    transport.close()
    transport.close()
    transport.send(invoice(settings))
    transport.close()
    assert len(service.received) == 2


# TLS -----------------------------------------------------------------------------------------


@pytest.mark.usefixtures("trust_ca")
def test_tls_with_the_ca_trusted_through_ssl_cert_file(
    tls_service: Service, certs: CertFiles
) -> None:
    settings = settings_for(tls_service.url)
    message = invoice(settings)
    events: list[StepEvent] = []
    with HttpTransport(settings, observer=events.append) as transport:
        result = transport.send(message)
        assert transport.encrypted
        assert transport.tls_version in {"TLSv1.2", "TLSv1.3"}
        leaf = x509.load_pem_x509_certificate(certs.cert.read_bytes())
        assert transport.peer_certificate == leaf.public_bytes(serialization.Encoding.DER)

    assert result.server == f"localhost:{tls_service.port}"
    assert [e.step for e in events] == [
        Step.RESOLVE,
        Step.CONNECT,
        Step.TLS,
        Step.HTTP_REQUEST,
        Step.ACCEPTED,
    ]
    assert events[2].detail == transport.tls_version
    assert base64.b64decode(tls_service.received[0].json["mime"]) == message.data


def test_self_signed_certificate_is_refused_by_default(tls_service: Service) -> None:
    settings = settings_for(tls_service.url)
    error, events = send_failing(settings, invoice(settings))
    assert type(error) is TLSError
    assert error.step is Step.CERTIFICATE
    assert str(error) == (
        f"the certificate of localhost port {tls_service.port} is not trusted: "
        "unable to get local issuer certificate"
    )
    assert error.hint is not None and "do not verify TLS certificate" in error.hint
    assert [(e.step, e.ok) for e in events] == [
        (Step.RESOLVE, True),
        (Step.CONNECT, True),
        (Step.TLS, True),  # the handshake got as far as the certificate
        (Step.CERTIFICATE, False),
    ]
    assert events[3].error is error
    assert tls_service.received == []


def test_skip_tls_verify_accepts_the_self_signed_certificate(tls_service: Service) -> None:
    settings = settings_for(tls_service.url, skip_tls_verify=True)
    [result], _ = send(settings, invoice(settings))
    assert result.code == 202
    assert len(tls_service.received) == 1


def test_certificate_for_another_host_is_refused(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = make_certificates(tmp_path, hostnames=("mail.other.test",), ip_addresses=False)
    monkeypatch.setenv("SSL_CERT_FILE", str(other.ca))
    with Service(certs=other) as running:
        settings = settings_for(running.url)
        error, _ = send_failing(settings, invoice(settings))
    assert type(error) is TLSError
    assert error.step is Step.CERTIFICATE
    assert str(error) == (
        f"the certificate of localhost port {running.port} is not trusted: "
        "Hostname mismatch, certificate is not valid for 'localhost'."
    )


def test_expired_certificate_is_refused(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    expired = make_certificates(tmp_path, expired=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(expired.ca))
    with Service(certs=expired) as running:
        settings = settings_for(running.url)
        error, _ = send_failing(settings, invoice(settings))
    assert type(error) is TLSError
    assert str(error).endswith("is not trusted: certificate has expired")


def test_https_to_a_plain_http_port(service: Service) -> None:
    settings = settings_for(f"https://127.0.0.1:{service.port}")
    error, _ = send_failing(settings, invoice(settings))
    assert type(error) is TLSError
    assert error.step is Step.TLS
    assert str(error).startswith(f"the TLS handshake with 127.0.0.1 port {service.port} failed (")
    assert error.hint is not None and "may not speak HTTPS" in error.hint


# Network failures ----------------------------------------------------------------------------


def test_connection_refused() -> None:
    with socket.socket() as closed:  # bound, never listening: refuses, and no one takes it
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        settings = settings_for(f"http://127.0.0.1:{port}")
        error, events = send_failing(settings, invoice(settings))
    assert type(error) is ConnectError
    assert error.step is Step.CONNECT
    assert str(error) == f"127.0.0.1 port {port} refused the connection"
    assert error.hint is not None and "email service is running" in error.hint
    assert error.temporary
    assert isinstance(error.__cause__, httpx.ConnectError)
    assert [(e.step, e.ok) for e in events] == [(Step.RESOLVE, True), (Step.CONNECT, False)]


def test_a_port_that_never_answers_the_tls_handshake() -> None:
    with socket.socket() as silent:  # the kernel accepts the connection; nobody speaks
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        settings = settings_for(f"https://127.0.0.1:{port}", timeout=0.3)
        error, events = send_failing(settings, invoice(settings))
    assert type(error) is TimeoutError
    assert error.step is Step.TLS
    assert str(error) == f"no answer from 127.0.0.1 port {port} within 0.3 seconds"
    assert error.temporary
    assert [(e.step, e.ok) for e in events] == [
        (Step.RESOLVE, True),
        (Step.CONNECT, True),
        (Step.TLS, False),
    ]


def test_a_name_the_dns_does_not_answer_in_time(monkeypatch: pytest.MonkeyPatch) -> None:
    real, answer = socket.getaddrinfo, threading.Event()

    def resolve(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == "slow.example.invalid":
            answer.wait(10)  # a DNS server that does not answer
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    settings = settings_for("https://slow.example.invalid", timeout=0.2)
    try:
        error, events = send_failing(settings, invoice(settings))
    finally:
        answer.set()
    assert type(error) is TimeoutError
    assert (error.step, error.cause) == (Step.RESOLVE, Cause.HOST_NOT_FOUND)
    assert str(error) == (
        'the name of the email service "slow.example.invalid" did not resolve within 0.2 seconds'
    )
    assert error.hint == "Check that this computer is online and its DNS server answers."
    assert [(e.step, e.ok) for e in events] == [(Step.RESOLVE, False)]


def test_behind_a_proxy_only_the_proxy_looks_the_name_up(monkeypatch: pytest.MonkeyPatch) -> None:
    real, looked_up = socket.getaddrinfo, []

    def resolve(host: str, *args: Any, **kwargs: Any) -> Any:
        looked_up.append(host)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    with socket.socket() as closed:  # the proxy: bound, not listening, so it refuses
        closed.bind(("127.0.0.1", 0))
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{closed.getsockname()[1]}")
        settings = settings_for("https://relay.example.invalid")
        error, events = send_failing(settings, invoice(settings))
    assert "relay.example.invalid" not in looked_up  # a name only the proxy can resolve
    assert Step.RESOLVE not in [e.step for e in events]
    assert error.step is not Step.RESOLVE


def test_unknown_host(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def resolve(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == "mail.example.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    settings = settings_for("https://mail.example.invalid")
    error, events = send_failing(settings, invoice(settings))
    assert type(error) is ConnectError
    assert error.step is Step.RESOLVE
    assert [(e.step, e.error) for e in events] == [(Step.RESOLVE, error)]
    assert (error.host, error.port) == ("mail.example.invalid", 443)
    assert str(error) == (
        'could not find the email service "mail.example.invalid" (the name does not resolve)'
    )
    assert error.hint is not None and "http_service_url" in error.hint


def test_no_answer_after_the_request_is_outcome_unknown(service: Service) -> None:
    service.script = ["hang"]
    settings = settings_for(service.url, timeout=0.5)
    message = invoice(settings)
    error, events = send_failing(settings, message)
    assert type(error) is OutcomeUnknown
    assert error.temporary
    assert error.step is Step.HTTP_REQUEST
    assert str(error) == (
        "the email service did not answer within 0.5 seconds after receiving the message; "
        "it may or may not have been accepted"
    )
    assert error.hint is not None and "same Message-ID" in error.hint
    assert isinstance(error.__cause__, httpx.ReadTimeout)
    # It was sent: the service has it, which is why the outcome is unknown.
    assert service.received[0].json["message_id"] == message.message_id
    assert [(e.step, e.ok) for e in events] == [
        (Step.RESOLVE, True),
        (Step.CONNECT, True),
        (Step.HTTP_REQUEST, False),
    ]


def test_connection_dropped_after_the_request_is_outcome_unknown(service: Service) -> None:
    service.script = ["drop"]
    settings = settings_for(service.url)
    error, _ = send_failing(settings, invoice(settings))
    assert type(error) is OutcomeUnknown
    assert str(error) == (
        "the connection broke after the message was sent, before the email service answered; "
        "it may or may not have been accepted"
    )
    assert isinstance(error.__cause__, httpx.RemoteProtocolError)
    assert len(service.received) == 1  # a fresh connection is not retried


# The service's answers -----------------------------------------------------------------------

ERROR_CASES = [
    pytest.param(
        Answer(400, {"error": {"code": "invalid_mime", "message": "mime is not base64"}}),
        PermanentError,
        "the email service refused the request as invalid",
        "bug or to incompatible versions",
        "invalid_mime: mime is not base64",
        id="400",
    ),
    pytest.param(
        Answer(401, {"error": {"code": "invalid_api_key", "message": "The API key is wrong"}}),
        AuthenticationError,
        "the email service refused the API key",
        "Copy the API key again",
        "invalid_api_key: The API key is wrong",
        id="401",
    ),
    pytest.param(
        Answer(403, {"error": {"code": "sender_not_allowed", "message": "not for this sender"}}),
        AuthenticationError,
        "the email service does not allow this API key to send this message",
        "not allowed to send for office@example.com",
        "sender_not_allowed: not for this sender",
        id="403",
    ),
    pytest.param(
        Answer(404, "<html><body><h1>Not Found</h1></body></html>", content_type="text/html"),
        PermanentError,
        "{where} does not offer the barua email service (404 for /v1/messages)",
        "without /v1/messages",
        "Not Found",
        id="404-html",
    ),
    pytest.param(
        Answer(
            413,
            {"error": {"code": "too_large", "message": "too large", "max_size": 25_000_000}},
        ),
        MessageTooLarge,
        "the message is {size}, larger than the 25.0 MB the email service accepts",
        "smaller attachments",
        "too_large: too large",
        id="413",
    ),
    pytest.param(
        Answer(413, "request entity too large"),
        MessageTooLarge,
        "the message ({size}) is larger than the email service accepts",
        "smaller attachments",
        "request entity too large",
        id="413-from-a-proxy",
    ),
    pytest.param(
        Answer(
            429,
            {"error": {"code": "rate_limited", "message": "slow down"}},
            headers={"Retry-After": "30"},
        ),
        TemporaryError,
        "the email service is limiting how fast mail is sent",
        "barua will try again in 30 seconds, as the service asks.",
        "rate_limited: slow down",
        id="429",
    ),
    pytest.param(
        Answer(
            409,
            {"error": {"code": "in_progress", "message": "first request still running"}},
            headers={"Retry-After": "1"},
        ),
        TemporaryError,
        "the email service is still working on this message",
        "in 1 seconds",
        "in_progress: first request still running",
        id="409-in-progress",
    ),
    pytest.param(
        Answer(409, {"error": {"code": "idempotency_conflict", "message": "other content"}}),
        PermanentError,
        "the email service already has a different message with the same Message-ID",
        "its own Message-ID",
        "idempotency_conflict: other content",
        id="409-conflict",
    ),
    pytest.param(
        Answer(500, "boom\n  trace"),
        TemporaryError,
        "the email service has a problem right now (500 Internal Server Error)",
        "barua will try again later.",
        "boom trace",
        id="500",
    ),
    pytest.param(
        Answer(
            503,
            {"error": {"code": "unavailable", "message": "maintenance"}},
            headers={"Retry-After": "120"},
        ),
        TemporaryError,
        "the email service has a problem right now (503 Service Unavailable)",
        "in 120 seconds",
        "unavailable: maintenance",
        id="503",
    ),
    pytest.param(
        Answer(504, "<html>Gateway Time-out</html>", content_type="text/html"),
        OutcomeUnknown,
        "a gateway in front of the email service gave up (504); the message may or may not "
        "have been accepted",
        "same Message-ID",
        "Gateway Timeout",
        id="504",
    ),
    pytest.param(
        Answer(302, headers={"Location": "https://mail.example.net/"}),
        PermanentError,
        "the email service redirects to https://mail.example.net/",
        "does not follow redirects",
        "Found",
        id="302",
    ),
    pytest.param(
        Answer(200, "<html>Welcome to our shop</html>", content_type="text/html"),
        PermanentError,
        "{where} does not answer like a barua email service (200 OK); the message may or may "
        "not have been accepted",
        "not of a website",
        "OK",
        id="200-website",
    ),
    pytest.param(
        Answer(202, {"status": "queued"}),
        PermanentError,
        "{where} does not answer like a barua email service (202 Accepted); the message may "
        "or may not have been accepted",
        "not of a website",
        '{"status": "queued"}',
        id="202-not-v1",
    ),
    pytest.param(
        Answer(418, ""),
        PermanentError,
        "the email service refused the message (418 I'm a Teapot)",
        "reason",
        "I'm a Teapot",
        id="418",
    ),
]


@pytest.mark.parametrize(("answer", "kind", "message", "hint", "reply"), ERROR_CASES)
def test_service_answers_map_to_errors(
    service: Service,
    answer: Answer,
    kind: type[TransportError],
    message: str,
    hint: str,
    reply: str,
) -> None:
    service.script = [answer]
    settings = settings_for(service.url)
    outgoing = invoice(settings)
    error, events = send_failing(settings, outgoing)

    assert type(error) is kind
    size = f"{outgoing.size / 1000:.1f} KB"
    assert error.message == message.format(where=f"127.0.0.1 port {service.port}", size=size)
    assert error.hint is not None and hint in error.hint
    assert (error.step, error.code, error.reply) == (Step.HTTP_REQUEST, answer.status, reply)
    assert (error.host, error.port) == ("127.0.0.1", service.port)
    assert str(error) == f"{error.message} (server replied: {answer.status} {reply})"
    assert error.temporary is isinstance(error, TemporaryError)
    assert events[-1].step is Step.HTTP_REQUEST and events[-1].error is error
    assert len(service.received) == 1  # no error is retried inside the transport


def test_retry_after_is_kept_in_seconds(service: Service) -> None:
    service.script = [
        Answer(429, headers={"Retry-After": "30"}),
        Answer(503),
    ]
    settings = settings_for(service.url)
    limited, _ = send_failing(settings, invoice(settings))
    unavailable, _ = send_failing(settings, invoice(settings))
    assert limited.retry_after == 30.0
    assert unavailable.retry_after is None


@pytest.mark.parametrize(
    ("codes", "temporary"), [((550, 553), False), ((450, 451), True), ((450, 550), False)]
)
def test_every_recipient_refused(service: Service, codes: tuple[int, int], temporary: bool) -> None:
    refused = {
        "jane@example.com": {"code": codes[0], "message": "no such user"},
        "juma@example.org": {"code": codes[1], "message": "domain refused"},
    }
    message = {"code": "recipients_refused", "message": "every recipient was refused"}
    service.script = [Answer(422, {"error": {**message, "refused": refused}})]
    settings = settings_for(service.url, bcc_copy=None)
    error, _ = send_failing(settings, invoice(settings))
    assert type(error) is RecipientRefused
    assert error.refused == {
        "jane@example.com": (codes[0], "no such user"),
        "juma@example.org": (codes[1], "domain refused"),
    }
    assert str(error).startswith(
        f"the email service refused every recipient: jane@example.com ({codes[0]} no such user), "
        f"juma@example.org ({codes[1]} domain refused)"
    )
    assert error.temporary is temporary
    assert (error.recipient, error.code) == ("jane@example.com", codes[0])


def test_missing_key_is_named_when_the_service_wants_one(service: Service) -> None:
    service.script = [Answer(401, {"error": {"code": "missing_api_key", "message": "no key"}})]
    settings = settings_for(service.url, http_api_key=None)
    error, _ = send_failing(settings, invoice(settings))
    assert type(error) is AuthenticationError
    assert error.message == "the email service requires an API key"
    assert error.hint == "Enter the API key the email service gave you in the settings."


# The API key never prints ----------------------------------------------------------------------


def test_the_api_key_never_appears_in_settings_errors_steps_or_logs(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    echo = {"error": {"code": "invalid_api_key", "message": f"key {KEY} is not valid"}}
    service.script = [Answer(401, echo)]
    settings = settings_for(service.url)
    error, events = send_failing(settings, invoice(settings))

    assert service.received[0].headers["authorization"] == f"Bearer {KEY}"  # it was sent
    assert error.reply == "invalid_api_key: key ********** is not valid"
    shown = [
        repr(settings),
        str(settings),
        json.dumps(settings.public_dict()),
        repr(events),
        caplog.text,  # httpx and httpcore log at DEBUG, but never the request's headers
        str(error),
        repr(error),
        error.hint or "",
        error.reply or "",
        "".join(traceback.format_exception(error)),
    ]
    for text in shown:
        assert KEY not in text


def test_a_key_echoed_in_a_redirect_is_redacted(service: Service) -> None:
    service.script = [Answer(302, headers={"Location": f"https://mail.example.net/?k={KEY}"})]
    settings = settings_for(service.url)
    error, _ = send_failing(settings, invoice(settings))
    assert error.message == "the email service redirects to https://mail.example.net/?k=**********"


def test_a_key_that_cannot_travel_in_a_header_is_refused_without_quoting_it() -> None:
    with pytest.raises(SettingsError) as caught:
        settings_for("http://127.0.0.1:9", http_api_key="brk live ü")
    assert caught.value.field == "http_api_key"
    assert "brk live" not in str(caught.value)
    # Settings that skipped validation meet the same check in the transport.
    unchecked = settings_for("http://127.0.0.1:9").model_copy(
        update={"http_api_key": SecretStr("brk live ü")}
    )
    with pytest.raises(SettingsError) as caught:
        HttpTransport(unchecked)
    assert caught.value.field == "http_api_key"
    assert "brk live" not in str(caught.value)


def test_settings_without_a_service_url() -> None:
    settings = make_settings(host="smtp.example.com", username="shop@example.com")
    with pytest.raises(ValueError, match="http_service_url"):
        HttpTransport(settings)


# A client given by the caller (in memory, no socket) -----------------------------------------


def test_a_given_client_is_used_and_left_open() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = json.loads(request.content)
        return httpx.Response(
            202,
            json={"id": "mem-1", "message_id": body["message_id"], "accepted": ["a@example.com"]},
        )

    client = httpx.Client(transport=httpx.MockTransport(handler))
    settings = settings_for("https://mail.example.com")
    events: list[StepEvent] = []
    with HttpTransport(settings, observer=events.append, client=client) as transport:
        result = transport.send(invoice(settings))
    assert not client.is_closed
    client.close()
    assert str(seen[0].url) == "https://mail.example.com/v1/messages"
    assert seen[0].headers["authorization"] == f"Bearer {KEY}"
    assert result.queue_id == "mem-1"
    assert result.server == "mail.example.com:443"
    assert [(e.step, e.ok) for e in events] == [(Step.HTTP_REQUEST, True), (Step.ACCEPTED, True)]


def test_a_read_timeout_without_tracing_counts_as_maybe_sent() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    settings = settings_for("https://mail.example.com")
    with (
        httpx.Client(transport=httpx.MockTransport(handler)) as client,
        HttpTransport(settings, client=client) as transport,
        pytest.raises(OutcomeUnknown),
    ):
        transport.send(invoice(settings))
