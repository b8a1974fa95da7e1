"""Alembic's environment for barua: the migrations run on the connection barua hands over
(:func:`barua.database.migrations.migrate` takes the lock on it first), inside its
transaction; there is no alembic.ini and no URL here."""

from __future__ import annotations

from alembic import context

from barua.database.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite alters a table by copying it: a revision's op.batch_alter_table does that.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
