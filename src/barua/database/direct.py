"""Statements run on the database driver's own cursor, inside a transaction SQLAlchemy began.

SQLAlchemy spends about 12 microseconds on every statement it executes (its cache key, its
execution context, its result) and 50 on a savepoint, where SQLite itself spends one. That is
nothing for the command line, but the relay's committer runs a dozen statements a message
for hundreds of messages a second, one at a time, holding the interpreter lock: there the
driver's cursor is used directly, for the few statements of that path. Their text is written
once, with ``?`` placeholders (SQLite's; psycopg's ``%s`` is made from it), and a driver's
error comes out as SQLAlchemy's (an ``IntegrityError`` is an ``IntegrityError``), so callers
handle them as they handle any other.

>>> FIND = Sql("SELECT status FROM relay_idempotency WHERE identity = ? AND message_id = ?")
>>> FIND.text("postgresql")
'SELECT status FROM relay_idempotency WHERE identity = %s AND message_id = %s'
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.exc import DBAPIError


class Sql:
    """One statement's text, written with ``?`` placeholders, for SQLite and PostgreSQL."""

    __slots__ = ("_postgresql", "_sqlite")

    def __init__(self, text: str) -> None:
        if "%" in text:
            raise ValueError("'%' would be a placeholder for psycopg")
        self._sqlite = text
        # An array of bytes goes in binary: as text, psycopg escapes each element and the
        # server parses the array again (four times slower for 200 KB).
        self._postgresql = text.replace("?::bytea[]", "%b::bytea[]").replace("?", "%s")

    def text(self, dialect: str) -> str:
        return self._postgresql if dialect == "postgresql" else self._sqlite

    def execute(self, conn: Connection, params: Sequence[Any]) -> Any:
        """The driver's cursor after running this statement with ``params`` on ``conn``."""
        sql = self.text(conn.dialect.name)
        cursor = _cursor(conn)
        with _as_sqlalchemy_errors(conn, sql, params):
            cursor.execute(sql, params)
        return cursor

    def execute_many(self, conn: Connection, rows: Sequence[Sequence[Any]]) -> None:
        """This statement run once for each of ``rows`` on ``conn``."""
        sql = self.text(conn.dialect.name)
        with _as_sqlalchemy_errors(conn, sql, rows):
            _cursor(conn).executemany(sql, rows)


def insert(table: Table, columns: Sequence[str], *, then: str = "") -> Sql:
    """``INSERT INTO table (columns) VALUES (?, …)``, and ``then`` (a conflict clause,
    ``RETURNING``); the names are checked against ``table``'s."""
    names = ", ".join(table.c[name].name for name in columns)
    marks = ", ".join("?" for _ in columns)
    # Every name is the schema's own and ``then`` is the caller's constant: no value is here.
    statement = f"INSERT INTO {table.name} ({names}) VALUES ({marks}) {then}"  # noqa: S608
    return Sql(statement.rstrip())


class _EntryId:
    def __repr__(self) -> str:
        return "ENTRY_ID"


ENTRY_ID: Any = _EntryId()
"""In a :class:`RowBeside`'s values: the id of the row it is written beside."""


RowShape = tuple[Table, tuple[str, ...], tuple[bool, ...]]
"""A :class:`RowBeside`'s table, columns, and which of its values is :data:`ENTRY_ID`."""


@dataclass(frozen=True, slots=True)
class RowBeside:
    """A row of another table written with a new row, in its transaction (on PostgreSQL in
    its statement): ``values`` by ``columns``, :data:`ENTRY_ID` where the new row's id goes
    (the relay's record of a message it accepted, beside the message's outbox entry)."""

    table: Table
    columns: tuple[str, ...]
    values: tuple[Any, ...]

    def shape(self) -> RowShape:
        """What the statement writing this row depends on: a statement made for one row
        serves every row of the same shape."""
        return self.table, self.columns, tuple(v is ENTRY_ID for v in self.values)

    def parameters(self, entry_id: int | None = None) -> list[Any]:
        """The values, with ``entry_id`` for :data:`ENTRY_ID` (left out when None: on
        PostgreSQL the statement takes the id from the entry's own row)."""
        if entry_id is None:
            return [v for v in self.values if v is not ENTRY_ID]
        return [entry_id if v is ENTRY_ID else v for v in self.values]


@contextmanager
def batch(conn: Connection) -> Iterator[None]:
    """The block's statements sent together, waited for once (PostgreSQL's pipeline mode:
    a fetch in the block waits for everything sent before it; the rest is waited for at
    the block's end, where an error of any of them comes out). SQLite has no round trips to
    save: there the block runs as it is."""
    if conn.dialect.name != "postgresql":
        yield
        return
    driver = conn.connection.driver_connection
    with _as_sqlalchemy_errors(conn, "(pipeline)", ()), driver.pipeline():  # type: ignore[union-attr]
        yield


class TransactionLost(Exception):
    """The transaction itself failed: a savepoint could not be taken, rolled back to or
    released, or the database ended the transaction on its own (SQLite does when the disk is
    full). Nothing done in it may be reported as done."""


class UnitSavepoints:
    """A savepoint for each unit of work of one transaction, so that a unit that fails is
    undone alone, taken with as few round trips as the database allows: on PostgreSQL the
    release of a unit's savepoint goes with the next one's, and the last one is released by
    the commit. A failure of these statements themselves is :class:`TransactionLost`."""

    def __init__(self, conn: Connection) -> None:
        self._cursor = _cursor(conn)
        self._together = conn.dialect.name == "postgresql"
        self._before: list[str] = []

    @contextmanager
    def unit(self) -> Iterator[None]:
        """The block in a savepoint of its own; its exception comes out as it was."""
        self._send([*self._before, "SAVEPOINT barua_unit"])
        self._before = []
        try:
            yield
        except BaseException:
            self._send(["ROLLBACK TO SAVEPOINT barua_unit"])
            raise
        self._before = ["RELEASE SAVEPOINT barua_unit"]

    def _send(self, statements: list[str]) -> None:
        try:
            if self._together:  # no parameters: one exchange for them all
                self._cursor.execute("; ".join(statements))
            else:  # SQLite's cursor runs one statement a call (and has no round trips)
                for statement in statements:
                    self._cursor.execute(statement)
        except Exception as exc:
            raise TransactionLost(f"{'; '.join(statements)}: {exc}") from exc


def check_transaction(conn: Connection) -> None:
    """:class:`TransactionLost` unless the driver's connection is still in a transaction that
    can commit (checked before a commit that reports earlier statements as done: the drivers
    commit nothing, without an error, when the transaction is gone or failed)."""
    driver: Any = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        # psycopg's TransactionStatus: INTRANS, not IDLE (ended) or INERROR (failed).
        alive = driver.info.transaction_status.name == "INTRANS"
    else:
        alive = bool(driver.in_transaction)
    if not alive:
        raise TransactionLost("the database ended the transaction")


def _cursor(conn: Connection) -> Any:
    if not conn.in_transaction():
        # SQLAlchemy must know the transaction its caller commits, or its commit does nothing.
        conn.begin()
    return conn.connection.driver_connection.cursor()  # type: ignore[union-attr]


@contextmanager
def _as_sqlalchemy_errors(conn: Connection, sql: str, params: Any) -> Iterator[None]:
    dbapi = conn.dialect.loaded_dbapi
    try:
        yield
    except dbapi.Error as exc:
        # The parameters are a message's addresses and content: never in an error's text.
        raise DBAPIError.instance(sql, params, exc, dbapi.Error, hide_parameters=True) from exc
