"""barua's own HTTP transport against a running relay whose worker delivers to an SMTP server
on loopback: what arrives is from the relay's address with the business's name, replies go
to the business, the DKIM signature verifies with the published key, attachments are
byte-identical, blind copies are in the envelope only; ``barua test`` over HTTP shows its
steps; smuggling attempts reach the next hop as content, never as commands."""

from __future__ import annotations

import email
import email.policy
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import dkim
import httpx
import pytest

from barua.app import Barua, Environment
from barua.app.relay import RELAY_BUSINESS
from barua.message import Attachment, build_message
from barua.settings import make_settings
from barua.transports.http import HttpTransport
from tests.dns_server import DnsServer
from tests.relay_server import BUSINESS, Relay, mime, request, send_through, serve_relay
from tests.smtpd import Received, SmtpServer

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


@pytest.fixture
def smarthost() -> Iterator[SmtpServer]:
    with SmtpServer(mode="plain") as server:
        yield server


@pytest.fixture
def relay(smarthost: SmtpServer, loopback_dns: DnsServer) -> Iterator[Relay]:
    with Barua(Environment.from_environ()) as barua:
        send_through(barua, smarthost.port)
    with serve_relay(worker=True) as served:
        for record in served.barua.dns_records():
            loopback_dns.add(record.name, record.type, record.value)
        yield served


def arrived(server: SmtpServer, count: int = 1, timeout: float = 15) -> list[Received]:
    deadline = time.monotonic() + timeout
    while len(server.messages) < count:
        assert time.monotonic() < deadline, f"{len(server.messages)} of {count} arrived"
        time.sleep(0.02)
    return server.messages


def dns_txt(server: DnsServer):  # type: ignore[no-untyped-def]
    resolver = server.resolver()

    def lookup(name: bytes, timeout: int = 5) -> bytes:
        answer = resolver.resolve(name.decode().rstrip("."), "TXT")
        return b"".join(b"".join(r.strings) for r in answer)

    return lookup


def client_settings(relay: Relay):  # type: ignore[no-untyped-def]
    return make_settings(
        protocol="http",
        http_service_url=relay.url,
        http_api_key=relay.key,
        reply_to=BUSINESS,
        sender_name="Duka la Mama",
    )


def test_a_message_sent_through_the_relay_arrives_signed_from_the_relays_address(
    relay: Relay, smarthost: SmtpServer, loopback_dns: DnsServer
) -> None:
    settings = client_settings(relay)
    message = build_message(
        settings,
        to=["jane@example.com"],
        bcc=["archive@example.org"],
        subject="Ankara INV-0042",
        text="Habari Jane,\n\nTafadhali pata ankara yako.\n",
        attachments=[Attachment("INV-0042.pdf", PDF)],
    )
    with HttpTransport(settings) as transport:
        result = transport.send(message)
    assert result.queue_id is not None and result.queue_id.startswith("msg_")
    assert result.accepted == ("jane@example.com", "archive@example.org")
    [received] = arrived(smarthost)
    assert received.mail_from == f"bounces+{result.queue_id}@relay.example"
    assert received.rcpt_tos == ["jane@example.com", "archive@example.org"]
    data = received.data
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed["From"] == "Duka la Mama <noreply@relay.example>"
    assert parsed["Reply-To"] == BUSINESS  # barua sets it itself with HTTP; kept as it was
    assert parsed["Message-ID"] == message.message_id
    assert "archive@example.org" not in data.decode("ascii", "replace").split("\r\n\r\n")[0]
    assert dkim.verify(data, dnsfunc=dns_txt(loopback_dns))
    signature = parsed["DKIM-Signature"]
    assert "d=relay.example" in signature and "s=s1" in signature
    [attachment] = list(parsed.iter_attachments())
    assert attachment.get_filename() == "INV-0042.pdf"
    assert attachment.get_content() == PDF
    entry = relay.barua.outbox.list_entries(limit=1)[0]
    assert entry.business == RELAY_BUSINESS


def test_barua_test_over_http_shows_its_steps(relay: Relay, smarthost: SmtpServer) -> None:
    home = Path(os.environ["BARUA_HOME"]).parent / "client-home"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BARUA_")},
        "BARUA_HOME": str(home),
        "BARUA_PROTOCOL": "http",
        "BARUA_HTTP_SERVICE_URL": relay.url,
        "BARUA_HTTP_API_KEY": relay.key,
        "BARUA_REPLY_TO": BUSINESS,
        "BARUA_LANG": "en",
    }
    done = subprocess.run(
        [sys.executable, "-m", "barua", "test", "--to", "jane@example.com"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    for step in ("find the server", "connect", "send to the service", "accepted"):
        assert any(line.startswith(f"✓ {step}") for line in lines), done.stdout
    assert "202 Accepted as msg_" in done.stdout
    assert relay.key not in done.stdout + done.stderr
    [received] = arrived(smarthost)
    assert (
        b"From: noreply@relay.example" in received.data
        or b"<noreply@relay.example>" in received.data
    )


@pytest.mark.parametrize(
    "smuggled",
    [
        b"Hi\n.\nMAIL FROM:<evil@attacker.example>\nRCPT TO:<v@example.com>\nDATA\nForged\n.\n",
        b"Hi\r.\rMAIL FROM:<evil@attacker.example>\rRCPT TO:<v@example.com>\rDATA\rForged\r.\r",
        b"Hi\r\n.\nMAIL FROM:<evil@attacker.example>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\n",
        b"Hi\n.\r\nMAIL FROM:<evil@attacker.example>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\n",
    ],
    ids=["lf-dot-lf", "cr-dot-cr", "crlf-dot-lf", "lf-dot-crlf"],
)
def test_smuggling_reaches_the_next_hop_as_content(
    relay: Relay, smarthost: SmtpServer, smuggled: bytes
) -> None:
    answer = httpx.post(
        f"{relay.url}/v1/messages",
        content=request(mime(body=smuggled)),
        headers={"authorization": f"Bearer {relay.key}", "content-type": "application/json"},
        timeout=10,
    )
    assert answer.status_code == 202, answer.text
    [received] = arrived(smarthost)
    time.sleep(0.3)
    assert len(smarthost.messages) == 1, "a second message was smuggled in"
    assert received.rcpt_tos == ["jane@example.com"]
    data = received.data
    assert b"\r" not in data.replace(b"\r\n", b"") and b"\n" not in data.replace(b"\r\n", b"")
    assert b"MAIL FROM:<evil@attacker.example>" in data
    assert b"\r\n.\r\n" in data  # the dot travelled dot-stuffed, as a line of the content


def test_a_header_value_with_a_line_break_is_refused(relay: Relay) -> None:
    data = mime(extra=b"X-Note: first\rBcc: victim@example.com\r\n")
    answer = httpx.post(
        f"{relay.url}/v1/messages",
        content=request(data),
        headers={"authorization": f"Bearer {relay.key}", "content-type": "application/json"},
        timeout=10,
    )
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalid_mime"
    assert sum(relay.barua.outbox.counts().values()) == 0


def test_the_message_bytes_are_kept_but_for_section_6(relay: Relay, smarthost: SmtpServer) -> None:
    raw = mime(
        sender="=?utf-8?q?Duka_la_Mama_=E2=9C=93?= <office@duka.example>",
        extra=b"Sender: someone@duka.example\r\nReturn-Path: <x@duka.example>\r\n"
        b"Bcc: hidden@example.com\r\nX-Custom: kept as it was\r\n",
        body=b"line one\r\nline two\nline three\r\n",
    )
    answer = httpx.post(
        f"{relay.url}/v1/messages",
        content=request(raw),
        headers={"authorization": f"Bearer {relay.key}", "content-type": "application/json"},
        timeout=10,
    )
    assert answer.status_code == 202
    [received] = arrived(smarthost)
    head, _, body = received.data.partition(b"\r\n\r\n")
    assert b"From: =?utf-8?q?Duka_la_Mama_=E2=9C=93?= <noreply@relay.example>" in head
    assert b"Reply-To: =?utf-8?q?Duka_la_Mama_=E2=9C=93?= <office@duka.example>" in head
    assert b"X-Custom: kept as it was" in head
    for removed in (b"Sender:", b"Return-Path:", b"Bcc:"):
        assert removed not in head
    assert body == b"line one\r\nline two\r\nline three\r\n"
