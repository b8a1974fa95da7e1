"""What every use case stands on: the database, the settings store, the outbox, the language.

An application is opened on an :class:`~barua.environment.Environment` read once at start-up;
from then on nothing reads or writes the process environment.
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self

from barua.database.engine import create_database_engine, database_url, redacted
from barua.database.migrations import migrate
from barua.environment import Environment
from barua.i18n import resolve_language
from barua.store.businesses import Business, SettingsStore

if TYPE_CHECKING:
    import dns.resolver
    from sqlalchemy import Engine

    from barua.outbox.queue import Outbox
    from barua.store.users import UserStore


class Context:
    """The state the use cases share; see :class:`barua.app.Barua`."""

    def __init__(self, environment: Environment, *, pool_size: int = 8) -> None:
        self.environment = environment
        self.home: Path = environment.home
        self.database_url = database_url(environment.database_url, home=environment.home)
        self._pool_size = pool_size
        self._engine: Engine | None = None
        self._outbox: Outbox | None = None
        self._store: SettingsStore | None = None
        self._users: UserStore | None = None
        self._lock = threading.Lock()
        if environment.font_dir is not None:
            from barua.documents.fonts import use_font_dir

            use_font_dir(environment.font_dir)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({redacted(self.database_url)!r})"

    # What is opened on first use ---------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The database, its tables created or upgraded on first use."""
        with self._lock:
            if self._engine is None:
                engine = create_database_engine(self.database_url, pool_size=self._pool_size)
                try:
                    migrate(engine)
                except BaseException:
                    engine.dispose()
                    raise
                self._engine = engine
            return self._engine

    @property
    def store(self) -> SettingsStore:
        """The businesses and their settings."""
        if self._store is None:
            self._store = SettingsStore(
                self.engine,
                home=self.home,
                secret_key=self.environment.secret_key,
                overrides=self.environment.settings_overrides,
            )
        return self._store

    @property
    def users(self) -> UserStore:
        """The people who use the web app, their sessions and the API's tokens."""
        if self._users is None:
            from barua.store.users import UserStore

            self._users = UserStore(self.engine)
        return self._users

    @property
    def outbox(self) -> Outbox:
        """The outbox, in the same database."""
        if self._outbox is None:
            from barua.outbox.queue import Outbox

            self._outbox = Outbox(self.engine, pool_size=self._pool_size)
        return self._outbox

    def resolver(self, *, timeout: float = 3.0) -> dns.resolver.Resolver:
        """A DNS resolver asking ``BARUA_DNS_SERVER`` when it was given."""
        from barua.setup.resolver import make_resolver

        return make_resolver(self.environment.dns_server, timeout=timeout)

    def lang(self, requested: str | None) -> str:
        """The language to answer in: ``requested``, else the environment's."""
        return resolve_language(requested) if requested else self.environment.lang()

    def business(self, name: str | None = None) -> Business:
        """The business called ``name``, or the default one."""
        return self.store.business(name)

    # Closing -----------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the database connections (the outbox's worker pool too)."""
        if self._outbox is not None:
            self._outbox.close()  # disposes the engine as well
        elif self._engine is not None:
            self._engine.dispose()
        self._outbox = self._engine = self._store = self._users = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
