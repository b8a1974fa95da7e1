"""Several worker processes sharing one outbox, so delivery uses more than one CPU core.

The threads of one process share one interpreter lock: measured here, the CPU a message costs
grows from 1.0 to 1.5 ms from 1 to 4 threads. Processes share nothing. Each runs its own
:class:`~barua.outbox.fleet.Fleet`, with its own threads, SMTP connections and database
connections, and a share of each business's connections (:mod:`~barua.outbox.sharing`); they
divide the work through the outbox's claims and leases, exactly as workers on different
machines do, so none needs to know of the others.

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

from barua.outbox import notes
from barua.outbox.errors import (
    NEEDS_POSIX,
    NEEDS_POSIX_HINT,
    PROCESS_FAILED,
    PROCESS_FAILED_HINT,
    OutboxError,
)
from barua.outbox.fleet import Fleet, FleetReport
from barua.texts import Text

_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
_POSIX = hasattr(signal, "pthread_sigmask")

FleetFactory = Callable[[int, int], Fleet]
"""Makes the fleet of one process, given its number and the number of processes (its share of
each business's connections); called inside that process, so it opens its own outbox
(connections are never shared across a fork)."""


def run_processes(
    factory: FleetFactory,
    *,
    processes: int,
    once: bool = False,
    log: Callable[[Text], None] | None = None,
    stopped: Callable[[], bool] = lambda: False,
) -> FleetReport:
    """Run ``processes`` fleets, sharing each business's connections, until they stop; their
    reports added.

    SIGTERM or SIGINT to this process stops them all (each finishes its messages in flight);
    so does ``stopped`` answering True once they are started (a stop asked for just before).
    """
    if not _POSIX:
        raise OutboxError(NEEDS_POSIX(), hint=NEEDS_POSIX_HINT())
    say = log or (lambda _line: None)
    # fork: the worker factory may be a closure, and a process starts in milliseconds.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context: Any = multiprocessing.get_context(method)
    children: list[tuple[multiprocessing.process.BaseProcess, Connection]] = []

    def forward(signum: int, _frame: FrameType | None) -> None:
        say(notes.FINISHING(signal=signal.Signals(signum).name))
        for child, _ in children:
            if child.pid is not None and child.exitcode is None:
                os.kill(child.pid, signal.SIGTERM)

    # A signal during the start waits until every process is there to be told (and a child
    # starts with it blocked too, until it has its own handler).
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    previous = {sig: signal.signal(sig, forward) for sig in _STOP_SIGNALS}
    try:
        for index in range(processes):
            receiver, sender = context.Pipe(duplex=False)
            child = context.Process(
                target=_child,
                args=(factory, (index, processes), once, sender, os.getpid()),
                daemon=False,
            )
            child.start()
            sender.close()
            children.append((child, receiver))
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
    if stopped():
        for child, _ in children:
            if child.pid is not None and child.exitcode is None:
                os.kill(child.pid, signal.SIGTERM)
    total = FleetReport()
    failed: list[tuple[int, int | None]] = []
    try:
        for number, (child, receiver) in enumerate(children, 1):
            report: FleetReport | None = None
            with contextlib.suppress(EOFError):  # no report: the process failed
                report = receiver.recv()
            child.join()
            if report is None or child.exitcode != 0:
                failed.append((number, child.exitcode))
                continue
            total.merge(report)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if failed:
        number, exit_code = failed[0]
        raise OutboxError(
            PROCESS_FAILED(number=number, exit_code=exit_code), hint=PROCESS_FAILED_HINT()
        )
    return total


def _child(
    factory: FleetFactory,
    share: tuple[int, int],
    once: bool,
    channel: Connection,
    parent: int,
) -> None:
    worker = factory(*share)

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
