"""barua's database: the businesses, their settings and the outbox, in SQLite or PostgreSQL.

::

    engine       the URL (SQLite in the home folder by default) and the engine for it
    tables       every table, defined once
    migrations   the schema's versions (Alembic revisions in alembic/versions), checked at
                 start-up and run once whatever the number of processes
    legacy       the first six versions as an earlier barua ran them: the baseline's body
    backup       a consistent copy of an SQLite database, and back
"""
