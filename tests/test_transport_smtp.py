"""SMTP delivery against real aiosmtpd servers on loopback, with real TLS and AUTH."""

from __future__ import annotations

import contextlib
import email
import re
import socket
import threading
import time
from collections.abc import Iterator
from email import policy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from barua.errors import (
    AuthenticationError,
    Cause,
    ConnectError,
    InsecureError,
    MessageTooLarge,
    OutcomeUnknown,
    PermanentError,
    RecipientRefused,
    SenderRefused,
    Step,
    TemporaryError,
    TimeoutError,
    TLSError,
)
from barua.message import Attachment, OutgoingMessage, build_message
from barua.settings import Settings, make_settings
from barua.transports import smtp_probes
from barua.transports.base import StepEvent
from barua.transports.smtp import SmtpTransport
from barua.wire import WireData, crlf_only, data_parts, dot_stuff, is_wire_ready
from tests.certs import CertFiles
from tests.conftest import PASSWORD, USER
from tests.smtpd import SmtpServer

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 200 + b"\n%%EOF\n"


def settings_for(server: SmtpServer, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "host": "localhost",
        "port": server.port,
        "security": {"ssl": "ssl", "starttls": "starttls", "plain": "none"}[server.mode],
        "username": USER,
        "password": PASSWORD,
        "timeout": 5,
    }
    values.update(changes)
    return make_settings(**values)


def invoice(settings: Settings, **changes: Any) -> OutgoingMessage:
    values: dict[str, Any] = {
        "to": ["Jane Doe <jane@example.com>"],
        "subject": "Ankara INV-0042 — Zürich",
        "text": "Habari Jane,\n.\n..two dots\nAsante.\n",
        "attachments": [Attachment("Ankara INV-0042 ñ.pdf", PDF)],
    }
    values.update(changes)
    return build_message(settings, **values)


def send(settings: Settings, message: OutgoingMessage) -> list[StepEvent]:
    events: list[StepEvent] = []
    with SmtpTransport(settings, observer=events.append) as smtp:
        smtp.send(message)
    return events


@pytest.mark.usefixtures("trust_ca")
@pytest.mark.parametrize("server_name", ["ssl_server", "starttls_server"])
def test_delivers_exact_bytes_over_tls_with_utf8_login(
    server_name: str, request: pytest.FixtureRequest
) -> None:
    server: SmtpServer = request.getfixturevalue(server_name)
    settings = settings_for(server, bcc_copy="archive@example.com", reply_to="office@example.com")
    message = invoice(settings)
    with SmtpTransport(settings) as smtp:
        result = smtp.send(message)
        assert smtp.encrypted and smtp.tls_version in {"TLSv1.2", "TLSv1.3"}
    [arrived] = server.messages
    assert arrived.data == message.data
    assert arrived.mail_from == USER
    assert arrived.rcpt_tos == ["jane@example.com", "archive@example.com"]
    assert server.recorder.logins == [(USER, PASSWORD)]
    parsed = email.message_from_bytes(arrived.data, policy=policy.default)
    assert "archive@example.com" not in arrived.data.decode()
    assert parsed["Reply-To"] == "office@example.com"
    assert parsed["Subject"] == "Ankara INV-0042 — Zürich"
    [pdf] = list(parsed.iter_attachments())  # type: ignore[attr-defined]
    assert pdf.get_filename() == "Ankara INV-0042 ñ.pdf"
    assert pdf.get_content() == PDF
    assert result.queue_id == "TEST00001"
    assert result.accepted == ("jane@example.com", "archive@example.com")


@pytest.mark.usefixtures("trust_ca")
def test_one_connection_serves_many_messages(ssl_server: SmtpServer) -> None:
    settings = settings_for(ssl_server)
    events: list[StepEvent] = []
    with SmtpTransport(settings, observer=events.append) as smtp:
        for n in range(5):
            smtp.send(invoice(settings, subject=f"Message {n}"))
    assert len(ssl_server.messages) == 5
    assert [e.step for e in events].count(Step.CONNECT) == 1
    assert [e.step for e in events].count(Step.AUTH) == 1


@pytest.mark.usefixtures("trust_ca")
def test_reconnects_after_the_configured_number_of_messages(ssl_server: SmtpServer) -> None:
    settings = settings_for(ssl_server)
    events: list[StepEvent] = []
    with SmtpTransport(settings, observer=events.append, max_messages_per_connection=2) as smtp:
        for _ in range(5):
            smtp.send(invoice(settings))
    assert [e.step for e in events].count(Step.CONNECT) == 3
    assert len(ssl_server.messages) == 5


def test_self_signed_certificate_is_refused_by_default(ssl_server: SmtpServer) -> None:
    with pytest.raises(TLSError) as caught:
        send(settings_for(ssl_server), invoice(settings_for(ssl_server)))
    error = caught.value
    assert error.step is Step.CERTIFICATE
    assert str(error) == (
        f"the certificate of localhost port {ssl_server.port} is not trusted: "
        "unable to get local issuer certificate"
    )
    assert error.hint is not None and "trust this certificate" in error.hint
    assert ssl_server.messages == []


def test_skip_tls_verify_accepts_the_self_signed_certificate(
    starttls_server: SmtpServer,
) -> None:
    settings = settings_for(starttls_server, skip_tls_verify=True)
    send(settings, invoice(settings))
    assert len(starttls_server.messages) == 1


def test_certificate_for_another_host_is_refused(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.certs import make_certificates

    other = make_certificates(tmp_path, hostnames=("mail.other.test",), ip_addresses=False)
    monkeypatch.setenv("SSL_CERT_FILE", str(other.ca))
    with SmtpServer(mode="ssl", certs=other, users={USER: PASSWORD}) as server:
        settings = settings_for(server)
        with pytest.raises(TLSError) as caught:
            send(settings, invoice(settings))
    assert caught.value.step is Step.CERTIFICATE
    assert str(caught.value) == (
        f"the certificate of localhost port {server.port} is not trusted: "
        "Hostname mismatch, certificate is not valid for 'localhost'."
    )


def test_expired_certificate_is_refused(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.certs import make_certificates

    expired = make_certificates(tmp_path, expired=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(expired.ca))
    with SmtpServer(mode="ssl", certs=expired, users={USER: PASSWORD}) as server:
        settings = settings_for(server)
        with pytest.raises(TLSError, match="not trusted: certificate has expired"):
            send(settings, invoice(settings))


def test_starttls_required_but_not_offered(plain_server: SmtpServer) -> None:
    settings = settings_for(plain_server, security="starttls")
    with pytest.raises(TLSError) as caught:
        send(settings, invoice(settings))
    assert caught.value.step is Step.STARTTLS
    assert str(caught.value) == (
        f"localhost port {plain_server.port} does not offer STARTTLS, so the connection "
        "cannot be encrypted"
    )
    assert plain_server.messages == [] and plain_server.recorder.logins == []


def test_no_password_over_an_unencrypted_connection(plain_server: SmtpServer) -> None:
    settings = settings_for(plain_server, security="starttls_if_offered")
    with pytest.raises(InsecureError) as caught:
        send(settings, invoice(settings))
    assert caught.value.step is Step.AUTH
    assert "barua will not send your password unencrypted" in str(caught.value)
    assert plain_server.recorder.logins == []


def test_plain_login_is_allowed_only_towards_loopback_with_security_none(
    plain_server: SmtpServer,
) -> None:
    settings = settings_for(plain_server, security="none")
    send(settings, invoice(settings))
    assert plain_server.recorder.logins == [(USER, PASSWORD)]
    assert len(plain_server.messages) == 1


def test_no_login_needed_without_username(plain_server: SmtpServer) -> None:
    settings = settings_for(
        plain_server,
        username=None,
        password=None,
        email_address="shop@example.com",
        port=plain_server.port,
        security="auto",
    )
    send(settings, invoice(settings))
    assert plain_server.messages[0].mail_from == "shop@example.com"


@pytest.mark.usefixtures("trust_ca")
def test_wrong_password(ssl_server: SmtpServer) -> None:
    settings = settings_for(ssl_server, password="wrong")
    with pytest.raises(AuthenticationError) as caught:
        send(settings, invoice(settings))
    error = caught.value
    assert (error.step, error.code) == (Step.AUTH, 535)
    assert str(error) == (
        "the server refused the username or password "
        "(server replied: 535 5.7.8 Authentication credentials invalid)"
    )
    assert error.hint is not None and "app password" in error.hint
    assert "wrong" not in str(error) and "wrong" not in (error.reply or "")


@pytest.mark.usefixtures("trust_ca")
@pytest.mark.parametrize(
    ("faults", "error_class", "step", "code"),
    [
        ({"MAIL": "421 4.7.0 Too many connections"}, TemporaryError, Step.MAIL_FROM, 421),
        ({"MAIL": "451 4.7.1 Greylisted, try later"}, TemporaryError, Step.MAIL_FROM, 451),
        ({"MAIL": "553 5.7.1 Sender address rejected"}, SenderRefused, Step.MAIL_FROM, 553),
        ({"DATA": "552 5.3.4 Message too big"}, MessageTooLarge, Step.DATA, 552),
        ({"DATA": "554 5.7.1 Spam detected"}, PermanentError, Step.DATA, 554),
        ({"DATA": "451 4.3.0 Local error"}, TemporaryError, Step.DATA, 451),
    ],
)
def test_server_replies_map_to_errors(
    certs: CertFiles,
    faults: dict[str, str],
    error_class: type[Exception],
    step: Step,
    code: int,
) -> None:
    with SmtpServer(mode="ssl", certs=certs, users={USER: PASSWORD}, faults=faults) as server:
        settings = settings_for(server)
        with pytest.raises(error_class) as caught:
            send(settings, invoice(settings))
    error = caught.value
    assert type(error) is error_class
    assert (error.step, error.code) == (step, code)  # type: ignore[attr-defined]
    assert error.reply == next(iter(faults.values())).split(" ", 1)[1]  # type: ignore[attr-defined]
    assert error.temporary is (400 <= code < 500)  # type: ignore[attr-defined]
    from barua.errors import Cause

    expected = {
        SenderRefused: Cause.SENDER_REFUSED,
        MessageTooLarge: Cause.MESSAGE_TOO_LARGE,
        TemporaryError: Cause.TRY_LATER,
        PermanentError: Cause.SERVICE_REFUSED,
    }[error_class]
    assert error.cause is expected  # type: ignore[attr-defined]


@pytest.mark.usefixtures("trust_ca")
def test_size_limit_is_checked_before_sending(certs: CertFiles) -> None:
    with SmtpServer(mode="ssl", certs=certs, users={USER: PASSWORD}, size_limit=20_000) as server:
        settings = settings_for(server)
        message = invoice(settings)
        with pytest.raises(MessageTooLarge) as caught:
            send(settings, message)
        assert server.messages == []
    error = caught.value
    assert error.step is Step.MAIL_FROM
    size = message.size
    assert (error.size, error.limit) == (size, 20_000)
    assert str(error) == f"the message is {size / 1000:.1f} KB; localhost accepts at most 20 KB"


@pytest.mark.usefixtures("trust_ca")
def test_a_refusal_for_size_at_data_names_both_sizes(certs: CertFiles) -> None:
    faults = {"DATA": "552 5.3.4 Message size exceeds fixed maximum message size"}
    with SmtpServer(mode="ssl", certs=certs, users={USER: PASSWORD}, faults=faults) as server:
        settings = settings_for(server)
        message = invoice(settings)
        with pytest.raises(MessageTooLarge) as caught:
            send(settings, message)
    error = caught.value
    size = message.size
    assert (error.step, error.size, error.limit) == (Step.DATA, size, 33_554_432)
    assert str(error) == (
        f"the message is {size / 1000:.1f} KB; localhost accepts at most 33.6 MB (server "
        "replied: 552 5.3.4 Message size exceeds fixed maximum message size)"
    )


@pytest.mark.usefixtures("trust_ca")
@pytest.mark.parametrize("pipelining", [False, True])
@pytest.mark.parametrize(
    ("faults", "step"),
    [
        ({"RCPT": "553 5.7.1 <shop@example.com>: Sender address rejected: not owned by user "
                  "shop@example.com"}, Step.RCPT_TO),
        ({"DATA": "554 5.2.252 SendAsDenied; shop@example.com not allowed to send as "
                  "boss@example.com"}, Step.DATA),
        ({"RCPT": "550 5.7.60 SMTP; Client does not have permissions to send as this sender"},
         Step.RCPT_TO),
        ({"DATA": "550 5.1.8 Sender address domain does not exist"}, Step.DATA),
        ({"RCPT": "553 5.1.7 The sender address is malformed"}, Step.RCPT_TO),
    ],
)  # fmt: skip
def test_a_sender_refused_after_mail_from_is_a_sender_refusal(
    certs: CertFiles, faults: dict[str, str], step: Step, pipelining: bool
) -> None:
    with SmtpServer(
        mode="ssl", certs=certs, users={USER: PASSWORD}, faults=faults, pipelining=pipelining
    ) as server:
        settings = settings_for(server)
        with pytest.raises(SenderRefused) as caught:
            send(settings, invoice(settings))
        assert server.messages == []
    error = caught.value
    code, reply = next(iter(faults.values())).split(" ", 1)
    assert (error.step, error.code, error.reply) == (step, int(code), reply)
    assert error.cause is Cause.SENDER_REFUSED
    assert error.message == "the server does not accept mail from the sending address"


@pytest.mark.usefixtures("trust_ca")
def test_a_starttls_demand_is_not_taken_for_a_login_demand(plain_server: SmtpServer) -> None:
    plain_server.recorder.faults["MAIL"] = "530 5.7.0 Must issue a STARTTLS command first"
    settings = settings_for(plain_server, username=None, password=None,
                            email_address="shop@example.com")  # fmt: skip
    with pytest.raises(TLSError) as caught:
        send(settings, invoice(settings))
    error = caught.value
    assert (error.step, error.code, error.cause) == (Step.MAIL_FROM, 530, Cause.NO_STARTTLS)
    assert error.message == "the server requires encryption (STARTTLS) before it accepts mail"


@pytest.mark.usefixtures("trust_ca")
def test_one_refused_recipient_of_three(ssl_server: SmtpServer) -> None:
    ssl_server.recorder.refuse_recipients["gone@example.com"] = "550 5.1.1 User unknown"
    settings = settings_for(ssl_server)
    message = invoice(settings, to=["a@example.com", "gone@example.com", "c@example.com"])
    with SmtpTransport(settings) as smtp:
        result = smtp.send(message)
    assert result.accepted == ("a@example.com", "c@example.com")
    assert result.refused == {"gone@example.com": (550, "5.1.1 User unknown")}
    assert ssl_server.messages[0].rcpt_tos == ["a@example.com", "c@example.com"]


@pytest.mark.usefixtures("trust_ca")
def test_every_recipient_refused(ssl_server: SmtpServer) -> None:
    ssl_server.recorder.refuse_recipients["gone@example.com"] = "550 5.1.1 User unknown"
    settings = settings_for(ssl_server)
    with SmtpTransport(settings) as smtp:
        with pytest.raises(RecipientRefused) as caught:
            smtp.send(invoice(settings, to=["gone@example.com"]))
        assert caught.value.refused == {"gone@example.com": (550, "5.1.1 User unknown")}
        assert caught.value.recipient == "gone@example.com"
        assert not caught.value.temporary
        # The connection was reset and still works for the next message.
        smtp.send(invoice(settings))
    assert len(ssl_server.messages) == 1


@pytest.mark.usefixtures("trust_ca")
def test_smtputf8_address(ssl_server: SmtpServer, certs: CertFiles) -> None:
    settings = settings_for(ssl_server)
    message = invoice(settings, to=["jürgen@example.de"])
    send(settings, message)
    assert ssl_server.messages[0].rcpt_tos == ["jürgen@example.de"]
    assert "SMTPUTF8" in ssl_server.messages[0].mail_options
    with SmtpServer(mode="ssl", certs=certs, users={USER: PASSWORD}, smtputf8=False) as old:
        settings = settings_for(old)
        with pytest.raises(PermanentError, match=r"does not accept international email"):
            send(settings, invoice(settings, to=["jürgen@example.de"]))


@pytest.mark.usefixtures("trust_ca")
def test_connection_dropped_after_data_is_outcome_unknown(certs: CertFiles) -> None:
    with SmtpServer(mode="ssl", certs=certs, users={USER: PASSWORD}, faults={"DATA": "DROP"}) as s:
        settings = settings_for(s)
        with pytest.raises(OutcomeUnknown) as caught:
            send(settings, invoice(settings))
    assert caught.value.step is Step.DATA
    assert caught.value.temporary


def test_connection_refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = make_settings(host="127.0.0.1", port=port, email_address="a@example.com")
    with pytest.raises(ConnectError) as caught:
        send(settings, invoice(settings))
    assert caught.value.step is Step.CONNECT
    assert str(caught.value) == f"127.0.0.1 port {port} refused the connection"
    assert caught.value.hint is not None and "587" in caught.value.hint


def test_unknown_host(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_such_host(*args: object, **kwargs: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    settings = make_settings(host="smtp.gmial.com", port=587, username="a@example.com")
    with pytest.raises(ConnectError) as caught:
        send(settings, invoice(settings))
    assert caught.value.step is Step.RESOLVE
    assert str(caught.value) == (
        'could not find the mail server "smtp.gmial.com" (the name does not resolve)'
    )


def test_a_dns_server_that_does_not_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    answer = threading.Event()

    def silent_dns(*args: object, **kwargs: object) -> None:
        answer.wait(10)  # the system resolver has no timeout of its own
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", silent_dns)
    settings = make_settings(host="smtp.example.com", username="a@example.com", timeout=0.2)
    try:
        with pytest.raises(TimeoutError) as caught:
            send(settings, invoice(settings))
    finally:
        answer.set()
    assert (caught.value.step, caught.value.cause) == (Step.RESOLVE, Cause.HOST_NOT_FOUND)
    assert str(caught.value) == (
        'the name of the mail server "smtp.example.com" did not resolve within 0.2 seconds'
    )
    assert caught.value.hint == "Check that this computer is online and its DNS server answers."


def test_a_silent_port_is_not_taken_for_implicit_tls(silent_port: int) -> None:
    settings = make_settings(
        host="127.0.0.1", port=silent_port, security="starttls", username=USER, timeout=0.5
    )
    with pytest.raises(TimeoutError) as caught:
        send(settings, invoice(settings))
    error = caught.value
    assert (error.step, error.cause) == (Step.GREETING, Cause.CONNECTION_TIMEOUT)
    assert str(error) == (
        f"127.0.0.1 port {silent_port} accepted the connection but sent no greeting within "
        "0.5 seconds, and does not answer a TLS handshake either"
    )


def test_an_implicit_tls_port_is_confirmed_by_a_handshake(ssl_server: SmtpServer) -> None:
    settings = settings_for(ssl_server, security="starttls", timeout=0.5)
    with pytest.raises(TimeoutError) as caught:
        send(settings, invoice(settings))
    error = caught.value
    assert (error.step, error.cause) == (Step.GREETING, Cause.EXPECTS_IMPLICIT_TLS)
    assert str(error) == (
        f"localhost port {ssl_server.port} sent no greeting within 0.5 seconds, but answers a "
        "TLS handshake"
    )
    assert ssl_server.recorder.logins == [] and ssl_server.messages == []


def test_the_test_email_asks_an_implicit_tls_port_before_the_timeout(
    ssl_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(smtp_probes, "GREETING_WAIT", 0.2)
    settings = settings_for(ssl_server, security="starttls", timeout=30)
    with pytest.raises(TimeoutError, match=r"no greeting within 0\.2 seconds, but answers a TLS"):
        send(settings, invoice(settings))


@pytest.fixture
def slow_greeter() -> Iterator[int]:
    """Greets 0.6 s after accepting, like a server that pauses on purpose (postscreen)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve() -> None:
        with contextlib.suppress(OSError):
            conn, _ = listener.accept()
            with conn:
                time.sleep(0.6)
                conn.sendall(b"220 slow.test ESMTP\r\n")
                while conn.recv(1024):  # EHLO, then HELO: refused, to end the test quickly
                    conn.sendall(b"554 5.7.1 not today\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    listener.close()
    thread.join(5)


def test_the_test_email_goes_on_waiting_for_a_server_that_greets_late(
    slow_greeter: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # It gave up at GREETING_WAIT once: a server that pauses on purpose failed the test email.
    monkeypatch.setattr(smtp_probes, "GREETING_WAIT", 0.2)
    settings = make_settings(
        host="127.0.0.1",
        port=slow_greeter,
        security="starttls_if_offered",
        email_address=USER,
        timeout=30,
    )
    with pytest.raises(PermanentError) as caught:
        send(settings, invoice(settings))
    assert caught.value.step is Step.EHLO  # past the greeting: the server's own refusal
    assert caught.value.code == 554


def test_implicit_tls_spoken_to_a_starttls_port(starttls_server: SmtpServer) -> None:
    settings = settings_for(starttls_server, security="ssl")
    with pytest.raises(TLSError) as caught:
        send(settings, invoice(settings))
    assert caught.value.step is Step.TLS
    assert "does not speak SSL/TLS from the start" in str(caught.value)
    assert caught.value.hint is not None and "STARTTLS" in caught.value.hint


def test_steps_are_reported_in_order(starttls_server: SmtpServer, trust_ca: None) -> None:
    settings = settings_for(starttls_server, bcc_copy="archive@example.com")
    events = send(settings, invoice(settings))
    assert [e.step for e in events] == [
        Step.RESOLVE,
        Step.CONNECT,
        Step.GREETING,
        Step.EHLO,
        Step.STARTTLS,
        Step.CERTIFICATE,
        Step.EHLO,
        Step.AUTH,
        Step.MAIL_FROM,
        Step.RCPT_TO,
        Step.RCPT_TO,
        Step.DATA,
        Step.ACCEPTED,
    ]
    assert all(e.ok for e in events)
    assert all(e.seconds >= 0 for e in events)
    assert PASSWORD not in repr(events)
    certificate = events[5]
    assert certificate.detail == "trusted by this computer"
    assert certificate.certificate is not None and "localhost" in certificate.certificate.names
    recipients = [(e.recipient, e.detail) for e in events if e.step is Step.RCPT_TO]
    assert recipients == [("jane@example.com", "250 OK"), ("archive@example.com", "250 OK")]


def test_one_refused_recipient_fails_its_own_step_only(
    starttls_server: SmtpServer, trust_ca: None
) -> None:
    starttls_server.recorder.refuse_recipients["archive@example.com"] = "550 5.1.1 No such user"
    settings = settings_for(starttls_server, bcc_copy="archive@example.com")
    events: list[StepEvent] = []
    with SmtpTransport(settings, observer=events.append) as smtp:
        result = smtp.send(invoice(settings))
    assert result.accepted == ("jane@example.com",)
    assert result.refused == {"archive@example.com": (550, "5.1.1 No such user")}
    [jane, archive] = [e for e in events if e.step is Step.RCPT_TO]
    assert jane.ok and jane.recipient == "jane@example.com"
    assert not archive.ok and archive.recipient == "archive@example.com"
    assert archive.error is not None and archive.error.code == 550
    assert archive.detail == "550 5.1.1 No such user"
    assert events[-1].step is Step.ACCEPTED and events[-1].ok


def test_pinned_certificate_is_its_own_step(starttls_server: SmtpServer, certs: CertFiles) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    from barua.certificates import fingerprint

    der = x509.load_pem_x509_certificate(certs.cert.read_bytes()).public_bytes(Encoding.DER)
    settings = settings_for(starttls_server, pinned_certificate=fingerprint(der))
    events = send(settings, invoice(settings))
    [checked] = [e for e in events if e.step is Step.CERTIFICATE]
    assert checked.ok and checked.detail == "the pinned fingerprint matches"


@pytest.mark.parametrize(
    ("data", "stuffed"),
    [
        (b"a\r\n.b\r\n", b"a\r\n..b\r\n.\r\n"),
        (b".start\r\nend", b"..start\r\nend\r\n.\r\n"),
        (b"bare\nlf\n.x\n", b"bare\r\nlf\r\n..x\r\n.\r\n"),
        (b"", b"\r\n.\r\n"),
    ],
)
def test_dot_stuffing(data: bytes, stuffed: bytes) -> None:
    assert dot_stuff(data) == stuffed


# Certificates: what was presented, why it is refused, and pinning ----------------------------


def server_fingerprint(certs: CertFiles) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    from barua.certificates import fingerprint

    cert = x509.load_pem_x509_certificate(certs.cert.read_bytes())
    return fingerprint(cert.public_bytes(Encoding.DER))


def test_refused_certificate_is_described(ssl_server: SmtpServer, certs: CertFiles) -> None:
    from barua.errors import Cause

    settings = settings_for(ssl_server)
    with pytest.raises(TLSError) as caught:
        send(settings, invoice(settings))
    error = caught.value
    assert error.cause is Cause.CERT_UNTRUSTED
    assert error.certificate is not None
    assert error.certificate.subject == "localhost"
    assert error.certificate.issuer == "barua test CA"
    assert error.certificate.sha256 == server_fingerprint(certs)
    assert "localhost" in error.certificate.names


@pytest.mark.parametrize(
    ("options", "cause_name"),
    [
        ({"self_signed": True}, "CERT_SELF_SIGNED"),
        ({"expired": True}, "CERT_EXPIRED"),
        ({"hostnames": ("mail.other.test",), "ip_addresses": False}, "CERT_WRONG_HOST"),
    ],
)
def test_certificate_causes(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, options: dict[str, Any], cause_name: str
) -> None:
    from barua.errors import Cause
    from tests.certs import make_certificates

    made = make_certificates(tmp_path, **options)
    monkeypatch.setenv("SSL_CERT_FILE", str(made.ca))
    with SmtpServer(mode="starttls", certs=made, users={USER: PASSWORD}) as server:
        settings = settings_for(server)
        with pytest.raises(TLSError) as caught:
            send(settings, invoice(settings))
    assert caught.value.cause is Cause[cause_name]
    assert caught.value.certificate is not None


def test_pinned_certificate_is_accepted_without_ca(
    starttls_server: SmtpServer, certs: CertFiles
) -> None:
    from barua.certificates import fingerprint
    from barua.transports.smtp import fetch_certificate

    settings = settings_for(starttls_server)
    assert fingerprint(fetch_certificate(settings)) == server_fingerprint(certs)
    pinned = settings_for(starttls_server, pinned_certificate=server_fingerprint(certs))
    send(pinned, invoice(pinned))
    assert len(starttls_server.messages) == 1


def test_changed_certificate_fails_with_both_fingerprints(
    ssl_server: SmtpServer, certs: CertFiles
) -> None:
    from barua.errors import Cause

    old = "AB:" * 31 + "AB"
    settings = settings_for(ssl_server, pinned_certificate=old.replace(":", "").lower())
    with pytest.raises(TLSError) as caught:
        send(settings, invoice(settings))
    error = caught.value
    assert error.cause is Cause.CERT_CHANGED
    assert str(error) == (
        f"the certificate of localhost port {ssl_server.port} has changed: barua trusts {old}, "
        f"the server now presents {server_fingerprint(certs)}"
    )
    assert ssl_server.recorder.logins == [], "no password is sent to an unexpected server"


# PIPELINING (RFC 2920) and sending stored bytes without copying them ---------------------------


@pytest.fixture
def pipelining_server(certs: CertFiles) -> Iterator[SmtpServer]:
    with SmtpServer(mode="ssl", certs=certs, users={USER: PASSWORD}, pipelining=True) as server:
        yield server


@pytest.mark.usefixtures("trust_ca")
def test_pipelining_sends_the_envelope_in_one_write(pipelining_server: SmtpServer) -> None:
    settings = settings_for(pipelining_server)
    message = invoice(settings, to=["a@example.com", "b@example.com"])
    events: list[StepEvent] = []
    with SmtpTransport(settings, observer=events.append) as smtp:
        result = smtp.send(message)
        smtp.send(invoice(settings))
    [first, second] = pipelining_server.recorder.queued_behind_mail  # type: ignore[attr-defined]
    # Both RCPT TOs and DATA had arrived before the server answered MAIL FROM.
    assert first == b"RCPT TO:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n"
    assert second == b"RCPT TO:<jane@example.com>\r\nDATA\r\n"
    received = pipelining_server.messages[0]
    assert received.data == message.data and received.rcpt_tos == ["a@example.com", "b@example.com"]
    assert received.mail_options == [f"SIZE={message.size}"]
    assert result.accepted == ("a@example.com", "b@example.com") and result.code == 250
    hidden = {Step.RESOLVE, Step.CONNECT, Step.TLS, Step.CERTIFICATE}
    steps = [(e.step, e.recipient) for e in events if e.step not in hidden]
    assert steps[:7] == [
        (Step.GREETING, None),
        (Step.EHLO, None),
        (Step.AUTH, None),
        (Step.MAIL_FROM, None),
        (Step.RCPT_TO, "a@example.com"),
        (Step.RCPT_TO, "b@example.com"),
        (Step.DATA, None),
    ]
    assert all(e.ok for e in events)


@pytest.mark.usefixtures("trust_ca")
def test_without_pipelining_commands_wait_for_their_reply(ssl_server: SmtpServer) -> None:
    settings = settings_for(ssl_server)
    with SmtpTransport(settings) as smtp:
        smtp.send(invoice(settings))
        assert smtp._client is not None and not smtp._client.has_extn("pipelining")
    assert len(ssl_server.messages) == 1


@pytest.mark.usefixtures("trust_ca")
def test_pipelined_refusals_keep_per_recipient_results(pipelining_server: SmtpServer) -> None:
    recorder = pipelining_server.recorder
    recorder.refuse_recipients["gone@example.com"] = "550 5.1.1 User unknown"
    recorder.refuse_recipients["later@example.com"] = "452 4.2.2 Mailbox full"
    settings = settings_for(pipelining_server)
    with SmtpTransport(settings) as smtp:
        result = smtp.send(
            invoice(settings, to=["a@example.com", "gone@example.com", "later@example.com"])
        )
        assert result.accepted == ("a@example.com",)
        assert result.refused == {
            "gone@example.com": (550, "5.1.1 User unknown"),
            "later@example.com": (452, "4.2.2 Mailbox full"),
        }
        with pytest.raises(RecipientRefused) as caught:
            smtp.send(invoice(settings, to=["gone@example.com", "later@example.com"]))
        assert caught.value.refused == {
            "gone@example.com": (550, "5.1.1 User unknown"),
            "later@example.com": (452, "4.2.2 Mailbox full"),
        }
        # The DATA of that group was refused, the transaction reset: the connection goes on.
        smtp.send(invoice(settings))
    assert [m.rcpt_tos for m in pipelining_server.messages] == [
        ["a@example.com"],
        ["jane@example.com"],
    ]


@pytest.mark.usefixtures("trust_ca")
@pytest.mark.parametrize(
    ("faults", "error_class", "step", "code"),
    [
        ({"MAIL": "553 5.7.1 Sender not allowed"}, SenderRefused, Step.MAIL_FROM, 553),
        ({"MAIL": "451 4.3.0 Try later"}, TemporaryError, Step.MAIL_FROM, 451),
        ({"RCPT": "421 4.7.0 Closing"}, TemporaryError, Step.RCPT_TO, 421),
        ({"DATA": "554 5.7.1 Spam detected"}, PermanentError, Step.DATA, 554),
    ],
)
def test_pipelined_errors_map_like_lock_step(
    certs: CertFiles,
    faults: dict[str, str],
    error_class: type[Exception],
    step: Step,
    code: int,
) -> None:
    with SmtpServer(
        mode="ssl", certs=certs, users={USER: PASSWORD}, faults=faults, pipelining=True
    ) as server:
        settings = settings_for(server)
        with SmtpTransport(settings) as smtp:
            with pytest.raises(error_class) as caught:
                smtp.send(invoice(settings))
            error = caught.value
            assert type(error) is error_class
            assert (error.step, error.code) == (step, code)  # type: ignore[attr-defined]
            server.recorder.faults.clear()
            # After a refusal (or a 421, with a new connection) the next message goes through.
            smtp.send(invoice(settings))
        assert len(server.messages) == 1


@pytest.mark.usefixtures("trust_ca")
def test_pipelined_connection_dropped_after_data_is_outcome_unknown(certs: CertFiles) -> None:
    faults = {"DATA": "DROP"}
    with SmtpServer(
        mode="ssl", certs=certs, users={USER: PASSWORD}, faults=faults, pipelining=True
    ) as server:
        settings = settings_for(server)
        with pytest.raises(OutcomeUnknown):
            send(settings, invoice(settings))


@pytest.mark.usefixtures("trust_ca")
def test_meanwhile_runs_after_the_data_and_before_the_reply(
    pipelining_server: SmtpServer,
) -> None:
    settings = settings_for(pipelining_server)
    seen: list[int] = []
    with SmtpTransport(settings) as smtp:
        smtp.send(invoice(settings), meanwhile=lambda: seen.append(len(pipelining_server.messages)))
        assert seen == [0] or seen == [1]  # the server may have stored it already, not replied

        def broken() -> None:
            raise RuntimeError("database down")

        with pytest.raises(RuntimeError, match="database down"):
            smtp.send(invoice(settings), meanwhile=broken)
        assert smtp._client is None, "the reply was never read: the connection is closed"
        smtp.send(invoice(settings))
    assert len(pipelining_server.messages) == 3


def test_wire_ready_bytes_are_sent_without_a_copy() -> None:
    data = b"Subject: x\r\n\r\nHabari.\r\nAsante\r\n" + b"QUJD" * 19 + b"\r\n"
    assert is_wire_ready(data)
    parts = data_parts(data)
    assert parts[0] is data and parts[1:] == (b".\r\n",)
    assert data_parts(b"no final line break") == (b"no final line break", b"\r\n.\r\n")
    marked = WireData(data)
    assert marked == data and data_parts(marked)[0] is marked


@pytest.mark.parametrize(
    "data",
    [
        b".leading dot\r\n",
        b"a\r\n.b\r\n",
        b"bare\nlf\r\n",
        b"bare\rcr\r\n",
        b"a. " * 100 + b"\r\n.x\r\n",  # more dots than the quick scan follows one by one
    ],
)
def test_bytes_that_need_stuffing_are_stuffed(data: bytes) -> None:
    assert not is_wire_ready(data)
    assert data_parts(data) == (dot_stuff(data),)


_BARE_CR_OR_LF = re.compile(rb"\r(?!\n)|(?<!\r)\n")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", True),
        (b"a\r\nb\r\n", True),
        (b"\r\n\r\n", True),
        (b"a\nb", False),
        (b"a\rb", False),
        (b"\n\r", False),  # as many CR as LF, none a pair
        (b"\r\r\n\n", False),  # one pair between a bare CR and a bare LF
        (b"a\r\n\r", False),  # a CR at the very end
        (b"\ra\n", False),  # a CR and an LF in the right order, but apart
    ],
)
def test_crlf_only_finds_every_bare_cr_and_lf(data: bytes, expected: bool) -> None:
    assert crlf_only(data) is expected
    assert is_wire_ready(data) is expected


@given(st.lists(st.sampled_from([b"a", b"\r", b"\n", b"\r\n", b"QUJD"]), max_size=30))
def test_crlf_only_agrees_with_a_search_for_bare_line_endings(pieces: list[bytes]) -> None:
    data = b"".join(pieces)
    assert crlf_only(data) == (_BARE_CR_OR_LF.search(data) is None)


@pytest.mark.usefixtures("trust_ca")
def test_the_next_envelope_goes_out_with_the_final_dot(pipelining_server: SmtpServer) -> None:
    settings = settings_for(pipelining_server)
    first, second, third = (invoice(settings, subject=f"Ankara {n}") for n in range(3))
    events: list[StepEvent] = []
    with SmtpTransport(settings, observer=events.append) as smtp:
        smtp.send(first, then=second)
        smtp.send(second, then=third)
        smtp.send(third)
    recorder = pipelining_server.recorder
    behind = recorder.queued_behind_data  # type: ignore[attr-defined]
    envelope = b"MAIL FROM:<shop@example.com> SIZE=%d\r\nRCPT TO:<jane@example.com>\r\nDATA\r\n"
    assert behind == [envelope % second.size, envelope % third.size, b""]
    assert [m.data for m in pipelining_server.messages] == [first.data, second.data, third.data]
    assert [e.step for e in events].count(Step.CONNECT) == 1


@pytest.mark.usefixtures("trust_ca")
def test_an_envelope_sent_ahead_for_nothing_delivers_nothing(
    pipelining_server: SmtpServer,
) -> None:
    settings = settings_for(pipelining_server)
    first, announced, other, later = (invoice(settings, subject=f"Ankara {n}") for n in range(4))
    events: list[StepEvent] = []
    with SmtpTransport(settings, observer=events.append) as smtp:
        smtp.send(first, then=announced)
        smtp.send(other)  # not the one announced: that transaction is dropped unsent
        smtp.send(later, then=announced)
    delivered = [m.data for m in pipelining_server.messages]
    assert delivered == [first.data, other.data, later.data]
    assert [e.step for e in events].count(Step.CONNECT) == 2, "a new connection after the drop"


@pytest.mark.usefixtures("trust_ca")
def test_a_refused_message_keeps_the_envelope_sent_ahead(certs: CertFiles) -> None:
    with SmtpServer(
        mode="ssl",
        certs=certs,
        users={USER: PASSWORD},
        faults={"DATA": "554 5.7.1 Spam detected"},
        pipelining=True,
    ) as server:
        server.recorder.fault_counts["DATA"] = 1
        settings = settings_for(server)
        refused, following = invoice(settings, subject="Spam"), invoice(settings, subject="Ham")
        with SmtpTransport(settings) as smtp:
            with pytest.raises(PermanentError):
                smtp.send(refused, then=following)
            smtp.send(following)
        assert [m.data for m in server.messages] == [following.data]
