"""The group commit the relay answers from (barua.outbox.shared): nothing is reported done
unless it was committed, whatever fails inside the group, and the committer goes on."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from barua.database import direct, tables
from barua.message import OutgoingMessage
from barua.outbox import Outbox
from barua.outbox.errors import OutboxError
from barua.outbox.shared import SharedTransactions
from tests.conftest import home_url
from tests.test_outbox_queue import db_url, outbox, pg_url, pg_user  # noqa: F401 - fixtures


def message(number: int, size: int = 100) -> OutgoingMessage:
    data = (
        f"From: shop@example.com\r\nMessage-ID: <{number}@example.com>\r\n\r\n".encode()
        + b"x" * size
        + b"\r\n"
    )
    return OutgoingMessage(
        message_id=f"<{number}@example.com>",
        sender="shop@example.com",
        recipients=("jane@example.com",),
        data=data,
        subject=f"number {number}",
    )


def stored_ids(box: Outbox) -> list[str]:
    with box.engine.connect() as conn:
        found = conn.execute(select(tables.messages.c.message_id)).scalars().all()
    return sorted(found)


def test_a_group_whose_transaction_the_database_ended_reports_nothing_done(
    barua_home: Path,
) -> None:
    # Three requests in one transaction; the second fills the disk (a small page limit stands
    # in for it), and SQLite then rolls the whole transaction back. The first had finished
    # its writes: it must not be answered as stored, and nor may the third.
    with Outbox.open(home_url()) as opened:
        shared = SharedTransactions(opened.engine)

        def limited(conn: Connection) -> str:
            driver = conn.connection.driver_connection
            pages = driver.execute("PRAGMA page_count").fetchone()[0]  # type: ignore[union-attr]
            driver.execute(f"PRAGMA max_page_count = {pages + 40}")  # type: ignore[union-attr]
            time.sleep(0.3)  # the three below queue up meanwhile: one group
            return "limited"

        def insert(number: int, size: int):  # type: ignore[no-untyped-def]
            return lambda conn: opened.insert(conn, message(number, size), business="relay")

        async def requests() -> list[object]:
            first = asyncio.create_task(shared.run_async(limited))
            await asyncio.sleep(0.05)
            group = [
                asyncio.create_task(shared.run_async(insert(number, size)))
                for number, size in ((1, 100), (2, 2_000_000), (3, 100))
            ]
            assert await first == "limited"
            return await asyncio.gather(*group, return_exceptions=True)

        try:
            outcomes = asyncio.run(requests())
            assert all(isinstance(o, OutboxError) for o in outcomes), outcomes
            assert stored_ids(opened) == []
            # The committer goes on, on a new connection (without the page limit).
            asyncio.run(shared.run_async(insert(4, 2_000_000)))
            assert stored_ids(opened) == ["<4@example.com>"]
        finally:
            shared.close()


def test_a_savepoint_that_cannot_be_rolled_back_fails_its_whole_group(barua_home: Path) -> None:
    with Outbox.open(home_url()) as opened:
        shared = SharedTransactions(opened.engine)

        def ends_the_transaction(conn: Connection) -> None:
            # What the database does on its own to a transaction (disk full, a deadlock
            # victim): the savepoint is gone with it.
            conn.connection.driver_connection.rollback()  # type: ignore[union-attr]
            raise RuntimeError("and then this unit fails")

        async def requests() -> list[object]:
            blocker = asyncio.create_task(shared.run_async(lambda conn: time.sleep(0.3)))
            await asyncio.sleep(0.05)
            group = [
                asyncio.create_task(shared.run_async(work))
                for work in (
                    lambda conn: opened.insert(conn, message(1), business="relay"),
                    ends_the_transaction,
                    lambda conn: opened.insert(conn, message(3), business="relay"),
                )
            ]
            await blocker
            return await asyncio.gather(*group, return_exceptions=True)

        try:
            outcomes = asyncio.run(requests())
            assert all(isinstance(o, OutboxError) for o in outcomes), outcomes
            assert stored_ids(opened) == []
        finally:
            shared.close()


def test_rows_written_on_the_drivers_cursor_are_committed_by_the_caller(
    outbox: Outbox,  # noqa: F811
) -> None:
    # Outbox.insert leaves the commit to its caller; SQLAlchemy must know a transaction began
    # although every statement ran on the driver's cursor (barua.database.direct).
    with outbox.engine.connect() as conn:
        outbox.insert(conn, message(7), business="relay")
        assert conn.in_transaction()
        conn.commit()
    assert stored_ids(outbox) == ["<7@example.com>"]


def test_a_unit_that_fails_in_a_group_is_undone_alone(outbox: Outbox) -> None:  # noqa: F811
    # The middle one breaks a unique key after writing: its rows go, the others' stay, and the
    # group after it commits as usual.
    shared = SharedTransactions(outbox.engine)
    record = direct.insert(tables.relay_idempotency, ["identity", "message_id", "fingerprint",
                           "status", "answer", "created_at"])  # fmt: skip

    def duplicate(conn: Connection) -> None:
        outbox.insert(conn, message(2), business="relay")
        for _ in range(2):
            record.execute(conn, (1, "<same@example.com>", "f", 202, "{}", 0.0))

    async def requests(works: list[object]) -> list[object]:
        blocker = asyncio.create_task(shared.run_async(lambda conn: time.sleep(0.3)))
        await asyncio.sleep(0.05)
        group = [asyncio.create_task(shared.run_async(work)) for work in works]  # type: ignore[arg-type]
        await blocker
        return await asyncio.gather(*group, return_exceptions=True)

    def insert(number: int):  # type: ignore[no-untyped-def]
        return lambda conn: outbox.insert(conn, message(number), business="relay")

    try:
        first, failed, third = asyncio.run(requests([insert(1), duplicate, insert(3)]))
        assert isinstance(first, int) and isinstance(third, int)
        assert isinstance(failed, IntegrityError), failed
        assert stored_ids(outbox) == ["<1@example.com>", "<3@example.com>"]
        asyncio.run(requests([insert(4), insert(5)]))
        assert stored_ids(outbox)[-2:] == ["<4@example.com>", "<5@example.com>"]
    finally:
        shared.close()
