"""Where barua keeps its data: SQLite in ``$BARUA_HOME/barua.db`` by default, or PostgreSQL.

With ``BARUA_DATABASE_URL=postgresql://user@host/db`` the businesses, their settings and the
outbox move to PostgreSQL, so any number of workers, web apps and relays on any number of
machines share them. SQLite runs in WAL mode, so readers (the command line, the web app) never
wait for the worker, and with a busy timeout, so writers queue instead of failing.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import tempfile
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from barua.database.errors import (
    CANNOT_CREATE,
    CANNOT_CREATE_HINT,
    DAMAGED,
    EMPTY_FILE,
    MOVE_AWAY_HINT,
    NOT_A_FILE,
    RESTORE_HINT,
    UNUSABLE,
    URL_HINT,
    URL_INVALID,
    DatabaseError,
)
from barua.files import private_directory
from barua.texts import Text

_Error = TypeVar("_Error", bound=DatabaseError)

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

    ``relaxed``: on PostgreSQL every statement commits on its own, and a commit returns before
    the server flushed it to disk (``synchronous_commit = off``); on SQLite a commit is synced
    at checkpoints only (``synchronous = NORMAL``); for what a worker writes
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
            _open_sqlite_file(Path(parsed.database).expanduser())
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
        event.listen(engine, "connect", _sqlite_worker_pragmas if relaxed else _sqlite_pragmas)
    elif relaxed and engine.dialect.name == "postgresql":
        event.listen(engine, "connect", _worker_connection)
    return engine


def _open_sqlite_file(path: Path) -> None:
    """Check the SQLite file at ``path`` before SQLite opens it, or make it.

    SQLite takes an empty file for an empty database and would fill it with new tables: a
    ``barua.db`` cut to 0 bytes would turn into an empty outbox without a word. barua never
    leaves its file empty (a new one is made beside it, in WAL mode, and moved into place),
    so an empty file is always damage, and is said so.
    """
    try:
        found = path.stat()
    except FileNotFoundError:
        _create_sqlite_file(path)
        return
    except OSError as exc:
        raise DatabaseError(
            CANNOT_CREATE(path=str(path), reason=exc.strerror or str(exc)),
            hint=CANNOT_CREATE_HINT(),
        ) from exc
    if not stat.S_ISREG(found.st_mode):
        raise DatabaseError(NOT_A_FILE(path=str(path)), hint=MOVE_AWAY_HINT(path=str(path)))
    if found.st_size == 0:
        raise DatabaseError(EMPTY_FILE(path=str(path)), hint=RESTORE_HINT(path=str(path)))


def _create_sqlite_file(path: Path) -> None:
    # The outbox holds the business's invoices: readable by its owner only (mkstemp: 0600;
    # SQLite gives the -wal and -shm files the same mode).
    try:
        private_directory(path.parent)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".new")
        os.close(fd)
        try:
            connection = sqlite3.connect(temporary)
            try:
                # Switching to WAL writes the file's first page: from now on it is never empty.
                connection.execute("PRAGMA journal_mode=WAL")
            finally:
                connection.close()
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)  # fails if another process made it first: theirs it is
        finally:
            for leftover in (temporary, f"{temporary}-wal", f"{temporary}-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(leftover)
    except (OSError, sqlite3.Error) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise DatabaseError(
            CANNOT_CREATE(path=str(path), reason=reason), hint=CANNOT_CREATE_HINT()
        ) from exc


def failure(
    kind: type[_Error], exc: BaseException, url: str | URL, *, text: Text, hint: Text
) -> _Error:
    """The error to raise when the database failed with ``exc``: ``text`` and ``hint`` (e.g.
    "check that the database is running"), unless ``exc`` says an SQLite file is damaged."""
    reason = str(getattr(exc, "orig", None) or exc)
    if any(sign in reason for sign in _DAMAGED):
        path = make_url(str(url)).database or str(url)
        return kind(DAMAGED(path=path, reason=reason.splitlines()[0]), hint=RESTORE_HINT(path=path))
    return kind(text, hint=hint)


_DAMAGED = ("file is not a database", "database disk image is malformed")
"""What SQLite says of a file that is not, or no longer, a whole database."""


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
    _sqlite_setup(dbapi_connection, synchronous="FULL")


def _sqlite_worker_pragmas(dbapi_connection: Any, _record: Any) -> None:
    _sqlite_setup(dbapi_connection, synchronous="NORMAL")


def _sqlite_setup(dbapi_connection: Any, *, synchronous: str) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # WAL: readers do not block the writer. FULL: a commit returns once it is on the disk, so
    # a message reported queued survives a power cut, as Postfix syncs before it answers 250.
    # NORMAL (a worker's writes about the messages it holds): durable at every checkpoint; a
    # power cut can lose the last commits, never corrupt the file, and a lost result only
    # sends a message a second time (see Outbox.worker_engine).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA synchronous={synchronous}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def first_line(exc: BaseException) -> str:
    """The first line of what the database driver said, with its class: evidence for a
    message, without the SQL and parameters SQLAlchemy appends."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return f"{exc.__class__.__name__}: {text.splitlines()[0] if text else ''}".rstrip(": ")
