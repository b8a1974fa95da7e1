"""Hostile servers on loopback cannot exhaust barua's memory or hold it past its timeout.

Each attack is replayed by a small threaded server (:mod:`tests.hostile`) against the test
email, ``SmtpTransport.send``, the outbox's worker and the HTTP transport, each delivery in a
process of its own whose time and peak resident memory are measured.
"""

from __future__ import annotations

import re
import time

import pytest

from barua.errors import ConnectError, Step, TimeoutError
from barua.message import build_message
from barua.settings import Settings, make_settings
from barua.transports.smtp import SmtpTransport
from barua.transports.smtp_reading import MAX_LINE, MAX_LINES, MAX_REPLY
from tests.conftest import USER
from tests.hostile import (
    HostileServer,
    Peer,
    Script,
    endless_line,
    flood,
    http,
    measure,
    said,
    smtp,
    trickle,
)

TIMEOUT = 1.5
"""The settings' timeout in these tests: every attack must be over within it and a second."""
MEMORY = 200_000_000
"""The most the peak resident memory may grow during one attack (bytes)."""

# A reply that would never end, at each point of the dialogue.
ENDLESS_GREETING = smtp(greeting=flood(b"220-hostile.test never stops greeting\r\n"))
ENDLESS_EHLO = smtp(ehlo=flood(b"250-ANOTHER-EXTENSION\r\n"))
ENDLESS_MAIL = smtp(mail=flood(b"250-still thinking about it\r\n"))
HUGE_GREETING_LINE = smtp(greeting=endless_line(b"220 "))
HUGE_EHLO_LINE = smtp(ehlo=endless_line(b"250-"))
# A byte every 0.1 s: each read is quick, the reply never ends in time.
TRICKLED_GREETING = smtp(greeting=trickle(b"220 hostile.test " + b"z" * 300 + b"\r\n", 0.1))
TRICKLED_EHLO = smtp(ehlo=trickle(b"250-hostile.test " + b"z" * 300 + b"\r\n", 0.1))
TRICKLED_MAIL = smtp(mail=trickle(b"250 " + b"z" * 300 + b"\r\n", 0.1))

LINES = f"more than {MAX_LINES} lines"
LONG_LINE = f"a line of more than {MAX_LINE} bytes"


def greeting(limit: str) -> str:
    return (
        rf"^the greeting of 127\.0\.0\.1 port \d+ is longer than an SMTP server may send "
        rf"\({limit}\)$"
    )


def reply(command: str, limit: str) -> str:
    return (
        rf"^the reply of 127\.0\.0\.1 port \d+ to {command} is longer than an SMTP server may "
        rf"send \({limit}\)$"
    )


def slow(what: str) -> str:
    return rf"^127\.0\.0\.1 port \d+ did not finish {what} within {TIMEOUT:g} seconds$"


SMTP_ATTACKS = [
    ("endless-greeting", ENDLESS_GREETING, ConnectError, Step.GREETING, greeting(LINES)),
    ("endless-ehlo", ENDLESS_EHLO, ConnectError, Step.EHLO, reply("EHLO", LINES)),
    ("endless-mail", ENDLESS_MAIL, ConnectError, Step.MAIL_FROM, reply("MAIL FROM", LINES)),
    ("huge-greeting-line", HUGE_GREETING_LINE, ConnectError, Step.GREETING, greeting(LONG_LINE)),
    ("huge-ehlo-line", HUGE_EHLO_LINE, ConnectError, Step.EHLO, reply("EHLO", LONG_LINE)),
    ("trickled-greeting", TRICKLED_GREETING, TimeoutError, Step.GREETING, slow("its greeting")),
    ("trickled-ehlo", TRICKLED_EHLO, TimeoutError, Step.EHLO, slow("its reply to EHLO")),
    ("trickled-mail", TRICKLED_MAIL, TimeoutError, Step.MAIL_FROM, slow("its reply to MAIL FROM")),
]


@pytest.mark.parametrize("path", ["test-email", "send", "worker"])
@pytest.mark.parametrize(
    ("script", "kind", "step", "message"),
    [pytest.param(*attack[1:], id=attack[0]) for attack in SMTP_ATTACKS],
)
def test_a_hostile_mail_server_costs_bounded_memory_and_time(
    path: str, script: Script, kind: type[Exception], step: Step, message: str
) -> None:
    with HostileServer(script) as server:
        measured = measure(path, port=server.port, timeout=TIMEOUT)
    assert measured.seconds <= TIMEOUT + 1, measured
    assert measured.rss_growth < MEMORY, measured
    error = measured.error
    assert error is not None
    assert error["type"] == kind.__name__
    assert error["step"] == step
    assert re.match(message, error["message"]), error["message"]
    if path != "worker":  # the outbox keeps the words, the step and the class, not the cause
        assert error["cause"] == "reply_out_of_bounds"
        assert error["temporary"] is True  # the outbox tries again later
        assert "Check the server name and port" in error["hint"]


NO_ANSWER = (
    rf"^the email service did not answer within {TIMEOUT:g} seconds after receiving the "
    "message; it may or may not have been accepted$"
)
UNFINISHED = (
    rf"^the email service did not finish its answer within {TIMEOUT:g} seconds after "
    "receiving the message; it may or may not have been accepted$"
)
TOO_LARGE = (
    r"^the answer of the email service is larger than 1\.0 MB, more than an email service "
    "sends; the message may or may not have been accepted$"
)


def trickled_head(peer: Peer) -> None:
    """Read the request, then trickle the status line and headers, never ending them."""
    peer.line()
    length = 0
    while (header := peer.line()) != b"\r\n":
        if header.lower().startswith(b"content-length:"):
            length = int(header.split(b":")[1])
    peer.read(length)
    trickle(b"HTTP/1.1 202 Accepted\r\nX-Slow: " + b"z" * 300, 0.1)(peer)


@pytest.mark.parametrize(
    ("script", "message"),
    [
        pytest.param(
            http(
                flood(b"1000\r\n" + b"x" * 4096 + b"\r\n"),
                headers=b"Transfer-Encoding: chunked\r\n",
            ),
            TOO_LARGE,
            id="endless-chunked-body",
        ),
        pytest.param(
            http(flood(b"x" * 65536), headers=b"Content-Length: 100000000000\r\n"),
            TOO_LARGE,
            id="endless-body-of-announced-length",
        ),
        pytest.param(
            http(trickle(b'{"id": "' + b"z" * 300, 0.1), headers=b"Content-Length: 1000\r\n"),
            UNFINISHED,
            id="trickled-body",
        ),
        pytest.param(trickled_head, NO_ANSWER, id="trickled-headers"),
    ],
)
def test_a_hostile_email_service_costs_bounded_memory_and_time(
    script: Script, message: str
) -> None:
    with HostileServer(script) as server:
        measured = measure("http", port=server.port, timeout=TIMEOUT)
    assert measured.seconds <= TIMEOUT + 1, measured
    assert measured.rss_growth < MEMORY, measured
    error = measured.error
    assert error is not None
    assert error["type"] == "OutcomeUnknown"
    assert error["step"] == Step.HTTP_REQUEST
    assert error["cause"] == "outcome_unknown"
    assert re.match(message, error["message"]), error["message"]
    assert "same Message-ID" in error["hint"]


# Servers at the bounds, and slow but in time, still deliver ---------------------------------------


def settings_for(port: int, **changes: object) -> Settings:
    values: dict[str, object] = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "email_address": USER,
        "timeout": TIMEOUT,
    }
    return make_settings(**(values | changes))


def deliver(port: int) -> str:
    settings = settings_for(port)
    message = build_message(settings, to=["jane@example.com"], subject="Ankara", text="Habari")
    with SmtpTransport(settings) as transport:
        return transport.send(message).reply


def lines(count: int, length: int, code: bytes = b"250") -> bytes:
    """A reply of ``count`` lines of ``length`` bytes each, CRLF included."""
    line = b"x" * (length - 6)
    return (
        b"".join(code + b"-" + line + b"\r\n" for _ in range(count - 1))
        + code
        + b" "
        + line
        + b"\r\n"
    )


def test_replies_at_the_bounds_are_read_in_full() -> None:
    widest = lines(MAX_REPLY // MAX_LINE, MAX_LINE)  # as many of the longest lines as fit
    assert len(widest) <= MAX_REPLY
    script = smtp(greeting=said(lines(MAX_LINES, 40, b"220")), ehlo=said(widest))
    with HostileServer(script) as server:
        assert deliver(server.port) == "2.0.0 Ok: queued as H0STILE"


@pytest.mark.parametrize(
    ("ehlo", "message"),
    [
        pytest.param(lines(MAX_LINES + 1, 40), reply("EHLO", LINES), id="one-line-too-many"),
        pytest.param(lines(1, MAX_LINE + 1), reply("EHLO", LONG_LINE), id="one-byte-too-long"),
        pytest.param(
            lines(MAX_REPLY // MAX_LINE + 1, MAX_LINE),
            reply("EHLO", f"more than {MAX_REPLY} bytes"),
            id="one-line-too-large",
        ),
    ],
)
def test_a_reply_one_past_a_bound_is_refused(ehlo: bytes, message: str) -> None:
    with HostileServer(smtp(ehlo=said(ehlo))) as server, pytest.raises(ConnectError) as caught:
        deliver(server.port)
    assert re.match(message, caught.value.message), caught.value.message
    assert caught.value.step is Step.EHLO


def test_a_slow_server_that_ends_each_reply_in_time_delivers() -> None:
    """The deadline is per step: a server that needs most of the timeout for each reply, a
    pause between lines, is slow, not hostile."""
    pause = TIMEOUT / 5

    def slowly(text: bytes) -> Script:
        def act(peer: Peer) -> None:
            for line in text.splitlines(keepends=True):
                peer.wait(pause)
                peer.send(line)

        return act

    script = smtp(
        greeting=slowly(b"220-hostile.test\r\n220-is slow\r\n220 but answers\r\n"),
        ehlo=slowly(b"250-hostile.test\r\n250-8BITMIME\r\n250 SIZE 1000000\r\n"),
        mail=slowly(b"250-2.1.0 sender\r\n250-2.1.0 is\r\n250 2.1.0 Ok\r\n"),
    )
    started = time.monotonic()
    with HostileServer(script) as server:
        assert deliver(server.port) == "2.0.0 Ok: queued as H0STILE"
    assert time.monotonic() - started > TIMEOUT  # longer than one timeout in all
