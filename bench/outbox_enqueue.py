"""What a durable "Queued" costs: enqueueing one message a commit, with and without the sync.

    .venv/bin/python bench/outbox_enqueue.py      # 300 messages a run, 3 rounds; --help

``barua send``, ``document email`` and (later) the web app's Email button enqueue a message and
say "Queued". With SQLite's ``synchronous=NORMAL`` (barua before) a commit in WAL mode returns
before it is on the disk, so a power cut right after can lose a message the user was told is
queued; ``synchronous=FULL`` (barua now) syncs the WAL at every commit, as Postfix syncs its
queue file before it answers 250. The worker's own writes stay at NORMAL (a lost one sends a
message twice, never loses it).

Each round enqueues ``--messages`` messages (~62 KB, each with its own PDF, as in the bulk
benchmark), one commit each, into a fresh SQLite file with NORMAL and with FULL, in alternating
order, and (unless ``--no-postgres``) into PostgreSQL, whose commits wait for its WAL flush by
default. The table shows the median time per enqueue, its range over the rounds and the ratio
to NORMAL within each round (the median of those ratios).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from outbox_bulk import add_database_options, messages, scratch_outbox
from sqlalchemy import Engine, text

from barua.database.engine import create_database_engine, database_url
from barua.database.migrations import migrate
from barua.message import OutgoingMessage
from barua.outbox import Outbox

PORT = 2525
"""Written into the messages only; nothing is sent."""


def per_enqueue_ms(engine: Engine, batch: list[OutgoingMessage]) -> float:
    migrate(engine)
    outbox = Outbox(engine)
    started = time.perf_counter()
    for message in batch:
        outbox.enqueue(message)
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed / len(batch) * 1000


def sqlite_engine(home: Path, *, durable: bool) -> Engine:
    # relaxed=True gives a connection barua's worker uses: synchronous=NORMAL, as every
    # connection had before enqueueing became durable.
    engine = create_database_engine(database_url(None, home=home), relaxed=not durable)
    with engine.connect() as conn:
        expected = 2 if durable else 1
        assert conn.execute(text("PRAGMA synchronous")).scalar() == expected
    return engine


def filesystem(path: Path) -> str:
    proc = subprocess.run(
        ["df", "--output=fstype", str(path)], capture_output=True, text=True, check=False
    )
    lines = proc.stdout.split()
    return lines[-1] if proc.returncode == 0 and lines else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=300, help="messages a run")
    parser.add_argument("--rounds", type=int, default=3)
    add_database_options(parser)
    args = parser.parse_args()
    postgres = None if args.no_postgres else args.postgres_url

    runs: dict[str, list[float]] = {}
    ratios: dict[str, list[float]] = {}
    where = "?"
    for number in range(args.rounds):
        batch = list(messages(args.messages, PORT))
        kinds: list[tuple[str, Callable[[Path, str | None], Engine]]] = [
            ("SQLite, synchronous=NORMAL (before)", lambda h, _u: sqlite_engine(h, durable=False)),
            ("SQLite, synchronous=FULL (now)", lambda h, _u: sqlite_engine(h, durable=True)),
        ]
        if number % 2:
            kinds.reverse()
        if postgres:
            kinds.append(
                ("PostgreSQL, synchronous_commit=on", lambda _h, u: create_database_engine(u or ""))
            )
        measured: dict[str, float] = {}
        for name, make in kinds:
            with scratch_outbox(postgres if name.startswith("PostgreSQL") else None) as (
                home,
                url,
            ):
                where = filesystem(home)
                measured[name] = per_enqueue_ms(make(home, url), batch)
        baseline = measured["SQLite, synchronous=NORMAL (before)"]
        for name, value in measured.items():
            runs.setdefault(name, []).append(value)
            ratios.setdefault(name, []).append(value / baseline)
        print(f"round {number + 1} of {args.rounds} done", flush=True)

    print(
        f"\nenqueue, one message (~62 KB) a commit, {args.messages} a run, {args.rounds} rounds; "
        f"{os.cpu_count()} CPU cores; the home on {where}\n"
    )
    print("| database | ms per enqueue | enqueues/s | x NORMAL |")
    print("|---|---|---|---|")
    for name, values in runs.items():
        median = statistics.median(values)
        print(
            f"| {name} | {median:.2f} ({min(values):.2f}-{max(values):.2f}) "
            f"| {1000 / median:,.0f} | {statistics.median(ratios[name]):.2f}x |"
        )


if __name__ == "__main__":
    main()
