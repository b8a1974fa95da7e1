"""Leases: a worker sends only what is still its own (on SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from barua.outbox import MessageStatus, Outbox
from barua.outbox.leases import Leases
from tests.test_outbox_queue import db_url, invoice, outbox, pg_url, pg_user  # noqa: F401


def test_a_lease_that_ran_low_is_confirmed_before_sending(outbox: Outbox) -> None:  # noqa: F811
    for n in range(2):
        outbox.enqueue(invoice(n))
    logged: list[str] = []
    leases = Leases(outbox, worker="a", lease=0.3, log=logged.append)
    with outbox.session(worker="a") as session:
        started = time.monotonic()
        claimed = session.claim(profile="default", limit=2, lease=0.3)
        leases.hold((c.id for c in claimed), since=started)
        assert len(claimed) == 2 and all(leases.fresh(c.id) for c in claimed)
        time.sleep(0.4)  # the process stalled: no renewal came and the leases ran out
        assert not any(leases.fresh(c.id) for c in claimed)
        [taken] = outbox.claim(worker="b", limit=1, lease=60)
        [kept] = [c for c in claimed if c.id != taken.id]

        assert not leases.confirm(taken.id, session), "another worker has it now"
        assert any("another worker took it over" in line for line in logged)
        assert leases.confirm(kept.id, session), "nobody took it: it is still this worker's"
        assert leases.fresh(kept.id)
    entry = outbox.get(kept.id)
    assert entry.status is MessageStatus.SENDING
    assert entry.next_attempt_at is not None
    assert entry.next_attempt_at > datetime.now(UTC) + timedelta(seconds=0.1), "renewed"


def test_only_the_messages_in_hand_are_renewed(outbox: Outbox) -> None:  # noqa: F811
    for n in range(3):
        outbox.enqueue(invoice(n))
    claimed = outbox.claim(worker="a", limit=3, lease=0.3)
    leases = Leases(outbox, worker="a", lease=60, log=lambda _line: None)
    leases.hold((c.id for c in claimed), since=time.monotonic())
    leases.drop([claimed[0].id])  # recorded, given back or given up
    leases.renew()
    time.sleep(0.4)
    [due] = outbox.claim(worker="b", limit=3, lease=60)
    assert due.id == claimed[0].id, "what the worker let go of runs out; the rest stays its own"


def test_a_renewal_skips_a_message_being_written_instead_of_waiting(
    pg_url: str,  # noqa: F811
) -> None:
    import psycopg

    with Outbox.open(pg_url) as opened:
        ids = [opened.enqueue(invoice(n)).id for n in range(2)]
        opened.claim(worker="a", limit=2, lease=60)
        renewed: list[set[int]] = []
        with psycopg.connect(pg_url) as writing:  # a transaction recording the first's result
            writing.execute("SELECT id FROM outbox_messages WHERE id = %s FOR UPDATE", (ids[0],))
            renewal = threading.Thread(
                target=lambda: renewed.append(opened.renew(ids, worker="a", lease=120))
            )
            renewal.start()
            renewal.join(timeout=10)
            waited = renewal.is_alive()
        renewal.join()
    assert not waited, "the renewal waited for a lock (and could deadlock with it)"
    assert renewed == [{ids[1]}]
