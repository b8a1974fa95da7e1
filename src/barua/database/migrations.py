"""The schema's versions: Alembic revisions shipped in this package, each run once whatever
the number of processes starting at the same moment (one migrates, the others wait and then
find nothing to do).

**Versions.** The schema's version is a whole number. Up to 6 an earlier barua ran its own
steps (:mod:`barua.database.legacy`) and listed each in ``schema_migrations``. From 6 on, each
version is an Alembic revision whose id is the number (``0006``, ``0007``…), in
``barua/database/alembic/versions``, run on barua's own connection with no ``alembic.ini``;
Alembic keeps the revision in ``alembic_version``, and ``schema_migrations`` goes on listing
every version with the first barua release that knows it (the revision's ``barua_version``).
The numbers go on from the earlier ones, so a backup's manifest, ``/readyz`` and an error
speak of the same version before and after the change.

**The baseline.** Revision ``0006`` is the whole schema of version 6, and its body is the
earlier steps, each of which creates a table, a column or an index only when it is missing.
One code path serves every database it can meet: an empty one gets every table; one an
earlier barua left at any version up to 6 (``schema_migrations`` without ``alembic_version``)
gets the steps it lacks, every row staying where it is; one already at 6 gets nothing but
``alembic_version``. That is simpler than stamping version 6 and keeping the earlier runner
beside Alembic for the older ones, and as safe: those steps are the released ones, unchanged.

**Several processes.** The upgrade runs in one transaction under a lock: PostgreSQL's advisory
lock, SQLite's write lock (``BEGIN IMMEDIATE``); whoever waited reads the version again and
finds nothing to do. PostgreSQL changes the schema in that transaction too, so a failed
upgrade leaves the database as it was.

**Who upgrades.** Every process checks the version when it opens the database
(:func:`migrate`). A database newer than this barua knows is refused, with the release to
install. An older one is upgraded at once in an SQLite home, so a single command still runs
with no setup; PostgreSQL, which several machines share, is upgraded only when it is empty:
otherwise a process refuses to start until someone runs ``barua db upgrade`` (after a
backup), so the schema changes once, on purpose, and not when the first machine happens to
restart with a new barua.

**A new version** is a file ``alembic/versions/0007_what_it_does.py`` (``script.py.mako`` is
its shape): ``revision = "0007"``, ``down_revision = "0006"``, ``barua_version`` the release it
ships in, and ``upgrade()`` with Alembic's ``op`` (``op.batch_alter_table`` where SQLite must
copy a table); then :data:`SCHEMA_VERSION` becomes 7 and :mod:`barua.database.tables` says the
same. There is no downgrade: going back is restoring the backup taken before the upgrade.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, func, insert, select, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from barua.database.engine import failure, first_line, redacted
from barua.database.errors import (
    NOT_PREPARED,
    PREPARE_HINT,
    SCHEMA_TOO_NEW,
    SCHEMA_TOO_NEW_HINT,
    SCHEMA_TOO_NEW_UNKNOWN_HINT,
    UPGRADE_HINT,
    UPGRADE_NEEDED,
    DatabaseError,
)
from barua.database.tables import migrations_table
from barua.version import __version__

if TYPE_CHECKING:
    from alembic.script import ScriptDirectory

SCHEMA_VERSION = 6
"""The newest schema version this barua knows: its newest Alembic revision, as a number
(``tests/test_db_upgrade.py`` checks that the two agree)."""
HEAD_REVISION = f"{SCHEMA_VERSION:04d}"
ALEMBIC_DIRECTORY = Path(__file__).with_name("alembic")

# Any number 64-bit number works; this one spells "barua" in ASCII.
PG_MIGRATION_LOCK = 0x6261727561

LOCK_MIGRATIONS_PG = text("SELECT pg_advisory_xact_lock(:p_key)").bindparams(
    p_key=PG_MIGRATION_LOCK
)
"""PostgreSQL: one process migrates at a time; the others wait, then find nothing to do."""
LOCK_MIGRATIONS_SQLITE = "BEGIN IMMEDIATE"
"""SQLite: take the write lock first, so two processes never migrate at once."""
CURRENT_VERSION = select(func.max(migrations_table.c.version))
REQUIRED_RELEASE = select(migrations_table.c.barua_version).order_by(
    migrations_table.c.version.desc()
)
RECORDED_VERSIONS = select(migrations_table.c.version)
RECORD_MIGRATION = insert(migrations_table)
CURRENT_REVISION = text("SELECT version_num FROM alembic_version")


@dataclass(frozen=True, slots=True)
class SchemaState:
    """Where a database's schema is, read without changing it."""

    version: int
    """The newest version ``schema_migrations`` lists (0: barua never prepared it)."""
    revision: str | None
    """The Alembic revision (None: before Alembic, or never prepared)."""
    required: str | None = None
    """For a version newer than this barua knows: the first barua release that knows it."""
    latest: int = SCHEMA_VERSION
    """The newest version this barua knows."""

    @property
    def current(self) -> bool:
        return self.version == SCHEMA_VERSION and self.revision == HEAD_REVISION

    @property
    def newer(self) -> bool:
        known = self.revision is None or (
            self.revision.isdigit() and int(self.revision) <= SCHEMA_VERSION
        )
        return self.version > SCHEMA_VERSION or not known

    @property
    def empty(self) -> bool:
        return self.version == 0 and self.revision is None


def migrate(engine: Engine, *, upgrade: bool | None = None) -> int:
    """Check the database's schema and bring it to :data:`SCHEMA_VERSION`; returns it.

    A schema newer than this barua knows is refused (:class:`DatabaseError` naming the release
    to install). An older one is upgraded when ``upgrade`` is true (``barua db upgrade``); when
    it is None, only in SQLite or when the database is empty (see the module's docstring).
    Safe to call from many processes at once: the first one migrates, the others wait and
    then find nothing to do.
    """
    _retrying(engine, upgrade)
    return SCHEMA_VERSION


def upgrade_schema(engine: Engine) -> int:
    """Upgrade the database on purpose (``barua db upgrade``); returns the version it was at
    when this process had the lock (:data:`SCHEMA_VERSION` when another process had done it,
    0 when barua had never prepared it)."""
    return _retrying(engine, True)


def _retrying(engine: Engine, upgrade: bool | None) -> int:
    # SQLite answers "database is locked" at once, without its busy wait, when connections
    # race to switch a new file to WAL or to upgrade a read lock: that race is worth retrying.
    deadline = time.monotonic() + 30
    while True:
        try:
            return _migrate(engine, upgrade)
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


def _migrate(engine: Engine, upgrade: bool | None) -> int:
    """Returns the version found under the lock."""
    with engine.connect() as conn:
        state = _read(conn)
    if state.current:
        return SCHEMA_VERSION
    _refuse_newer(engine, state)
    if upgrade is None:
        upgrade = engine.dialect.name == "sqlite" or state.empty
    if not upgrade:
        raise DatabaseError(
            UPGRADE_NEEDED(
                url=redacted(str(engine.url)), found=state.version, known=SCHEMA_VERSION
            ),
            hint=UPGRADE_HINT(),
        )
    with engine.begin() as conn:
        _lock(conn)
        state = _read(conn)  # again: another process may have upgraded while this one waited
        _refuse_newer(engine, state)
        if not state.current:
            _upgrade(conn)
    return state.version


def _refuse_newer(engine: Engine, state: SchemaState) -> None:
    if not state.newer:
        return
    hint = SCHEMA_TOO_NEW_HINT(required=state.required) if state.required else None
    raise DatabaseError(
        SCHEMA_TOO_NEW(
            url=redacted(str(engine.url)),
            found=state.version,
            version=__version__,
            known=SCHEMA_VERSION,
        ),
        hint=hint or SCHEMA_TOO_NEW_UNKNOWN_HINT(),
    )


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(LOCK_MIGRATIONS_PG)
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql(LOCK_MIGRATIONS_SQLITE)


def _read(conn: Connection) -> SchemaState:
    version, required, revision = 0, None, None
    if conn.dialect.has_table(conn, migrations_table.name):
        version = int(conn.execute(CURRENT_VERSION).scalar() or 0)
        if version > SCHEMA_VERSION:  # written by a barua that records the release
            required = conn.execute(REQUIRED_RELEASE.limit(1)).scalar()
    if conn.dialect.has_table(conn, "alembic_version"):
        revision = conn.execute(CURRENT_REVISION).scalar()
    return SchemaState(version, revision, required)


def script_directory() -> ScriptDirectory:
    """The Alembic revisions this barua ships."""
    # Alembic takes 0.1 s to import, and a process needs it only when it upgrades.
    from alembic.script import ScriptDirectory  # noqa: PLC0415

    return ScriptDirectory(str(ALEMBIC_DIRECTORY))


def _upgrade(conn: Connection) -> None:
    from alembic import command  # noqa: PLC0415 - see script_directory
    from alembic.config import Config  # noqa: PLC0415

    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIRECTORY).replace("%", "%%"))
    config.attributes["connection"] = conn
    command.upgrade(config, "head")
    recorded = set(conn.execute(RECORDED_VERSIONS).scalars())
    for script in sorted(script_directory().walk_revisions(), key=lambda s: int(s.revision)):
        if int(script.revision) in recorded:
            continue
        conn.execute(
            RECORD_MIGRATION,
            {
                "version": int(script.revision),
                "description": (script.doc or "").strip(),
                "applied_at": time.time(),
                "barua_version": getattr(script.module, "barua_version", None),
            },
        )


def schema_state(engine: Engine) -> SchemaState:
    """Where the database's schema is, without changing it (``barua db version``)."""
    try:
        with engine.connect() as conn:
            return _read(conn)
    except SQLAlchemyError as exc:
        raise _not_prepared(engine, exc) from exc


def applied_version(engine: Engine) -> int:
    """The schema version the database is at (0 when barua never prepared it), without
    migrating: for a readiness check, which must not change what it looks at."""
    with engine.connect() as conn:
        return _read(conn).version
