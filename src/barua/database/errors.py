"""The database's error, and the messages it says."""

from __future__ import annotations

from barua.errors import BaruaError
from barua.texts import Message


class DatabaseError(BaruaError):
    """The database cannot be opened, prepared, read or written."""


URL_INVALID = Message("database.url_invalid", "the database URL is not valid: {url}")
URL_HINT = Message(
    "database.url_hint",
    "Set BARUA_DATABASE_URL to a URL such as postgresql://user@host/database, or unset it "
    "to use SQLite.",
)
UNUSABLE = Message("database.unusable", "the database {url} cannot be used: {reason}")
NOT_PREPARED = Message("database.not_prepared", "the database {url} cannot be prepared: {reason}")
PREPARE_HINT = Message(
    "database.prepare_hint",
    "Check that the database is running and that barua may create tables in it.",
)
FAILED = Message("database.failed", "the database failed: {reason}")
FAILED_HINT = Message(
    "database.failed_hint",
    "Check that the database is running and reachable; nothing was lost, the operation can "
    "be repeated.",
)
EMPTY_FILE = Message(
    "database.empty_file",
    "{path} is empty (0 bytes): the database was cut short or replaced by an empty file",
)
DAMAGED = Message("database.damaged", "{path} is damaged and cannot be read ({reason})")
NOT_A_FILE = Message("database.not_a_file", "{path} is not a file barua can keep its data in")
RESTORE_HINT = Message(
    "database.restore_hint",
    "Nothing was changed. Restore {path} from your backup; or, to start again without its "
    "businesses, settings and queued mail, move it away and barua makes a new one.",
)
MOVE_AWAY_HINT = Message(
    "database.move_away_hint",
    "Move {path} away, or set BARUA_HOME to another folder; barua then makes its database there.",
)
CANNOT_CREATE = Message("database.cannot_create", "cannot make the database {path}: {reason}")
CANNOT_CREATE_HINT = Message(
    "database.cannot_create_hint",
    "Check that the folder exists or can be made, that you may write in it and that the disk "
    "is not full; or set BARUA_HOME to another folder.",
)
SCHEMA_TOO_NEW = Message(
    "database.schema_too_new",
    "the database {url} is at schema version {found}, newer than this barua ({version}) "
    "knows: it knows version {known} at most",
)
SCHEMA_TOO_NEW_HINT = Message(
    "database.schema_too_new_hint",
    "Nothing was changed. Install barua {required} or newer (pip install --upgrade "
    "'barua>={required}') on this machine, then start it again.",
)
SCHEMA_TOO_NEW_UNKNOWN_HINT = Message(
    "database.schema_too_new_unknown_hint",
    "Nothing was changed. Install the barua that upgraded this database, or a newer one, "
    "then start it again.",
)
UPGRADE_NEEDED = Message(
    "database.upgrade_needed",
    "the database {url} is at schema version {found}; this barua needs version {known}",
)
UPGRADE_HINT = Message(
    "database.upgrade_hint",
    "Nothing was changed. Back up the database, then run `barua db upgrade` once (from any "
    "one machine), then start barua again.",
)
