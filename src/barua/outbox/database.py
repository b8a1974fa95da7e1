"""Where the outbox lives: SQLite in ``$BARUA_HOME/barua.db`` by default, or PostgreSQL.

``BARUA_DATABASE_URL=postgresql://user@host/db`` moves the outbox to PostgreSQL, so any number
of workers on any number of machines share it. SQLite runs in WAL mode, so readers (the CLI,
the web app) never wait for the worker, and with a busy timeout, so writers queue instead of
failing.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError

from barua.errors import BaruaError
from barua.outbox import schema
from barua.store import barua_home

DATABASE_FILE = "barua.db"
ENV_DATABASE_URL = "BARUA_DATABASE_URL"
SQLITE_BUSY_TIMEOUT_MS = 30_000


class OutboxError(BaruaError):
    """The outbox cannot be opened, read or written, or an entry does not exist."""


def database_url(url: str | None = None) -> str:
    """The URL to use: ``url``, else ``$BARUA_DATABASE_URL``, else SQLite in barua's home."""
    chosen = url or os.environ.get(ENV_DATABASE_URL, "").strip()
    if not chosen:
        return f"sqlite:///{barua_home() / DATABASE_FILE}"
    # psycopg 3 is the driver barua installs; a plain postgresql:// URL means it.
    for prefix in ("postgresql://", "postgres://"):
        if chosen.startswith(prefix):
            return "postgresql+psycopg://" + chosen.removeprefix(prefix)
    return chosen


def redacted(url: str) -> str:
    """``url`` with any password masked, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(an invalid database URL)"


def create_outbox_engine(
    url: str | URL | None = None, *, pool_size: int = 8, relaxed: bool = False
) -> Engine:
    """An engine for the outbox database, configured for concurrent workers.

    ``relaxed`` (PostgreSQL): every statement commits on its own, and a commit returns before
    the server flushed it to disk (``synchronous_commit = off``), for what a worker writes
    about messages it holds; see :meth:`barua.outbox.queue.Outbox.worker_engine` for why a
    lost commit there can duplicate a message but never lose one.
    """
    if isinstance(url, URL):
        url = url.render_as_string(hide_password=False)
    resolved = database_url(url)
    try:
        parsed = make_url(resolved)
    except ArgumentError as exc:
        raise OutboxError(
            f"the outbox database URL is not valid: {redacted(resolved)}",
            hint=f"Set {ENV_DATABASE_URL} to a URL such as postgresql://user@host/database, "
            "or unset it to use SQLite.",
        ) from exc
    kwargs: dict[str, Any] = {"pool_size": pool_size, "max_overflow": pool_size}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            path = Path(parsed.database).expanduser()
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            # The outbox holds the business's invoices: readable by its owner only. SQLite
            # gives the -wal and -shm files the same mode.
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        kwargs["pool_pre_ping"] = not relaxed
        if relaxed:
            kwargs["isolation_level"] = "AUTOCOMMIT"
    try:
        engine = create_engine(resolved, **kwargs)
    except (ArgumentError, ImportError) as exc:
        raise OutboxError(
            f"the outbox database {redacted(resolved)} cannot be used: {exc}",
            hint=f"Check {ENV_DATABASE_URL}.",
        ) from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    elif relaxed and engine.dialect.name == "postgresql":
        event.listen(engine, "connect", _worker_connection)
    return engine


def _worker_connection(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("SET synchronous_commit TO OFF")
    # The claim takes the first few due messages in the order of the index that holds them
    # in that order. Right after a bulk enqueue, before PostgreSQL's statistics know of the
    # new rows, the planner believes a handful are due and sorts all of them instead: a claim
    # then costs in proportion to the queue (3 ms for 8 messages of 10,000 queued, 30 ms of
    # 100,000). So on a worker's connections a sort is the planner's last resort; the other
    # statements there sort a batch's few rows when they must, as before.
    cursor.execute("SET enable_sort TO OFF")
    cursor.close()
    if not dbapi_connection.autocommit:
        dbapi_connection.commit()  # a SET in a transaction rolled back would not last


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: readers do not block the writer; NORMAL: durable at every checkpoint, and a power
    # cut can lose at most the last transactions, never corrupt the file.
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def migrate(engine: Engine) -> int:
    """Run the migrations not yet run; returns the schema version. Safe to call from many
    processes at once: the first one migrates, the others wait and then find nothing to do."""
    # SQLite answers "database is locked" at once, without its busy wait, when connections
    # race to switch a new file to WAL or to upgrade a read lock: that race is worth retrying.
    deadline = time.monotonic() + 30
    while True:
        try:
            return _migrate(engine)
        except OperationalError as exc:
            if "database is locked" not in str(exc) or time.monotonic() > deadline:
                raise _not_prepared(engine, exc) from exc
            time.sleep(0.01)
        except SQLAlchemyError as exc:
            raise _not_prepared(engine, exc) from exc


def _not_prepared(engine: Engine, exc: SQLAlchemyError) -> OutboxError:
    return OutboxError(
        f"the outbox database {redacted(str(engine.url))} cannot be prepared: "
        f"{exc.__class__.__name__}: {_first_line(exc)}",
        hint="Check that the database is running and that barua may create tables in it.",
    )


def _migrate(engine: Engine) -> int:
    with engine.connect() as conn:
        if _current_version(conn) >= schema.SCHEMA_VERSION:
            return schema.SCHEMA_VERSION
    with engine.begin() as conn:
        _lock(conn)
        schema.migrations_table.create(conn, checkfirst=True)
        current = _current_version(conn)
        for migration in schema.MIGRATIONS:
            if migration.version <= current:
                continue
            migration.apply(conn)
            conn.execute(
                schema.RECORD_MIGRATION,
                {
                    "version": migration.version,
                    "description": migration.description,
                    "applied_at": time.time(),
                },
            )
    return schema.SCHEMA_VERSION


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(schema.LOCK_MIGRATIONS_PG)
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql(schema.LOCK_MIGRATIONS_SQLITE)


def _current_version(conn: Connection) -> int:
    if not conn.dialect.has_table(conn, schema.migrations_table.name):
        return 0
    version = conn.execute(schema.CURRENT_VERSION).scalar()
    return int(version or 0)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else ""
