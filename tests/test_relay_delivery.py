"""The relay's delivery: bounces (a DSN piped in, or left in a Maildir) mark the recipient
failed, tell the business and suppress hard bounces; and delivery straight to each
recipient's MX, found in a loopback DNS, in preference order with fallback, 4xx retried."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from barua.app import Barua, Environment
from barua.app.present import RecipientStatus, RetryPolicy, WorkerConfig
from barua.app.relay import RELAY_BUSINESS
from tests.dns_server import DnsServer
from tests.relay_server import BUSINESS, Relay, configure, mime, request, send_through, serve_relay
from tests.smtpd import SmtpServer
from tests.test_outbox_queue import pg_url, pg_user  # noqa: F401 - fixtures


def dsn(to: str, recipient: str, status: str = "5.1.1") -> bytes:
    return (
        f"From: MAILER-DAEMON@mx.example.com\r\nTo: {to}\r\nSubject: Undelivered Mail\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.com\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: smtp; 550 {status} user unknown\r\n"
        "--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        "Message-ID: <1@duka.example>\r\n--b--\r\n"
    ).encode()


def post(relay: Relay, body: bytes) -> httpx.Response:
    return httpx.post(
        f"{relay.url}/v1/messages",
        content=body,
        headers={"authorization": f"Bearer {relay.key}", "content-type": "application/json"},
        timeout=10,
    )


def test_a_hard_bounce_fails_the_recipient_tells_the_business_and_suppresses(
    barua_home: Path,
) -> None:
    with serve_relay() as relay:
        accepted = post(relay, request()).json()
        bounce_to = f"bounces+{accepted['id']}@relay.example"
        done = subprocess.run(
            [sys.executable, "-m", "barua", "relay", "bounce", "--to", bounce_to],
            input=dsn(bounce_to, "jane@example.com"), capture_output=True, timeout=60,
            check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert accepted["id"].encode() in done.stdout and b"jane@example.com" in done.stdout
        entries = relay.barua.outbox.list_entries(limit=5)
        original = next(e for e in entries if e.message_id == "<1@duka.example>")
        [recipient] = original.recipients
        assert recipient.status is RecipientStatus.FAILED and "5.1.1" in (recipient.reply or "")
        notice = next(e for e in entries if e.message_id != "<1@duka.example>")
        assert notice.business == RELAY_BUSINESS and notice.sender == ""
        assert [r.address for r in notice.recipients] == [BUSINESS]
        assert [s.address for s in relay.barua.relay_suppressed("duka")] == ["jane@example.com"]
        again = post(
            relay, request(mime(message_id="<2@duka.example>"), message_id="<2@duka.example>")
        )
        assert again.status_code == 422
        refusal = again.json()["error"]["refused"]["jane@example.com"]
        assert refusal["code"] == 550 and "suppression list" in refusal["message"]
        assert relay.barua.relay_unsuppress("duka", "jane@example.com")
        third = request(mime(message_id="<3@duka.example>"), message_id="<3@duka.example>")
        assert post(relay, third).status_code == 202


def test_a_soft_bounce_fails_the_recipient_without_suppressing(barua_home: Path) -> None:
    with serve_relay() as relay:
        accepted = post(relay, request()).json()
        outcome = relay.barua.relay_bounce(
            dsn(f"bounces+{accepted['id']}@relay.example", "jane@example.com", "4.2.2")
        )
        assert outcome.failed == ("jane@example.com",) and outcome.suppressed == ()
        assert relay.barua.relay_suppressed("duka") == []


def test_bounces_left_in_a_maildir_are_handled_once(barua_home: Path, tmp_path: Path) -> None:
    with serve_relay() as relay:
        accepted = post(relay, request()).json()
        (tmp_path / "new").mkdir()
        address = f"bounces+{accepted['id']}@relay.example"
        (tmp_path / "new" / "1.bounce").write_bytes(dsn(address, "jane@example.com"))
        (tmp_path / "new" / "2.reply").write_bytes(
            b"From: a@b.example\r\nTo: x@y\r\n\r\nthanks\r\n"
        )
        outcomes = relay.barua.relay_bounces_in(str(tmp_path))
        assert [o.message for o in outcomes] == [accepted["id"], None]
        assert list((tmp_path / "new").iterdir()) == []
        assert relay.barua.relay_bounces_in(str(tmp_path)) == []


# Direct delivery to each MX ------------------------------------------------------------------


@pytest.fixture
def mx() -> Iterator[SmtpServer]:
    with SmtpServer(mode="plain") as server:
        yield server


# What the next hop refuses -------------------------------------------------------------------


def notices(server: SmtpServer) -> list[bytes]:
    """The notices the relay sent the business: null sender, to the business's address."""
    return [m.data for m in server.messages if m.mail_from == "<>" and m.rcpt_tos == [BUSINESS]]


def until(check: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture(params=["sqlite", "postgresql"])
def environment(request: pytest.FixtureRequest, barua_home: Path) -> Environment:
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    return Environment(home=barua_home, database_url=url)


def test_recipients_the_next_hop_refuses_are_told_to_the_business_once(
    environment: Environment, mx: SmtpServer
) -> None:
    mx.recorder.refuse_recipients["nobody@example.com"] = (
        "550 5.1.1 <nobody@example.com>: no such user"
    )
    mx.recorder.refuse_recipients["ali@example.com"] = "550 5.7.1 relaying denied by policy"
    with Barua(environment) as barua:
        send_through(barua, mx.port)
    served = serve_relay(environment=environment, worker=True, notice_every=0.05, notice_settle=0)
    with served as relay:
        three = ["jane@example.com", "nobody@example.com", "ali@example.com"]
        assert post(relay, request(recipients=three)).status_code == 202
        until(lambda: len(notices(mx)) == 1)
        [notice] = notices(mx)
        assert b"Subject: Undelivered: <1@duka.example>" in notice
        assert b"DKIM-Signature:" in notice
        text = notice.decode()
        assert "nobody@example.com: 550 5.1.1 <nobody@example.com>: no such user" in text
        assert "ali@example.com: 550 5.7.1 relaying denied by policy" in text
        assert "jane@example.com" not in text.split("\r\n\r\n", 1)[1]
        # An address that does not exist is not sent to again; one refused by a policy is.
        assert [s.address for s in relay.barua.relay_suppressed("duka")] == ["nobody@example.com"]

        # A recipient accepted, then bounced: the bounce's notice alone.
        second = request(mime(message_id="<2@duka.example>"), message_id="<2@duka.example>")
        accepted = post(relay, second).json()
        until(lambda: any(m.rcpt_tos == ["jane@example.com"] and b"<2@duka.example>" in m.data
                          for m in mx.messages))  # fmt: skip
        until(lambda: relay.barua.outbox.list_entries(limit=1)[0].status.value == "sent")
        relay.barua.relay_bounce(dsn(f"bounces+{accepted['id']}@relay.example", "jane@example.com"))
        until(lambda: len(notices(mx)) == 2)
        time.sleep(0.5)  # ten more looks for failed deliveries
        assert len(notices(mx)) == 2, [n[:300] for n in notices(mx)]
        told = [e for e in relay.barua.outbox.list_entries(limit=20) if e.sender == ""]
        assert len(told) == 2


def test_direct_delivery_tries_the_mx_hosts_in_order_and_retries_a_4xx(
    barua_home: Path, mx: SmtpServer, loopback_dns: DnsServer
) -> None:
    # The preferred MX answers on no port of ours; the second one is the SMTP server.
    loopback_dns.add("example.com", "MX", "10 mx1.example.com.", "20 mx2.example.com.")
    loopback_dns.add("mx1.example.com", "A", "127.0.0.2")
    loopback_dns.add("mx2.example.com", "A", "127.0.0.1")
    loopback_dns.add("other.example", "A", "127.0.0.1")  # no MX: the domain itself
    mx.recorder.faults["RCPT"] = "451 4.7.1 greylisted, try again"
    mx.recorder.fault_counts["RCPT"] = 1
    with Barua(Environment.from_environ()) as barua:
        configure(barua, direct=True, mx_port=mx.port)
    worker = WorkerConfig(poll_interval=0.05, retry=RetryPolicy(first_delay=0.2, jitter=0))
    with serve_relay(worker=True, configured=False, worker_config=worker) as relay:
        key, _made = relay.barua.create_relay_key("direct", senders=["@duka.example"])
        answer = httpx.post(
            f"{relay.url}/v1/messages",
            content=request(recipients=["jane@example.com", "ali@other.example"]),
            headers={"authorization": f"Bearer {key}", "content-type": "application/json"},
            timeout=10,
        )
        assert answer.status_code == 202
        deadline = time.monotonic() + 20
        while sum(len(m.rcpt_tos) for m in mx.messages) < 2:
            assert time.monotonic() < deadline, mx.messages
            time.sleep(0.05)
        delivered = sorted(r for m in mx.messages for r in m.rcpt_tos)
        assert delivered == ["ali@other.example", "jane@example.com"]
        [entry] = relay.barua.outbox.list_entries(limit=1)
        deadline = time.monotonic() + 10
        while entry.status.value != "sent":
            assert time.monotonic() < deadline, entry
            time.sleep(0.05)
            entry = relay.barua.outbox.get(entry.id)
        assert entry.attempts == 2  # the greylisted recipient came on the second attempt
        assert all(m.mail_from.startswith("bounces+msg_") for m in mx.messages)
