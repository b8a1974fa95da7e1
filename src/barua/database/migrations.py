"""The schema's versions: each migration runs once, in order, whatever the number of processes
starting at the same moment (one migrates, the others wait and find nothing to do)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, Index, Table, func, insert, inspect, select, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from barua.database.engine import failure, first_line, redacted
from barua.database.errors import NOT_PREPARED, PREPARE_HINT, DatabaseError
from barua.database.tables import (
    api_tokens,
    attempts,
    blobs,
    business_files,
    businesses,
    documents,
    login_attempts,
    messages,
    meta,
    metadata,
    migrations_table,
    oauth_tokens,
    pauses,
    pieces,
    recipients,
    relay_config,
    relay_idempotency,
    relay_keys,
    relay_messages,
    relay_suppressed,
    setup_links,
    users,
    web_sessions,
)


@dataclass(frozen=True, slots=True)
class Migration:
    """One step of the schema; a released step never changes, a new one is appended."""

    version: int
    description: str
    apply: Callable[[Connection], None]


def _v1(conn: Connection) -> None:
    # Version 1 creates the tables as defined above, so on a new database they already have
    # the columns later migrations add: each of those adds its column only when it is missing.
    tables = [blobs, messages, recipients, pieces, attempts, pauses, meta]
    metadata.create_all(conn, tables=tables, checkfirst=True)


def _add_column(conn: Connection, table: Table, name: str) -> None:
    if name in {column["name"] for column in inspect(conn).get_columns(table.name)}:
        return
    column = table.c[name]
    kind = column.type.compile(dialect=conn.dialect)
    # The names come from the table definitions above, never from input.
    conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{name}" {kind}'))


def _replace_index(conn: Connection, index: Index) -> None:
    table = index.table
    assert table is not None
    found = {i["name"]: i["column_names"] for i in inspect(conn).get_indexes(table.name)}
    if found.get(index.name) == [c.name for c in index.columns]:
        return
    if index.name in found:
        conn.execute(text(f"DROP INDEX {index.name}"))  # names from the definitions above
    index.create(conn)


def _v2(conn: Connection) -> None:
    _add_column(conn, messages, "wire_ready")
    _replace_index(conn, next(i for i in messages.indexes if i.name == "outbox_messages_due"))


def _v3(conn: Connection) -> None:
    metadata.create_all(conn, tables=[businesses, business_files, oauth_tokens], checkfirst=True)
    _add_column(conn, messages, "last_error_text")
    _add_column(conn, attempts, "error_text")
    _add_column(conn, pauses, "reason_text")


def _v4(conn: Connection) -> None:
    web = [users, web_sessions, setup_links, login_attempts, api_tokens, documents]
    metadata.create_all(conn, tables=web, checkfirst=True)


def _v5(conn: Connection) -> None:
    relay = [relay_keys, relay_messages, relay_idempotency, relay_suppressed, relay_config]
    metadata.create_all(conn, tables=relay, checkfirst=True)


def _v6(conn: Connection) -> None:
    _add_column(conn, messages, "retried_at")


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "create the outbox tables", _v1),
    Migration(2, "remember which messages go into SMTP DATA as they are; due index by id", _v2),
    Migration(
        3,
        "businesses with their email settings, files and sign-ins; errors kept as codes "
        "with values",
        _v3,
    ),
    Migration(4, "the web app: users, sessions, setup links, API tokens, documents", _v4),
    Migration(5, "the relay: API keys, accepted messages, idempotency records, suppressions", _v5),
    Migration(6, "remember when a person last asked to send an entry again", _v6),
)
"""Every migration in order; :func:`migrate` runs those not yet run."""

SCHEMA_VERSION = MIGRATIONS[-1].version

# Any number 64-bit number works; this one spells "barua" in ASCII.
PG_MIGRATION_LOCK = 0x6261727561

LOCK_MIGRATIONS_PG = text("SELECT pg_advisory_xact_lock(:p_key)").bindparams(
    p_key=PG_MIGRATION_LOCK
)
"""PostgreSQL: one process migrates at a time; the others wait, then find nothing to do."""
LOCK_MIGRATIONS_SQLITE = "BEGIN IMMEDIATE"
"""SQLite: take the write lock first, so two processes never migrate at once."""
CURRENT_VERSION = select(func.max(migrations_table.c.version))
RECORD_MIGRATION = insert(migrations_table)


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


def _not_prepared(engine: Engine, exc: SQLAlchemyError) -> DatabaseError:
    return failure(
        DatabaseError,
        exc,
        engine.url,
        text=NOT_PREPARED(url=redacted(str(engine.url)), reason=first_line(exc)),
        hint=PREPARE_HINT(),
    )


def _migrate(engine: Engine) -> int:
    with engine.connect() as conn:
        if _current_version(conn) >= SCHEMA_VERSION:
            return SCHEMA_VERSION
    with engine.begin() as conn:
        _lock(conn)
        migrations_table.create(conn, checkfirst=True)
        current = _current_version(conn)
        for migration in MIGRATIONS:
            if migration.version <= current:
                continue
            migration.apply(conn)
            conn.execute(
                RECORD_MIGRATION,
                {
                    "version": migration.version,
                    "description": migration.description,
                    "applied_at": time.time(),
                },
            )
    return SCHEMA_VERSION


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(LOCK_MIGRATIONS_PG)
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql(LOCK_MIGRATIONS_SQLITE)


def _current_version(conn: Connection) -> int:
    if not conn.dialect.has_table(conn, migrations_table.name):
        return 0
    version = conn.execute(CURRENT_VERSION).scalar()
    return int(version or 0)


def applied_version(engine: Engine) -> int:
    """The schema version the database is at (0 when barua never prepared it), without
    migrating: for a readiness check, which must not change what it looks at."""
    with engine.connect() as conn:
        return _current_version(conn)
