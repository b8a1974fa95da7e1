"""The test email against real servers on loopback: each cause recognised from what the server
really does, with the exact advice the user reads (summary, fix and evidence)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from barua.certificates import describe_certificate, fingerprint
from barua.errors import Cause, MessageTooLarge, SettingsError, Step
from barua.settings import Settings, make_settings
from barua.setup.advice import Advice
from barua.setup.diagnose import TestReport, TrustRequest, _deliverability, run_test
from barua.transports.base import StepEvent
from barua.transports.smtp import fetch_certificate
from tests.certs import CertFiles, make_certificates
from tests.conftest import PASSWORD, USER
from tests.dns_server import DnsServer
from tests.smtpd import SmtpServer
from tests.test_transport_http import Service

TO = "kunde@example.org"
SENDER_FIX = (
    "Send from the address of the mailbox you log in with, or add shop@example.com as an "
    'allowed "send mail as" address at your provider.'
)


def smtp_settings(server: SmtpServer, **changes: Any) -> Settings:
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


def failed(settings: Settings, **kw: Any) -> tuple[Advice, TestReport]:
    report = run_test(settings, to=TO, lang="en", check_deliverability=False, **kw)
    assert report.advice is not None, report.steps
    return report.advice, report


def last_step(report: TestReport) -> tuple[Step, bool]:
    event = report.steps[-1]
    return event.step, event.ok


# The sender refused, whatever command the refusal answers -----------------------------------


@pytest.mark.usefixtures("trust_ca")
@pytest.mark.parametrize("pipelining", [False, True])
@pytest.mark.parametrize(
    ("faults", "step"),
    [
        # Postfix's reject_sender_login_mismatch, checked at RCPT TO.
        ({"RCPT": "553 5.7.1 <shop@example.com>: Sender address rejected: not owned by user "
                  "shop@example.com"}, Step.RCPT_TO),
        # Microsoft 365, after the message.
        ({"DATA": "554 5.2.252 SendAsDenied; shop@example.com not allowed to send as "
                  "shop@example.com; STOREDRV.Submission.Exception:SendAsDeniedException"},
         Step.DATA),
    ],
)  # fmt: skip
def test_sender_refused_after_mail_from(
    certs: CertFiles, faults: dict[str, str], step: Step, pipelining: bool
) -> None:
    with SmtpServer(
        mode="ssl", certs=certs, users={USER: PASSWORD}, faults=faults, pipelining=pipelining
    ) as server:
        advice, report = failed(smtp_settings(server))
        assert server.messages == []
    assert last_step(report) == (step, False)
    assert advice.cause is Cause.SENDER_REFUSED
    assert advice.summary == "the server does not allow sending as shop@example.com"
    assert advice.fix == SENDER_FIX
    assert advice.details == [f"server replied: {next(iter(faults.values()))}"]


# Encryption demanded by a server the settings talk to unencrypted ---------------------------


def test_a_demand_for_starttls_says_so_rather_than_asking_for_a_login(
    plain_server: SmtpServer,
) -> None:
    plain_server.recorder.faults["MAIL"] = "530 5.7.0 Must issue a STARTTLS command first"
    settings = smtp_settings(
        plain_server, username=None, password=None, email_address="shop@example.com"
    )
    advice, report = failed(settings)
    assert last_step(report) == (Step.MAIL_FROM, False)
    assert advice.cause is Cause.NO_STARTTLS
    assert advice.summary == "the server requires encryption (STARTTLS) before it accepts mail"
    assert advice.fix == "Set security to STARTTLS (port 587) or SSL/TLS (port 465)."
    assert advice.details == ["server replied: 530 5.7.0 Must issue a STARTTLS command first"]


def test_a_demand_for_a_login_still_asks_for_one(plain_server: SmtpServer) -> None:
    plain_server.recorder.faults["MAIL"] = "530 5.7.0 Authentication required"
    settings = smtp_settings(
        plain_server, username=None, password=None, email_address="shop@example.com"
    )
    advice, _ = failed(settings)
    assert advice.cause is Cause.AUTH_REQUIRED
    assert advice.fix == "Enter the username and password of the mailbox."


# Sizes ---------------------------------------------------------------------------------------


@pytest.mark.usefixtures("trust_ca")
def test_too_large_names_the_message_size_and_the_servers_limit(certs: CertFiles) -> None:
    with SmtpServer(mode="ssl", certs=certs, users={USER: PASSWORD}, size_limit=300) as server:
        advice, report = failed(smtp_settings(server))
    error = report.error
    assert isinstance(error, MessageTooLarge) and error.step is Step.MAIL_FROM
    size, limit = error.size, error.limit
    assert isinstance(size, int) and 300 < size < 1000  # a short test email, in bytes
    assert limit == 300
    shown = report.to_dict()["error"]
    assert (shown["size"], shown["limit"]) == (size, 300)
    assert advice.cause is Cause.MESSAGE_TOO_LARGE
    kb = f"{size / 1000:.1f}".rstrip("0").rstrip(".")
    assert advice.summary == f"the message is {kb} KB; the server accepts at most 0.3 KB"
    assert advice.fix == "Send smaller attachments, or a link to the file instead."


# A port that says nothing --------------------------------------------------------------------


def test_a_port_silent_also_to_tls_is_not_called_an_implicit_tls_port(silent_port: int) -> None:
    settings = make_settings(
        host="127.0.0.1", port=silent_port, security="starttls", username=USER, timeout=0.5
    )
    advice, report = failed(settings)
    assert last_step(report) == (Step.GREETING, False)
    assert advice.cause is Cause.CONNECTION_TIMEOUT
    assert advice.summary == (
        f"127.0.0.1 accepted the connection on port {silent_port} but did not answer"
    )
    assert advice.fix == (
        "The port may belong to another service, or the server is overloaded. Check the port: "
        "most providers use 587 (STARTTLS) or 465 (SSL/TLS)."
    )


@pytest.mark.usefixtures("trust_ca")
def test_an_implicit_tls_port_is_named_once_a_handshake_confirms_it(
    ssl_server: SmtpServer,
) -> None:
    advice, report = failed(smtp_settings(ssl_server, security="starttls", timeout=0.5))
    assert last_step(report) == (Step.GREETING, False)
    assert advice.cause is Cause.EXPECTS_IMPLICIT_TLS
    assert advice.summary == (
        f"port {ssl_server.port} expects SSL/TLS from the start, but the settings use STARTTLS"
    )
    assert advice.fix == "Set security to SSL/TLS, or use port 587 with STARTTLS."


# Certificates, from real handshakes ----------------------------------------------------------


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_an_expired_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, security: str
) -> None:
    made = make_certificates(tmp_path, expired=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(made.ca))
    info = describe_certificate(_der(made))
    with SmtpServer(mode=security, certs=made, users={USER: PASSWORD}) as server:  # type: ignore[arg-type]
        advice, report = failed(
            smtp_settings(server), trust=TrustRequest(confirm=lambda _info, _doubts: True)
        )
        assert server.recorder.logins == []
    assert report.trusted_certificate is None  # pinning would hide a real problem
    assert last_step(report) == (Step.CERTIFICATE, False)
    assert advice.cause is Cause.CERT_EXPIRED
    assert advice.summary == (
        f"the server's certificate expired on {info.not_after.date().isoformat()}"
    )
    assert advice.fix == "Ask the server's administrator or your provider to renew the certificate."
    assert f"SHA-256 fingerprint: {info.sha256}" in advice.details


def test_a_certificate_for_another_host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made = make_certificates(tmp_path, hostnames=("mail.other.test",), ip_addresses=False)
    monkeypatch.setenv("SSL_CERT_FILE", str(made.ca))
    with SmtpServer(mode="starttls", certs=made, users={USER: PASSWORD}) as server:
        advice, report = failed(
            smtp_settings(server), trust=TrustRequest(confirm=lambda _info, _doubts: True)
        )
        assert server.recorder.logins == []
    assert report.trusted_certificate is None
    assert last_step(report) == (Step.CERTIFICATE, False)
    assert advice.cause is Cause.CERT_WRONG_HOST
    assert advice.summary == "the server's certificate is for mail.other.test, not for localhost"
    assert advice.fix == "Use the server name the certificate was issued for, or check the host."
    assert f"SHA-256 fingerprint: {fingerprint(_der(made))}" in advice.details


def _der(made: CertFiles) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    cert = x509.load_pem_x509_certificate(made.cert.read_bytes())
    return cert.public_bytes(Encoding.DER)


# HTTP email services get advice of their own -------------------------------------------------


def http_settings(url: str, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "protocol": "http",
        "http_service_url": url,
        "reply_to": "office@example.com",
        "http_api_key": "brk_live_7Qm2xV9pLk4sT8wZ",
        "timeout": 5,
    }
    values.update(changes)
    return make_settings(**values)


def test_http_connection_refused_points_at_the_service_url() -> None:
    with socket.socket() as closed:  # bound, never listening: refuses, and no one takes it
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        advice, report = failed(http_settings(f"https://127.0.0.1:{port}"))
    assert last_step(report) == (Step.CONNECT, False)
    assert advice.cause is Cause.CONNECTION_REFUSED
    assert advice.summary == f"the email service at 127.0.0.1 refused the connection on port {port}"
    assert advice.fix == (
        "Check the address and port in http_service_url, and that the email service is running."
    )


def test_http_timeout_points_at_the_firewall_and_proxy(silent_port: int) -> None:
    advice, report = failed(http_settings(f"https://127.0.0.1:{silent_port}", timeout=0.3))
    assert last_step(report) == (Step.TLS, False)
    assert advice.cause is Cause.CONNECTION_TIMEOUT
    assert advice.summary == f"no answer from the email service at 127.0.0.1 on port {silent_port}"
    assert advice.fix == (
        "A firewall, antivirus program or proxy may be blocking the connection: check the "
        "address and port in http_service_url, and this computer's proxy settings (HTTPS_PROXY)."
    )


def test_http_self_signed_certificate_is_not_offered_smtp_pinning(tmp_path: Path) -> None:
    made = make_certificates(tmp_path, self_signed=True)
    with Service(certs=made) as service:
        advice, report = failed(
            http_settings(service.url), trust=TrustRequest(confirm=lambda _info, _doubts: True)
        )
        assert service.received == []
    assert report.trusted_certificate is None
    assert last_step(report) == (Step.CERTIFICATE, False)
    assert advice.cause is Cause.CERT_SELF_SIGNED
    assert advice.summary == (
        "the email service's certificate is self-signed, so this computer cannot check it"
    )
    assert advice.fix == (
        "If this is your own email service, add its certificate to the trusted ones with "
        'SSL_CERT_FILE, or tick "do not verify TLS certificate" (--skip-tls-verify) only on a '
        "network you trust."
    )
    assert "trust-certificate" not in advice.fix
    assert f"SHA-256 fingerprint: {fingerprint(_der(made))}" in advice.details


def test_http_certificate_from_an_unknown_authority(certs: CertFiles) -> None:
    with Service(certs=certs) as service:
        advice, _ = failed(http_settings(service.url))
    assert advice.cause is Cause.CERT_UNTRUSTED
    assert advice.summary == "this computer does not trust the email service's certificate"
    assert advice.details[1:3] == ["certificate subject: localhost", "issued by: barua test CA"]


def test_trusting_a_certificate_is_refused_clearly_for_an_http_service() -> None:
    with pytest.raises(SettingsError) as caught:
        fetch_certificate(http_settings("https://relay.example.com"))
    assert str(caught.value) == (
        "trust-certificate applies to an SMTP server; these settings send through an HTTP "
        "email service"
    )
    assert caught.value.hint == (
        "For an HTTP email service with a self-signed or private certificate, add that "
        "certificate (or its authority's) to SSL_CERT_FILE, or turn certificate verification "
        "off (--skip-tls-verify) on a network you trust."
    )


# Proton Mail Bridge is found by its host and port ---------------------------------------------


def test_proton_bridge_with_a_custom_domain_checks_protons_spf(loopback_dns: DnsServer) -> None:
    loopback_dns.add("duka.co.tz", "TXT", "v=spf1 ip4:192.0.2.1 -all")
    settings = make_settings(
        host="127.0.0.1", port=1025, security="starttls", username="mauzo@duka.co.tz"
    )
    report = TestReport(settings=settings)
    report.steps.append(StepEvent(Step.CONNECT, True, 0.0, "127.0.0.1"))
    checked = _deliverability(report, loopback_dns.resolver())
    warning = checked.warnings[0]
    assert warning.message.format(**warning.args) == (
        "The SPF record of duka.co.tz does not allow Proton Mail Bridge to send its email, so "
        "receiving servers may mark it as spam or refuse it. Change the TXT record of "
        "duka.co.tz to:"
    )
    assert warning.record_to_add == "v=spf1 ip4:192.0.2.1 include:_spf.protonmail.ch -all"
