"""barua's database: the businesses, their settings and the outbox, in SQLite or PostgreSQL.

::

    engine       the URL (SQLite in the home folder by default) and the engine for it
    tables       every table, defined once
    migrations   the schema's versions, run once whatever the number of processes
"""
