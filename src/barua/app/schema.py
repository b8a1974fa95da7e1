"""Use case: the database's schema version, and its upgrade (``barua db``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from barua.app.context import Context

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from barua.database.migrations import SchemaState


@dataclass(frozen=True, slots=True)
class Upgraded:
    """What ``barua db upgrade`` did."""

    before: int
    """The schema version the database was at (0: barua had never prepared it)."""
    after: int
    """The version it is at now: the newest this barua knows."""


class SchemaUseCases(Context):
    """The schema, looked at and upgraded on purpose (see :mod:`barua.database.migrations`).

    Both open the database on their own, not through :attr:`engine`, which refuses a shared
    database that needs an upgrade before it could be upgraded.
    """

    def _own_engine(self) -> Engine:
        from barua.database.engine import create_database_engine

        return create_database_engine(self.database_url, pool_size=1)

    def schema_state(self) -> SchemaState:
        """Where the database's schema is and the newest version this barua knows."""
        from barua.database.migrations import schema_state

        engine = self._own_engine()
        try:
            return schema_state(engine)
        finally:
            engine.dispose()

    def upgrade_schema(self) -> Upgraded:
        """Bring the database to the newest schema this barua knows; nothing to do when it is
        there already. Refuses a schema newer than this barua knows."""
        from barua.database.migrations import SCHEMA_VERSION, upgrade_schema

        engine = self._own_engine()
        try:
            before = upgrade_schema(engine)
        finally:
            engine.dispose()
        return Upgraded(before, SCHEMA_VERSION)
