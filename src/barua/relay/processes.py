"""Several relay processes answering on one listening socket (``barua relay serve --processes``).

The threads of one process share one interpreter lock, and a relay's request is mostly Python
(HTTP, JSON, the checks, the commit): one process keeps about one core busy, whatever the
machine has. Processes share nothing but the port and the database. The parent forks the
children before it has opened a database connection or started a thread (a fork copies
neither safely); each child opens its own database and listens on the port beside the
others (SO_REUSEPORT), and the kernel spreads new connections over them. (One socket shared
by all is not spread: the child that wakes first takes every connection waiting, measured
here as 15 of 16 opened at once, and the other sits idle.)

The parent only watches them. SIGTERM or SIGINT to it stops them all, each finishing the
requests it is answering (uvicorn's graceful shutdown); a child that ends otherwise is started
again after a second, unless it keeps ending within seconds of its start, which stops them
all with an error (its own error is printed above). A child whose parent died (``kill -9``)
stops by itself.

Counters a process keeps (``barua_relay_answers_total`` on ``/metrics``) are written to files
in a directory of the parent's (Prometheus's multiprocess mode), so whichever child answers
a scrape reports the answers of all of them.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any

from barua.app.errors import AppError
from barua.app.metrics import count_in_files
from barua.texts import Message, Text

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_POSIX = hasattr(signal, "pthread_sigmask")

QUICK_END = 5.0
"""Seconds: a child that ends sooner after its start than this has not served at all."""
QUICK_ENDS = 3
"""Quick ends in a row of one child that stop the relay (a fault a restart does not cure)."""
RESTART_DELAY = 1.0
"""Seconds between a child's end and its new start."""

NEEDS_POSIX = Message(
    "relay.processes_need_posix", "several relay processes need a POSIX system (Linux, macOS)"
)
NEEDS_POSIX_HINT = Message(
    "relay.processes_need_posix_hint",
    "Leave out --processes, or run several `barua relay serve` on other ports behind a proxy.",
)
PROCESS_ENDED = Message(
    "relay.process_ended",
    "relay process {number} ended with exit code {exit_code}; starting it again",
)
KEEPS_FAILING = Message(
    "relay.process_keeps_failing",
    "relay process {number} ended {count} times within seconds of its start (exit code "
    "{exit_code})",
)
KEEPS_FAILING_HINT = Message(
    "relay.process_keeps_failing_hint",
    "Its error is printed above; fix it, then start the relay again.",
)
STOPPING = Message("relay.stopping", "{signal}: answering the requests in flight, then stopping")

Serve = Callable[[int], None]
"""Serves until SIGTERM or SIGINT, in a child; given the child's number (from 0)."""


@dataclass
class _Child:
    number: int
    process: multiprocessing.process.BaseProcess
    started: float
    quick_ends: int = 0


def serve_processes(
    serve: Serve,
    *,
    processes: int,
    log: Callable[[Text], None] | None = None,
) -> None:
    """``processes`` children running ``serve`` until SIGTERM or SIGINT (then each finishes
    what it is answering); :class:`AppError` when one keeps failing."""
    if not _POSIX:
        raise AppError(NEEDS_POSIX(), hint=NEEDS_POSIX_HINT())
    say = log or (lambda _line: None)
    context: Any = multiprocessing.get_context("fork")
    # The children's counters, in files any of them reads at a scrape.
    metrics = tempfile.mkdtemp(prefix="barua-relay-metrics-")
    children: dict[int, _Child] = {}
    stopping = threading.Event()

    def start(number: int) -> _Child:
        process = context.Process(
            target=_child, args=(serve, number, os.getpid(), metrics), daemon=False
        )
        process.start()
        return _Child(number, process, time.monotonic())

    def stop_all(signum: int, _frame: FrameType | None) -> None:
        if not stopping.is_set():
            say(STOPPING(signal=signal.Signals(signum).name))
        stopping.set()
        for child in children.values():
            if child.process.pid is not None and child.process.exitcode is None:
                os.kill(child.process.pid, signal.SIGTERM)

    # A signal during the start waits until every child is there to be told (and a child
    # starts with it blocked too, until its server has its own handler).
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    previous = {sig: signal.signal(sig, stop_all) for sig in _STOP_SIGNALS}
    failure: AppError | None = None
    try:
        try:
            for number in range(processes):
                children[number] = start(number)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
        while children:
            sentinels = {child.process.sentinel: child for child in children.values()}
            for ended in multiprocessing.connection.wait(list(sentinels)):
                child = sentinels[ended]  # type: ignore[index]
                child.process.join()
                del children[child.number]
                if stopping.is_set():
                    continue
                code = child.process.exitcode
                quick = time.monotonic() - child.started < QUICK_END
                count = child.quick_ends + 1 if quick else 0
                if count >= QUICK_ENDS:
                    failure = AppError(
                        KEEPS_FAILING(number=child.number + 1, count=count, exit_code=code),
                        hint=KEEPS_FAILING_HINT(),
                    )
                    stop_all(signal.SIGTERM, None)
                    continue
                say(PROCESS_ENDED(number=child.number + 1, exit_code=code))
                if stopping.wait(RESTART_DELAY):
                    continue
                children[child.number] = start(child.number)
                children[child.number].quick_ends = count
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        shutil.rmtree(metrics, ignore_errors=True)
    if failure is not None:
        raise failure


def _child(serve: Serve, number: int, parent: int, metrics: str) -> None:
    # The parent's handler is no use here; until the server has its own, a stop ends the
    # process at once (it has answered nothing yet).
    for sig in _STOP_SIGNALS:
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)

    def watch_parent() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)  # the server's graceful stop

    threading.Thread(target=watch_parent, name="barua-parent-watch", daemon=True).start()
    count_in_files(metrics)
    serve(number)
