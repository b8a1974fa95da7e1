"""Use case: run the delivery worker for every business, in one process or several."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from barua.app.context import Context
from barua.app.errors import NO_SETTINGS_HINT, AppError
from barua.app.settings import SettingsUseCases
from barua.environment import Environment
from barua.settings import Settings
from barua.store.businesses import Business, SettingsStore
from barua.texts import Text

if TYPE_CHECKING:
    from barua.outbox.fleet import Fleet, FleetReport
    from barua.outbox.worker import WorkerConfig


class StoreSettings:
    """The fleet's view of the settings store: versions, settings and names by key."""

    def __init__(self, store: SettingsStore) -> None:
        self._store = store
        self._by_key: dict[str, Business] = {}

    def versions(self) -> dict[str, int]:
        return self._store.versions()

    def settings_of(self, business: str) -> Settings | None:
        found = self._business(business)
        return None if found is None else self._store.load_effective(found)

    def business_of(self, business: str) -> Business:
        found = self._business(business)
        if found is None:
            raise KeyError(business)
        return found

    def name_of(self, business: str) -> str:
        found = self._business(business)
        return business if found is None else found.name

    def _business(self, key: str) -> Business | None:
        if key not in self._by_key:
            self._by_key = {b.key: b for b in self._store.businesses()}
        return self._by_key.get(key)


class Workers:
    """The delivery of every business's mail: :meth:`run` until :meth:`stop`."""

    def __init__(
        self,
        environment: Environment,
        make_fleet: Callable[[Environment, tuple[int, int]], Fleet],
        *,
        processes: int,
        log: Callable[[Text], None],
    ) -> None:
        self._environment = environment
        self._make_fleet = make_fleet
        self.processes = processes
        self._log = log
        self._fleet: Fleet | None = None
        self._stopped = False

    def run(self, *, once: bool = False) -> FleetReport:
        """Deliver until stopped (or, with ``once``, until nothing can be sent now); stopped
        before it started, it returns at once."""
        if self._stopped:
            from barua.outbox.fleet import FleetReport

            return FleetReport()
        if self.processes > 1:
            from barua.outbox.processes import run_processes

            return run_processes(
                lambda index, count: self._make_fleet(self._environment, (index, count)),
                processes=self.processes,
                once=once,
                log=self._log,
                stopped=lambda: self._stopped,
            )
        self._fleet = self._make_fleet(self._environment, (0, 1))
        if self._stopped:
            self._fleet.stop()
        try:
            return self._fleet.run(once=once)
        finally:
            self._fleet.outbox.close()

    def stop(self) -> None:
        """Finish the messages being sent, give back the rest, and return from :meth:`run`
        (several processes are stopped by the signal they receive)."""
        self._stopped = True
        if self._fleet is not None:
            self._fleet.stop()


class WorkerUseCases(SettingsUseCases, Context):
    """The delivery worker."""

    def workers(
        self,
        config: WorkerConfig,
        *,
        processes: int | None = None,
        log: Callable[[Text], None] | None = None,
        require_settings: bool = True,
    ) -> Workers:
        """Workers delivering every business's mail with ``config``: ``processes`` processes
        (default: one per CPU core, at most one per connection, one when a provider limits the
        messages per minute or day), each business over its own connections. With
        ``require_settings``, a barua where no business has settings yet is an error (a
        worker started by hand); without, the workers wait for them (a web app)."""
        from barua.outbox.limits import SendingLimits, limits_for
        from barua.outbox.sharing import default_processes

        say = log or (lambda _line: None)
        limits: list[SendingLimits] = []
        for business in self.store.businesses():
            settings = self.store.load_effective(business)
            if settings is not None:
                limits.append(config.limits or limits_for(settings))
        if require_settings and not limits:
            default = self.store.business()
            raise AppError(self.no_settings(default), hint=NO_SETTINGS_HINT())
        per_business = [config.connections or limit.connections for limit in limits] or [1]
        limited = next((lim for lim in limits if lim.per_minute or lim.per_day), SendingLimits())
        count = min(processes or default_processes(max(per_business), limited), max(per_business))
        # The tables are made or upgraded here, once, not by each process at the same moment.
        _ = self.engine
        # Each sender thread holds a database connection: one per connection of each business.
        pool = sum(per_business) + 4

        def make_fleet(environment: Environment, share: tuple[int, int]) -> Fleet:
            from barua.app.oauth import transport_factory
            from barua.app.relay import RELAY_BUSINESS
            from barua.outbox.fleet import Fleet
            from barua.outbox.queue import Outbox

            context = Context(environment, pool_size=pool)
            outbox = Outbox(context.engine, pool_size=pool)
            source = StoreSettings(context.store)
            return Fleet(
                outbox,
                source,
                config=replace(config),
                log=say,
                share=share,
                transports=lambda key: transport_factory(context.store, source.business_of(key)),
                skip=frozenset({RELAY_BUSINESS}),
            )

        return Workers(self.environment, make_fleet, processes=count, log=say)
