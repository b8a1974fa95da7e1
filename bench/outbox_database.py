"""What the outbox's database costs per delivered message, SQLite and PostgreSQL side by side.

    .venv/bin/python bench/outbox_database.py        # 3,000 messages; --help for the options

The bulk benchmark (``outbox_bulk.py``) measures the whole delivery; this one leaves SMTP out
and runs only the worker's own database work, through the same
:class:`~barua.outbox.session.WorkerSession` the worker uses, claiming as many messages at a time
as the worker does at full speed (32). Twice as many messages as asked for are enqueued (each
~62 KB with its own ~45 KB PDF, as in the bulk benchmark), then:

1. *claim and read*: half of them are claimed, with their bytes and recipients read, as the
   worker does before sending;
2. *claim, read and record*: the other half the same way, and each is then recorded as
   accepted by the server, one commit a message, as the worker does after the server's reply.

The difference between the two is what recording a result costs. Per message, the table shows
the wall time, the CPU of this process (the worker's side: Python, the driver and the kernel's
work for its sockets) and the CPU of PostgreSQL's processes (when the database is on this
machine; SQLite's work is in the worker's own process), and what PostgreSQL wrote to its WAL.
The last line says how many messages a second one core of the database server can take, which
bounds a PostgreSQL outbox however many workers share it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from outbox_bulk import (
    add_database_options,
    database_cpu_since,
    enqueue,
    postgres_cpu,
    scratch_outbox,
)

from barua.database.engine import database_url
from barua.outbox import MessageStatus, Outbox
from barua.outbox.outcome import decide
from barua.outbox.retry import RetryPolicy
from barua.outbox.session import Record
from barua.outbox.worker import WorkerConfig
from barua.transports.base import SendResult

CLAIM = WorkerConfig().batch_size
"""Messages a claim takes: the worker's most, which it claims when the server is fast."""

LEASE = 3600.0
"""Long enough that nothing claimed becomes due again while the benchmark runs."""

MEASURABLE_CPU = 0.05
"""Seconds of the server's CPU below which its capacity is not shown: CPU time is counted in
clock ticks of 10 ms, so less would be off by more than a fifth."""

POLICY = RetryPolicy()
PORT = 2525
"""Written into the messages' settings; no connection is made."""


def home_url() -> str:
    """The database of ``$BARUA_HOME``, as barua chooses it when BARUA_DATABASE_URL is unset."""
    return database_url(None, home=Path(os.environ["BARUA_HOME"]))


@dataclass
class Cost:
    """Per message, in microseconds (``wal``: bytes); None where it cannot be measured."""

    wall: float
    worker: float
    database: float | None
    wal: float | None


def _wal_lsn(admin: str | None) -> int | None:
    if admin is None:
        return None
    with psycopg.connect(admin, autocommit=True) as conn:
        row = conn.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").fetchone()
    return int(row[0]) if row else None


def deliver_without_smtp(url: str | None, count: int, *, record: bool, admin: str | None) -> Cost:
    """Claim ``count`` due messages and read them; with ``record``, record each as accepted.
    ``admin``: the PostgreSQL server's URL (None for SQLite), for its CPU and WAL."""
    with (
        Outbox.open(url or home_url()) as outbox,
        outbox.session(worker="bench:database") as session,
    ):
        wal = _wal_lsn(admin)
        database = postgres_cpu()
        cpu, clock = time.process_time(), time.perf_counter()
        done = 0
        while done < count:
            batch = session.claim(business="default", limit=min(CLAIM, count - done), lease=LEASE)
            if not batch:
                raise SystemExit(f"only {done} of {count} messages could be claimed")
            for claimed in batch:
                if record:
                    message = claimed.message
                    now = time.time()
                    result = SendResult(
                        message.message_id,
                        accepted=message.recipients,
                        reply="2.0.0 Ok: queued as 4Xb2TkQ",
                        queue_id="4Xb2TkQ",
                    )
                    decision = decide(
                        pending=message.recipients,
                        result=result,
                        attempts=claimed.attempts + 1,
                        created=claimed.created,
                        now=now,
                        policy=POLICY,
                        accepted_before=claimed.accepted_before,
                    )
                    session.record([Record(claimed, decision, now, 0.0, f"127.0.0.1:{PORT}")])
                done += 1
        wall = time.perf_counter() - clock
        worker = time.process_time() - cpu
        database_cpu = database_cpu_since(admin, database)
        wal_after = _wal_lsn(admin)
        if record and outbox.counts()[MessageStatus.SENT] != count:
            raise SystemExit(f"not every one of {count} messages was recorded as sent")
    per = 1e6 / count
    return Cost(
        wall * per,
        worker * per,
        None if database_cpu is None else database_cpu * per,
        None if wal is None or wal_after is None else (wal_after - wal) / count,
    )


def one_database(postgres: str | None, count: int) -> tuple[Cost, Cost]:
    """The costs of claiming and reading, then of claiming, reading and recording."""
    with scratch_outbox(postgres) as (home, url):
        os.environ["BARUA_HOME"] = str(home)
        enqueue(url, 2 * count, PORT)
        read = deliver_without_smtp(url, count, record=False, admin=postgres)
        recorded = deliver_without_smtp(url, count, record=True, admin=postgres)
    return read, recorded


def median_cost(costs: list[Cost]) -> Cost:
    """Each figure's median over the rounds."""

    def median(values: list[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return statistics.median(known) if known else None

    return Cost(
        statistics.median(c.wall for c in costs),
        statistics.median(c.worker for c in costs),
        median([c.database for c in costs]),
        median([c.wal for c in costs]),
    )


def _figure(value: float | None, width: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:{width}.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=3000, help="messages in each step")
    parser.add_argument("--rounds", type=int, default=3, help="the table shows the medians")
    add_database_options(parser)
    args = parser.parse_args()
    databases: dict[str, str | None] = {"SQLite": None}
    if not args.no_postgres:
        databases["PostgreSQL"] = args.postgres_url
    print(f"{args.messages} messages a step, {args.rounds} round(s), {os.cpu_count()} CPU cores")
    found: dict[str, list[tuple[Cost, Cost]]] = {name: [] for name in databases}
    for number in range(1, args.rounds + 1):
        for name, postgres in databases.items():
            found[name].append(one_database(postgres, args.messages))
        print(
            f"round {number}: "
            + ", ".join(f"{name} {found[name][-1][1].wall:.0f} µs" for name in databases)
        )
    print()
    print(
        "| database   | step                     | wall µs/msg | worker CPU µs/msg "
        "| database CPU µs/msg | WAL bytes/msg |"
    )
    print(f"|{'-' * 12}|{'-' * 26}|-------------|-------------------|{'-' * 21}|---------------|")
    server: float | None = None
    for name in databases:
        read = median_cost([r for r, _ in found[name]])
        recorded = median_cost([r for _, r in found[name]])
        record = Cost(
            recorded.wall - read.wall,
            recorded.worker - read.worker,
            None
            if recorded.database is None or read.database is None
            else recorded.database - read.database,
            None if recorded.wal is None or read.wal is None else recorded.wal - read.wal,
        )
        for step, cost in (
            ("claim and read", read),
            ("claim, read and record", recorded),
            ("record (the difference)", record),
        ):
            print(
                f"| {name:10} | {step:24} | {_figure(cost.wall, 11)} | "
                f"{_figure(cost.worker, 17)} | {_figure(cost.database, 19)} | "
                f"{_figure(cost.wal, 13)} |"
            )
        if name == "PostgreSQL":
            server = recorded.database
    print()
    print(
        "Medians of the rounds. worker CPU: this process (SQLite's work included); database "
        "CPU: every PostgreSQL process of this machine (a database on another machine: -, "
        "not counted; SQLite: 0, its work is the worker's); "
        "WAL: what PostgreSQL wrote to its log meanwhile."
    )
    if server is not None and server * args.messages / 1e6 >= MEASURABLE_CPU:
        print(
            f"One core of this PostgreSQL server claims, reads and records about "
            f"{1e6 / server:.0f} messages a second."
        )
    elif server is not None:
        print("PostgreSQL's CPU was too little to measure well: run more --messages.")


if __name__ == "__main__":
    main()
