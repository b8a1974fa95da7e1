"""The worker while its PostgreSQL is unreachable for a while: nothing lost, nothing sent twice.

The outage is real: the worker connects as a role of its own, which is refused logins and has
its connections cut, then allowed back, as a database restarting looks to its clients.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

import pytest

from barua.outbox import MessageStatus, Outbox, Worker
from tests.smtpd import SmtpServer
from tests.test_outbox_queue import PG_ADMIN, invoice, pg_url, pg_user  # noqa: F401
from tests.test_worker_faults import FAST, message_ids, settings_for


@pytest.fixture
def worker_url(pg_url: str, pg_user: str) -> Iterator[tuple[str, str]]:  # noqa: F811
    """A URL to the test's schema as a role made for the test, and that role's name."""
    import psycopg

    role = f"barua_worker_{secrets.token_hex(4)}"
    schema = pg_url.rsplit("%3D", 1)[1]
    with Outbox.open(pg_url):  # the tables, created by their owner
        pass
    admin = PG_ADMIN.format(user=pg_user)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO {role}')
        conn.execute(f'GRANT ALL ON ALL TABLES IN SCHEMA "{schema}" TO {role}')
        conn.execute(f'GRANT ALL ON ALL SEQUENCES IN SCHEMA "{schema}" TO {role}')
    try:
        yield pg_url.replace(f"//{pg_user}@", f"//{quote(role)}@"), role
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'"
            )
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")


def cut_off(role: str, pg_user: str, seconds: float) -> None:  # noqa: F811
    """Refuse ``role``'s logins and end its connections for ``seconds``."""
    import psycopg

    with psycopg.connect(PG_ADMIN.format(user=pg_user), autocommit=True) as conn:
        conn.execute(f"ALTER ROLE {role} NOLOGIN")
        conn.execute(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'"
        )
        time.sleep(seconds)
        conn.execute(f"ALTER ROLE {role} LOGIN")


def test_a_database_outage_in_mid_run_loses_nothing_and_sends_nothing_twice(
    worker_url: tuple[str, str],
    pg_user: str,  # noqa: F811
) -> None:
    url, role = worker_url
    with SmtpServer(mode="plain", pipelining=True) as server, Outbox.open(url) as outbox:
        expected = [outbox.enqueue(invoice(n)).message_id for n in range(3000)]
        logged: list[str] = []
        worker = Worker(
            outbox, settings_for(server), config=FAST, log=lambda line: logged.append(line.render())
        )
        running = threading.Thread(target=worker.run, kwargs={"once": True})
        running.start()
        while len(server.messages) < 500:
            time.sleep(0.005)
        # Longer than the worker's leases (5 s): they run out while it cannot renew them.
        cut_off(role, pg_user, seconds=FAST.lease + 1)
        running.join(timeout=120)
        assert not running.is_alive()
        arrived = message_ids(server.messages)
        counts = outbox.counts()
    assert any("the database failed" in line for line in logged), "no outage seen"
    log = "\n".join(logged[-40:])
    assert set(arrived) == set(expected), f"every message arrives; {counts}; the log:\n{log}"
    twice = sorted(mid for mid, n in arrived.items() if n > 1)
    assert not twice, f"sent twice: {twice}; the log:\n{log}"
    assert counts[MessageStatus.SENT] == 3000, f"{counts}; the log:\n{log}"


def test_once_gives_up_on_a_database_gone_for_good_and_says_so(
    worker_url: tuple[str, str],
    pg_user: str,  # noqa: F811
) -> None:
    """``--once`` does not wait for ever: when the database stays away longer than its
    patience, the run ends with the reason; what it could not record is sent again later."""
    import psycopg

    from barua.outbox import worker as worker_module

    url, role = worker_url
    admin = PG_ADMIN.format(user=pg_user)
    with SmtpServer(mode="plain", pipelining=True) as server, Outbox.open(url) as outbox:
        expected = [outbox.enqueue(invoice(n)).message_id for n in range(2000)]
        patient = replace(FAST, database_patience=1.0)
        worker = Worker(outbox, settings_for(server), config=patient)
        outcome: list[object] = []
        running = threading.Thread(target=lambda: outcome.append(worker.run(once=True)))
        running.start()
        while len(server.messages) < 300:
            time.sleep(0.005)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"ALTER ROLE {role} NOLOGIN")
            conn.execute(
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'"
            )
        running.join(timeout=60)
        assert not running.is_alive(), "the run ended"
        [report] = outcome
        assert isinstance(report, worker_module.WorkerReport)
        assert report.database_error is not None
        assert "the database failed" in report.database_error
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"ALTER ROLE {role} LOGIN")
        # Back: the leases of what was held run out, and the next run delivers the rest.
        time.sleep(FAST.lease + 0.5)
        again = Worker(outbox, settings_for(server), config=FAST).run(once=True)
        assert again.database_error is None
        assert outbox.counts()[MessageStatus.SENT] == 2000
        arrived = message_ids(server.messages)
    assert set(arrived) == set(expected), "nothing lost"
    twice = [mid for mid, n in arrived.items() if n > 1]
    # Sent again because the database went before their results were in: per connection, the
    # message whose result failed to go in while the next one was in the server's hands, and
    # that next one.
    assert len(twice) <= 2 * FAST.connections, twice


def test_worker_once_command_reports_a_database_gone_for_good(
    worker_url: tuple[str, str],
    pg_user: str,  # noqa: F811
    barua_home: Path,
) -> None:
    """What the person running ``barua worker --once`` (from cron, say) sees: one error naming
    the database, a hint, exit status 1, no traceback; the queue is kept."""
    import psycopg

    from tests.test_worker_processes import environment, start_worker

    url, role = worker_url
    with SmtpServer(mode="plain", pipelining=True) as server, Outbox.open(url) as outbox:
        for n in range(2000):
            outbox.enqueue(invoice(n))
        env = environment(server, BARUA_DATABASE_URL=url, BARUA_HOME=str(barua_home))
        worker = start_worker(
            "--once", "--connections", "2", "--processes", "1", "--database-patience", "1",
            "--poll-interval", "0.05", env=env,
        )  # fmt: skip
        while len(server.messages) < 300:
            assert worker.poll() is None, worker.communicate()[1]
            time.sleep(0.005)
        with psycopg.connect(PG_ADMIN.format(user=pg_user), autocommit=True) as conn:
            conn.execute(f"ALTER ROLE {role} NOLOGIN")
            conn.execute(
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'"
            )
        _, stderr = worker.communicate(timeout=60)
        sent = len(server.messages)
        with psycopg.connect(PG_ADMIN.format(user=pg_user), autocommit=True) as conn:
            conn.execute(f"ALTER ROLE {role} LOGIN")
        counts = outbox.counts()
    assert worker.returncode == 1, stderr
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "the database failed" in errors[0], stderr
    assert "hint: check that the database is running and reachable" in stderr
    assert sum(counts.values()) == 2000, "every message still in the outbox"
    assert counts[MessageStatus.SENT] <= sent < 2000
