"""Several worker processes sharing one outbox, so delivery uses more than one CPU core.

The threads of one process share one interpreter lock: measured here, the CPU a message costs
grows from 1.0 to 1.5 ms from 1 to 4 threads. Processes share nothing. Each runs its own
:class:`~barua.outbox.worker.Worker`, with its own threads, SMTP connections and database
connections; they divide the work through the outbox's claims and leases, exactly as workers
on different machines do, so none needs to know of the others.

The parent only starts them, passes SIGTERM and SIGINT on (each finishes the messages it is
sending and gives back the rest), and adds up their reports. With ``once``, each exits when it
finds nothing due, so all have exited when the queue is empty. A worker whose parent died
(``kill -9``) stops by itself instead of delivering on as an orphan.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from types import FrameType
from typing import Any

from barua.outbox.database import OutboxError
from barua.outbox.limits import SendingLimits
from barua.outbox.worker import Worker, WorkerReport

_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
_POSIX = hasattr(signal, "pthread_sigmask")

WorkerFactory = Callable[[int], Worker]
"""Makes the worker of one process, given how many connections it may open; called inside
that process, so it opens its own outbox (connections are never shared across a fork)."""


def default_processes(connections: int, limits: SendingLimits) -> int:
    """One process per CPU core, at most one per connection; one when the provider limits
    messages per minute or per day (a worker counts only its own messages in flight against
    the limit, so several would together send a little over it)."""
    if limits.per_minute is not None or limits.per_day is not None or not _POSIX:
        return 1
    return max(1, min(os.cpu_count() or 1, connections))


def share(connections: int, processes: int) -> list[int]:
    """``connections`` divided between ``processes`` as evenly as possible (never zero).

    >>> share(4, 3)
    [2, 1, 1]
    """
    processes = max(1, min(processes, connections))
    return [connections // processes + (i < connections % processes) for i in range(processes)]


def run_processes(
    factory: WorkerFactory,
    *,
    connections: int,
    processes: int,
    once: bool = False,
    log: Callable[[str], None] | None = None,
) -> WorkerReport:
    """Run ``processes`` workers sharing ``connections`` until they stop; their reports added.

    SIGTERM or SIGINT to this process stops them all (each finishes its messages in flight).
    """
    if not _POSIX:
        raise OutboxError(
            "several worker processes need a POSIX system (Linux, macOS)",
            hint="Leave out --processes, or start several `barua worker` yourself.",
        )
    say = log or (lambda _line: None)
    # fork: the worker factory may be a closure, and a process starts in milliseconds.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context: Any = multiprocessing.get_context(method)
    children: list[tuple[multiprocessing.process.BaseProcess, Connection]] = []

    def forward(signum: int, _frame: FrameType | None) -> None:
        say(f"{signal.Signals(signum).name}: finishing the messages in flight")
        for child, _ in children:
            if child.pid is not None and child.exitcode is None:
                os.kill(child.pid, signal.SIGTERM)

    # A signal during the start waits until every process is there to be told (and a child
    # starts with it blocked too, until it has its own handler).
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    previous = {sig: signal.signal(sig, forward) for sig in _STOP_SIGNALS}
    try:
        for count in share(connections, processes):
            receiver, sender = context.Pipe(duplex=False)
            child = context.Process(
                target=_child, args=(factory, count, once, sender, os.getpid()), daemon=False
            )
            child.start()
            sender.close()
            children.append((child, receiver))
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
    total = WorkerReport()
    failed: list[str] = []
    try:
        for number, (child, receiver) in enumerate(children, 1):
            report: WorkerReport | None = None
            with contextlib.suppress(EOFError):  # no report: the process failed
                report = receiver.recv()
            child.join()
            if report is None or child.exitcode != 0:
                failed.append(f"worker process {number} ended with exit code {child.exitcode}")
                continue
            total.sent += report.sent
            total.deferred += report.deferred
            total.failed += report.failed
            total.outcome_unknown += report.outcome_unknown
            total.limited = total.limited or report.limited
            total.paused = total.paused or report.paused
            total.database_error = total.database_error or report.database_error
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if failed:
        raise OutboxError(
            "; ".join(failed),
            hint="Its error is printed above; the messages it held are sent by the others "
            "once their lease runs out.",
        )
    return total


def _child(
    factory: WorkerFactory, connections: int, once: bool, channel: Connection, parent: int
) -> None:
    worker = factory(connections)

    def stop(_signum: int, _frame: FrameType | None) -> None:
        worker.stop()

    for sig in _STOP_SIGNALS:
        signal.signal(sig, stop)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)

    def watch_parent() -> None:
        while not worker.stopping:
            if os.getppid() != parent:
                worker.stop()
                return
            threading.Event().wait(1.0)

    threading.Thread(target=watch_parent, name="barua-parent-watch", daemon=True).start()
    try:
        report = worker.run(once=once)
    finally:
        worker.outbox.close()
    channel.send(report)
    channel.close()
