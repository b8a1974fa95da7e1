"""The web app's speed: its pages with a large outbox, and while its own worker delivers.

    bench/outbox-install-deps                 # Postfix's smtp-sink
    .venv/bin/python bench/web.py             # 100,000 entries, 10,000 deliveries; --help

Everything runs against real ``barua serve`` processes (uvicorn, SQLite under a fresh
``BARUA_HOME``) over loopback, signed in as a user would be:

1. **Pages**: the email settings page and the outbox page (its first 50 entries, the counts
   by status, the pauses) with ``--entries`` emails in the outbox, ``--requests`` requests
   each after a warm-up; the time is the client's, from sending the request to the last
   byte of the page, so it is the server's time plus loopback.
2. **During delivery**: ``--deliveries`` emails queued, then ``barua serve`` with its worker
   in the process delivers them to ``smtp-sink`` while a client loads the outbox page again
   and again; the page's p50/p95 over the delivery, and the worker's rate over its delivery
   window (from the outbox's log, as bench/outbox_bulk.py counts it).
3. **The worker inside the web app, undisturbed**, and **the worker alone** (``barua worker
   --once --processes 1``): the same emails delivered in the same round, one after the other
   (which goes first alternates from round to round), the rates compared.
   (The web app's worker runs in the web app's process: a page loaded again and again takes
   its CPU and its interpreter lock, which the rate under 2. shows.)

Targets (issue 15): settings page <= 20 ms, outbox page <= 50 ms at 100,000 entries, p95 <= 100
ms during delivery, and the worker inside ``barua serve`` within 10% of the worker alone.
Rounds run one after the other; the table shows the medians of the rounds.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from outbox_bulk import BARUA, barua_env, delivery_window, free_port, start_sink

from barua.database.engine import create_database_engine, database_url
from barua.database.migrations import migrate
from barua.message import build_message
from barua.outbox import MessageStatus, Outbox
from barua.settings import make_settings

PASSWORD = "kahawa chungu sana"


def fill(home: Path, count: int, sink: int) -> None:
    """``count`` small emails queued in the outbox of ``home`` (a worker's relaxed commits:
    this is the benchmark's set-up, not what it measures)."""
    engine = create_database_engine(database_url(None, home=home), relaxed=True)
    migrate(engine)
    outbox = Outbox(engine)
    settings = make_settings(
        host="127.0.0.1", port=sink, security="none", email_address="shop@example.com"
    )
    message = build_message(
        settings, to=["mteja@example.com"], subject="Ankara INV-0042", text="Habari Jane."
    )
    for n in range(count):
        outbox.enqueue(message, idempotency_key=f"bench:{n}")
    outbox.close()


@contextmanager
def served(home: Path, sink: int, *, worker: bool, sign_in: bool = True) -> Iterator[httpx.Client]:
    """``barua serve`` on ``home``, and a client signed in to it (``sign_in``: signing in
    hashes a password, a fifth of a second of both cores, which would count against a worker
    delivering meanwhile)."""
    port = free_port()
    args = [BARUA, "serve", "--port", str(port), *([] if worker else ["--no-worker"])]
    proc = subprocess.Popen(
        args, env=barua_env(home, sink, None), stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        # A home without a user gets a setup link; one with a user (a later round) only
        # the address: then the user made with the link signs in.
        link = ""
        while True:
            line = proc.stdout.readline()
            if not line:
                raise SystemExit("barua serve ended before printing where it is")
            found = re.search(r"(/setup/\S+)", line)
            link = found.group(1) if found else link
            if "barua is at " in line or link:
                break
        base = f"http://127.0.0.1:{port}"
        client = httpx.Client(base_url=base, timeout=30)
        if not sign_in:
            yield client
            client.close()
            return
        form = link or "/login"
        for _ in range(200):
            try:
                page = client.get(form)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        fields = {"csrf_token": token.group(1), "username": "amina", "password": PASSWORD}
        if link:
            fields["password_again"] = PASSWORD
        done = client.post(form, data=fields)
        assert done.status_code == 303, done.text
        yield client
        client.close()
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def timed(client: httpx.Client, path: str, count: int) -> list[float]:
    """Milliseconds of ``count`` requests for ``path``, after 20 to warm up."""
    for _ in range(20):
        client.get(path).raise_for_status()
    times = []
    for _ in range(count):
        started = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        answer.raise_for_status()
    return times


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 20 else max(values)


def sent(home: Path) -> int:
    engine = create_database_engine(database_url(None, home=home))
    outbox = Outbox(engine)
    try:
        return outbox.counts().get(MessageStatus.SENT, 0)
    finally:
        outbox.close()


def rate_of(home: Path, count: int) -> float:
    outbox = Outbox(create_database_engine(database_url(None, home=home)))
    try:
        return count / delivery_window(outbox)
    finally:
        outbox.close()


def during_delivery(home: Path, sink: int, count: int, *, watch: bool) -> tuple[list[float], float]:
    """The web app's own worker delivering ``count`` emails: with ``watch``, the outbox
    page's times meanwhile (loaded again and again, a person would reload far less); the
    worker's rate."""
    times: list[float] = []
    with served(home, sink, worker=True, sign_in=watch) as client:
        stop = threading.Event()

        def load() -> None:
            while watch and not stop.is_set():
                started = time.perf_counter()
                client.get("/b/default/outbox").raise_for_status()
                times.append((time.perf_counter() - started) * 1000)

        watcher = threading.Thread(target=load, daemon=True)
        watcher.start()
        deadline = time.monotonic() + 600
        while sent(home) < count:
            if time.monotonic() > deadline:
                raise SystemExit("the web app's worker did not deliver within 10 minutes")
            time.sleep(0.2)
        stop.set()
        watcher.join()
    return times, rate_of(home, count)


def worker_alone(home: Path, sink: int, count: int) -> float:
    subprocess.run(
        [BARUA, "worker", "--once", "--processes", "1"],
        env=barua_env(home, sink, None),
        check=True,
        stderr=subprocess.DEVNULL,
    )
    return rate_of(home, count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    sink_port = free_port()
    sink = start_sink(sink_port)
    scratch = Path(tempfile.mkdtemp(prefix="barua-bench-web-"))
    results: dict[str, list[float]] = {}

    def keep(name: str, value: float) -> None:
        results.setdefault(name, []).append(value)

    try:
        big = scratch / "pages"
        print(f"queueing {args.entries:,} emails for the pages…", flush=True)
        fill(big, args.entries, sink_port)
        for number in range(args.rounds):
            with served(big, sink_port, worker=False) as client:
                settings = timed(client, "/b/default/settings", args.requests)
                outbox = timed(client, "/b/default/outbox", args.requests)
            keep("settings page, median ms", statistics.median(settings))
            keep("settings page, p95 ms", p95(settings))
            keep(f"outbox page ({args.entries:,} entries), median ms", statistics.median(outbox))
            keep(f"outbox page ({args.entries:,} entries), p95 ms", p95(outbox))

            homes = {name: scratch / f"{name}-{number}" for name in ("watched", "web", "alone")}
            for home in homes.values():
                fill(home, args.deliveries, sink_port)
            times, watched_rate = during_delivery(
                homes["watched"], sink_port, args.deliveries, watch=True
            )
            # Inside and alone take turns going first: neither gains from the order (a disk
            # cache still warm, another process on the machine starting or ending).
            if number % 2 == 0:
                _, web_rate = during_delivery(homes["web"], sink_port, args.deliveries, watch=False)
                alone_rate = worker_alone(homes["alone"], sink_port, args.deliveries)
            else:
                alone_rate = worker_alone(homes["alone"], sink_port, args.deliveries)
                _, web_rate = during_delivery(homes["web"], sink_port, args.deliveries, watch=False)
            keep("outbox page during delivery, median ms", statistics.median(times))
            keep("outbox page during delivery, p95 ms", p95(times))
            keep("worker inside barua serve, msg/s", web_rate)
            keep("barua worker alone, msg/s", alone_rate)
            keep("inside / alone", web_rate / alone_rate)
            keep("worker inside barua serve, page loaded meanwhile, msg/s", watched_rate)
            print(f"round {number + 1} of {args.rounds} done", flush=True)
    finally:
        sink.terminate()
        shutil.rmtree(scratch, ignore_errors=True)

    print(f"\nbarua serve on SQLite, {args.rounds} rounds; {os.cpu_count()} CPU cores\n")
    print("| measure | median | range |")
    print("|---|---|---|")
    for name, values in results.items():
        print(
            f"| {name} | {statistics.median(values):,.2f} | {min(values):,.2f}-{max(values):,.2f} |"
        )


if __name__ == "__main__":
    if str(Path(__file__).parent) not in sys.path:
        sys.path.insert(0, str(Path(__file__).parent))
    main()
