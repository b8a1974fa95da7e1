"""The schema's first six versions, as an earlier barua ran them: the body of the baseline.

Up to version 6 barua ran these steps itself and wrote each one it ran in
``schema_migrations``. Each step creates a table, or adds a column or an index, only when it
is missing, so the same steps bring any database to version 6: an empty one (every table is
created as :mod:`barua.database.tables` defines it, with the columns later steps add), and one
an earlier barua left at any version up to 6 (the steps it lacks add what they add; every row
stays where it is). The Alembic revision ``0006`` runs them (:func:`bring_to_version_6`).

A released step never changes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Index, Table, insert, inspect, select, text

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
class Step:
    """One version of the schema before Alembic."""

    version: int
    description: str
    apply: Callable[[Connection], None]


def _v1(conn: Connection) -> None:
    # Version 1 creates the tables as defined today, so on a new database they already have
    # the columns later steps add: each of those adds its column only when it is missing.
    tables = [blobs, messages, recipients, pieces, attempts, pauses, meta]
    metadata.create_all(conn, tables=tables, checkfirst=True)


def add_column(conn: Connection, table: Table, name: str) -> None:
    """Add the column ``name`` of ``table`` as :mod:`barua.database.tables` defines it, unless
    the database has it already."""
    if name in {column["name"] for column in inspect(conn).get_columns(table.name)}:
        return
    column = table.c[name]
    kind = column.type.compile(dialect=conn.dialect)
    # The names come from the table definitions, never from input.
    conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{name}" {kind}'))


def _replace_index(conn: Connection, index: Index) -> None:
    table = index.table
    assert table is not None
    found = {i["name"]: i["column_names"] for i in inspect(conn).get_indexes(table.name)}
    if found.get(index.name) == [c.name for c in index.columns]:
        return
    if index.name in found:
        conn.execute(text(f"DROP INDEX {index.name}"))  # names from the definitions
    index.create(conn)


def _v2(conn: Connection) -> None:
    add_column(conn, messages, "wire_ready")
    _replace_index(conn, next(i for i in messages.indexes if i.name == "outbox_messages_due"))


def _v3(conn: Connection) -> None:
    metadata.create_all(conn, tables=[businesses, business_files, oauth_tokens], checkfirst=True)
    add_column(conn, messages, "last_error_text")
    add_column(conn, attempts, "error_text")
    add_column(conn, pauses, "reason_text")


def _v4(conn: Connection) -> None:
    web = [users, web_sessions, setup_links, login_attempts, api_tokens, documents]
    metadata.create_all(conn, tables=web, checkfirst=True)


def _v5(conn: Connection) -> None:
    relay = [relay_keys, relay_messages, relay_idempotency, relay_suppressed, relay_config]
    metadata.create_all(conn, tables=relay, checkfirst=True)


def _v6(conn: Connection) -> None:
    add_column(conn, messages, "retried_at")
    for name in ("outbox_messages_business", "outbox_messages_business_status"):
        _replace_index(conn, next(i for i in messages.indexes if i.name == name))


STEPS: tuple[Step, ...] = (
    Step(1, "create the outbox tables", _v1),
    Step(2, "remember which messages go into SMTP DATA as they are; due index by id", _v2),
    Step(
        3,
        "businesses with their email settings, files and sign-ins; errors kept as codes "
        "with values",
        _v3,
    ),
    Step(4, "the web app: users, sessions, setup links, API tokens, documents", _v4),
    Step(5, "the relay: API keys, accepted messages, idempotency records, suppressions", _v5),
    Step(
        6,
        "remember when a person last asked to send an entry again; a business's entries indexed",
        _v6,
    ),
)
"""Every step in order, as an earlier barua numbered them."""


def bring_to_version_6(conn: Connection) -> None:
    """Run the steps ``schema_migrations`` does not list yet, and list them, as an earlier
    barua did: a database it made keeps every row, and reads as version 6 to it too."""
    migrations_table.create(conn, checkfirst=True)
    add_column(conn, migrations_table, "barua_version")
    done = set(conn.execute(select(migrations_table.c.version)).scalars())
    for step in STEPS:
        if step.version in done:
            continue
        step.apply(conn)
        conn.execute(
            insert(migrations_table),
            {"version": step.version, "description": step.description, "applied_at": time.time()},
        )
