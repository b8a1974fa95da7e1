"""`barua test` and delivery against a real Postfix on loopback: both TLS modes, SASL AUTH,
and the failures users meet most, each with the advice they read."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from barua import build_message, make_settings, send_now
from barua.certificates import fingerprint
from barua.transports.smtp import fetch_certificate
from tests.postfix_server import PostfixServer
from tests.test_cli import barua


def flags(postfix: PostfixServer, port: int, security: str, *more: str) -> list[str]:
    return [
        "--host", "localhost", "--port", str(port), "--security", security,
        "--username", postfix.user, "--password-stdin", "--timeout", "3", *more,
    ]  # fmt: skip


def run_test(postfix: PostfixServer, port: int, security: str, *more: str, **kw: Any) -> Any:
    password = kw.pop("password", postfix.password)
    return barua("test", "--to", "kunde@example.org", *flags(postfix, port, security, *more),
                 stdin=password + "\n", **kw)  # fmt: skip


@pytest.mark.parametrize("mode", ["ssl", "starttls"])
def test_delivers_to_the_mailbox_over_both_tls_modes(postfix: PostfixServer, mode: str) -> None:
    port = postfix.smtps_port if mode == "ssl" else postfix.submission_port
    proc = run_test(postfix, port, mode, env={"SSL_CERT_FILE": str(postfix.certificate.cert)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "✓ log in" in proc.stdout

    settings = make_settings(
        host="localhost", port=port, security=mode, username=postfix.user,
        password=postfix.password, pinned_certificate=fingerprint(
            fetch_certificate(make_settings(host="localhost", port=port, security=mode,
                                            email_address=postfix.user))
        ),
    )  # fmt: skip
    marker = uuid.uuid4().hex
    message = build_message(
        settings, to=["kunde@example.org"], subject=f"Ankara {marker} — Zürich", text="Habari\n"
    )
    result = send_now(settings, message)
    [arrived] = postfix.wait_for_messages(1, containing=marker.encode())
    assert result.queue_id is not None and result.queue_id.encode() in arrived
    sent = message.data.replace(b"\r\n", b"\n")
    assert arrived.replace(b"\r\n", b"\n").endswith(sent), "the message arrived unchanged"


def test_wrong_password(postfix: PostfixServer) -> None:
    proc = run_test(
        postfix, postfix.submission_port, "starttls",
        password="wrong", env={"SSL_CERT_FILE": str(postfix.certificate.cert)},
    )  # fmt: skip
    assert proc.returncode == 1
    first, hint = proc.stderr.splitlines()
    assert first.startswith(
        "error (log in): the server refused the username or password (server replied: 535 5.7.8"
    )
    assert hint.startswith("hint: Check the username and password.")


def test_no_tls_where_it_is_required(postfix: PostfixServer) -> None:
    proc = run_test(postfix, postfix.plain_port, "starttls")
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[0] == (
        f"error (encrypt (STARTTLS)): the server offers no encryption (STARTTLS) on port "
        f"{postfix.plain_port}"
    )


def test_password_never_goes_over_the_plain_port(postfix: PostfixServer) -> None:
    proc = run_test(postfix, postfix.plain_port, "starttls_if_offered")
    assert proc.returncode == 1
    assert "barua did not send the password" in proc.stderr


def test_implicit_tls_to_the_submission_port(postfix: PostfixServer) -> None:
    proc = run_test(
        postfix,
        postfix.submission_port,
        "ssl",
        env={"SSL_CERT_FILE": str(postfix.certificate.cert)},
    )
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        f"error (encrypt (SSL/TLS)): port {postfix.submission_port} expects STARTTLS, but the "
        "settings use SSL/TLS from the start",
        "hint: Set security to STARTTLS, or use port 465 with SSL/TLS.",
    ]


def test_starttls_to_the_implicit_tls_port(postfix: PostfixServer) -> None:
    proc = run_test(
        postfix,
        postfix.smtps_port,
        "starttls",
        env={"SSL_CERT_FILE": str(postfix.certificate.cert)},
    )
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        f"error (server greeting): port {postfix.smtps_port} expects SSL/TLS from the start, "
        "but the settings use STARTTLS",
        "hint: Set security to SSL/TLS, or use port 587 with STARTTLS.",
    ]


def test_untrusted_certificate_refused_then_pinned_or_skipped(
    postfix: PostfixServer,
) -> None:
    refused = run_test(postfix, postfix.smtps_port, "ssl")
    assert refused.returncode == 1
    assert refused.stderr.startswith(
        "error (check the certificate): the server's certificate is self-signed, so this "
        "computer cannot check it"
    )
    assert "SHA-256 fingerprint: " in refused.stdout

    pinned = run_test(postfix, postfix.smtps_port, "ssl", "--trust-certificate", "--save")
    assert pinned.returncode == 0, pinned.stderr
    assert "Trusted the certificate with SHA-256 fingerprint" in pinned.stdout
    again = barua("test", "--to", "kunde@example.org")
    assert again.returncode == 0, again.stderr

    skipped = run_test(postfix, postfix.submission_port, "starttls", "--skip-tls-verify")
    assert skipped.returncode == 0, skipped.stderr
