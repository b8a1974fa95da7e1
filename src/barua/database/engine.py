"""Where barua keeps its data: SQLite in ``$BARUA_HOME/barua.db`` by default, or PostgreSQL.

With ``BARUA_DATABASE_URL=postgresql://user@host/db`` the businesses, their settings and the
outbox move to PostgreSQL, so any number of workers, web apps and relays on any number of
machines share them. SQLite runs in WAL mode, so readers (the command line, the web app) never
wait for the worker, and with a busy timeout, so writers queue instead of failing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from barua.database.errors import UNUSABLE, URL_HINT, URL_INVALID, DatabaseError

DATABASE_FILE = "barua.db"
SQLITE_BUSY_TIMEOUT_MS = 30_000


def database_url(url: str | None, *, home: Path) -> str:
    """The URL to use: ``url`` (``BARUA_DATABASE_URL``), else SQLite in ``home``."""
    chosen = (url or "").strip()
    return _with_driver(chosen) if chosen else f"sqlite:///{home / DATABASE_FILE}"


def _with_driver(url: str) -> str:
    # psycopg 3 is the driver barua installs; a plain postgresql:// URL means it.
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def redacted(url: str) -> str:
    """``url`` with any password masked, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(an invalid database URL)"


def create_database_engine(url: str | URL, *, pool_size: int = 8, relaxed: bool = False) -> Engine:
    """An engine for ``url`` (see :func:`database_url`), configured for concurrent workers.

    ``relaxed`` (PostgreSQL): every statement commits on its own, and a commit returns before
    the server flushed it to disk (``synchronous_commit = off``), for what a worker writes
    about messages it holds; see :meth:`barua.outbox.queue.Outbox.worker_engine` for why a
    lost commit there can duplicate a message but never lose one.
    """
    if isinstance(url, URL):
        url = url.render_as_string(hide_password=False)
    resolved = _with_driver(url)
    try:
        parsed = make_url(resolved)
    except ArgumentError as exc:
        raise DatabaseError(URL_INVALID(url=redacted(resolved)), hint=URL_HINT()) from exc
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
        raise DatabaseError(
            UNUSABLE(url=redacted(resolved), reason=str(exc)), hint=URL_HINT()
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


def first_line(exc: BaseException) -> str:
    """The first line of what the database driver said, with its class: evidence for a
    message, without the SQL and parameters SQLAlchemy appends."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return f"{exc.__class__.__name__}: {text.splitlines()[0] if text else ''}".rstrip(": ")
