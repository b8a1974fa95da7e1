"""``barua worker`` and ``barua outbox`` as real processes: kill -9, many workers, the CLI."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from barua.outbox import AttemptOutcome, MessageStatus, Outbox
from tests.conftest import home_url
from tests.smtpd import SmtpServer
from tests.test_outbox_queue import invoice, pg_url, pg_user  # noqa: F401 (fixtures)
from tests.test_worker_faults import message_ids

BARUA = str(Path(sys.executable).with_name("barua"))
FAST_FLAGS = [
    "--lease", "1", "--poll-interval", "0.05",
    "--retry-first-delay", "0.05", "--retry-max-delay", "0.2",
]  # fmt: skip


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    with SmtpServer(mode="plain") as running:
        yield running


def environment(server: SmtpServer, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSL_CERT")}
    env.update(
        BARUA_SMTP_HOST="127.0.0.1",
        BARUA_SMTP_PORT=str(server.port),
        BARUA_SMTP_SECURITY="none",
        BARUA_EMAIL_ADDRESS="shop@example.com",
        BARUA_TIMEOUT="5",
    )
    env.update(extra)
    return env


def barua(
    *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BARUA, *args], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )


def start_worker(
    *args: str, env: dict[str, str], new_session: bool = False
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [BARUA, "worker", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=new_session,
    )


def fill(outbox: Outbox, count: int) -> list[str]:
    return [outbox.enqueue(invoice(n)).message_id for n in range(count)]


def test_kill_9_at_random_moments_loses_nothing(server: SmtpServer, barua_home: Path) -> None:
    with Outbox.open(home_url()) as outbox:
        expected = fill(outbox, 2000)
    env = environment(server)
    rng = random.Random(4)
    kills = 0
    for _ in range(5):
        worker = start_worker("--connections", "4", *FAST_FLAGS, env=env)
        time.sleep(rng.uniform(0.4, 1.2))
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        kills += 1
    time.sleep(1.2)  # the killed workers' leases run out
    final = barua("worker", "--once", "--connections", "4", *FAST_FLAGS, env=env)
    assert final.returncode == 0, final.stderr
    arrived = message_ids(server.messages)
    assert set(arrived) == set(expected), "every message arrives"
    duplicates = {mid: n for mid, n in arrived.items() if n > 1}
    # A duplicate is possible only for a message whose reply (or its record) was cut by the
    # kill: at most one per connection per kill.
    assert len(duplicates) <= kills * 4, duplicates
    with Outbox.open(home_url()) as outbox:
        counts = outbox.counts()
        assert counts[MessageStatus.SENT] == 2000, counts
        for entry in outbox.list_entries(limit=2000):
            if entry.message_id in duplicates:
                assert entry.attempts >= 1


def test_three_workers_on_postgresql_deliver_each_message_once(
    server: SmtpServer,
    pg_url: str,  # noqa: F811
) -> None:
    with Outbox.open(pg_url) as outbox:
        expected = fill(outbox, 5000)
    env = environment(server, BARUA_DATABASE_URL=pg_url)
    # Leases long enough that none runs out on a busy machine: this is about claims alone
    # (leases that run out are the stopped-worker and kill -9 tests').
    flags = [*FAST_FLAGS, "--lease", "10"]
    workers = [start_worker("--once", "--connections", "3", *flags, env=env) for _ in range(3)]
    for worker in workers:
        _, stderr = worker.communicate(timeout=240)
        assert worker.returncode == 0, stderr
    arrived = message_ids(server.messages)
    assert set(arrived) == set(expected)
    assert max(arrived.values()) == 1, "exactly once"
    with Outbox.open(pg_url) as outbox:
        assert outbox.counts()[MessageStatus.SENT] == 5000
        assert len({a.worker for a in outbox.attempts(1)}) == 1


def test_a_worker_frozen_past_its_leases_leaves_their_messages_to_the_next(
    server: SmtpServer,
    pg_url: str,  # noqa: F811
) -> None:
    """A frozen process (SIGSTOP: a paused VM, a machine swapping) cannot renew its leases;
    another worker takes its messages over. When it wakes up it must not send them too."""
    with Outbox.open(pg_url) as outbox:
        expected = fill(outbox, 3000)
    env = environment(server, BARUA_DATABASE_URL=pg_url)
    frozen = start_worker("--connections", "2", *FAST_FLAGS, env=env, new_session=True)
    while len(server.messages) < 300:
        time.sleep(0.01)
    os.killpg(frozen.pid, signal.SIGSTOP)  # the worker and its processes
    in_hand = 0
    try:
        time.sleep(1.5)  # its leases (1 s) run out
        with Outbox.open(pg_url) as outbox:
            in_hand = outbox.counts()[MessageStatus.SENDING]
        other = barua("worker", "--once", "--connections", "2", *FAST_FLAGS, env=env)
        assert other.returncode == 0, other.stderr
    finally:
        os.killpg(frozen.pid, signal.SIGCONT)
    time.sleep(1.0)
    frozen.send_signal(signal.SIGTERM)
    _, stderr = frozen.communicate(timeout=30)
    assert frozen.returncode == 0, stderr

    arrived = message_ids(server.messages)
    assert set(arrived) == set(expected), "every message arrives"
    duplicates = {mid: n for mid, n in arrived.items() if n > 1}
    # Per connection, two messages may arrive twice: one the frozen worker was in the middle
    # of sending, and one whose reply it had read but not yet written down. Everything else it
    # held (a batch or two per connection) it leaves to the worker that took it over.
    assert in_hand > 2 * 2, f"the frozen worker held only {in_hand} messages"
    assert len(duplicates) <= 2 * 2, duplicates
    assert "another worker took it over" in stderr
    with Outbox.open(pg_url) as outbox:
        assert outbox.counts()[MessageStatus.SENT] == 3000


def test_sigterm_finishes_the_messages_in_flight(server: SmtpServer, barua_home: Path) -> None:
    with Outbox.open(home_url()) as outbox:
        fill(outbox, 1500)
    worker = start_worker("--connections", "2", *FAST_FLAGS, env=environment(server))
    while len(server.messages) < 50:
        time.sleep(0.02)
    worker.send_signal(signal.SIGTERM)
    _, stderr = worker.communicate(timeout=30)
    assert worker.returncode == 0, stderr
    assert "finishing the messages in flight" in stderr
    with Outbox.open(home_url()) as outbox:
        counts = outbox.counts()
    assert counts[MessageStatus.SENDING] == 0
    assert counts[MessageStatus.SENT] == len(server.messages)
    assert counts[MessageStatus.SENT] + counts[MessageStatus.QUEUED] == 1500


# The command line -------------------------------------------------------------------------------


def test_send_waits_for_delivery_and_the_invoice_can_be_followed(
    server: SmtpServer, tmp_path: Path
) -> None:
    env = environment(server)
    pdf = tmp_path / "INV-0042.pdf"
    pdf.write_bytes(b"%PDF-1.7\n" + os.urandom(40_000))
    sent = barua(
        "send", "--to", "jane@example.com", "--subject", "Ankara INV-0042", "--body", "Habari",
        "--attach", str(pdf), "--key", "invoice:INV-0042:v1", env=env,
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.startswith("Sent to jane@example.com (250 2.0.0 Ok: queued as TEST00001)")
    again = barua(
        "send", "--to", "jane@example.com", "--subject", "Ankara INV-0042", "--body", "Habari",
        "--key", "invoice:INV-0042:v1", env=env,
    )  # fmt: skip
    assert again.returncode == 0 and len(server.messages) == 1, "the same key sends nothing new"

    listed = json.loads(barua("outbox", "list", "--json", env=env).stdout)
    [entry] = listed["entries"]
    assert entry["status"] == "sent" and listed["paused"] == {}
    shown = barua("outbox", "show", str(entry["id"]), env=env)
    assert shown.returncode == 0
    assert "status        sent: sent to 1 recipient" in shown.stdout
    assert "accepted  jane@example.com (250 2.0.0 Ok: queued as TEST00001)" in shown.stdout
    assert f"127.0.0.1:{server.port}  accepted" in shown.stdout


def test_queue_then_worker_once_then_outbox_commands(server: SmtpServer) -> None:
    env = environment(server)
    server.recorder.faults["DATA"] = "554 5.7.1 Rejected as spam"
    queued = barua("send", "--queue", "--to", "a@example.com", "--subject", "x", "--body", "y",
                   env=env)  # fmt: skip
    assert queued.returncode == 0, queued.stderr
    assert queued.stdout.startswith("Queued as outbox entry 1 (<")
    assert server.messages == []
    worker = barua("worker", "--once", *FAST_FLAGS, env=env)
    assert worker.returncode == 0, worker.stderr
    assert "0 sent, 0 deferred, 1 failed" in worker.stderr
    shown = json.loads(barua("outbox", "show", "1", "--json", env=env).stdout)
    assert shown["status"] == "failed" and shown["last_code"] == 554
    assert shown["log"][0]["outcome"] == AttemptOutcome.FAILED.value
    assert shown["log"][0]["step"] == "data"

    server.recorder.faults.clear()
    assert barua("outbox", "retry", "1", env=env).returncode == 0
    assert barua("worker", "--once", *FAST_FLAGS, env=env).returncode == 0
    assert len(server.messages) == 1
    listed = barua("outbox", "list", "--status", "sent", env=env).stdout
    assert "     1  sent" in listed
    # The retry's time beside the time the email was queued, which stays.
    retried = json.loads(barua("outbox", "show", "1", "--json", env=env).stdout)
    assert retried["created_at"] == shown["created_at"]
    assert retried["retried_at"] > retried["created_at"]
    lines = barua("outbox", "show", "1", env=env).stdout.splitlines()
    rows = dict(line.split(None, 1) for line in lines if len(line.split(None, 1)) == 2)
    assert rows["retried"] == retried["retried_at"][:19].replace("T", " ") + " UTC"

    barua("send", "--queue", "--to", "b@example.com", "--subject", "x", "--body", "y", env=env)
    assert barua("outbox", "cancel", "2", env=env).returncode == 0
    refused = barua("outbox", "cancel", "1", env=env)
    assert refused.returncode == 2
    assert refused.stderr.startswith("error: outbox entry 1 is sent and cannot be cancelled")
    purged = barua("outbox", "purge", "--sent-before", "2999-01-01", env=env)
    assert purged.stdout.strip() == "Deleted 1 sent entry."
    missing = barua("outbox", "show", "1", env=env)
    assert missing.returncode == 2 and missing.stderr.startswith(
        "error: there is no outbox entry 1"
    )


def test_send_reports_a_failure_and_keeps_the_email(server: SmtpServer) -> None:
    env = environment(server)
    server.recorder.faults["MAIL"] = "451 4.3.0 Try again later"
    proc = barua("send", "--to", "a@example.com", "--subject", "x", "--body", "y", env=env)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("error")
    assert "the server asked to try again later (server replied: 451 4.3.0" in lines[0]
    assert lines[1].startswith("hint: ")
    assert "The email waits in the outbox as entry 1: `barua worker` tries again from " in (
        proc.stdout
    )
    shown = json.loads(barua("outbox", "show", "1", "--json", env=env).stdout)
    assert shown["status"] == "deferred"


def test_worker_once_says_when_the_queue_is_paused(server: SmtpServer) -> None:
    from barua.app import Barua, Environment
    from barua.errors import AuthenticationError, Step
    from barua.outbox import Worker

    env = environment(server)
    os.environ.update({k: v for k, v in env.items() if k.startswith("BARUA_")})
    try:
        with Barua(Environment.from_environ()) as app:
            settings = app.settings_in_effect(app.business())
        with Outbox.open(home_url()) as outbox:
            outbox.enqueue(invoice())
            refused = AuthenticationError(
                "the server refused the username or password",
                step=Step.AUTH,
                code=535,
                reply="5.7.8 Authentication credentials invalid",
            )
            outbox.pause("default", fingerprint=Worker(outbox, settings).fingerprint, error=refused)
    finally:
        for key in env:
            if key.startswith("BARUA_") and key != "BARUA_HOME":
                os.environ.pop(key, None)
    proc = barua("worker", "--once", env=env)
    assert proc.returncode == 1
    assert 'delivery for "default" is paused since' in proc.stderr
    assert "535 5.7.8" in proc.stderr
    listed = barua("outbox", "list", env=env)
    assert 'delivery for "default" is paused' in listed.stderr
    resumed = barua("outbox", "resume", env=env).stdout.strip()
    assert resumed == 'Delivery for "default" resumes.'

    assert barua("worker", "--once", env=env).returncode == 0
    assert len(server.messages) == 1


# Several processes: barua worker --processes ----------------------------------------------------


def test_connections_are_shared_out_between_processes() -> None:
    from barua.outbox import SendingLimits
    from barua.outbox.sharing import default_processes, share

    assert share(4, 2) == [2, 2] and share(4, 3) == [2, 1, 1] and share(2, 4) == [1, 1]
    assert default_processes(1, SendingLimits()) == 1
    assert default_processes(64, SendingLimits()) == (os.cpu_count() or 1)
    assert default_processes(8, SendingLimits(per_minute=30)) == 1, "limits are per worker"


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_processes_share_the_queue_and_all_stop_when_nothing_is_due(
    server: SmtpServer, database: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("pg_url") if database == "postgresql" else home_url()
    with Outbox.open(url) as outbox:
        expected = fill(outbox, 1200)
    env = environment(server, **({"BARUA_DATABASE_URL": url} if database == "postgresql" else {}))
    done = barua("worker", "--once", "--connections", "3", "--processes", "2", *FAST_FLAGS, env=env)
    assert done.returncode == 0, done.stderr
    assert "1200 sent, 0 deferred, 0 failed" in done.stderr, "the reports are added up"
    arrived = message_ids(server.messages)
    assert set(arrived) == set(expected) and max(arrived.values()) == 1, "exactly once"
    with Outbox.open(url) as outbox:
        workers = {a.worker for e in outbox.list_entries(limit=1200) for a in outbox.attempts(e.id)}
    assert len(workers) == 2, "both processes delivered"


def test_sigterm_stops_every_process(server: SmtpServer, barua_home: Path) -> None:
    with Outbox.open(home_url()) as outbox:
        fill(outbox, 3000)
    worker = start_worker(
        "--connections", "2", "--processes", "2", *FAST_FLAGS, env=environment(server)
    )
    while len(server.messages) < 100:
        time.sleep(0.02)
    worker.send_signal(signal.SIGTERM)
    _, stderr = worker.communicate(timeout=30)
    assert worker.returncode == 0, stderr
    assert "finishing the messages in flight" in stderr
    arrived = len(server.messages)
    time.sleep(0.5)
    assert len(server.messages) == arrived, "no process delivers on after the parent is gone"
    with Outbox.open(home_url()) as outbox:
        counts = outbox.counts()
    assert counts[MessageStatus.SENDING] == 0, "each gave back what it had not sent"
    assert counts[MessageStatus.SENT] == arrived
    assert counts[MessageStatus.SENT] + counts[MessageStatus.QUEUED] == 3000


def test_a_sigterm_at_any_moment_of_the_start_stops_every_process(server: SmtpServer) -> None:
    """A supervisor may stop the worker while it starts: whenever the signal comes, the
    worker and the processes it started end (none is left holding the queue), without a
    traceback; once its handler is there, with the words and exit code of a clean stop."""
    env = environment(server)
    assert barua("send", "--queue", "--to", "a@example.com", "--subject", "x", "--body", "y",
                 env=env).returncode == 0  # fmt: skip
    for delay in (0.1, 0.3, 0.5, 0.7, 0.9, 1.2):
        worker = start_worker("--processes", "2", *FAST_FLAGS, env=env)
        time.sleep(delay)
        worker.send_signal(signal.SIGTERM)
        try:
            _, errors = worker.communicate(timeout=30)  # every process closed its stderr
        finally:
            worker.kill()
        assert "Traceback" not in errors, errors
        assert worker.returncode in (0, -signal.SIGTERM), (delay, worker.returncode, errors)
        if worker.returncode == 0:
            assert "SIGTERM: finishing the messages in flight" in errors
