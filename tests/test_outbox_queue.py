"""The outbox in a real database: SQLite in BARUA_HOME and PostgreSQL on 127.0.0.1:5432.

Each PostgreSQL test gets a schema of its own (``barua_test_…``), dropped afterwards, so parallel
runs and CI never collide.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from barua.database import tables
from barua.database.direct import RowBeside
from barua.database.engine import create_database_engine
from barua.database.errors import DatabaseError
from barua.database.migrations import SCHEMA_VERSION, migrate
from barua.message import Attachment, OutgoingMessage, build_message
from barua.outbox import (
    MessageStatus,
    Outbox,
    OutboxError,
    RecipientStatus,
    RetryPolicy,
    decide,
)
from barua.outbox.errors import detail_text
from barua.outbox.queue import Record
from barua.settings import Settings, make_settings
from barua.store import relay as relay_store
from barua.transports.base import SendResult
from tests.conftest import home_url

PG_ADMIN = "postgresql://{user}@127.0.0.1:5432/test"


def _pg_user() -> str | None:
    try:
        import psycopg
    except ImportError:
        return None
    for user in ("postgres", "root"):
        try:
            with psycopg.connect(PG_ADMIN.format(user=user), connect_timeout=3):
                return user
        except psycopg.Error:
            continue
    return None


@pytest.fixture(scope="session")
def pg_user() -> str:
    user = _pg_user()
    if user is None:
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432 (database test)")
    return user


@pytest.fixture
def pg_url(pg_user: str) -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped after the test."""
    import psycopg

    schema = f"barua_test_{os.getpid()}_{secrets.token_hex(4)}"
    admin = PG_ADMIN.format(user=pg_user)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{admin}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, barua_home: Path) -> str:
    if request.param == "sqlite":
        return home_url()
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def outbox(db_url: str) -> Iterator[Outbox]:
    with Outbox.open(db_url) as opened:
        yield opened


def shop_settings(**changes: object) -> Settings:
    values: dict[str, object] = {
        "host": "127.0.0.1",
        "port": 2525,
        "security": "none",
        "email_address": "shop@example.com",
        "timeout": 5,
    }
    return make_settings(**(values | changes))


def invoice(
    number: int = 42, *, to: tuple[str, ...] = ("jane@example.com",), pdf: bytes | None = None
) -> OutgoingMessage:
    attachments = [Attachment(f"INV-{number:04d}.pdf", pdf)] if pdf is not None else []
    return build_message(
        shop_settings(),
        to=list(to),
        subject=f"Ankara INV-{number:04d}",
        text="Habari,\n\nTafadhali pata ankara.\n",
        attachments=attachments,
    )


def _count(outbox: Outbox, table: object) -> int:
    with outbox.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)  # type: ignore[call-overload]


# Enqueueing -------------------------------------------------------------------------------------


def test_sqlite_lives_in_barua_home_in_wal_mode(barua_home: Path) -> None:
    with Outbox.open(home_url()) as outbox:
        outbox.enqueue(invoice())
        with outbox.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert (barua_home / "barua.db").is_file()


def test_enqueue_keeps_the_message_exactly(outbox: Outbox) -> None:
    message = invoice(to=("jane@example.com", "bob@example.com"), pdf=os.urandom(45_000))
    entry = outbox.enqueue(message, settings=shop_settings())
    assert entry.status is MessageStatus.QUEUED and entry.attempts == 0
    stored = outbox.get(entry.id)
    assert stored.message_id == message.message_id
    assert [r.address for r in stored.recipients] == ["jane@example.com", "bob@example.com"]
    assert {r.status for r in stored.recipients} == {RecipientStatus.PENDING}
    assert stored.settings_fingerprint == entry.settings_fingerprint != ""
    [claimed] = outbox.claim(worker="w1", limit=10, lease=60)
    assert claimed.message == message  # byte for byte, the same Message-ID


def test_the_same_idempotency_key_returns_the_existing_entry(outbox: Outbox) -> None:
    first = outbox.enqueue(invoice(42), idempotency_key="invoice:INV-0042:v1")
    again = outbox.enqueue(invoice(42), idempotency_key="invoice:INV-0042:v1")
    other = outbox.enqueue(invoice(42), idempotency_key="invoice:INV-0042:v2")
    assert again.id == first.id and again.message_id == first.message_id
    assert other.id != first.id
    assert _count(outbox, tables.messages) == 2


def test_a_taken_idempotency_key_stores_nothing_of_the_second_message(outbox: Outbox) -> None:
    outbox.enqueue(invoice(42, pdf=os.urandom(30_000)), idempotency_key="invoice:INV-0042:v1")
    rows = {t.name: _count(outbox, t) for t in (tables.blobs, tables.pieces, tables.recipients)}
    again = invoice(42, pdf=os.urandom(30_000), to=("bob@example.com",))
    outbox.enqueue(again, idempotency_key="invoice:INV-0042:v1")
    assert {
        t.name: _count(outbox, t) for t in (tables.blobs, tables.pieces, tables.recipients)
    } == (rows)


def test_rows_beside_an_entry_are_written_with_its_id_or_not_at_all(outbox: Outbox) -> None:
    """What the relay writes with a message it accepts: its record of the message, holding
    the entry's id, and its decision; a decision already taken stores nothing."""
    message = invoice(7, to=("jane@example.com", "bob@example.com"), pdf=os.urandom(30_000))

    def beside(reference: str) -> tuple[RowBeside, ...]:
        return (
            relay_store.remembered_message(
                reference, identity=3, mail_from="shop@duka.example",
                message_id=message.message_id, now=1000.5,
            ),
            relay_store.decided(
                3, message.message_id, fingerprint="f" * 64, status=202,
                answer=b'{"id":"msg_1"}', now=1000.5,
            ),
        )  # fmt: skip

    with outbox.engine.connect() as conn:
        entry = outbox.insert(conn, message, business="relay", beside=beside("msg_1"))
        conn.commit()
    [claimed] = outbox.claim(worker="w", business="relay", limit=5, lease=60)
    assert claimed.id == entry and claimed.message == message
    with outbox.engine.connect() as conn:
        remembered = conn.execute(select(tables.relay_messages)).mappings().one()
        decision = conn.execute(select(tables.relay_idempotency)).mappings().one()
    assert (remembered["id"], remembered["outbox_pk"], remembered["identity"]) == (
        "msg_1",
        entry,
        3,
    )
    assert remembered["created_at"] == 1000.5
    assert (decision["status"], decision["answer"]) == (202, '{"id":"msg_1"}')
    before = {t.name: _count(outbox, t) for t in (tables.messages, tables.blobs)}

    with outbox.engine.connect() as conn, pytest.raises(IntegrityError):
        outbox.insert(
            conn, invoice(8, pdf=os.urandom(30_000)), business="relay", beside=beside("msg_2")
        )
    assert {t.name: _count(outbox, t) for t in (tables.messages, tables.blobs)} == before
    assert _count(outbox, tables.relay_messages) == 1


def test_an_attachment_is_stored_once(outbox: Outbox) -> None:
    pdf = os.urandom(45_000)
    outbox.enqueue(invoice(42, pdf=pdf))
    outbox.enqueue(invoice(42, pdf=pdf, to=("accounts@example.com",)))
    with outbox.engine.connect() as conn:
        sizes = sorted(conn.execute(select(tables.blobs.c.size)).scalars())
    assert sum(1 for size in sizes if size > 45_000) == 1, sizes


def test_missing_entries_are_named(outbox: Outbox) -> None:
    with pytest.raises(OutboxError, match="there is no outbox entry 999"):
        outbox.get(999)


# Claiming ---------------------------------------------------------------------------------------


def test_claims_are_atomic_between_threads(outbox: Outbox) -> None:
    for n in range(120):
        outbox.enqueue(invoice(n))
    taken: list[list[int]] = [[] for _ in range(6)]

    def claim_all(mine: list[int], name: str) -> None:
        while batch := outbox.claim(worker=name, limit=4, lease=60):
            mine.extend(c.id for c in batch)

    threads = [
        threading.Thread(target=claim_all, args=(taken[i], f"w{i}")) for i in range(len(taken))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [i for mine in taken for i in mine]
    assert len(everything) == len(set(everything)) == 120


def test_a_lease_runs_out_and_the_message_is_due_again(outbox: Outbox) -> None:
    entry = outbox.enqueue(invoice())
    [first] = outbox.claim(worker="dead", limit=10, lease=0.3)
    assert outbox.get(entry.id).status is MessageStatus.SENDING
    assert outbox.claim(worker="other", limit=10, lease=60) == []
    time.sleep(0.4)
    [second] = outbox.claim(worker="other", limit=10, lease=60)
    assert second.id == entry.id and second.message == first.message
    # The first worker comes back: its result must not overwrite the new owner's.
    sent = SendResult(message_id=first.message.message_id, accepted=first.message.recipients)
    decision = decide(
        pending=first.message.recipients,
        result=sent,
        attempts=1,
        created=first.created,
        now=time.time(),
        policy=RetryPolicy(),
    )
    assert outbox.record([Record(first, decision, time.time(), 0.1, "s")], worker="dead") == [False]
    assert outbox.get(entry.id).status is MessageStatus.SENDING
    [logged] = outbox.attempts(entry.id)
    assert "another worker took the message over" in (logged.detail or "")
    assert outbox.renew([first.id], worker="dead", lease=60) == set(), "no longer its lease"
    assert outbox.renew([second.id], worker="other", lease=60) == {second.id}
    assert outbox.record([Record(second, decision, time.time(), 0.1, "s")], worker="other") == [
        True
    ]
    done = outbox.get(entry.id)
    assert done.status is MessageStatus.SENT and done.attempts == 1
    assert done.recipients[0].status is RecipientStatus.ACCEPTED


def test_deferred_messages_wait_for_their_time(outbox: Outbox) -> None:
    entry = outbox.enqueue(invoice(), not_before=datetime.now(UTC) + timedelta(hours=1))
    assert outbox.claim(worker="w", limit=10, lease=60) == []
    assert outbox.next_due() == pytest.approx(entry.next_attempt_at.timestamp())  # type: ignore[union-attr]


# Commands ---------------------------------------------------------------------------------------


def _finish(outbox: Outbox, status: str) -> int:
    """Enqueue a message and give it ``status`` the way a worker would."""
    from barua.errors import PermanentError, Step, TemporaryError

    entry = outbox.enqueue(invoice())
    [claimed] = outbox.claim(worker="w", limit=1, lease=60)
    errors = {
        "failed": PermanentError("refused", step=Step.DATA, code=554, reply="5.7.1 no"),
        "deferred": TemporaryError("busy", step=Step.MAIL_FROM, code=451, reply="4.3.0 later"),
    }
    kwargs: dict[str, object] = (
        {"error": errors[status]}
        if status in errors
        else {"result": SendResult(message_id="", accepted=claimed.message.recipients)}
    )
    decision = decide(
        pending=claimed.message.recipients,
        attempts=1,
        created=claimed.created,
        now=time.time(),
        policy=RetryPolicy(first_delay=3600),
        **kwargs,  # type: ignore[arg-type]
    )
    outbox.record([Record(claimed, decision, time.time(), 0.01, "s")], worker="w")
    return entry.id


def test_retry_and_cancel_follow_the_states(outbox: Outbox) -> None:
    failed = _finish(outbox, "failed")
    assert outbox.get(failed).recipients[0].status is RecipientStatus.FAILED
    again = outbox.retry(failed)
    assert again.status is MessageStatus.QUEUED
    assert again.recipients[0].status is RecipientStatus.PENDING
    assert [c.id for c in outbox.claim(worker="w", limit=5, lease=60)] == [failed]

    deferred = _finish(outbox, "deferred")
    cancelled = outbox.cancel(deferred)
    assert cancelled.status is MessageStatus.CANCELLED
    assert cancelled.recipients[0].status is RecipientStatus.CANCELLED
    with pytest.raises(OutboxError, match="is cancelled and cannot be retried"):
        outbox.retry(deferred)
    sent = _finish(outbox, "sent")
    with pytest.raises(OutboxError, match="is sent and cannot be cancelled"):
        outbox.cancel(sent)


def test_a_retry_keeps_the_time_the_entry_was_queued(outbox: Outbox) -> None:
    failed = _finish(outbox, "failed")
    queued = outbox.get(failed).created_at
    assert outbox.get(failed).retried_at is None
    time.sleep(0.01)
    again = outbox.retry(failed)
    assert again.created_at == queued
    assert again.retried_at is not None and again.retried_at > queued
    assert outbox.get(failed).to_dict()["retried_at"] == again.retried_at.isoformat()
    assert again.updated_at > queued
    assert again.next_attempt_at is not None and again.next_attempt_at > queued


def test_list_show_and_counts(outbox: Outbox) -> None:
    ids = [_finish(outbox, "sent"), _finish(outbox, "deferred"), _finish(outbox, "failed")]
    entries = outbox.list_entries()
    assert [e.id for e in entries] == ids[::-1]
    assert [e.id for e in outbox.list_entries(status=MessageStatus.DEFERRED)] == [ids[1]]
    assert [e.id for e in outbox.list_entries(limit=1, before_id=ids[2])] == [ids[1]]
    counts = outbox.counts()
    assert counts[MessageStatus.SENT] == counts[MessageStatus.FAILED] == 1
    [attempt] = outbox.attempts(ids[2])
    assert (attempt.code, attempt.step, attempt.error_class) == (554, "data", "PermanentError")
    assert outbox.get(ids[0]).summary == "sent to 1 recipient"
    assert outbox.get(ids[1]).summary.startswith("will be tried again at ")
    assert outbox.get(ids[2]).summary == "failed: refused (server replied: 554 5.7.1 no)"
    assert outbox.wait(ids[1], timeout=0).status is MessageStatus.DEFERRED


def test_purge_deletes_old_sent_entries_and_unshared_blobs(outbox: Outbox) -> None:
    pdf_kept, pdf_gone = os.urandom(20_000), os.urandom(20_000)
    outbox.enqueue(invoice(1, pdf=pdf_gone), idempotency_key="invoice:1")
    outbox.enqueue(invoice(2, pdf=pdf_kept))
    old = outbox.claim(worker="w", limit=2, lease=60)
    for claimed in old:
        decision = decide(
            pending=claimed.message.recipients,
            result=SendResult(message_id="", accepted=claimed.message.recipients),
            attempts=1,
            created=claimed.created,
            now=time.time(),
            policy=RetryPolicy(),
        )
        outbox.record([Record(claimed, decision, time.time(), 0.01, "s")], worker="w")
    waiting = outbox.enqueue(invoice(3, pdf=pdf_kept))
    assert outbox.purge(sent_before=datetime.now(UTC) - timedelta(days=1)) == 0
    assert outbox.purge(sent_before=datetime.now(UTC) + timedelta(seconds=1)) == 2
    assert [e.id for e in outbox.list_entries()] == [waiting.id]
    assert _count(outbox, tables.attempts) == 0
    with outbox.engine.connect() as conn:
        big = conn.execute(select(tables.blobs.c.size).where(tables.blobs.c.size > 20_000))
        assert len(big.all()) == 1  # the PDF still attached to the waiting invoice
    [claimed] = outbox.claim(worker="w", limit=1, lease=60)
    assert claimed.message.data.count(b"\r\n") > 300
    # As documented: the key went with its entry, so the same key queues the message again.
    again = outbox.enqueue(invoice(1, pdf=pdf_gone), idempotency_key="invoice:1")
    assert again.status is MessageStatus.QUEUED and again.id > waiting.id


# Migrations -------------------------------------------------------------------------------------


def test_migrations_run_once_even_from_many_processes_at_once(db_url: str) -> None:
    engines = [create_database_engine(db_url) for _ in range(4)]
    errors: list[BaseException] = []

    def run(engine: object) -> None:
        try:
            migrate(engine)  # type: ignore[arg-type]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with engines[0].connect() as conn:
        rows = conn.execute(select(tables.migrations_table.c.version)).scalars().all()
    assert rows == list(range(1, SCHEMA_VERSION + 1)), "each migration ran once"
    for engine in engines:
        engine.dispose()


def test_a_bad_database_url_is_explained(barua_home: Path) -> None:
    with pytest.raises(DatabaseError) as caught:
        Outbox.open("postgresql://nobody:s3cret@127.0.0.1:1/none")
    assert "s3cret" not in str(caught.value) and "***" in str(caught.value)
    assert caught.value.hint


def test_the_sqlite_outbox_is_private(barua_home: Path) -> None:
    with Outbox.open(home_url()) as outbox:
        outbox.enqueue(invoice())
    for path in barua_home.glob("barua.db*"):
        assert path.stat().st_mode & 0o077 == 0, path


# What a worker's claim carries -------------------------------------------------------------------


def test_bytes_checked_at_enqueue_go_into_data_as_they_are(outbox: Outbox) -> None:
    from barua.wire import WireData

    ready = outbox.enqueue(invoice(1, pdf=os.urandom(10_000)))
    dotted = build_message(
        shop_settings(), to=["jane@example.com"], subject="x", text="Habari\n.\nAsante\n"
    )
    outbox.enqueue(dotted)
    claimed = {c.id: c for c in outbox.claim(worker="w", limit=10, lease=60)}
    assert isinstance(claimed[ready.id].message.data, WireData)
    [other] = [c for i, c in claimed.items() if i != ready.id]
    assert not isinstance(other.message.data, WireData), "a line starting with a dot"
    assert other.message == dotted


def test_migration_2_adds_its_column_to_an_outbox_of_version_1(db_url: str) -> None:
    from sqlalchemy import delete, inspect, text

    from barua.wire import WireData

    with Outbox.open(db_url) as outbox:
        entry = outbox.enqueue(invoice())
        with outbox.engine.begin() as conn:  # back to version 1, made by an earlier barua
            conn.execute(text("ALTER TABLE outbox_messages DROP COLUMN wire_ready"))
            conn.execute(
                delete(tables.migrations_table).where(tables.migrations_table.c.version > 1)
            )
            conn.execute(text("DROP TABLE alembic_version"))
        migrate(outbox.engine, upgrade=True)  # PostgreSQL is upgraded on purpose only
    with Outbox.open(db_url) as outbox:
        with outbox.engine.connect() as conn:
            columns = {c["name"] for c in inspect(conn).get_columns("outbox_messages")}
        assert "wire_ready" in columns
        [claimed] = outbox.claim(worker="w", limit=10, lease=60)
        assert claimed.id == entry.id
        assert not isinstance(claimed.message.data, WireData), "unknown: checked when sent"


def test_a_worker_session_keeps_its_connection_and_recovers_from_a_failure(
    outbox: Outbox,
) -> None:
    for n in range(3):
        outbox.enqueue(invoice(n))
    with outbox.session(worker="w") as session:
        [first] = session.claim(business="default", limit=1, lease=60)
        connection = session._conn
        [second] = session.claim(business="default", limit=1, lease=60)
        assert session._conn is connection, "one connection for the thread's whole run"
        assert connection is not None
        connection.connection.dbapi_connection.close()  # as if the database had restarted
        [third] = session.claim(business="default", limit=1, lease=60)
        assert session._conn is not connection, "a new connection, the work done once more"
    assert len({first.id, second.id, third.id}) == 3


def test_a_worker_waits_its_turn_for_the_sqlite_write_lock(barua_home: Path) -> None:
    import sqlite3

    with Outbox.open(home_url()) as outbox:
        outbox.enqueue(invoice())
        other = sqlite3.connect(
            barua_home / "barua.db", isolation_level=None, check_same_thread=False
        )
        other.execute("BEGIN IMMEDIATE")  # another process writing
        commit = threading.Timer(0.2, other.execute, args=("COMMIT",))
        commit.start()
        started = time.monotonic()
        with outbox.session(worker="w") as session:
            [claimed] = session.claim(business="default", limit=1, lease=60)
            assert session._conn is not None
            raw = session._conn.connection.dbapi_connection
            assert raw is not None
        assert 0.15 < time.monotonic() - started < 5
        # The lock is free before the timer's COMMIT has returned: closing the connection
        # under it then would crash the process.
        commit.join()
        other.close()
        # Back in the pool, the connection waits for locks SQLite's way again.
        assert raw.execute("PRAGMA busy_timeout").fetchone() == (30_000,)
    assert claimed.message.subject == "Ankara INV-0042"


def test_a_group_of_results_is_written_together(outbox: Outbox) -> None:
    """Several results in one write (a worker's group commit): each message, each recipient
    and each log row as the result says; a lost lease changes only the log."""
    three = ("a@example.com", "b@example.com", "c@example.com")
    partly = outbox.enqueue(invoice(1, to=three)).id
    whole = outbox.enqueue(invoice(2)).id
    lost = outbox.enqueue(invoice(3)).id
    claimed = {c.id: c for c in outbox.claim(worker="w", limit=3, lease=60)}
    with outbox.engine.begin() as conn:  # another worker took this one over
        conn.execute(
            tables.messages.update().where(tables.messages.c.id == lost).values(lease_owner="other")
        )
    now = time.time()

    def result(
        entry: int, accepted: tuple[str, ...], refused: dict[str, tuple[int, str]]
    ) -> Record:
        message = claimed[entry].message
        sent = SendResult(
            message_id=message.message_id,
            accepted=accepted,
            refused=refused,
            code=250,
            reply="2.0.0 Ok: queued as Q" + str(entry),
            queue_id="Q" + str(entry),
        )
        decision = decide(
            pending=message.recipients,
            result=sent,
            attempts=1,
            created=claimed[entry].created,
            now=now,
            policy=RetryPolicy(),
        )
        return Record(claimed[entry], decision, now, 0.25, "mx.example:25", "a note")

    records = [
        result(partly, three[:2], {three[2]: (450, "4.2.0 mailbox busy")}),
        result(whole, ("jane@example.com",), {}),
        result(lost, ("jane@example.com",), {}),
    ]
    assert outbox.record(records, worker="w") == [True, True, False]

    first = outbox.get(partly)
    assert first.status is MessageStatus.DEFERRED and first.attempts == 1
    assert [r.status for r in first.recipients] == [
        RecipientStatus.ACCEPTED,
        RecipientStatus.ACCEPTED,
        RecipientStatus.PENDING,
    ]
    second = outbox.get(whole)
    assert second.status is MessageStatus.SENT and second.queue_id == "Q" + str(whole)
    assert second.sent_at is not None
    third = outbox.get(lost)
    assert third.status is MessageStatus.SENDING and third.attempts == 0
    assert third.recipients[0].status is RecipientStatus.PENDING
    [log] = outbox.attempts(whole)
    assert (log.number, log.worker, log.server, log.code) == (1, "w", "mx.example:25", 250)
    assert log.detail == "a note"
    [log] = outbox.attempts(lost)
    assert log.detail == "a note; the lease had run out and another worker took the message over"
    # Kept in English in the log, shown in the reader's language.
    assert detail_text(log.detail).render("sw") == (
        "a note; muda wa kuishikilia ulikuwa umekwisha na mchakato mwingine wa kutuma ukaichukua "
        "barua pepe hii"
    )
