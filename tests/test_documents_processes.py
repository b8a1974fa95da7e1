"""The processes that prepare documents: results in order, errors and deaths reported."""

from __future__ import annotations

import os
import signal

import pytest

from barua.documents.processes import ProcessDied, in_order


def _nothing() -> None:
    pass


def square(n: int) -> int:
    if n == 13:
        raise ValueError("thirteen is refused")
    if n == 99:
        os.kill(os.getpid(), signal.SIGKILL)  # as the out-of-memory killer would
    return n * n


def test_results_come_in_the_order_of_the_tasks() -> None:
    tasks = (n for n in range(40) if n != 13)
    results = in_order(tasks, square, processes=3, in_flight=2, initializer=_nothing)
    assert list(results) == [n * n for n in range(40) if n != 13]


def test_an_error_in_a_process_reaches_the_caller() -> None:
    results = in_order(iter(range(20)), square, processes=2, in_flight=2, initializer=_nothing)
    got = [next(results) for _ in range(13)]
    assert got == [n * n for n in range(13)]
    with pytest.raises(ValueError, match="thirteen is refused"):
        next(results)
    results.close()


def test_a_process_that_dies_is_reported_not_waited_for() -> None:
    import multiprocessing

    tasks = iter([1, 2, 3, 99, 5, 6, 7, 8])
    results = in_order(tasks, square, processes=2, in_flight=2, initializer=_nothing)
    with pytest.raises(ProcessDied):
        list(results)
    assert multiprocessing.active_children() == []
