"""`barua test` against a real Postfix on loopback: both TLS modes, SASL AUTH, a self-signed
certificate, and the failures users meet most, each with the exact advice they read.

Postfix presents a self-signed certificate made for the session (``postfix.certificate``); a run
trusts it only the ways a user can: the certificate itself in ``SSL_CERT_FILE``, its fingerprint
pinned, or verification skipped. Every test email that barua reports as accepted is found in
Postfix's mailbox by the queue id barua printed.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from barua import build_message, make_settings, send_now
from barua.certificates import fingerprint
from barua.setup.diagnose import build_test_email
from tests.dns_server import DnsServer
from tests.postfix_server import OWNED_BY_ANOTHER, PostfixServer
from tests.test_cli import barua

TO = "kunde@example.org"
ACCEPTED = re.compile(
    rf"The server accepted the test email for {re.escape(TO)} "
    r"\(250 2\.0\.0 Ok: queued as ([0-9A-Za-z]+)\)\."
)
# After every successful test: the sending domain example.com exists in the loopback DNS server
# the tests' barua asks (the fixture below gives it a mail server), with neither record.
DELIVERABILITY_ADVICE = [
    "! example.com has no SPF record. Ask your email provider which SPF record to add to "
    "example.com.",
    "! example.com has no DMARC record. Gmail, Yahoo and others expect one from businesses "
    "that send email. Add this TXT record at _dmarc.example.com, and once your email passes "
    "SPF or DKIM, change p=none to p=quarantine:",
    "v=DMARC1; p=none",
]
SELF_SIGNED = [
    "error (check the certificate): the server's certificate is self-signed, so this computer "
    "cannot check it",
    "hint: If this is your own server, trust this certificate (barua settings "
    "trust-certificate, or barua test --trust-certificate) rather than turning verification "
    "off.",
]


@pytest.fixture(autouse=True)
def sending_domain(loopback_dns: DnsServer) -> None:
    loopback_dns.add("example.com", "MX", "10 mx.example.com.")


def listener(postfix: PostfixServer, security: str) -> tuple[int, str]:
    """The port for ``security`` and the Postfix service that listens there: implicit TLS on
    the smtps port, STARTTLS on the submission port."""
    if security == "ssl":
        return postfix.smtps_port, "smtps"
    return postfix.submission_port, "submission"


def flags(postfix: PostfixServer, port: int, security: str, *more: str) -> list[str]:
    return [
        "--host", "localhost", "--port", str(port), "--security", security,
        "--username", postfix.user, "--password-stdin", "--timeout", "3", *more,
    ]  # fmt: skip


def run_test(
    postfix: PostfixServer, port: int, security: str, *more: str, **kw: Any
) -> subprocess.CompletedProcess[str]:
    password = kw.pop("password", postfix.password)
    return barua("test", "--to", TO, *flags(postfix, port, security, *more),
                 stdin=password + "\n", **kw)  # fmt: skip


def trusting(postfix: PostfixServer) -> dict[str, str]:
    """The environment of a computer that trusts Postfix's self-signed certificate itself (no CA
    vouches for it: it is its own trust anchor)."""
    return {"SSL_CERT_FILE": str(postfix.certificate.cert)}


def after_steps(stdout: str) -> list[str]:
    """What `barua test` prints after its steps (a check mark or cross each): the outcome, or
    the evidence for the error; without indentation."""
    lines = stdout.splitlines()
    last_step = max(i for i, line in enumerate(lines) if line.startswith(("✓ ", "✗ ")))
    return [line.strip() for line in lines[last_step + 1 :]]


def shows(lines: list[str], block: list[str]) -> bool:
    """True when ``block`` appears in ``lines`` as it is, one line after the other."""
    return any(lines[i : i + len(block)] == block for i in range(len(lines) - len(block) + 1))


def accepted(proc: subprocess.CompletedProcess[str]) -> tuple[str, list[str]]:
    """The queue id in barua's "accepted" line, and what follows that line."""
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr == ""
    outcome = after_steps(proc.stdout)
    [index] = [i for i, line in enumerate(outcome) if ACCEPTED.fullmatch(line)]
    match = ACCEPTED.fullmatch(outcome[index])
    assert match is not None
    return match.group(1), outcome[index + 1 :]


def assert_test_email_arrived(
    postfix: PostfixServer, queue_id: str, *, port: int, security: str, service: str
) -> None:
    """The email `barua test` sent, as barua builds it, is the one Postfix queued as
    ``queue_id``: received by ``service`` (smtps or submission) after SASL AUTH, over TLS, and
    delivered to the mailbox."""
    log = postfix.wait_for_log(queue_id, "status=sent")
    [arrived] = postfix.delivered(queue_id)
    message = email.message_from_bytes(arrived, policy=email.policy.default)
    settings = make_settings(host="localhost", port=port, security=security, username=postfix.user)
    # Built as barua test builds it (CRLF on the wire; the maildir file has LF).
    wire = build_test_email(settings, to=TO).data
    expected = email.message_from_bytes(wire.replace(b"\r\n", b"\n"), policy=email.policy.default)

    assert message["Subject"] == expected["Subject"] == "barua test email"
    assert message["From"] == expected["From"] == postfix.user
    assert message["To"] == expected["To"] == TO
    assert message["Delivered-To"] == TO
    assert message.get_content_type() == "text/plain"
    body = message.get_content()
    assert body == expected.get_content()
    assert body.startswith("This is a test email from barua.\n")
    assert f"It was sent through localhost port {port} ({security}), so these email " in body
    # ESMTPSA: ESMTP, TLS ("S"), authenticated ("A").
    assert f"with ESMTPSA id {queue_id}" in " ".join(str(message["Received"]).split())
    assert any(
        f"postfix/{service}/smtpd[" in line
        and f"{queue_id}: client=unknown[127.0.0.1], sasl_method=PLAIN, "
        f"sasl_username={postfix.user}"
        in line
        for line in log
    ), log
    assert any(f"{queue_id}: message-id={message['Message-ID']}" in line for line in log), log
    assert any(f"{queue_id}: to=<{TO}>, relay=virtual," in line for line in log), log


def cert_details(postfix: PostfixServer) -> list[str]:
    """What barua shows of the certificate Postfix presents, read here from the file it was
    given: subject and issuer are the same name."""
    cert = x509.load_pem_x509_certificate(postfix.certificate.cert.read_bytes())
    assert cert.subject == cert.issuer
    return [
        "certificate subject: localhost, barua test Postfix",
        "issued by: localhost, barua test Postfix",
        f"valid until: {cert.not_valid_after_utc.date().isoformat()}",
        f"SHA-256 fingerprint: {fingerprint(postfix.certificate.der)}",
    ]


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_test_email_arrives_over_both_tls_modes(postfix: PostfixServer, security: str) -> None:
    port, service = listener(postfix, security)
    proc = run_test(postfix, port, security, env=trusting(postfix))
    queue_id, advice = accepted(proc)
    assert advice == DELIVERABILITY_ADVICE
    assert_test_email_arrived(postfix, queue_id, port=port, security=security, service=service)


def test_send_now_delivers_the_bytes_unchanged(postfix: PostfixServer) -> None:
    settings = make_settings(
        host="localhost", port=postfix.smtps_port, security="ssl", username=postfix.user,
        password=postfix.password, pinned_certificate=fingerprint(postfix.certificate.der),
    )  # fmt: skip
    message = build_message(settings, to=[TO], subject="Ankara — Zürich", text="Habari ß€\n")
    result = send_now(settings, message)
    assert result.queue_id is not None
    [arrived] = postfix.delivered(result.queue_id)
    sent = message.data.replace(b"\r\n", b"\n")
    assert arrived.replace(b"\r\n", b"\n").endswith(sent), "the message arrived unchanged"


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_wrong_password(postfix: PostfixServer, security: str) -> None:
    port, _ = listener(postfix, security)
    proc = run_test(postfix, port, security, password="wrong", env=trusting(postfix))
    assert proc.returncode == 1
    reply = "535 5.7.8 Error: authentication failed: authentication failure"
    assert proc.stderr.splitlines() == [
        f"error (log in): the server refused the username or password (server replied: {reply})",
        "hint: Check the username and password. Many providers need an app password instead "
        "of your normal password.",
    ]
    assert f"server replied: {reply}" in after_steps(proc.stdout)


def test_no_tls_where_it_is_required(postfix: PostfixServer) -> None:
    proc = run_test(postfix, postfix.plain_port, "starttls")
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        f"error (encrypt (STARTTLS)): the server offers no encryption (STARTTLS) on port "
        f"{postfix.plain_port}",
        "hint: Use port 465 with SSL/TLS, or the port your provider gives for STARTTLS "
        "(usually 587). barua never sends mail and passwords unencrypted.",
    ]
    assert "log in" not in proc.stdout


def test_password_never_goes_over_the_plain_port(postfix: PostfixServer) -> None:
    proc = run_test(postfix, postfix.plain_port, "starttls_if_offered")
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "error (log in): the connection is not encrypted, so barua did not send the password",
        "hint: Use port 587 with STARTTLS or port 465 with SSL/TLS.",
    ]
    assert not any(line.startswith("✓ log in") for line in proc.stdout.splitlines())


def test_implicit_tls_to_the_submission_port(postfix: PostfixServer) -> None:
    proc = run_test(postfix, postfix.submission_port, "ssl", env=trusting(postfix))
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        f"error (encrypt (SSL/TLS)): port {postfix.submission_port} expects STARTTLS, but the "
        "settings use SSL/TLS from the start",
        "hint: Set security to STARTTLS, or use port 465 with SSL/TLS.",
    ]
    assert "log in" not in proc.stdout


def test_starttls_to_the_implicit_tls_port(postfix: PostfixServer) -> None:
    proc = run_test(postfix, postfix.smtps_port, "starttls", env=trusting(postfix))
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        f"error (server greeting): port {postfix.smtps_port} expects SSL/TLS from the start, "
        "but the settings use STARTTLS",
        "hint: Set security to SSL/TLS, or use port 587 with STARTTLS.",
    ]
    assert "log in" not in proc.stdout


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_self_signed_certificate_refused_by_default(postfix: PostfixServer, security: str) -> None:
    port, _ = listener(postfix, security)
    proc = run_test(postfix, port, security)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == SELF_SIGNED
    assert shows(after_steps(proc.stdout), cert_details(postfix)), proc.stdout
    assert "log in" not in proc.stdout
    # The handshake got as far as the certificate: that step, not the encryption, failed.
    steps = [m.groups() for m in re.finditer(r"^([✓✗]) (.+?)  ", proc.stdout, re.M)]
    encrypt = "encrypt (SSL/TLS)" if security == "ssl" else "encrypt (STARTTLS)"
    assert steps[-2:] == [("✓", encrypt), ("✗", "check the certificate")], proc.stdout


def test_trust_certificate_on_the_test_pins_it(postfix: PostfixServer, barua_home: Path) -> None:
    port, sha256 = postfix.smtps_port, fingerprint(postfix.certificate.der)
    proc = run_test(postfix, port, "ssl", "--trust-certificate", "--fingerprint", sha256, "--save")
    queue_id, advice = accepted(proc)
    assert after_steps(proc.stdout)[0] == (
        f"Trusted the certificate with SHA-256 fingerprint {sha256}."
    )
    assert advice == [
        *DELIVERABILITY_ADVICE,
        'Saved the email settings of "default".',
    ]
    assert_test_email_arrived(postfix, queue_id, port=port, security="ssl", service="smtps")

    shown = barua("settings", "show", "--json")
    assert json.loads(shown.stdout)["pinned_certificate"] == sha256
    again = barua("test", "--to", TO)  # the saved settings: no SSL_CERT_FILE, no flags
    queue_id, advice = accepted(again)
    assert advice == DELIVERABILITY_ADVICE
    assert_test_email_arrived(postfix, queue_id, port=port, security="ssl", service="smtps")


def test_settings_trust_certificate_pins_it(postfix: PostfixServer) -> None:
    port, sha256 = postfix.submission_port, fingerprint(postfix.certificate.der)
    saved = barua("settings", "set", *flags(postfix, port, "starttls"), stdin=postfix.password)
    assert saved.returncode == 0, saved.stderr
    refused = barua("test", "--to", TO)
    assert refused.stderr.splitlines() == SELF_SIGNED

    # The fingerprint as the server's administrator would read it out, checked against what
    # the server presents.
    trusted = barua("settings", "trust-certificate", "--fingerprint", sha256.replace(":", ""))
    assert trusted.returncode == 0, trusted.stderr
    subject, issued_by, valid_until, _ = cert_details(postfix)
    assert trusted.stdout.splitlines() == [
        f"subject      {subject.removeprefix('certificate subject: ')}",
        f"issued by    {issued_by.removeprefix('issued by: ')}",
        f"valid until  {valid_until.removeprefix('valid until: ')}",
        f"SHA-256      {sha256}",
        f"Trusted the certificate {sha256}.",
    ]
    proc = barua("test", "--to", TO)
    queue_id, advice = accepted(proc)
    assert advice == DELIVERABILITY_ADVICE
    assert_test_email_arrived(
        postfix, queue_id, port=port, security="starttls", service="submission"
    )


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_skip_tls_verify_accepts_the_self_signed_certificate(
    postfix: PostfixServer, security: str
) -> None:
    port, service = listener(postfix, security)
    proc = run_test(postfix, port, security, "--skip-tls-verify")
    queue_id, advice = accepted(proc)
    assert advice == DELIVERABILITY_ADVICE
    assert_test_email_arrived(postfix, queue_id, port=port, security=security, service=service)


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_sending_as_an_address_another_login_owns(postfix: PostfixServer, security: str) -> None:
    port, _ = listener(postfix, security)
    proc = run_test(
        postfix, port, security, "--email-address", OWNED_BY_ANOTHER, env=trusting(postfix)
    )
    assert proc.returncode == 1
    reply = (
        f"553 5.7.1 <{OWNED_BY_ANOTHER}>: Sender address rejected: not owned by user {postfix.user}"
    )
    assert proc.stderr.splitlines() == [
        f"error (recipient): the server does not allow sending as {OWNED_BY_ANOTHER} "
        f"(server replied: {reply})",
        "hint: Send from the address of the mailbox you log in with, or add "
        f'{OWNED_BY_ANOTHER} as an allowed "send mail as" address at your provider.',
    ]
    assert f"server replied: {reply}" in after_steps(proc.stdout)
    # Postfix refused it at RCPT TO: the login went through, the message never did.
    steps = [m.groups() for m in re.finditer(r"^([✓✗]) (.+?)  ", proc.stdout, re.M)]
    assert ("✓", "log in") in steps and steps[-1] == ("✗", "recipient"), proc.stdout
    assert "send the message" not in proc.stdout


def test_no_encryption_where_the_server_demands_starttls(postfix: PostfixServer) -> None:
    proc = barua(
        "test", "--to", TO, "--host", "localhost", "--port", str(postfix.submission_port),
        "--security", "none", "--email-address", postfix.user, "--timeout", "3",
    )  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "error (sender): the server requires encryption (STARTTLS) before it accepts mail "
        "(server replied: 530 5.7.0 Must issue a STARTTLS command first)",
        "hint: Set security to STARTTLS (port 587) or SSL/TLS (port 465).",
    ]
