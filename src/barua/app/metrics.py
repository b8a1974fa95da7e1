"""The Prometheus metrics of one barua process, in the text format ``/metrics`` answers.

Two kinds, and each help text says which it is:

- **From the database, at scrape time** (``barua_outbox_*``, ``barua_delivery_*``,
  ``barua_business_paused``): the outbox as every process sharing the database wrote it, so
  any one web app, relay or worker can be scraped for the whole queue. They are gauges of
  what the outbox holds now: sent entries the outbox purges drop out of them.
- **Counted by this relay since it started** (``barua_relay_answers_total``): what only the
  relay that answered knows, such as requests it refused (a refused request leaves nothing
  in the database); with ``--processes``, every process of it. Scrape every relay and add
  them up.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, generate_latest, values
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from barua.environment import export_metrics_directory

if TYPE_CHECKING:
    from barua.outbox.census import Census

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The media type of Prometheus's text format."""


class _Files:
    directory: str | None = None
    """Where this process's counters are kept, when it is one of several processes of one
    relay (see :func:`count_in_files`)."""


def count_in_files(directory: str) -> None:
    """Keep this process's counters in files of ``directory``, which any process counting
    there reads back at a scrape (Prometheus's multiprocess mode): the first thing each
    process of ``barua relay serve --processes N`` does, before it counts anything. The
    client library takes the directory from its environment and chose how to keep values
    when it was imported, so both are set here."""
    export_metrics_directory(directory)
    values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
    _Files.directory = directory


class OutboxCollector(Collector):
    """The ``barua_outbox_*`` and ``barua_delivery_*`` families, from a census per scrape."""

    def __init__(self, census: Callable[[], Census]) -> None:
        self._census = census

    def collect(self) -> Iterator[Metric]:
        census = self._census()
        entries = GaugeMetricFamily(
            "barua_outbox_entries",
            "Entries in the outbox now, by business and status (read from the database at "
            "scrape time: all processes' work; purged sent entries are not counted).",
            labels=["business", "status"],
        )
        for (business, status), count in sorted(census.entries.items()):
            entries.add_metric([business, status], count)
        yield entries
        oldest = GaugeMetricFamily(
            "barua_outbox_oldest_waiting_age_seconds",
            "Seconds since the oldest entry still waiting (queued or deferred) was queued, by "
            "business; absent when nothing waits (from the database at scrape time).",
            labels=["business"],
        )
        for business, queued_at in sorted(census.oldest_waiting.items()):
            oldest.add_metric([business], max(0.0, census.taken_at - queued_at))
        yield oldest
        paused = GaugeMetricFamily(
            "barua_business_paused",
            "1 for each business whose delivery is paused because the server refused its "
            "settings, with the time it was paused in barua_business_paused_since_seconds.",
            labels=["business"],
        )
        since = GaugeMetricFamily(
            "barua_business_paused_since_seconds",
            "When each paused business's delivery was paused (seconds since the epoch).",
            labels=["business"],
        )
        for business, paused_at in sorted(census.paused.items()):
            paused.add_metric([business], 1)
            since.add_metric([business], paused_at)
        yield paused
        yield since
        attempts = GaugeMetricFamily(
            "barua_delivery_attempts",
            "Delivery attempts kept in the delivery log, by business, outcome (accepted, "
            "partial, deferred, outcome_unknown, failed, paused) and cause (the kind of error, "
            "empty when there was none); from the database at scrape time, so it counts "
            "every worker's attempts, and drops those of purged entries.",
            labels=["business", "outcome", "cause"],
        )
        for (business, outcome, cause), count in sorted(census.attempts.items()):
            attempts.add_metric([business, outcome, cause], count)
        yield attempts
        latency = HistogramMetricFamily(
            "barua_delivery_latency_seconds",
            "Seconds from queued to sent, of the sent entries the outbox holds, by business "
            "(from the database at scrape time; not a counter: purged entries drop out).",
            labels=["business"],
        )
        for business, found in sorted(census.latency.items()):
            buckets = [(_bound(le), count) for le, count in found.buckets]
            latency.add_metric([business], [*buckets, ("+Inf", found.count)], found.total)
        yield latency


def _bound(seconds: float) -> str:
    return f"{seconds:g}" if seconds != int(seconds) else f"{int(seconds)}.0"


class Metrics:
    """One process's registry: the outbox's families and the counters of this process."""

    def __init__(self, census: Callable[[], Census], *, relay: bool = False) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(OutboxCollector(census))
        shared = _Files.directory if relay else None
        if shared:
            MultiProcessCollector(self.registry, path=shared)  # type: ignore[no-untyped-call]
        self.relay_answers = Counter(
            "barua_relay_answers",
            "Answers of this relay to POST /v1/messages since it started (all its processes "
            "with --processes), by HTTP status (202 accepted, 200 replayed, 4xx and 5xx "
            "refused); not in the database: add up every relay.",
            ["code"],
            registry=self.registry if relay and not shared else None,
        )
        self._lock = threading.Lock()

    def render(self) -> bytes:
        """Everything, in Prometheus's text format (the database read once per call)."""
        with self._lock:  # one census at a time, however many scrapers
            return generate_latest(self.registry)
