"""A worker thread's own database connection, for the statements it runs for every message.

A worker claims a batch, and for each message records the result: on SQLite three statements
and a commit a message, on PostgreSQL one statement that does all three. Measured here,
SQLAlchemy's bookkeeping around one execution (parameter processing, result set-up) costs
~25 µs, more than SQLite takes to run such a statement, and checking a connection out of the
pool and back for every operation as much again. So the statements of
:mod:`~barua.outbox.schema` used here are compiled once for the database's dialect and run on
the driver's cursor, over one connection the thread keeps. The SQL stays SQLAlchemy's, from
the same named statements; only the per-execution overhead goes.

>>> with outbox.session(worker="host:42:ab12cd") as session:     # doctest: +SKIP
...     batch = session.claim(business="default", limit=16, lease=300)
...     session.record([...])
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache, partial
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from sqlalchemy import Connection, Dialect
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from barua.database.engine import SQLITE_BUSY_TIMEOUT_MS, failure, first_line
from barua.database.errors import FAILED, FAILED_HINT
from barua.message import OutgoingMessage
from barua.outbox import content, schema
from barua.outbox.errors import LEASE_LOST, OutboxError
from barua.outbox.outcome import Decision
from barua.outbox.status import MessageStatus, RecipientStatus
from barua.wire import WireData

if TYPE_CHECKING:
    from sqlalchemy import Engine

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Claimed:
    """A message a worker holds under a lease: the message to send to its pending recipients."""

    id: int
    message: OutgoingMessage
    attempts: int
    """Attempts made before this one."""
    created: float
    accepted_before: bool
    """True when an earlier attempt delivered to some of the recipients already."""


@dataclass(frozen=True, slots=True)
class Record:
    """What a worker writes after an attempt (see :meth:`Outbox.record`)."""

    claimed: Claimed
    decision: Decision
    started: float
    duration: float
    server: str
    detail: str | None = None


_CHECKPOINT_PAGES = 8192
"""WAL pages (4 KB each) between two checkpoints of a worker's SQLite connection."""


class _Sql:
    """A statement compiled once for one dialect, run on the driver's cursor."""

    def __init__(self, statement: ClauseElement, dialect: Dialect, columns: Sequence[str]) -> None:
        self._compiled = cast(
            SQLCompiler,
            statement.compile(dialect=dialect, column_keys=list(columns) if columns else None),
        )
        self._positional = dialect.positional
        # A statement with IN lists is rendered for each execution (once a batch); any other
        # is rendered once, with its own literal values kept as defaults.
        self._late = "__[POSTCOMPILE_" in self._compiled.string
        required = [name for bind, name in self._compiled.bind_names.items() if bind.required]
        state = self._compiled.construct_expanded_state(dict.fromkeys(required))
        self._text = state.statement
        self._order = tuple(state.positiontup or ())
        self._defaults = dict(state.parameters)

    def execute(self, cursor: Any, values: dict[str, Any]) -> Any:
        """Run with ``values`` (by parameter name; a list for an IN list)."""
        if self._late:
            state = self._compiled.construct_expanded_state(values)
            parameters = state.positional_parameters if self._positional else state.parameters
            return cursor.execute(state.statement, parameters)
        return cursor.execute(self._text, self._bind(values))

    def executemany(
        self, cursor: Any, rows: Sequence[dict[str, Any]], *, returning: bool = False
    ) -> None:
        """Run once for each of ``rows``; with ``returning`` (psycopg), each execution's result
        is kept, the first current, the next ones by ``cursor.nextset()``."""
        assert not self._late
        binds = [self._bind(values) for values in rows]
        if returning:
            cursor.executemany(self._text, binds, returning=True)
        else:
            cursor.executemany(self._text, binds)

    def _bind(self, values: dict[str, Any]) -> Sequence[Any] | dict[str, Any]:
        merged = self._defaults | values
        if not self._positional:
            return merged
        return [merged[name] for name in self._order]


@lru_cache(maxsize=64)
def _compiled(statement: ClauseElement, dialect: Dialect, columns: tuple[str, ...] = ()) -> _Sql:
    """``statement`` of :mod:`~barua.outbox.schema` for ``dialect`` (``columns``: an INSERT's)."""
    return _Sql(statement, dialect, columns)


class WorkerSession:
    """What one worker thread writes and reads, over a connection it keeps (see the module
    docstring). Not to be shared between threads; :meth:`Outbox.session` makes one."""

    def __init__(self, engine: Engine, *, worker: str) -> None:
        self.engine = engine
        """The outbox's :attr:`~barua.outbox.queue.Outbox.worker_engine`."""
        self.worker = worker
        self._conn: Connection | None = None
        self._disconnected = False
        """Whether the last failure was the connection's death."""
        self._busy = False
        """Whether the last failure was SQLite's lock, held by another writer."""
        self.reconnects = 0
        """How often work was run again on a new connection after the old one died."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            if conn.dialect.name == "sqlite" and not conn.invalidated:
                # Back to the pool as it came: other users wait for locks SQLite's way.
                try:
                    conn.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
                except SQLAlchemyError:
                    conn.invalidate()
            conn.close()

    @contextmanager
    def _cursor(self, *, write: bool = False) -> Iterator[tuple[Any, Dialect]]:
        """The driver's connection, committed after the block or rolled back on error. A
        connection that failed is dropped, so the next use connects again. ``write``: the
        block writes (on SQLite, it first takes the write lock, see :func:`_begin_write`)."""
        engine = self.engine
        dbapi = engine.dialect.loaded_dbapi
        try:
            if self._conn is None:
                self._conn = engine.connect()
                if engine.dialect.name == "sqlite":
                    # A checkpoint copies the WAL back into the database and syncs both files;
                    # every 1000 pages (SQLite's default) that is a quarter of a worker's
                    # commit time. Hot pages (the indexes) are written once per checkpoint,
                    # however often they changed, so fewer checkpoints also copy less.
                    self._conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint={_CHECKPOINT_PAGES}")
                    # Waits for the write lock are this session's own (see _begin_write).
                    self._conn.exec_driver_sql("PRAGMA busy_timeout=0")
                    self._conn.commit()
            raw: Any = self._conn.connection.dbapi_connection
            try:
                if write and engine.dialect.name == "sqlite":
                    _begin_write(raw)
                yield raw, engine.dialect
                raw.commit()
            except BaseException as exc:
                self._disconnected = isinstance(exc, dbapi.Error) and bool(
                    engine.dialect.is_disconnect(exc, raw, None)
                )
                self._busy = _is_busy(exc)
                try:
                    raw.rollback()
                except dbapi.Error:
                    pass  # a dead connection cannot roll back; the server already has
                finally:
                    self._conn.invalidate()
                    self.close()
                raise
        except (dbapi.Error, SQLAlchemyError) as exc:
            raise failure(
                OutboxError,
                exc,
                engine.url,
                text=FAILED(reason=first_line(exc)),
                hint=FAILED_HINT(),
            ) from exc

    # Claiming ---------------------------------------------------------------------------------

    def claim(self, *, business: str, limit: int, lease: float) -> list[Claimed]:
        """Take up to ``limit`` due messages of ``business`` under a lease of ``lease`` seconds."""
        now = time.time()
        values = {
            "p_profile": business,
            "p_now": now,
            "p_limit": limit,
            "p_worker": self.worker,
            "p_lease_until": now + lease,
        }
        return self._claim(schema.CLAIM_DUE, values)

    def claim_one(self, entry_id: int, *, lease: float) -> Claimed | None:
        """Take the message ``entry_id`` if it is due."""
        now = time.time()
        values = {
            "p_id": entry_id,
            "p_now": now,
            "p_worker": self.worker,
            "p_lease_until": now + lease,
        }
        claimed = self._claim(schema.CLAIM_ONE, values)
        return claimed[0] if claimed else None

    def renew(self, ids: Collection[int], *, lease: float) -> set[int]:
        """Extend the leases of the messages ``ids`` this worker still holds; returns their ids."""
        if not ids:
            return set()
        values = {
            "p_ids": list(ids),
            "p_worker": self.worker,
            "p_lease_until": time.time() + lease,
        }

        def renew(raw: Any, dialect: Dialect) -> set[int]:
            rows = _compiled(schema.RENEW_LEASES, dialect).execute(raw.cursor(), values)
            return {row[0] for row in rows.fetchall()}

        return self._run(renew, write=True)

    def _run(self, work: Callable[[Any, Dialect], _T], *, write: bool = False) -> _T:
        """``work`` in one transaction (see :meth:`_cursor`). The connection is kept from one
        use to the next, and a new one may come from the pool, so it may have died meanwhile
        (the database restarted): then the work runs once more on a new connection. Each unit
        here may run twice: a record whose commit happened but whose answer was lost finds
        the rows already changed and changes nothing more; a claim takes other messages, and
        :attr:`reconnects` tells the worker that the first ones may be held (see
        :meth:`barua.outbox.leases.Leases.forgotten`)."""
        retried = False
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
        delay = 1e-3
        while True:
            try:
                with self._cursor(write=write) as (raw, dialect):
                    return work(raw, dialect)
            except OutboxError:
                if self._busy and time.monotonic() < deadline:
                    # Rare: a read SQLite could not start (a writer is recovering the WAL).
                    time.sleep(delay)
                    delay = min(delay * 2, 0.1)
                    continue
                if retried or not self._disconnected:
                    raise
                retried = True
                self.reconnects += 1

    def _claim(self, statement: ClauseElement, values: dict[str, Any]) -> list[Claimed]:
        def take(raw: Any, dialect: Dialect) -> list[Any]:
            return list(_compiled(statement, dialect).execute(raw.cursor(), values).fetchall())

        rows = self._run(take, write=True)
        # Committed before the bytes are read, so SQLite's write lock is not held meanwhile.
        if not rows:
            return []
        return self._run(partial(self._load, rows=rows))

    def _load(self, raw: Any, dialect: Dialect, *, rows: Sequence[Any]) -> list[Claimed]:
        """The messages of claimed ``rows``: two queries for the whole batch."""
        ids = [row[0] for row in rows]
        pending: dict[int, list[str]] = {i: [] for i in ids}
        accepted: set[int] = set()
        chunks: dict[int, list[bytes]] = {i: [] for i in ids}
        recipients = _compiled(schema.RECIPIENT_STATES_OF_MANY, dialect)
        for message_pk, address, status in recipients.execute(raw.cursor(), {"p_ids": ids}):
            if status == RecipientStatus.PENDING.value:
                pending[message_pk].append(address)
            elif status == RecipientStatus.ACCEPTED.value:
                accepted.add(message_pk)
        # PostgreSQL sends bytea as hex text unless asked for binary: half the bytes, no decoding.
        cursor = raw.cursor(binary=True) if dialect.name == "postgresql" else raw.cursor()
        for message_pk, data in _compiled(schema.MESSAGE_BYTES, dialect).execute(
            cursor, {"p_ids": ids}
        ):
            chunks[message_pk].append(bytes(data))
        claimed = []
        for pk, message_id, sender, subject, attempts, created_at, wire_ready in rows:
            data = content.join(chunks[pk])
            claimed.append(
                Claimed(
                    id=pk,
                    message=OutgoingMessage(
                        message_id=message_id,
                        sender=sender,
                        recipients=tuple(pending[pk]),
                        # Checked at enqueue: DATA sends these bytes without scanning them.
                        data=WireData(data) if wire_ready else data,
                        subject=subject,
                    ),
                    attempts=attempts,
                    created=created_at,
                    accepted_before=pk in accepted,
                )
            )
        return claimed

    # Recording --------------------------------------------------------------------------------

    def record(self, records: Sequence[Record]) -> list[bool]:
        """See :meth:`barua.outbox.queue.Outbox.record`."""
        if not records:
            return []
        return self._run(partial(self._record, records=records, now=time.time()), write=True)

    def _record(
        self, raw: Any, dialect: Dialect, *, records: Sequence[Record], now: float
    ) -> list[bool]:
        if dialect.name == "postgresql":
            return self._record_postgresql(raw, dialect, records, now)
        cursor = raw.cursor()
        finish = _compiled(schema.FINISH_OWNED, dialect)
        # The lease is checked by the update itself: it returns the row only while this
        # worker still holds the message.
        kept = [
            finish.execute(cursor, _finish_params(record, self.worker, now)).fetchone() is not None
            for record in records
        ]
        changes = [
            {
                "p_id": record.claimed.id,
                "p_address": address,
                "p_rstatus": update.status.value,
                "p_rcode": update.code,
                "p_rreply": update.reply,
                "p_now": now,
            }
            for record, ok in zip(records, kept, strict=True)
            if ok
            for address, update in record.decision.recipients.items()
        ]
        if changes:
            _compiled(schema.SET_RECIPIENT, dialect).executemany(cursor, changes)
        logged = [
            attempt_row(record, self.worker, ok) for record, ok in zip(records, kept, strict=True)
        ]
        _compiled(schema.INSERT_ATTEMPT, dialect, tuple(logged[0])).executemany(cursor, logged)
        return kept

    def _record_postgresql(
        self, raw: Any, dialect: Dialect, records: Sequence[Record], now: float
    ) -> list[bool]:
        """PostgreSQL: :meth:`record` as one statement a record (:data:`schema.RECORD_ATTEMPT`),
        each committing on its own (the worker's connections commit every statement), several
        sent together in one round trip. Measured against the same three statements in a
        pipelined transaction, a record costs the worker 43 µs of CPU instead of 114."""
        worker = self.worker
        rows = [_record_params(record, worker, now) for record in records]
        statement = _compiled(schema.RECORD_ATTEMPT, dialect)
        cursor = raw.cursor()
        if len(rows) == 1:  # the usual case; executemany would add psycopg's pipeline mode
            kept = [statement.execute(cursor, rows[0]).fetchone() is not None]
        else:
            statement.executemany(cursor, rows, returning=True)
            kept = []
            while True:
                kept.append(cursor.fetchone() is not None)
                if not cursor.nextset():
                    break
        lost = [
            {
                "p_id": record.claimed.id,
                "p_number": record.claimed.attempts + 1,
                "p_worker": worker,
                "p_detail": attempt_row(record, worker, False)["detail"],
            }
            for record, ok in zip(records, kept, strict=True)
            if not ok
        ]
        if lost:  # rare: a lease ran out during the attempt
            _compiled(schema.LOST_LEASE_DETAIL, dialect).executemany(raw.cursor(), lost)
        return kept


def _begin_write(raw: Any) -> None:
    """SQLite: begin a transaction holding the write lock, waiting for it in short steps.

    SQLite's own wait (its busy handler) sleeps 1 ms at its first retry, then longer: with
    several worker processes each committing a few hundred microseconds of work per message,
    that sleep, not the lock, would set their pace. Here the wait starts at 20 µs and doubles
    up to 1 ms, for as long as SQLite itself would wait. (The session's connection has
    SQLite's own wait turned off, and restored when it goes back to the pool.)
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    delay = 20e-6
    while True:
        try:
            raw.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or time.monotonic() > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 1e-3)


def _is_busy(exc: BaseException) -> bool:
    return (
        isinstance(exc, sqlite3.OperationalError)
        and getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY
    )


def _finish_params(record: Record, worker: str, now: float) -> dict[str, Any]:
    decision = record.decision
    return {
        "p_id": record.claimed.id,
        "p_worker": worker,
        "p_status": decision.status.value,
        "p_next_attempt_at": decision.next_attempt_at,
        "p_now": now,
        "p_sent_at": now if decision.status is MessageStatus.SENT else None,
        "p_error": decision.error,
        "p_error_text": decision.error_text,
        "p_error_class": decision.error_class,
        "p_step": decision.step,
        "p_code": decision.code,
        "p_reply": decision.reply,
        "p_queue_id": decision.queue_id,
    }


def _record_params(record: Record, worker: str, now: float) -> dict[str, Any]:
    """The values of :data:`schema.RECORD_ATTEMPT` for ``record``."""
    updates = record.decision.recipients
    logged = attempt_row(record, worker, True)
    return (
        _finish_params(record, worker, now)
        | {
            "p_addresses": list(updates),
            "p_rstatuses": [update.status.value for update in updates.values()],
            "p_rcodes": [update.code for update in updates.values()],
            "p_rreplies": [update.reply for update in updates.values()],
        }
        | {f"a_{name}": value for name, value in logged.items()}
    )


def attempt_row(record: Record, worker: str, kept: bool) -> dict[str, Any]:
    """The delivery log's row for ``record``; ``kept``: whether the lease was still held."""
    decision = record.decision
    detail = record.detail
    if not kept:
        lost = LEASE_LOST.template  # kept in English, shown translated (detail_text)
        detail = f"{detail}; {lost}" if detail else lost
    return {
        "message_pk": record.claimed.id,
        "number": record.claimed.attempts + 1,
        "worker": worker,
        "started_at": record.started,
        "duration": record.duration,
        "server": record.server,
        "outcome": decision.outcome.value,
        "code": decision.code,
        "reply": decision.reply,
        "error_class": decision.error_class,
        "step": decision.step,
        "error": decision.error,
        "error_text": decision.error_text,
        "detail": detail,
    }
