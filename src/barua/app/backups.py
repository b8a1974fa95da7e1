"""Use case: back up an SQLite barua while it runs, and restore it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from barua.app.context import Context

if TYPE_CHECKING:
    from barua.database.backup import BackupInfo, Restored


class BackupUseCases(Context):
    """Backups of the database (see :mod:`barua.database.backup`)."""

    def _sqlite_file(self) -> Path:
        from sqlalchemy.engine import make_url

        from barua.database.backup import NOT_SQLITE, NOT_SQLITE_HINT
        from barua.database.engine import redacted
        from barua.database.errors import DatabaseError

        url = make_url(self.database_url)
        if url.get_backend_name() != "sqlite" or not url.database:
            raise DatabaseError(NOT_SQLITE(url=redacted(self.database_url)), hint=NOT_SQLITE_HINT())
        return Path(url.database)

    def backup(self, target: Path, *, force: bool = False) -> BackupInfo:
        """Write a consistent copy of the database to ``target`` while other processes go on
        writing; the secret key stays out of it."""
        from barua.database.backup import write_backup
        from barua.database.migrations import applied_version

        database = self._sqlite_file()
        version = applied_version(self.engine)  # the file exists and is barua's
        return write_backup(database, target, schema_version=version, force=force)

    def restore(self, source: Path, *, force: bool = False) -> Restored:
        """Make the backup at ``source`` this barua's database; the one it replaces is kept
        aside. Stop the other processes using the database first."""
        from barua.database.backup import restore_backup
        from barua.database.migrations import SCHEMA_VERSION

        database = self._sqlite_file()
        self.close()  # this process's connections let go of the file it replaces
        return restore_backup(source, database, known_schema=SCHEMA_VERSION, force=force)

    def has_secret_key(self) -> bool:
        """Whether this barua has the key that decrypts saved secrets (given, or in its home)."""
        from barua.secrets import KEY_FILE

        return self.environment.secret_key is not None or (self.home / KEY_FILE).is_file()
