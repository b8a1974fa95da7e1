"""Units of work from many threads committed in one transaction: a group commit for writes
that must be durable before their caller answers (the relay's ``202``).

An SQLite commit in WAL mode with ``synchronous=FULL`` waits for the disk; so does a
PostgreSQL commit. A relay answering sixteen clients at once would wait sixteen times in
turn. Here one thread runs whatever work is waiting in one transaction (a unit that fails
is rolled back alone and its caller gets its exception, see :func:`_run`), and commits once
for all of them; every caller returns only after that commit. A unit of work holds no more
than a commit per unit would: its caller still answers after its own writes are on disk.

On PostgreSQL several committer threads (:data:`POSTGRES_COMMITTERS`) each take the units
waiting when they are free: a unit spends most of its time waiting for the server's answers,
and PostgreSQL commits concurrent transactions side by side (a Message-ID decided twice at
once is caught by the idempotency record's unique key, and decided again). SQLite has one
writer at a time, so one committer.

Several processes on one SQLite file (two relays) take turns: each committer holds an
exclusive ``flock`` on a file beside the database for its transaction. SQLite's own busy
handler would also serialise them, but it polls with sleeps of up to 100 ms; the kernel
wakes the next committer the moment the lock is free.

Callers are on an event loop and await :meth:`SharedTransactions.run_async`: the committer
hands the outcome back to the loop, so no thread waits for the disk on a request's behalf.

>>> shared = SharedTransactions(outbox.engine)                     # doctest: +SKIP
>>> work = lambda conn: outbox.insert(conn, message, business="relay")
>>> entry_id = await shared.run_async(work)                          # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import queue
import threading
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from barua.database import direct
from barua.database.engine import failure, first_line
from barua.database.errors import FAILED, FAILED_HINT
from barua.outbox.errors import OutboxError

_T = TypeVar("_T")

MAX_GROUP = 64
"""The most units in one transaction: a long queue is served by several commits."""
POSTGRES_COMMITTERS = 2
"""Committer threads on PostgreSQL (each with its own connection). Two, not more: measured
on loopback (bench/relay.py, 16 clients), four gave fewer accepts a second than one or two and
twice the p99, each committer waiting its turn for the interpreter lock after every answer
of the server; a second one keeps a round trip of one group from holding up the next."""
LOCK_WAIT = "5s"
"""PostgreSQL: the longest a unit waits for a row another transaction holds."""
_LOCK_WAIT = direct.Sql(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'")


class LockTimeout(Exception):
    """A unit of work waited too long for a row another transaction holds (PostgreSQL)."""


class SharedTransactions:
    """Runs units of work (``work(conn)``) from any thread, several in one transaction."""

    def __init__(
        self, engine: Engine, *, name: str = "barua-shared-commit", committers: int | None = None
    ) -> None:
        self._engine = engine
        self._lock_path = _lock_path(engine)
        self._queue: queue.SimpleQueue[_Unit[Any] | None] = queue.SimpleQueue()
        if committers is None:
            committers = POSTGRES_COMMITTERS if engine.dialect.name == "postgresql" else 1
        self._threads = [
            threading.Thread(target=self._serve, name=f"{name}-{n}", daemon=True)
            for n in range(committers)
        ]
        for thread in self._threads:
            thread.start()

    async def run_async(self, work: Callable[[Connection], _T]) -> _T:
        """``work`` done in a transaction shared with others, once it is committed: its
        result, or its exception (an :class:`OutboxError` when the commit failed). The event
        loop goes on serving meanwhile: the committer hands the outcome back to it."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()

        def finished(_unit: _Unit[_T]) -> None:
            loop.call_soon_threadsafe(_settle, future)

        unit: _Unit[_T] = _Unit(work, finished)
        self._queue.put(unit)
        await future
        return unit.outcome()

    def close(self) -> None:
        for _thread in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=30)

    def _serve(self) -> None:
        # Each committer keeps its connection from one group to the next (taking one from the
        # pool and giving it back costs as much as a group's statements); after a failure it
        # takes a new one.
        conn: Connection | None = None
        turn = _FileTurn(self._lock_path) if self._lock_path else None
        stopping = False
        try:
            while not stopping:
                item = self._queue.get()
                group: list[_Unit[Any]] = []
                while item is not None:
                    group.append(item)
                    if len(group) >= MAX_GROUP:
                        break
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                stopping = item is None
                if group:
                    conn = self._commit(group, conn, turn)
        finally:
            if conn is not None:
                _discard(conn)
            if turn is not None:
                turn.close()

    def _commit(
        self, group: list[_Unit[Any]], conn: Connection | None, turn: _FileTurn | None
    ) -> Connection | None:
        """Run and commit ``group`` on ``conn`` (or a new connection) during ``turn``; the
        connection for the next group, None when this one failed."""
        try:
            with turn or nullcontext():
                if conn is None:
                    conn = self._engine.connect()
                _run(group, conn)
        except BaseException as exc:  # the thread must go on serving
            if isinstance(exc, SQLAlchemyError | direct.TransactionLost):
                exc = failure(
                    OutboxError, exc, self._engine.url, text=FAILED(reason=first_line(exc)),
                    hint=FAILED_HINT(),
                )  # fmt: skip
            for unit in group:
                unit.result, unit.error = None, exc
            if conn is not None:
                _discard(conn)
            conn = None
        for unit in group:
            # A caller whose event loop has closed meanwhile cannot stop the committer.
            with contextlib.suppress(Exception):
                unit.finished(unit)
        return conn


def _run(group: list[_Unit[Any]], conn: Connection) -> None:
    """``group`` run and committed in one transaction on ``conn``, each unit's outcome kept;
    raises when the transaction itself failed (then no unit is done).

    The units run one after the other with no savepoint first: a savepoint costs a round
    trip on PostgreSQL, one a unit, where a unit's own work is two, and units rarely fail.
    When one does, the transaction is rolled back and the group runs again with a savepoint
    for each unit, so that the one that fails is undone alone. A unit may therefore run
    twice, the first time rolled back: its work must change nothing outside the
    transaction, or change it once."""
    _begin(conn)
    if len(group) == 1:
        # Alone in its transaction, a unit that fails needs no savepoint: the transaction is
        # rolled back.
        [unit] = group
        try:
            unit.result = unit.work(conn)
        except Exception as exc:  # handed to the unit's caller
            unit.error = _lock_timeout(exc) or exc
            conn.rollback()
            return
    else:
        try:
            for unit in group:
                unit.result = unit.work(conn)
        except Exception:  # run again, each unit undone alone if it fails
            conn.rollback()
            _begin(conn)
            _run_apart(group, conn)
    direct.check_transaction(conn)
    conn.commit()


def _begin(conn: Connection) -> None:
    """The transaction begun, with the lock wait set (PostgreSQL: one round trip for both)."""
    # Begun here, so that commit and rollback reach the driver even when every statement of
    # the group runs on its cursor (barua.database.direct).
    conn.begin()
    if conn.dialect.name == "postgresql":
        with direct.batch(conn):
            _LOCK_WAIT.execute(conn, ())
    elif conn.dialect.name == "sqlite":
        # The write lock first: pysqlite would begin only at the first write, and a savepoint
        # before it would begin and end a transaction of its own.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _run_apart(group: list[_Unit[Any]], conn: Connection) -> None:
    """``group`` run in the transaction begun on ``conn``, each unit in a savepoint."""
    savepoints = direct.UnitSavepoints(conn)
    for unit in group:
        unit.result = unit.error = None
        try:
            with savepoints.unit():
                unit.result = unit.work(conn)
        except direct.TransactionLost:
            raise  # every unit of the group with it
        except Exception as exc:  # handed to the unit's caller
            unit.error = _lock_timeout(exc) or exc


def _discard(conn: Connection) -> None:
    """Close a committer's connection after a failure for good, whatever state it is in."""
    with contextlib.suppress(Exception):  # gone with a failure, perhaps
        conn.invalidate()
        conn.close()


class _FileTurn:
    """An exclusive ``flock`` on ``path`` while held: one committer of all processes at once.
    The file stays open between turns (one turn for each committer thread: threads sharing
    an open file would share its lock)."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._fd = -1

    def __enter__(self) -> None:
        if self._fd < 0:
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _lock_path(engine: Engine) -> str | None:
    """The file whose lock orders the committers of an SQLite database file; None otherwise."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    return os.path.expanduser(database) + "-commit.lock"


def _lock_timeout(exc: Exception) -> LockTimeout | None:
    """PostgreSQL's ``lock_not_available`` (55P03) and ``deadlock_detected`` (40P01: two
    committers locking two keys' rows in opposite orders) as :class:`LockTimeout`: the
    caller answers "try again shortly"."""
    original = getattr(exc, "orig", None)
    if getattr(original, "sqlstate", None) in ("55P03", "40P01"):
        return LockTimeout(str(original))
    return None


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():  # the waiting request may have been cancelled (its client left)
        future.set_result(None)


@dataclass(slots=True, eq=False)
class _Unit(Generic[_T]):
    work: Callable[[Connection], _T]
    finished: Callable[[_Unit[_T]], None]
    """Called by the committer once the unit's outcome is known."""
    result: _T | None = None
    error: BaseException | None = None

    def outcome(self) -> _T:
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]
