"""The test email as a user sees it: steps, advice in English and Kiswahili, trusting a
certificate, detection and deliverability advice. Real processes, real servers on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from barua.certificates import fingerprint
from tests.certs import CertFiles, make_certificates
from tests.conftest import PASSWORD, USER
from tests.dns_server import DnsServer
from tests.smtpd import SmtpServer
from tests.terminal import type_at_a_prompt
from tests.test_cli import barua, server_flags


def pem_fingerprint(certs: CertFiles) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    cert = x509.load_pem_x509_certificate(certs.cert.read_bytes())
    return fingerprint(cert.public_bytes(Encoding.DER))


def test_wrong_password_in_kiswahili(certs: CertFiles) -> None:
    with SmtpServer(mode="ssl", certs=certs, users={USER: PASSWORD}) as server:
        proc = barua(
            "--lang", "sw", "test", "--to", "me@example.com", *server_flags(server, "ssl"),
            stdin="si-nenosiri\n", env={"SSL_CERT_FILE": str(certs.ca)},
        )  # fmt: skip
    assert proc.returncode == 1
    assert "✗ kuingia" in proc.stdout
    assert "seva ilijibu: 535 5.7.8 Authentication credentials invalid" in proc.stdout
    assert proc.stderr.splitlines() == [
        "hitilafu (kuingia): seva imekataa jina la mtumiaji au nenosiri "
        "(seva ilijibu: 535 5.7.8 Authentication credentials invalid)",
        "ushauri: Angalia jina la mtumiaji na nenosiri. Watoa huduma wengi wanahitaji nenosiri "
        "la programu (app password) badala ya nenosiri lako la kawaida.",
    ]


def test_language_from_the_environment(certs: CertFiles) -> None:
    with SmtpServer(mode="starttls", certs=certs, users={USER: PASSWORD}) as server:
        proc = barua(
            "test", "--to", "me@example.com", *server_flags(server, "ssl"),
            stdin=PASSWORD + "\n", env={"BARUA_LANG": "sw"},
        )  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.startswith(
        f"hitilafu (usimbaji fiche (SSL/TLS)): lango {server.port} linatarajia STARTTLS, lakini "
        "mipangilio inatumia SSL/TLS tangu mwanzo"
    )
    assert "ushauri: Weka usalama kuwa STARTTLS, au tumia lango 465 pamoja na SSL/TLS." in (
        proc.stderr
    )


def test_trust_certificate_pins_it_and_a_changed_certificate_is_refused(
    certs: CertFiles, tmp_path: Path
) -> None:
    with SmtpServer(mode="starttls", certs=certs, users={USER: PASSWORD}) as server:
        saved = barua("settings", "set", *server_flags(server, "starttls"), stdin=PASSWORD + "\n")
        assert saved.returncode == 0
        refused = barua("test", "--to", "me@example.com")
        assert refused.returncode == 1
        assert f"SHA-256 fingerprint: {pem_fingerprint(certs)}" in refused.stdout
        assert "barua settings trust-certificate" in refused.stderr
        trusted = barua("test", "--to", "me@example.com", "--trust-certificate", "--yes")
        assert trusted.returncode == 0, trusted.stderr
        assert f"Trusted the certificate with SHA-256 fingerprint {pem_fingerprint(certs)}." in (
            trusted.stdout
        )
        assert barua("test", "--to", "me@example.com").returncode == 0
        assert len(server.messages) == 2
    shown = json.loads(barua("settings", "show", "--json").stdout)
    assert shown["pinned_certificate"] == pem_fingerprint(certs)
    assert shown["skip_tls_verify"] is False

    other = make_certificates(tmp_path / "other")
    with SmtpServer(mode="starttls", certs=other, users={USER: PASSWORD}) as server:
        barua("settings", "set", "--port", str(server.port))
        changed = barua("test", "--to", "me@example.com")
        assert server.recorder.logins == []
        as_json = barua("test", "--to", "me@example.com", "--json")
    old, new = pem_fingerprint(certs), pem_fingerprint(other)
    assert changed.returncode == 1
    assert changed.stderr.splitlines() == [
        "error (check the certificate): the server's certificate has changed since you trusted it",
        "hint: If the certificate was renewed, check the new fingerprint with the server's "
        "administrator and trust it again. Otherwise someone may be intercepting the "
        "connection: do not send.",
    ]
    shown = changed.stdout.splitlines()
    assert f"  SHA-256 fingerprint you trusted: {old}" in shown
    assert f"  SHA-256 fingerprint presented now: {new}" in shown
    assert "✗ check the certificate" in "\n".join(shown)

    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert report["ok"] is False
    assert report["error"]["cause"] == "cert_changed"
    assert report["error"]["step"] == "certificate"
    assert report["error"]["pinned_certificate"] == old
    assert report["error"]["certificate"]["sha256"] == new
    assert report["advice"]["details"][-2:] == [
        f"SHA-256 fingerprint you trusted: {old}",
        f"SHA-256 fingerprint presented now: {new}",
    ]
    assert report["advice"]["fix"].startswith("If the certificate was renewed")
    failed = report["steps"][-1]
    assert (failed["step"], failed["ok"]) == ("certificate", False)


def test_settings_trust_certificate_checks_the_fingerprint_given(certs: CertFiles) -> None:
    with SmtpServer(mode="ssl", certs=certs, users={USER: PASSWORD}) as server:
        barua("settings", "set", *server_flags(server, "ssl"), stdin=PASSWORD + "\n")
        unconfirmed = barua("settings", "trust-certificate")
        assert unconfirmed.returncode == 2
        assert unconfirmed.stderr.startswith("error: confirm with --yes")
        wrong = barua("settings", "trust-certificate", "--fingerprint", "00" * 32)
        assert wrong.returncode == 2
        assert wrong.stderr.startswith(
            f"error: the server presents {pem_fingerprint(certs)}, not the fingerprint you gave"
        )
        right = barua("settings", "trust-certificate", "--fingerprint", pem_fingerprint(certs))
        assert right.returncode == 0, right.stderr
        assert barua("test", "--to", "me@example.com").returncode == 0
        assert len(server.messages) == 1


def test_detect_by_preset_and_by_mx(loopback_dns: DnsServer) -> None:
    gmail = barua("settings", "detect", "duka@gmail.com")
    assert gmail.returncode == 0
    assert "barua settings set --host smtp.gmail.com --port 587 --security starttls" in (
        gmail.stdout
    )
    loopback_dns.add("duka.co.tz", "MX", "1 aspmx.l.google.com.")
    hosted = json.loads(barua("settings", "detect", "mauzo@duka.co.tz", "--json").stdout)
    assert hosted["source"] == "mx"
    assert hosted["preset"] == "google_workspace"
    assert hosted["values"]["host"] == "smtp.gmail.com"
    assert hosted["explanation"].startswith("Email for duka.co.tz is hosted by Google Workspace")
    assert barua("settings", "show").returncode == 2, "detect never saves"


def test_detect_shows_the_providers_advice_and_the_sign_in_where_no_password_works() -> None:
    gmail = barua("settings", "detect", "duka@gmail.com").stdout.splitlines()
    assert gmail[5].startswith("Gmail needs an app password, not your normal password.")
    assert gmail[6].startswith("Gmail sends at most about 500 emails a day")
    assert gmail[-1].endswith("--username duka@gmail.com --password-stdin")
    outlook = barua("settings", "detect", "duka@outlook.com")
    assert outlook.returncode == 0
    assert outlook.stdout.splitlines()[-2:] == [
        "Outlook.com lets barua send with a sign-in instead of a password: register an app for "
        "your business (the README shows how), then sign in once:",
        "  barua settings oauth microsoft --client-id YOUR-APP-ID",
    ]
    assert "--password-stdin" not in outlook.stdout


def test_detect_asks_before_looking_up_a_lookalike_domain(loopback_dns: DnsServer) -> None:
    loopback_dns.add("gmial.com", "MX", "10 mx.gmial.com.")
    proc = barua("settings", "detect", "duka@gmial.com")  # no terminal to ask on
    assert proc.returncode == 1
    assert proc.stdout.startswith("Did you mean gmail.com? gmial.com is another domain")
    assert proc.stderr.splitlines() == [
        "hint: if the address is right, run this again with --confirm-lookalike."
    ]
    as_json = barua("settings", "detect", "duka@gmial.com", "--json")
    assert as_json.returncode == 1  # as without --json: nothing to use yet
    data = json.loads(as_json.stdout)
    assert (data["needs_confirmation"], data["values"]) == (True, {})


def test_detect_asks_on_a_terminal_before_looking_up_a_lookalike(
    loopback_dns: DnsServer,
) -> None:
    loopback_dns.add("gmial.com", "MX", "1 aspmx.l.google.com.")
    shown = type_at_a_prompt(["settings", "detect", "duka@gmial.com"], "y").decode()
    warning, answer = shown.index("Did you mean gmail.com?"), shown.index("[y/N]:")
    assert warning < answer < shown.index("Email for gmial.com is hosted by Google Workspace")
    assert 'Is "duka@gmial.com" right, not an address at gmail.com? [y/N]:' in shown


def test_a_confirmed_lookalike_is_looked_up(loopback_dns: DnsServer) -> None:
    # Its mail is at Google: found by MX, so nothing beyond the loopback DNS server is asked.
    loopback_dns.add("gmial.com", "MX", "1 aspmx.l.google.com.")
    proc = barua("settings", "detect", "duka@gmial.com", "--confirm-lookalike")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Email for gmial.com is hosted by Google Workspace")
    assert "  host           smtp.gmail.com" in proc.stdout.splitlines()


def test_successful_test_warns_about_spf_and_dmarc(
    certs: CertFiles, loopback_dns: DnsServer
) -> None:
    loopback_dns.add("duka.example", "TXT", "v=spf1 ip4:192.0.2.0/24 -all")
    with SmtpServer(mode="ssl", certs=certs, users={"mauzo@duka.example": PASSWORD}) as server:
        flags = server_flags(server, "ssl")
        flags[flags.index("--username") + 1] = "mauzo@duka.example"
        proc = barua(
            "test", "--to", "me@example.com", *flags, "--json", stdin=PASSWORD + "\n",
            env={"SSL_CERT_FILE": str(certs.ca)},
        )  # fmt: skip
    report = json.loads(proc.stdout)
    assert proc.returncode == 0 and report["ok"]
    advice = report["deliverability"]
    assert advice["spf_record"] == "v=spf1 ip4:192.0.2.0/24 -all"
    codes = [w["code"] for w in advice["warnings"]]
    assert "dmarc_missing" in codes


def test_test_email_through_an_http_email_service() -> None:
    import base64
    import email
    from email import policy

    from tests.test_transport_http import Service

    with Service() as service:
        proc = barua(
            "test", "--to", "me@example.com", "--protocol", "http",
            "--http-service-url", service.url, "--reply-to", "ofisi@duka.example",
            "--sender-name", "Duka la Amani", "--http-api-key-stdin", "--save",
            stdin="key-123456\n",
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert "✓ send to the service" in proc.stdout
        [request] = service.received
    assert request.headers["authorization"] == "Bearer key-123456"
    assert request.json["envelope"]["recipients"] == ["me@example.com"]
    sent = email.message_from_bytes(base64.b64decode(request.json["mime"]), policy=policy.default)
    assert sent["Reply-To"] == "ofisi@duka.example"
    assert sent["Subject"] == "barua test email"
    shown = barua("settings", "show", "--json")
    assert "key-123456" not in shown.stdout
    assert json.loads(shown.stdout)["http_api_key_set"] is True


def test_emoji_codes_in_what_is_printed_stay_text(capsys: pytest.CaptureFixture[str]) -> None:
    """A fingerprint such as 04:AB:54 holds ":AB:", which rich would print as an emoji."""
    from barua.cli.common import err, out

    fingerprint_text = "SHA-256 fingerprint: 15:23:E5:04:AB:54:D0:57 :smile:"
    out.print(fingerprint_text, markup=False)
    err.print(fingerprint_text, markup=False)
    captured = capsys.readouterr()
    assert fingerprint_text in captured.out
    assert fingerprint_text in captured.err


def test_trust_certificate_on_http_settings_explains_instead_of_crashing() -> None:
    saved = barua(
        "settings", "set", "--protocol", "http", "--http-service-url", "https://relay.example.com",
        "--reply-to", "ofisi@duka.example", "--http-api-key-stdin", stdin="key-123456\n",
    )  # fmt: skip
    assert saved.returncode == 0, saved.stderr
    proc = barua("settings", "trust-certificate", "--yes")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines() == [
        "error: trust-certificate applies to an SMTP server; these settings send through an "
        "HTTP email service",
        "hint: For an HTTP email service with a self-signed or private certificate, add that "
        "certificate (or its authority's) to SSL_CERT_FILE, or turn certificate verification "
        "off (--skip-tls-verify) on a network you trust.",
    ]
    swahili = barua("--lang", "sw", "settings", "trust-certificate", "--yes")
    assert swahili.stderr.splitlines()[0] == (
        "hitilafu: trust-certificate inahusu seva ya SMTP; mipangilio hii inatuma kupitia "
        "huduma ya barua pepe ya HTTP"
    )
    assert swahili.stderr.splitlines()[1].startswith("ushauri: Kwa huduma ya barua pepe ya HTTP")
