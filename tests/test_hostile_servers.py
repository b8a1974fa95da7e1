"""Hostile servers on loopback cannot exhaust barua's memory, hold it past its timeout, or get
the password they echo into what barua shows or keeps.

Each attack is replayed by a small threaded server (:mod:`tests.hostile`) against the test
email, ``SmtpTransport.send``, the outbox's worker and the HTTP transport, each delivery in a
process of its own whose time and peak resident memory are measured.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from barua.errors import AuthenticationError, ConnectError, Step, TimeoutError
from barua.message import build_message
from barua.outbox import AttemptOutcome, Outbox, Worker
from barua.settings import Settings, make_settings
from barua.setup.advice import advise
from barua.setup.diagnose import error_dict, run_test
from barua.transports.base import StepEvent
from barua.transports.smtp import SmtpTransport
from barua.transports.smtp_reading import MAX_LINE, MAX_LINES, MAX_REPLY
from tests.conftest import PASSWORD, USER, home_url
from tests.hostile import (
    HostileServer,
    Peer,
    Script,
    echo_credentials,
    endless_line,
    flood,
    http,
    measure,
    said,
    smtp,
    trickle,
)
from tests.test_cli import barua

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


# A password echoed by the server is masked wherever it would go ----------------------------------

SPACED = "correct  horse battery\tstaple"
"""A password with runs of white space, which a reply's text shows as single spaces."""


def forms(password: str) -> list[str]:
    """The password as the server echoes it: in clear (and as the reply's text shows it), in
    base64 as AUTH LOGIN sends it, and AUTH PLAIN's response."""

    def b64(text: str) -> str:
        return base64.b64encode(text.encode("utf-8")).decode("ascii")

    return [password, " ".join(password.split()), b64(password), b64(f"\0{USER}\0{password}")]


def assert_masked(text: str, password: str) -> None:
    for form in forms(password):
        assert form not in text, (form, text)


def as_text(data: Any) -> str:
    """JSON with its characters as they are (a JSON escape would hide a password)."""
    return json.dumps(data, ensure_ascii=False)


@pytest.fixture(params=["PLAIN", "LOGIN"])
def echoing(request: pytest.FixtureRequest) -> Iterator[HostileServer]:
    """A mail server that offers one login mechanism and echoes, in its 535, every form of
    the credentials it got."""
    ehlo = said(f"250-hostile.test\r\n250 AUTH {request.param}\r\n".encode())
    with HostileServer(smtp(ehlo=ehlo, auth=echo_credentials)) as server:
        yield server


@pytest.mark.parametrize("password", [PASSWORD, SPACED], ids=["non-ascii", "spaced"])
def test_an_echoed_password_is_masked_in_the_error(echoing: HostileServer, password: str) -> None:
    settings = settings_for(echoing.port, username=USER, password=password)
    message = build_message(settings, to=["jane@example.com"], subject="Ankara", text="Habari")
    events: list[StepEvent] = []
    with (
        SmtpTransport(settings, observer=events.append) as transport,
        pytest.raises(AuthenticationError) as caught,
    ):
        transport.send(message)
    error = caught.value
    assert error.code == 535
    assert error.reply is not None
    assert "**********" in error.reply and "5.7.8 Authentication failed" in error.reply
    for shown in (
        str(error),
        error.render("sw"),
        error.text.dumps(),
        as_text(error_dict(error)),
        as_text(advise(error, settings).to_dict()),
        " ".join(f"{event.detail} {event.error}" for event in events),
    ):
        assert_masked(shown, password)


def test_an_echoed_password_is_masked_in_the_test_email(echoing: HostileServer) -> None:
    settings = settings_for(echoing.port, username=USER, password=PASSWORD)
    report = run_test(settings, to="jane@example.com", check_deliverability=False)
    assert isinstance(report.error, AuthenticationError)
    data = report.to_dict()
    assert "**********" in data["error"]["reply"]
    assert_masked(as_text(data), PASSWORD)

    flags = [
        "--to", "jane@example.com", "--host", "127.0.0.1", "--port", str(echoing.port),
        "--security", "none", "--username", USER, "--password-stdin", "--timeout", "5",
    ]  # fmt: skip
    shown = barua("test", *flags, stdin=PASSWORD + "\n")
    assert shown.returncode != 0
    assert "535" in shown.stdout + shown.stderr
    assert_masked(shown.stdout + shown.stderr, PASSWORD)
    printed = barua("test", *flags, "--json", stdin=PASSWORD + "\n")
    assert printed.returncode != 0
    report_json = json.loads(printed.stdout)
    assert report_json["error"]["code"] == 535
    assert_masked(as_text(report_json) + printed.stderr, PASSWORD)


def test_an_echoed_password_is_not_kept_by_the_outbox(
    echoing: HostileServer, barua_home: Path
) -> None:
    settings = settings_for(echoing.port, username=USER, password=PASSWORD)
    message = build_message(settings, to=["jane@example.com"], subject="Ankara", text="Habari")
    with Outbox.open(home_url()) as outbox:
        entry = outbox.enqueue(message)
        Worker(outbox, settings).run(once=True)
        [attempt] = outbox.attempts(entry.id)
        assert attempt.outcome is AttemptOutcome.PAUSED  # a refused login pauses the queue
        assert attempt.code == 535 and attempt.reply is not None and "**********" in attempt.reply
        pause = outbox.pause_of()
        assert pause is not None
        kept = as_text(
            [
                attempt.to_dict(),
                outbox.get(entry.id).to_dict(),
                [pause.reason, pause.hint, pause.reply],
                pause.reason_text.to_dict() if pause.reason_text else None,
            ]
        )
        assert_masked(kept, PASSWORD)
    # And nowhere in the database's files, in any encoding barua writes text in.
    stored = b"".join(path.read_bytes() for path in barua_home.rglob("*") if path.is_file())
    assert stored, "the outbox wrote nothing"
    for form in forms(PASSWORD):
        assert form.encode("utf-8") not in stored, form
        assert json.dumps(form)[1:-1].encode("ascii") not in stored, form
