"""Processes that prepare documents (load, render, build the email) while the parent queues.

The standard library's ``ProcessPoolExecutor`` sends every result through one pipe that all
its processes share. A process killed while it writes there (the kernel's out-of-memory
killer, a ``kill -9``) leaves half a message behind, and the executor's reader waits for the
rest for ever: the run hangs, and so does the interpreter's exit. Here each process has pipes
of its own, and only that process holds the writing end of its results: its death is an end
of file the parent sees at once, and the run ends with a clear error.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, Generic, TypeVar

_T = TypeVar("_T")
_R = TypeVar("_R")


class ProcessDied(Exception):
    """A preparing process ended without answering (killed, or out of memory)."""


@dataclass(slots=True)
class _Worker(Generic[_T, _R]):
    process: BaseProcess
    tasks: Connection
    results: Connection

    def send(self, task: _T) -> None:
        try:
            self.tasks.send(task)
        except OSError as exc:  # its end of the pipe closed: it died
            raise ProcessDied from exc

    def receive(self) -> _R:
        try:
            ok, value = self.results.recv()
        except (EOFError, OSError) as exc:
            raise ProcessDied from exc
        if not ok:
            raise value
        result: _R = value
        return result


def _serve(
    initializer: Callable[..., None],
    initargs: tuple[Any, ...],
    work: Callable[[Any], Any],
    tasks: Connection,
    results: Connection,
) -> None:
    initializer(*initargs)
    while True:
        try:
            task = tasks.recv()
        except EOFError:  # the parent is done
            return
        try:
            answer = (True, work(task))
        except Exception as exc:  # handed to the parent, which raises it
            answer = (False, exc)
        results.send(answer)


def in_order(
    tasks: Iterator[_T],
    work: Callable[[_T], _R],
    *,
    processes: int,
    in_flight: int,
    initializer: Callable[..., None],
    initargs: tuple[Any, ...] = (),
) -> Generator[_R, None, None]:
    """``work(task)`` for every task, computed in ``processes`` processes (each with at most
    ``in_flight`` tasks waiting), yielded in the order of ``tasks``. Raises
    :class:`ProcessDied` when a process dies; the others are then stopped."""
    # "spawn": a fresh interpreter per process, safe with the threads this one may run (the
    # database pool, a server in tests), and the same on every platform.
    context = multiprocessing.get_context("spawn")
    workers: list[_Worker[_T, _R]] = []
    finished = False
    try:
        for _ in range(processes):
            tasks_in, tasks_out = context.Pipe(duplex=False)
            results_in, results_out = context.Pipe(duplex=False)
            process = context.Process(
                target=_serve,
                args=(initializer, initargs, work, tasks_in, results_out),
                daemon=True,
                name="barua-documents",
            )
            process.start()
            # The process holds these ends now; the parent's copies would hide its death.
            tasks_in.close()
            results_out.close()
            workers.append(_Worker(process, tasks_out, results_in))
        waiting: deque[_Worker[_T, _R]] = deque()
        for number, task in enumerate(tasks):
            worker = workers[number % processes]
            worker.send(task)
            waiting.append(worker)
            if len(waiting) >= processes * in_flight:
                yield waiting.popleft().receive()
        while waiting:
            yield waiting.popleft().receive()
        finished = True
    finally:
        for worker in workers:
            worker.tasks.close()  # an idle process sees the end of its tasks and exits
        for worker in workers:
            if not finished:
                worker.process.kill()
            worker.process.join(timeout=10)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.results.close()
