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
