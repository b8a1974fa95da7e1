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
        self._postgresql = text.replace("?", "%s")

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


@contextmanager
def savepoint(conn: Connection) -> Iterator[None]:
    """The block's statements undone alone when it raises (the transaction goes on)."""
    cursor = _cursor(conn)
    cursor.execute("SAVEPOINT barua_unit")
    try:
        yield
    except BaseException:
        cursor.execute("ROLLBACK TO SAVEPOINT barua_unit")
        cursor.execute("RELEASE SAVEPOINT barua_unit")
        raise
    cursor.execute("RELEASE SAVEPOINT barua_unit")


def _cursor(conn: Connection) -> Any:
    return conn.connection.driver_connection.cursor()  # type: ignore[union-attr]


@contextmanager
def _as_sqlalchemy_errors(conn: Connection, sql: str, params: Any) -> Iterator[None]:
    dbapi = conn.dialect.loaded_dbapi
    try:
        yield
    except dbapi.Error as exc:
        raise DBAPIError.instance(sql, params, exc, dbapi.Error) from exc
