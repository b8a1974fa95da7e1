"""Use case: is this barua ready to serve, and what does its outbox hold — the answers of
``/readyz`` and ``/metrics`` on every server (web app, relay, worker)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from barua.app.context import Context
from barua.errors import BaruaError

if TYPE_CHECKING:
    from barua.outbox.census import Census


@dataclass(frozen=True, slots=True)
class Readiness:
    """Whether the database answers and its schema is the one this barua knows."""

    database: bool
    """The database answered a query."""
    schema: int | None
    """The schema version the database is at (None when it did not answer)."""
    expected: int
    """The schema version this barua knows."""
    problem: str | None = None
    """Why it is not ready, in English, for the operator's logs (never a password)."""

    @property
    def ready(self) -> bool:
        return self.database and self.schema == self.expected


class OperationsUseCases(Context):
    """Health and numbers for the people who run barua."""

    def readiness(self) -> Readiness:
        """Ask the database (one query) whether it answers and is at the known schema."""
        from sqlalchemy.exc import SQLAlchemyError

        from barua.database.engine import first_line
        from barua.database.migrations import SCHEMA_VERSION, applied_version

        try:
            version = applied_version(self.engine)
        except BaruaError as exc:
            return Readiness(False, None, SCHEMA_VERSION, exc.render())
        except SQLAlchemyError as exc:
            return Readiness(False, None, SCHEMA_VERSION, first_line(exc))
        problem = None
        if version != SCHEMA_VERSION:
            problem = f"the database's schema is version {version}, this barua's {SCHEMA_VERSION}"
        return Readiness(True, version, SCHEMA_VERSION, problem)

    def census(self) -> Census:
        """The outbox counted now, in the database every process shares."""
        from barua.outbox.census import take_census

        return take_census(self.engine)
