"""Leases: a worker sends only what is still its own (on SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from barua.outbox import Claimed, MessageStatus, Outbox
from barua.outbox.leases import Leases
from tests.test_outbox_queue import db_url, invoice, outbox, pg_url, pg_user  # noqa: F401


def test_a_lease_that_ran_low_is_confirmed_before_sending(outbox: Outbox) -> None:  # noqa: F811
    for n in range(2):
        outbox.enqueue(invoice(n))
    logged: list[str] = []
    leases = Leases(outbox, worker="a", lease=0.3, log=lambda line: logged.append(line.render()))
    with outbox.session(worker="a") as session:
        claimed = leases.claim(lambda: session.claim(business="default", limit=2, lease=0.3))
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
    leases = Leases(outbox, worker="a", lease=60, log=lambda _line: None)
    claimed = leases.claim(lambda: outbox.claim(worker="a", limit=3, lease=0.3))
    leases.drop([claimed[0].id])  # recorded, given back or given up
    leases.renew()
    time.sleep(0.4)
    [due] = outbox.claim(worker="b", limit=3, lease=60)
    assert due.id == claimed[0].id, "what the worker let go of runs out; the rest stays its own"


def test_a_message_in_hand_is_not_handed_out_again_by_its_own_worker(
    outbox: Outbox,  # noqa: F811
) -> None:
    """The database was away longer than the lease: the worker's next claim takes its own
    messages again. They are in hand already (being sent, or sent and not yet written)."""
    outbox.enqueue(invoice(1))
    leases = Leases(outbox, worker="a", lease=0.3, log=lambda _line: None)
    [first] = leases.claim(lambda: outbox.claim(worker="a", limit=5, lease=0.3))
    time.sleep(0.4)
    outbox.enqueue(invoice(2))
    again = leases.claim(lambda: outbox.claim(worker="a", limit=5, lease=0.3))
    assert [c.message.subject for c in again] == ["Ankara INV-0002"], "only the new one"
    assert leases.fresh(first.id), "the claim renewed the lease of the one in hand"


def test_what_a_database_failure_left_held_is_given_back(outbox: Outbox) -> None:  # noqa: F811
    for n in range(4):
        outbox.enqueue(invoice(n))
    logged: list[str] = []
    leases = Leases(outbox, worker="a", lease=60, log=lambda line: logged.append(line.render()))
    in_hand = leases.claim(lambda: outbox.claim(worker="a", limit=2, lease=60))
    # A claim that committed, but whose answer the broken connection never brought back.
    lost = outbox.claim(worker="a", limit=2, lease=60)
    leases.release_forgotten()
    assert outbox.claim(worker="b", limit=4, lease=60) == [], "nothing given back unasked"

    leases.forgotten()
    leases.release_forgotten()
    assert "gave back 2 message(s) a database failure had left held" in logged
    for claimed in in_hand:
        assert outbox.get(claimed.id).status is MessageStatus.SENDING, "in hand: kept"
    for claimed in lost:
        assert outbox.get(claimed.id).status is MessageStatus.QUEUED
    taken = outbox.claim(worker="b", limit=4, lease=60)
    assert {c.id for c in taken} == {c.id for c in lost}, "due again at once"


def test_a_claim_under_way_is_never_given_back(outbox: Outbox) -> None:  # noqa: F811
    """Its messages are in the database and not yet in hand: a sweep then would give back
    what the claiming thread is about to send."""
    for n in range(3):
        outbox.enqueue(invoice(n))
    leases = Leases(outbox, worker="a", lease=60, log=lambda _line: None)
    lost = outbox.claim(worker="a", limit=1, lease=60)  # a claim whose answer was lost
    leases.forgotten()
    committed, finish = threading.Event(), threading.Event()

    def slow_claim() -> list[Claimed]:
        batch = outbox.claim(worker="a", limit=2, lease=60)
        committed.set()
        finish.wait(10)
        return batch

    claiming = threading.Thread(target=leases.claim, args=(slow_claim,))
    claiming.start()
    assert committed.wait(10)
    leases.release_forgotten(wait=False)  # a renewal: it does not wait for the claim
    assert outbox.get(lost[0].id).status is MessageStatus.SENDING, "left for later"
    sweeping = threading.Thread(target=leases.release_forgotten)
    sweeping.start()
    time.sleep(0.2)
    assert outbox.get(lost[0].id).status is MessageStatus.SENDING, "waits for the claim"
    finish.set()
    claiming.join(10)
    sweeping.join(10)
    assert outbox.get(lost[0].id).status is MessageStatus.QUEUED
    assert sorted(leases.held()) == sorted(
        e.id for e in outbox.list_entries(limit=3) if e.status is MessageStatus.SENDING
    )
    assert len(leases.held()) == 2


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


def test_a_claim_reads_a_few_rows_however_long_the_queue(pg_url: str) -> None:  # noqa: F811
    """Right after a bulk enqueue, before PostgreSQL has statistics of the new rows, a claim
    still walks the due index to its first few messages instead of sorting the whole queue,
    and a batch's bytes are looked up by key instead of hashing every blob."""
    import psycopg
    from sqlalchemy.dialects import postgresql

    from barua.outbox import schema

    def explain(conn: Any, statement: Any, **values: object) -> str:
        compiled = statement.compile(dialect=postgresql.dialect())
        state = compiled.construct_expanded_state(values)
        cursor = psycopg.ClientCursor(conn)  # the values in the text: the plan of these values
        rows = cursor.execute("EXPLAIN ANALYZE " + state.statement, state.parameters)
        return "\n".join(row[0] for row in rows)

    with Outbox.open(pg_url) as opened:
        for n in range(8):
            opened.enqueue(invoice(n))
        now = time.time()
        with opened.worker_engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            columns = ", ".join(
                c.name for c in schema.messages.columns if c.name not in {"id", "message_id"}
            )
            raw.execute(  # 20,000 more queued, faster than enqueueing them
                f"INSERT INTO outbox_messages (message_id, {columns})"
                f" SELECT 'copy-' || n || message_id, {columns}"
                " FROM outbox_messages, generate_series(1, 2500) AS n"
            )
            claim = explain(
                raw,
                schema.CLAIM_DUE,
                p_profile="default",
                p_now=now,
                p_limit=8,
                p_worker="w",
                p_lease_until=now + 60,
            )
            ids = [row[0] for row in raw.execute("SELECT id FROM outbox_messages LIMIT 8")]
            load = explain(raw, schema.MESSAGE_BYTES, p_ids=ids)
    assert "rows=8 loops=1" in claim, claim
    assert "Sort" not in claim, claim
    assert "Seq Scan on outbox_blobs" not in load, load
