"""barua relay bounce-listen: the bounce address's SMTP listener, fed by a real SMTP client on
loopback: a DSN for one of the relay's messages fails the recipient, suppresses it and tells
the business; any other recipient is refused, so the listener relays nothing."""

from __future__ import annotations

import os
import smtplib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from barua.app.present import RecipientStatus
from tests.relay_server import BUSINESS, Relay, request, serve_relay
from tests.test_relay_delivery import dsn


@pytest.fixture
def relay(barua_home: Path) -> Iterator[Relay]:
    with serve_relay() as served:
        yield served


@pytest.fixture
def listener(relay: Relay) -> Iterator[int]:
    """``barua relay bounce-listen`` on a free port of 127.0.0.1; its port."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "barua", "relay", "bounce-listen", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ),
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        assert "127.0.0.1:" in line, line + (proc.stderr.read().decode() if proc.stderr else "")
        yield int(line.rsplit(":", 1)[1].split()[0])
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def accepted_id(relay: Relay) -> str:
    answer = httpx.post(
        f"{relay.url}/v1/messages",
        content=request(),
        headers={"authorization": f"Bearer {relay.key}", "content-type": "application/json"},
        timeout=10,
    )
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


def test_a_dsn_over_smtp_fails_the_recipient_and_suppresses_it(relay: Relay, listener: int) -> None:
    bounce_to = f"bounces+{accepted_id(relay)}@relay.example"
    with smtplib.SMTP("127.0.0.1", listener, timeout=10) as client:
        refused = client.sendmail("", [bounce_to], dsn(bounce_to, "jane@example.com"))
    assert refused == {}
    entries = relay.barua.outbox.list_entries(limit=5)
    original = next(e for e in entries if e.message_id == "<1@duka.example>")
    [recipient] = original.recipients
    assert recipient.status is RecipientStatus.FAILED and "5.1.1" in (recipient.reply or "")
    notice = next(e for e in entries if e.message_id != "<1@duka.example>")
    assert [r.address for r in notice.recipients] == [BUSINESS] and notice.sender == ""
    assert [s.address for s in relay.barua.relay_suppressed("duka")] == ["jane@example.com"]


def test_the_listener_takes_mail_for_bounce_addresses_only(relay: Relay, listener: int) -> None:
    with smtplib.SMTP("127.0.0.1", listener, timeout=10) as client:
        client.ehlo()
        client.mail("")
        for address in ("jane@example.com", "bounces@relay.example", "bounces+x@other.example"):
            code, reply = client.rcpt(address)
            assert code == 550, (address, reply)
        code, _reply = client.rcpt("bounces+msg_NOSUCHMESSAGE@relay.example")
        assert code == 250  # a bounce address: taken, and found to be no message of ours
        assert (
            client.data(dsn("bounces+msg_NOSUCHMESSAGE@relay.example", "x@example.com"))[0] == 250
        )
    assert sum(relay.barua.outbox.counts().values()) == 0


def test_a_bounce_larger_than_the_limit_is_refused(relay: Relay, listener: int) -> None:
    bounce_to = f"bounces+{accepted_id(relay)}@relay.example"
    with (
        smtplib.SMTP("127.0.0.1", listener, timeout=10) as client,
        pytest.raises(smtplib.SMTPException) as refused,
    ):
        client.sendmail("", [bounce_to], b"Subject: big\r\n\r\n" + b"x" * 2_100_000)
    assert "552" in str(refused.value) or "size" in str(refused.value).lower()
    time.sleep(0.1)
    [entry] = relay.barua.outbox.list_entries(limit=5)
    assert entry.recipients[0].status is not RecipientStatus.FAILED
