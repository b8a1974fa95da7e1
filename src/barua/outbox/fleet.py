"""Delivery for every business: one :class:`~barua.outbox.worker.Worker` per business with
mail due, each over its own connections, with its own settings and its own pause.

Every ``poll_interval`` the fleet asks the outbox which businesses have mail due and starts a
worker for each that has none running; a worker delivers what is due and ends when nothing
is left, so a business without mail costs nothing but its share of one query. The fleet also
watches each business's settings version: a change made anywhere (another process, another
machine sharing the database) reaches the running worker before its next batch, and lifts a
pause the old settings caused. A refused login pauses that business only; the others go on.

>>> fleet = Fleet(outbox, SettingsSource(...), config=WorkerConfig())     # doctest: +SKIP
>>> fleet.run(once=True).sent                                             # doctest: +SKIP
12
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from barua.errors import BaruaError
from barua.outbox import notes
from barua.outbox.errors import OutboxError
from barua.outbox.limits import limits_for
from barua.outbox.queue import Outbox, Pause
from barua.outbox.sharing import share
from barua.outbox.worker import (
    TransportFactory,
    Worker,
    WorkerConfig,
    WorkerReport,
    default_transport,
)
from barua.settings import Settings
from barua.texts import Text


class SettingsSource(Protocol):
    """Where the fleet reads each business's settings (the settings store, in barua)."""

    def versions(self) -> dict[str, int]:
        """Each business's settings version, by key: a change means new settings."""
        ...

    def settings_of(self, business: str) -> Settings | None:
        """The settings a business sends with now, or None when it has none."""
        ...

    def name_of(self, business: str) -> str:
        """The business's name, for the log."""
        ...


@dataclass(slots=True)
class FleetReport:
    """What a run of the fleet did, all businesses together."""

    sent: int = 0
    deferred: int = 0
    failed: int = 0
    outcome_unknown: int = 0
    paused: dict[str, Pause] = field(default_factory=dict)
    """The businesses whose queue is paused at the end, by key."""
    without_settings: list[str] = field(default_factory=list)
    """Businesses with mail due but no settings to send it with, by key."""
    limited: bool = False
    database_error: str | None = None
    names: dict[str, str] = field(default_factory=dict)
    """The names of the businesses named above, by key (the database may be gone by the time
    the report is shown)."""

    @property
    def attempts(self) -> int:
        return self.sent + self.deferred + self.failed + self.outcome_unknown

    def add(self, report: WorkerReport, business: str) -> None:
        self.sent += report.sent
        self.deferred += report.deferred
        self.failed += report.failed
        self.outcome_unknown += report.outcome_unknown
        self.limited = self.limited or report.limited
        self.database_error = self.database_error or report.database_error
        if report.paused is not None:
            self.paused[business] = report.paused
        else:
            self.paused.pop(business, None)

    def merge(self, other: FleetReport) -> None:
        """Add the report of another process's fleet."""
        self.sent += other.sent
        self.deferred += other.deferred
        self.failed += other.failed
        self.outcome_unknown += other.outcome_unknown
        self.limited = self.limited or other.limited
        self.database_error = self.database_error or other.database_error
        self.paused.update(other.paused)
        self.without_settings.extend(
            key for key in other.without_settings if key not in self.without_settings
        )
        self.names.update(other.names)


@dataclass
class _Running:
    worker: Worker
    thread: threading.Thread
    version: int
    report: WorkerReport | None = None


class Fleet:
    """Delivers the due mail of every business of ``source``.

    ``share`` (index, count) is this process's part when ``count`` processes deliver
    together: each business's connections are divided between them.
    """

    def __init__(
        self,
        outbox: Outbox,
        source: SettingsSource,
        *,
        config: WorkerConfig | None = None,
        transport_factory: TransportFactory = default_transport,
        log: Callable[[Text], None] | None = None,
        share: tuple[int, int] = (0, 1),
        transports: Callable[[str], TransportFactory] | None = None,
        skip: frozenset[str] = frozenset(),
    ) -> None:
        self.outbox = outbox
        self.config = config or WorkerConfig()
        self._source = source
        self._transport_factory = transport_factory
        self._transports = transports
        """The transport factory of each business (by key), when it needs one of its own (a
        sign-in's tokens); else ``transport_factory`` for all."""
        self._skip = skip
        """Outbox names delivered by workers of their own (the relay's mail)."""
        self._log = log or (lambda _line: None)
        self._share = share
        self._stop = threading.Event()
        self._ended = threading.Event()
        """Set when a worker ends: the fleet looks at once, not at its next poll."""
        self._running: dict[str, _Running] = {}
        self._paused: dict[str, int] = {}
        """Paused businesses, with the settings version that was refused."""
        self._missing: set[str] = set()
        self._report = FleetReport()

    def stop(self) -> None:
        """Every worker finishes the messages it is sending; :meth:`run` then returns."""
        self._stop.set()
        self._ended.set()
        for running in list(self._running.values()):
            running.worker.stop()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self, *, once: bool = False) -> FleetReport:
        """Deliver until :meth:`stop`; with ``once``, until no business has mail it can send
        now (paused businesses and those without settings wait)."""
        failing_since: float | None = None
        try:
            while not self._stop.is_set():
                self._ended.clear()  # before looking: a worker ending after this wakes the wait
                self._reap()
                try:
                    versions = self._source.versions()
                    due = self.outbox.due_businesses()
                except BaruaError as exc:
                    # The database is down or restarting: ask again; a ``once`` run gives up
                    # after its patience (the mail stays in the outbox).
                    now = time.monotonic()
                    failing_since = failing_since if failing_since is not None else now
                    if once and now - failing_since > self.config.database_patience:
                        self._report.database_error = str(exc)
                        break
                    self._log(
                        notes.ASKING_AGAIN(
                            error=notes.said(exc), seconds=notes.seconds(self.config.poll_interval)
                        )
                    )
                    self._stop.wait(self.config.poll_interval)
                    continue
                failing_since = None
                self._follow_settings(versions)
                started = self._start(due, versions)
                if once and not self._running and not started:
                    break
                self._ended.wait(self.config.poll_interval)
        finally:
            for running in self._running.values():
                running.worker.stop()
            for key in list(self._running):
                self._running[key].thread.join()
            self._reap()
        self._report.without_settings = sorted(self._missing)
        for key in [*self._report.paused, *self._report.without_settings]:
            self._report.names.setdefault(key, self._name(key))
        return self._report

    def _name(self, key: str) -> str:
        try:
            return self._source.name_of(key)
        except BaruaError:
            return key

    # Internals ---------------------------------------------------------------------------------

    def _start(self, due: set[str], versions: dict[str, int]) -> int:
        started = 0
        for key in sorted(due - self._skip):
            if key in self._running or self._stop.is_set():
                continue
            if key in self._paused and not self._pause_lifted(key, versions):
                continue
            try:
                settings = self._source.settings_of(key)
            except BaruaError as exc:
                self._warn_once(
                    key, notes.OF_BUSINESS(business=self._source.name_of(key), line=exc.text)
                )
                continue
            if settings is None:
                self._warn_once(key, notes.NO_SETTINGS(business=self._source.name_of(key)))
                continue
            self._missing.discard(key)
            connections = self._connections(settings)
            if connections == 0:
                continue
            config = replace(self.config, business=key, connections=connections)
            worker = Worker(
                self.outbox,
                settings,
                config=config,
                transport_factory=(
                    self._transports(key) if self._transports else self._transport_factory
                ),
                log=self._prefixed(key),
            )
            thread = threading.Thread(
                target=self._deliver, args=(key, worker), name=f"barua-business-{key}"
            )
            self._running[key] = _Running(worker, thread, versions.get(key, 0))
            thread.start()
            started += 1
        return started

    def _deliver(self, key: str, worker: Worker) -> None:
        try:
            report = worker.run(once=True)
        except OutboxError as exc:
            report = WorkerReport(database_error=str(exc))
        self._running[key].report = report
        self._ended.set()

    def _reap(self) -> None:
        for key, running in list(self._running.items()):
            if running.thread.is_alive():
                continue
            running.thread.join()
            del self._running[key]
            report = running.report or WorkerReport()
            self._report.add(report, key)
            if report.paused is not None:
                if key not in self._paused:
                    reason = notes.pause_reason(report.paused)
                    self._log(
                        notes.OF_BUSINESS(
                            business=self._source.name_of(key), line=notes.PAUSED(reason=reason)
                        )
                    )
                self._paused[key] = running.version
            else:
                self._paused.pop(key, None)

    def _pause_lifted(self, key: str, versions: dict[str, int]) -> bool:
        """A paused business is tried again when its settings changed (the worker then
        compares the refused account with the new one) or when the pause was lifted by hand."""
        if versions.get(key, 0) != self._paused[key]:
            return True
        try:
            return self.outbox.pause_of(key) is None
        except OutboxError:
            return False

    def _follow_settings(self, versions: dict[str, int]) -> None:
        for key, running in self._running.items():
            version = versions.get(key, running.version)
            if version == running.version:
                continue
            try:
                settings = self._source.settings_of(key)
            except BaruaError as exc:  # half-edited settings: keep the ones in use
                self._log(
                    notes.OF_BUSINESS(
                        business=self._source.name_of(key),
                        line=notes.SETTINGS_UNREADABLE(error=notes.said(exc)),
                    )
                )
                continue
            running.version = version
            if settings is not None:
                self._log(
                    notes.OF_BUSINESS(
                        business=self._source.name_of(key), line=notes.SETTINGS_CHANGED()
                    )
                )
                running.worker.use_settings(settings)

    def _connections(self, settings: Settings) -> int:
        total = self.config.connections or (self.config.limits or limits_for(settings)).connections
        index, count = self._share
        parts = share(max(1, total), count) if count > 1 else [max(1, total)]
        return parts[index] if index < len(parts) else 0

    def _warn_once(self, key: str, line: Text) -> None:
        if key not in self._missing:
            self._missing.add(key)
            self._log(line)

    def _prefixed(self, key: str) -> Callable[[Text], None]:
        name = self._source.name_of(key)
        return lambda line: self._log(notes.OF_BUSINESS(business=name, line=line))
