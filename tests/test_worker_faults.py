"""The worker against a real SMTP server (aiosmtpd on loopback) that misbehaves on purpose."""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from barua.outbox import (
    AttemptOutcome,
    MessageStatus,
    Outbox,
    RecipientStatus,
    RetryPolicy,
    SendingLimits,
    Worker,
    WorkerConfig,
)
from barua.settings import Settings
from tests.conftest import PASSWORD, USER, home_url
from tests.smtpd import Received, SmtpServer
from tests.test_outbox_queue import invoice, shop_settings

RETRY = RetryPolicy(first_delay=0.1, max_delay=0.4, jitter=0.5, max_age=60)
FAST = WorkerConfig(
    connections=2, lease=5, poll_interval=0.05, retry=RETRY, max_connection_backoff=0.2
)


@pytest.fixture
def outbox(barua_home: Path) -> Iterator[Outbox]:
    with Outbox.open(home_url()) as opened:
        yield opened


@pytest.fixture(params=["lock-step", "pipelining"])
def server(request: pytest.FixtureRequest) -> Iterator[SmtpServer]:
    """Each fault against a server without PIPELINING and one with it (RFC 2920)."""
    with SmtpServer(mode="plain", pipelining=request.param == "pipelining") as running:
        yield running


def settings_for(server: SmtpServer, **changes: object) -> Settings:
    return shop_settings(port=server.port, **changes)


def message_ids(received: list[Received]) -> Counter[str]:
    ids: Counter[str] = Counter()
    for message in received:
        for line in message.data.split(b"\r\n"):
            if line.lower().startswith(b"message-id:"):
                ids[line.split(b":", 1)[1].strip().decode()] += 1
                break
    return ids


def run_until_sent(worker: Worker, outbox: Outbox, total: int, *, timeout: float = 30) -> None:
    thread = threading.Thread(target=worker.run)
    thread.start()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if outbox.counts()[MessageStatus.SENT] >= total:
                return
            time.sleep(0.05)
        raise AssertionError(f"not all sent in time: {outbox.counts()}")
    finally:
        worker.stop()
        thread.join()


def test_delivers_everything_over_reused_connections(outbox: Outbox, server: SmtpServer) -> None:
    entries = [outbox.enqueue(invoice(n)) for n in range(40)]
    report = Worker(outbox, settings_for(server), config=FAST).run(once=True)
    assert report.sent == 40 and report.attempts == 40
    assert sorted(message_ids(server.messages).values()) == [1] * 40
    shown = outbox.get(entries[0].id)
    assert shown.status is MessageStatus.SENT and shown.queue_id is not None
    [attempt] = outbox.attempts(entries[0].id)
    assert attempt.outcome is AttemptOutcome.ACCEPTED and attempt.code == 250
    assert attempt.server == f"127.0.0.1:{server.port}"


def test_421_and_451_for_a_while_then_recovery(outbox: Outbox, server: SmtpServer) -> None:
    server.recorder.faults.update(
        {"CONNECT": "421 4.7.0 Too many connections", "MAIL": "451 4.3.0 Try again later"}
    )
    entries = [outbox.enqueue(invoice(n)) for n in range(12)]

    def recover() -> None:
        time.sleep(0.6)
        server.recorder.faults.pop("CONNECT")  # now the greeting works, MAIL still fails
        time.sleep(0.6)
        server.recorder.faults.clear()

    threading.Thread(target=recover).start()
    run_until_sent(Worker(outbox, settings_for(server), config=FAST), outbox, 12)
    assert outbox.counts()[MessageStatus.FAILED] == 0
    assert sorted(message_ids(server.messages).values()) == [1] * 12
    outcomes = Counter(a.outcome for e in entries for a in outbox.attempts(e.id))
    assert outcomes[AttemptOutcome.DEFERRED] >= 12 and outcomes[AttemptOutcome.ACCEPTED] == 12
    steps = {a.step for e in entries for a in outbox.attempts(e.id)}
    assert {"greeting", "mail_from"} <= steps
    for entry in entries:  # backoff respected: never earlier than the policy allows
        attempts = outbox.attempts(entry.id)
        for n, (before, after) in enumerate(itertools.pairwise(attempts), 1):
            earliest = before.started_at.timestamp() + before.duration + RETRY.delay(n, rand=1)
            assert after.started_at.timestamp() >= earliest - 0.01, (entry.id, n)


def test_connection_dropped_in_the_middle_of_data(outbox: Outbox, server: SmtpServer) -> None:
    server.recorder.faults["DATA"] = "DROP_MID"
    server.recorder.fault_counts["DATA"] = 1
    entry = outbox.enqueue(invoice(pdf=b"%PDF" + bytes(300_000)))
    run_until_sent(Worker(outbox, settings_for(server), config=FAST), outbox, 1)
    first, second = outbox.attempts(entry.id)
    assert first.step == "data" and first.outcome in {
        AttemptOutcome.DEFERRED,
        AttemptOutcome.UNKNOWN,
    }
    assert second.outcome is AttemptOutcome.ACCEPTED
    assert list(message_ids(server.messages).values()) == [1]


def test_no_reply_after_the_final_dot_is_retried_with_the_same_message_id(
    outbox: Outbox, server: SmtpServer
) -> None:
    # The server takes the message but answers only after the client stopped waiting: the
    # RFC 1047 window. barua must retry (it cannot know), with the same Message-ID.
    server.recorder.faults["DATA"] = "HANG 1.2"
    server.recorder.fault_counts["DATA"] = 1
    entry = outbox.enqueue(invoice())
    worker = Worker(outbox, settings_for(server, timeout=0.4), config=FAST)
    run_until_sent(worker, outbox, 1)
    first, second = outbox.attempts(entry.id)
    assert first.outcome is AttemptOutcome.UNKNOWN and first.step == "data"
    assert "may or may not have been delivered" in (first.error or "")
    assert second.outcome is AttemptOutcome.ACCEPTED
    assert message_ids(server.messages) == {entry.message_id: 2}


def test_a_server_that_hangs_times_out_and_is_retried(outbox: Outbox, server: SmtpServer) -> None:
    server.recorder.faults["MAIL"] = "HANG 1.0"
    server.recorder.fault_counts["MAIL"] = 1
    entry = outbox.enqueue(invoice())
    run_until_sent(Worker(outbox, settings_for(server, timeout=0.3), config=FAST), outbox, 1)
    first, second = outbox.attempts(entry.id)
    assert (first.outcome, first.step) == (AttemptOutcome.DEFERRED, "mail_from")
    # smtplib reports a read timeout as a closed connection; the transport passes that on.
    assert first.error_class in {"TimeoutError", "ConnectError"}
    assert second.outcome is AttemptOutcome.ACCEPTED
    assert len(server.messages) == 1


def test_one_recipient_of_three_refused(outbox: Outbox, server: SmtpServer) -> None:
    server.recorder.refuse_recipients["c@example.com"] = "550 5.1.1 No such user"
    entry = outbox.enqueue(invoice(to=("a@example.com", "b@example.com", "c@example.com")))
    Worker(outbox, settings_for(server), config=FAST).run(once=True)
    shown = outbox.get(entry.id)
    assert shown.status is MessageStatus.SENT
    assert shown.summary == "sent to 2 of 3 recipients"
    assert [(r.address, r.status, r.code) for r in shown.recipients] == [
        ("a@example.com", RecipientStatus.ACCEPTED, 250),
        ("b@example.com", RecipientStatus.ACCEPTED, 250),
        ("c@example.com", RecipientStatus.REFUSED, 550),
    ]
    assert outbox.attempts(entry.id)[0].outcome is AttemptOutcome.PARTIAL
    assert server.messages[0].rcpt_tos == ["a@example.com", "b@example.com"]


def test_a_permanent_refusal_fails_at_once_with_the_reason(
    outbox: Outbox, server: SmtpServer
) -> None:
    server.recorder.faults["DATA"] = "554 5.7.1 Message rejected as spam"
    entry = outbox.enqueue(invoice())
    report = Worker(outbox, settings_for(server), config=FAST).run(once=True)
    shown = outbox.get(entry.id)
    assert report.failed == 1 and shown.status is MessageStatus.FAILED
    assert shown.last_code == 554 and "spam" in (shown.last_error or "")
    assert shown.recipients[0].status is RecipientStatus.FAILED


def test_authentication_failing_mid_run_pauses_the_queue(outbox: Outbox) -> None:
    with SmtpServer(mode="plain", users={USER: PASSWORD}) as server:

        def break_auth(_message: Received) -> None:
            if len(server.messages) == 5:
                server.recorder.faults["AUTH"] = "refuse"

        server.recorder.on_message = break_auth
        settings = settings_for(server, username=USER, password=PASSWORD, email_address=None)
        config = WorkerConfig(
            connections=1,
            limits=SendingLimits(connections=1, max_messages_per_connection=5),
            lease=5,
            poll_interval=0.05,
            retry=RETRY,
        )
        entries = [outbox.enqueue(invoice(n), settings=settings) for n in range(20)]
        report = Worker(outbox, settings, config=config).run(once=True)
        assert report.sent == 5 and report.failed == 0 and report.paused is not None
        assert "535" in report.paused.reason and report.paused.step == "auth"
        counts = outbox.counts()
        assert counts[MessageStatus.SENT] == 5 and counts[MessageStatus.FAILED] == 0
        paused_attempts = [a for e in entries for a in outbox.attempts(e.id)]
        assert Counter(a.outcome for a in paused_attempts)[AttemptOutcome.PAUSED] == 1

        logins = len(server.recorder.logins)
        again = Worker(outbox, settings, config=config).run(once=True)
        assert again.paused is not None and again.attempts == 0
        assert len(server.recorder.logins) == logins, "a paused queue must not try to log in"

        server.recorder.faults.pop("AUTH")
        assert outbox.resume()
        final = Worker(outbox, settings, config=config).run(once=True)
        assert final.sent == 15 and final.paused is None
    assert sorted(message_ids(server.messages).values()) == [1] * 20


def test_changed_settings_resume_a_paused_queue(outbox: Outbox, server: SmtpServer) -> None:
    from barua.errors import AuthenticationError, Step

    refused = AuthenticationError("refused", step=Step.AUTH, code=535, reply="5.7.8 no")
    old = settings_for(server, timeout=7)
    outbox.pause("default", fingerprint=Worker(outbox, old).fingerprint, error=refused)
    outbox.enqueue(invoice())
    assert Worker(outbox, old, config=FAST).run(once=True).paused is not None
    fixed = Worker(outbox, settings_for(server, timeout=8), config=FAST).run(once=True)
    assert fixed.paused is None and fixed.sent == 1
    assert outbox.pause_of() is None


def test_a_sending_limit_holds_the_rest_back(outbox: Outbox, server: SmtpServer) -> None:
    for n in range(8):
        outbox.enqueue(invoice(n))
    config = WorkerConfig(
        connections=2, limits=SendingLimits(per_minute=5), poll_interval=0.05, retry=RETRY
    )
    report = Worker(outbox, settings_for(server), config=config).run(once=True)
    assert report.sent == 5 and report.limited
    assert outbox.counts()[MessageStatus.QUEUED] == 3


def test_stop_finishes_in_flight_and_gives_the_rest_back(
    outbox: Outbox, server: SmtpServer
) -> None:
    for n in range(300):
        outbox.enqueue(invoice(n))
    worker = Worker(outbox, settings_for(server), config=FAST)

    def stop_soon(_message: Received) -> None:
        if len(server.messages) == 20:
            worker.stop()

    server.recorder.on_message = stop_soon
    report = worker.run()
    counts = outbox.counts()
    assert counts[MessageStatus.SENDING] == 0
    assert counts[MessageStatus.SENT] == report.sent == len(server.messages) < 300
    assert counts[MessageStatus.QUEUED] == 300 - report.sent


def test_memory_holds_a_batch_or_two_not_every_message_sent(
    outbox: Outbox, server: SmtpServer
) -> None:
    import gc

    from barua.message import OutgoingMessage

    ids = {outbox.enqueue(invoice(n)).message_id for n in range(300)}
    alive: list[int] = []

    def count(_message: Received) -> None:
        # This run's messages only: other tests' (not yet freed by the collector) are not this
        # worker's memory (a whole run of the suite once counted 30 and 32 here, where this
        # test alone counts 7 to 10).
        if len(server.messages) in {100, 250}:
            alive.append(
                sum(
                    isinstance(o, OutgoingMessage) and o.message_id in ids for o in gc.get_objects()
                )
            )

    server.recorder.on_message = count
    config = WorkerConfig(connections=1, batch_size=8, lease=5, poll_interval=0.05, retry=RETRY)
    assert Worker(outbox, settings_for(server), config=config).run(once=True).sent == 300
    assert len(alive) == 2 and 0 < max(alive) <= 3 * 8, alive


def test_workers_share_a_short_queue_on_a_slow_server(outbox: Outbox) -> None:
    """Against a server taking 0.15 s a message, each worker claims about half a second of
    sending at a time: three workers share twelve messages instead of one holding them all."""
    with SmtpServer(mode="plain") as slow:
        slow.recorder.faults["DATA"] = "HANG 0.15"
        for n in range(12):
            outbox.enqueue(invoice(n))
        config = WorkerConfig(connections=1, lease=5, poll_interval=0.05, retry=RETRY)
        workers = [Worker(outbox, settings_for(slow), config=config) for _ in range(3)]
        reports = []
        threads = [
            threading.Thread(target=lambda w=worker: reports.append(w.run(once=True)))
            for worker in workers
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(message_ids(slow.messages).values()) == [1] * 12
    assert sum(report.sent for report in reports) == 12
    assert min(report.sent for report in reports) >= 2, [r.sent for r in reports]


@pytest.mark.parametrize("accepted_before", [False, True])
def test_an_entry_with_no_recipient_left_ends_without_a_connection(
    outbox: Outbox, server: SmtpServer, accepted_before: bool
) -> None:
    """An entry whose recipients were all settled (here by hand in the database) ends as they
    say, sent or failed with the reason, instead of being tried again for ever."""
    from sqlalchemy import update

    from barua.database.tables import recipients

    entry = outbox.enqueue(invoice(7, to=("jane@example.com", "juma@example.com")))
    settled = [RecipientStatus.REFUSED.value, RecipientStatus.REFUSED.value]
    if accepted_before:
        settled[0] = RecipientStatus.ACCEPTED.value
    with outbox.engine.begin() as conn:
        for address, status in zip(("jane@example.com", "juma@example.com"), settled, strict=True):
            conn.execute(
                update(recipients).where(recipients.c.address == address).values(status=status)
            )
    report = Worker(outbox, settings_for(server), config=FAST).run(once=True)
    shown = outbox.get(entry.id)
    assert server.messages == []
    if accepted_before:
        assert (report.sent, shown.status) == (1, MessageStatus.SENT)
    else:
        assert (report.failed, shown.status) == (1, MessageStatus.FAILED)
        assert shown.summary == (
            "failed: no recipient was left to send to: each was refused or cancelled"
        )
