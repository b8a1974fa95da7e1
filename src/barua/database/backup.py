"""A backup of an SQLite home, and its restore.

A backup is a gzipped tar file holding ``barua-backup.json`` (what it is: its format, the
schema version, when it was taken) and ``barua.db``: a consistent copy of the database made
with SQLite's online backup API while workers and web apps go on writing. The database holds
everything barua keeps: the businesses, their settings (secrets encrypted), templates and
logos, the outbox and its delivery log, documents, users and the relay's keys. The secret key
that decrypts the saved secrets (``secret.key`` or ``BARUA_SECRET_KEY``) is left out on
purpose: whoever holds a backup and the key holds every password.

A restore checks the whole file (its manifest, SQLite's integrity check, a schema this barua
knows) in a folder beside the home before it touches the home; the database it replaces is
moved aside, never deleted.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from barua.database.engine import DATABASE_FILE
from barua.database.errors import DatabaseError
from barua.texts import Message

MANIFEST = "barua-backup.json"
FORMAT = "barua-backup-1"
MAX_MEMBER = 64 * 1024 * 1024 * 1024
"""The largest database a backup may hold (64 GB): a bound on what a file can make us write."""

NOT_SQLITE = Message(
    "backup.not_sqlite",
    "barua backup copies a home whose database is SQLite; this one is {url}",
)
NOT_SQLITE_HINT = Message(
    "backup.not_sqlite_hint",
    "Back a PostgreSQL database up with pg_dump (pg_dump --format=custom --file barua.dump "
    "DATABASE), and keep BARUA_SECRET_KEY apart from the dump.",
)
NOTHING_TO_BACK_UP = Message("backup.nothing", "there is no database to back up at {path}")
NOTHING_HINT = Message(
    "backup.nothing_hint", "Check BARUA_HOME: it names the folder that holds barua.db."
)
CANNOT_WRITE = Message("backup.cannot_write", "cannot write the backup {path}: {reason}")
CANNOT_WRITE_HINT = Message(
    "backup.cannot_write_hint",
    "Check that the folder exists, that you may write in it and that the disk is not full.",
)
EXISTS = Message("backup.exists", "{path} exists already")
EXISTS_HINT = Message("backup.exists_hint", "Give another file name, or --force to replace it.")
NOT_A_BACKUP = Message("backup.not_a_backup", "{path} is not a barua backup: {reason}")
NOT_A_BACKUP_HINT = Message(
    "backup.not_a_backup_hint",
    "Nothing was changed. Give a file written by `barua backup`; the home is as it was.",
)
NEWER_SCHEMA = Message(
    "backup.newer_schema",
    "{path} comes from a newer barua (schema version {found}; this barua knows {known})",
)
NEWER_SCHEMA_HINT = Message(
    "backup.newer_schema_hint",
    "Nothing was changed. Install the barua that wrote the backup, or a newer one, and "
    "restore again.",
)
HOME_NOT_EMPTY = Message(
    "backup.home_not_empty", "{path} holds a database already: restoring would replace it"
)
HOME_NOT_EMPTY_HINT = Message(
    "backup.home_not_empty_hint",
    "Stop every barua process using it and give --force (the database it replaces is kept "
    "beside it), or set BARUA_HOME to an empty folder.",
)


@dataclass(frozen=True, slots=True)
class BackupInfo:
    """What a backup holds, from its manifest."""

    path: Path
    schema_version: int
    taken_at: float
    size: int
    """Bytes of the database."""


@dataclass(frozen=True, slots=True)
class Restored:
    """A restore done: what it came from, and where the database it replaced went."""

    backup: BackupInfo
    kept_aside: Path | None


def _fail(message: Message, hint: Message, **values: object) -> DatabaseError:
    return DatabaseError(message(**values), hint=hint())


def write_backup(
    source: Path, target: Path, *, schema_version: int, force: bool = False
) -> BackupInfo:
    """Write a backup of the SQLite database ``source`` to ``target`` (atomically: the file
    appears whole or not at all)."""
    if not source.is_file() or source.stat().st_size == 0:
        raise _fail(NOTHING_TO_BACK_UP, NOTHING_HINT, path=str(source))
    if target.exists() and not force:
        raise _fail(EXISTS, EXISTS_HINT, path=str(target))
    folder = target.absolute().parent
    try:
        with tempfile.TemporaryDirectory(dir=folder, prefix=".barua-backup-") as scratch:
            copy = Path(scratch) / DATABASE_FILE
            _online_copy(source, copy)
            taken_at = time.time()
            manifest = {
                "format": FORMAT,
                "schema_version": schema_version,
                "taken_at": taken_at,
                "files": [DATABASE_FILE],
                "secret_key": "not included: keep it apart from the backups",
            }
            partial = Path(scratch) / "backup.tar.gz"
            with tarfile.open(partial, "w:gz") as archive:
                data = json.dumps(manifest, indent=2).encode()
                entry = tarfile.TarInfo(MANIFEST)
                entry.size, entry.mtime, entry.mode = len(data), int(taken_at), 0o600
                archive.addfile(entry, io.BytesIO(data))
                archive.add(copy, DATABASE_FILE, recursive=False)
            partial.chmod(0o600)
            os.replace(partial, target)
            size = copy.stat().st_size
    except OSError as exc:
        raise _fail(
            CANNOT_WRITE, CANNOT_WRITE_HINT, path=str(target), reason=exc.strerror or str(exc)
        ) from exc
    return BackupInfo(target, schema_version, taken_at, size)


def _online_copy(source: Path, target: Path) -> None:
    """A consistent copy of a database other processes are writing (SQLite's backup API
    copies pages under a read lock and starts again when a writer changes them)."""
    with (
        sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30) as live,
        sqlite3.connect(target) as copy,
    ):
        live.backup(copy, pages=1024)
        # One self-contained file: out of WAL mode (a new home turns it on again).
        copy.execute("PRAGMA journal_mode=DELETE")
    live.close()
    copy.close()


def read_backup(path: Path, scratch: Path, *, known_schema: int) -> BackupInfo:
    """Unpack the backup at ``path`` into ``scratch`` and check it whole: a manifest of this
    format, a database SQLite finds intact, a schema this barua knows."""
    try:
        with tarfile.open(path, "r:gz") as archive:
            members = {member.name: member for member in archive.getmembers()}
            if set(members) != {MANIFEST, DATABASE_FILE}:
                raise _bad(path, f"it holds {sorted(members)}")
            database = members[DATABASE_FILE]
            if not database.isfile() or database.size > MAX_MEMBER:
                raise _bad(path, f"{DATABASE_FILE} is not a file of a sensible size")
            manifest_file = archive.extractfile(members[MANIFEST])
            assert manifest_file is not None
            manifest = json.loads(manifest_file.read(64 * 1024))
            if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
                raise _bad(path, f"its {MANIFEST} is not of the format {FORMAT}")
            archive.extract(database, scratch, filter="data")
    except (OSError, tarfile.TarError, EOFError, ValueError, UnicodeDecodeError) as exc:
        raise _bad(path, str(exc)) from exc
    copy = scratch / DATABASE_FILE
    try:
        with sqlite3.connect(f"file:{copy}?mode=ro", uri=True) as db:
            check = db.execute("PRAGMA integrity_check").fetchone()
            version = db.execute("SELECT max(version) FROM schema_migrations").fetchone()
        db.close()
    except sqlite3.Error as exc:
        raise _bad(path, f"its database cannot be read ({exc})") from exc
    if check is None or check[0] != "ok":
        raise _bad(path, f"its database is damaged ({check})")
    found = int(version[0] or 0) if version else 0
    if found > known_schema:
        raise DatabaseError(
            NEWER_SCHEMA(path=str(path), found=found, known=known_schema),
            hint=NEWER_SCHEMA_HINT(),
        )
    return BackupInfo(path, found, float(manifest.get("taken_at", 0)), copy.stat().st_size)


def _bad(path: Path, reason: str) -> DatabaseError:
    return DatabaseError(NOT_A_BACKUP(path=str(path), reason=reason), hint=NOT_A_BACKUP_HINT())


def restore_backup(path: Path, live: Path, *, known_schema: int, force: bool = False) -> Restored:
    """Make the database of the backup at ``path`` the SQLite database ``live``. An existing
    database is refused without ``force``; with it, it is moved aside (to a folder
    ``before-restore-…`` beside it), never deleted. The backup is checked whole before
    anything changes."""
    home = live.parent
    if live.exists() and not force:
        raise _fail(HOME_NOT_EMPTY, HOME_NOT_EMPTY_HINT, path=str(live))
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    with tempfile.TemporaryDirectory(dir=home, prefix=".barua-restore-") as scratch:
        info = read_backup(path, Path(scratch), known_schema=known_schema)
        kept: Path | None = None
        if live.exists():
            kept = home / time.strftime("before-restore-%Y%m%d-%H%M%S")
            kept.mkdir(mode=0o700)
            for name in (live.name, f"{live.name}-wal", f"{live.name}-shm"):
                if (home / name).exists():
                    shutil.move(home / name, kept / name)
        restored = Path(scratch) / DATABASE_FILE
        restored.chmod(0o600)
        os.replace(restored, live)
    return Restored(info, kept)
