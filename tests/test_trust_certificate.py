"""``barua test --trust-certificate`` shows what it would trust and asks; a certificate for
another name or out of its dates is trusted only when asked for by name; the password is
never sent before the certificate is trusted."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from barua.certificates import CertificateInfo, describe_certificate
from tests.certs import CertFiles, make_certificates
from tests.smtpd import SmtpServer
from tests.terminal import type_at_a_prompt
from tests.test_cli import PASSWORD, USER, barua, server_flags

TO = "me@example.com"


def info_of(files: CertFiles) -> CertificateInfo:
    pem = x509.load_pem_x509_certificate(files.cert.read_bytes())
    return describe_certificate(pem.public_bytes(serialization.Encoding.DER))


def certificate_lines(info: CertificateInfo) -> list[str]:
    return [
        f"subject      {info.subject}",
        f"issued by    {info.issuer}",
        f"valid until  {info.not_after.date().isoformat()}",
        f"SHA-256      {info.sha256}",
    ]


def save_settings(server: SmtpServer) -> None:
    saved = barua("settings", "set", *server_flags(server, "starttls"), stdin=PASSWORD + "\n")
    assert saved.returncode == 0, saved.stderr


def pinned() -> str | None:
    shown = json.loads(barua("settings", "show", "--json").stdout)
    value: str | None = shown["pinned_certificate"]
    return value


def test_nothing_is_trusted_unconfirmed_and_the_password_waits(certs: CertFiles) -> None:
    info = info_of(certs)
    with SmtpServer(mode="starttls", certs=certs, users={USER: PASSWORD}) as server:
        save_settings(server)
        asked = barua("test", "--to", TO, "--trust-certificate")
        assert server.recorder.logins == [], "no password before the certificate is trusted"
        assert server.messages == []
    lines = asked.stdout.splitlines()
    assert lines[-4:] == certificate_lines(info), asked.stdout
    assert asked.stderr.splitlines() == [
        "error: confirm with --yes (after checking the fingerprint above) or give --fingerprint"
    ]
    assert asked.returncode == 2
    assert pinned() is None


def test_the_fingerprint_given_is_the_one_trusted(certs: CertFiles) -> None:
    info = info_of(certs)
    with SmtpServer(mode="starttls", certs=certs, users={USER: PASSWORD}) as server:
        save_settings(server)
        wrong = barua("test", "--to", TO, "--trust-certificate", "--fingerprint", "AB" * 32)
        assert server.recorder.logins == []
        assert wrong.returncode == 1
        assert (
            f"! the server presents {info.sha256}, not the fingerprint you gave: barua did not "
            "trust it"
        ) in wrong.stderr.splitlines()
        assert pinned() is None

        right = barua("test", "--to", TO, "--trust-certificate", "--fingerprint", info.sha256)
        assert right.returncode == 0, right.stderr
        assert len(server.messages) == 1
    assert f"Trusted the certificate with SHA-256 fingerprint {info.sha256}." in right.stdout
    assert pinned() == info.sha256


def test_confirmed_at_the_terminal_it_is_trusted(certs: CertFiles) -> None:
    info = info_of(certs)
    with SmtpServer(mode="starttls", certs=certs, users={USER: PASSWORD}) as server:
        save_settings(server)
        shown = type_at_a_prompt(["test", "--to", TO, "--trust-certificate"], "y").decode()
        assert len(server.messages) == 1
    assert f"SHA-256      {info.sha256}" in shown
    assert "Trust this certificate? [y/N]:" in shown
    assert pinned() == info.sha256


def test_a_certificate_for_another_name_is_trusted_only_when_asked_by_name(
    tmp_path: Path,
) -> None:
    other = make_certificates(
        tmp_path, hostnames=("mail.other.test",), ip_addresses=False, self_signed=True
    )
    info = info_of(other)
    with SmtpServer(mode="starttls", certs=other, users={USER: PASSWORD}) as server:
        save_settings(server)
        refused = barua("test", "--to", TO, "--trust-certificate", "--yes")
        assert server.recorder.logins == []
        assert refused.returncode == 1
        assert refused.stderr.splitlines()[:2] == [
            "! the certificate is for mail.other.test, not for localhost: barua did not trust it",
            "  Check the server name and the server's certificate with its administrator "
            "first. To trust this certificate all the same, add --trust-other-name.",
        ]
        assert pinned() is None
        accepted = barua("test", "--to", TO, "--trust-certificate", "--yes", "--trust-other-name")
        assert accepted.returncode == 0, accepted.stderr
        assert len(server.messages) == 1
    assert pinned() == info.sha256


def test_an_expired_self_signed_certificate_is_named_expired_and_not_trusted_unasked(
    tmp_path: Path,
) -> None:
    old = make_certificates(tmp_path, self_signed=True, expired=True)
    info = info_of(old)
    expiry = info.not_after.date().isoformat()
    with SmtpServer(mode="starttls", certs=old, users={USER: PASSWORD}) as server:
        save_settings(server)
        plain = barua("test", "--to", TO)
        assert plain.returncode == 1
        assert plain.stderr.splitlines()[0] == (
            "error (check the certificate): the server's certificate is self-signed, so this "
            "computer cannot check it, "
            f"and it expired on {expiry}"
        )
        refused = barua("test", "--to", TO, "--trust-certificate", "--yes", "--json")
        report = json.loads(refused.stdout)
        assert report["untrusted"]["doubts"] == ["expired"]
        assert report["untrusted"]["reason"] == (
            f"the certificate expired on {expiry}: barua did not trust it"
        )
        assert server.recorder.logins == []
        accepted = barua("test", "--to", TO, "--trust-certificate", "--yes", "--trust-expired")
        assert accepted.returncode == 0, accepted.stderr
    assert pinned() == info.sha256


@pytest.mark.parametrize(
    ("names", "host", "matches"),
    [
        (("mail.example.com",), "MAIL.example.com.", True),
        (("*.example.com",), "mail.example.com", True),
        (("*.example.com",), "a.mail.example.com", False),
        (("*.example.com",), "example.com", False),
        (("127.0.0.1",), "127.0.0.1", True),
        (("::1",), "[::1]", True),
        (("*.0.0.1",), "127.0.0.1", False),
        (("mail.example.com",), "mail.example.org", False),
    ],
)
def test_a_certificate_matches_names_as_mail_clients_do(
    names: tuple[str, ...], host: str, matches: bool
) -> None:
    now = datetime.now(UTC)
    info = CertificateInfo(
        "s", "i", now - timedelta(days=1), now + timedelta(days=1), sha256="AA", names=names
    )
    assert info.matches(host) is matches
