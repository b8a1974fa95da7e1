"""What the outbox holds right now, counted in the database: the numbers a monitoring system
scrapes (``/metrics``), the same whichever process (web app, worker, relay) answers.

Every figure is read at the moment it is asked for, from the tables every process writes, so
it counts the work of all the workers on all the machines sharing the database. Entries that
the outbox purges (sent ones past their keeping time) drop out of the counts: these are
gauges of what the outbox holds, not counters since a process started.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine, and_, case, func, literal, select

from barua.database.tables import attempts, messages, pauses
from barua.outbox.status import WAITING, MessageStatus

LATENCY_BUCKETS: tuple[float, ...] = (1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600)
"""Seconds from queued to sent: the upper bounds of the latency histogram's buckets."""

BY_STATUS = select(messages.c.profile, messages.c.status, func.count().label("entries")).group_by(
    messages.c.profile, messages.c.status
)
"""How many entries each business has in each state."""

OLDEST_WAITING = (
    select(messages.c.profile, func.min(messages.c.created_at).label("oldest"))
    .where(messages.c.status.in_([status.value for status in WAITING]))
    .group_by(messages.c.profile)
)
"""When each business's oldest entry still waiting (queued or deferred) was queued."""

PAUSED = select(pauses.c.profile, pauses.c.paused_at)
"""The businesses whose delivery is paused (the server refused their settings)."""

ATTEMPTS_BY_OUTCOME = (
    select(
        messages.c.profile,
        attempts.c.outcome,
        func.coalesce(attempts.c.error_class, literal("")).label("cause"),
        func.count().label("attempts"),
    )
    .select_from(attempts.join(messages, attempts.c.message_pk == messages.c.id))
    .group_by(messages.c.profile, attempts.c.outcome, attempts.c.error_class)
)
"""Delivery attempts in the delivery log, by business, outcome and the error's kind."""

_latency = messages.c.sent_at - messages.c.created_at
SENT_LATENCY = (
    select(
        messages.c.profile,
        func.count().label("sent"),
        func.coalesce(func.sum(_latency), 0.0).label("total"),
        *(
            func.coalesce(func.sum(case((_latency <= bound, 1), else_=0)), 0).label(f"le_{index}")
            for index, bound in enumerate(LATENCY_BUCKETS)
        ),
    )
    .where(and_(messages.c.status == MessageStatus.SENT.value, messages.c.sent_at.is_not(None)))
    .group_by(messages.c.profile)
)
"""Per business: how many sent entries, their total seconds from queued to sent, and how many
took at most each bucket's bound."""


@dataclass(frozen=True, slots=True)
class Latency:
    """The queued-to-sent times of one business's sent entries, as histogram buckets."""

    count: int
    total: float
    buckets: tuple[tuple[float, int], ...]
    """(upper bound in seconds, entries at most that long), cumulative, as Prometheus wants."""


@dataclass(frozen=True, slots=True)
class Census:
    """The outbox counted at ``taken_at`` (seconds since the epoch)."""

    taken_at: float
    entries: dict[tuple[str, str], int] = field(default_factory=dict)
    """(business key, status) → entries."""
    oldest_waiting: dict[str, float] = field(default_factory=dict)
    """Business key → when its oldest waiting entry was queued."""
    paused: dict[str, float] = field(default_factory=dict)
    """Business key → when its delivery was paused."""
    attempts: dict[tuple[str, str, str], int] = field(default_factory=dict)
    """(business key, outcome, error kind or "") → attempts in the delivery log."""
    latency: dict[str, Latency] = field(default_factory=dict)


def take_census(engine: Engine, *, now: float | None = None) -> Census:
    """Count the outbox in one read transaction (a handful of grouped queries)."""
    census = Census(time.time() if now is None else now)
    with engine.connect() as conn:
        for row in conn.execute(BY_STATUS):
            census.entries[(row.profile, row.status)] = int(row.entries)
        for row in conn.execute(OLDEST_WAITING):
            census.oldest_waiting[row.profile] = float(row.oldest)
        for row in conn.execute(PAUSED):
            census.paused[row.profile] = float(row.paused_at)
        for row in conn.execute(ATTEMPTS_BY_OUTCOME):
            census.attempts[(row.profile, row.outcome, row.cause)] = int(row.attempts)
        for row in conn.execute(SENT_LATENCY):
            counts: Sequence[int] = [
                int(getattr(row, f"le_{i}")) for i in range(len(LATENCY_BUCKETS))
            ]
            census.latency[row.profile] = Latency(
                int(row.sent), float(row.total), tuple(zip(LATENCY_BUCKETS, counts, strict=True))
            )
    return census
