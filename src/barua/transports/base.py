"""What every transport offers, and what a delivery reports back.

A transport is one method, :meth:`Transport.send`, plus :meth:`Transport.close`. It may keep a
connection open between sends; callers use it as a context manager.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol, Self

from barua.errors import Step, TransportError
from barua.message import OutgoingMessage


@dataclass(frozen=True, slots=True)
class StepEvent:
    """One step of a delivery: what was done, how long it took, and how it ended."""

    step: Step
    ok: bool
    seconds: float
    detail: str = ""
    """What the step found, e.g. the server's banner or the TLS version."""
    error: TransportError | None = None


StepObserver = Callable[[StepEvent], None]


@dataclass(frozen=True, slots=True)
class SendResult:
    """The outcome of one accepted message; ``refused`` lists recipients the server declined."""

    message_id: str
    accepted: tuple[str, ...]
    refused: dict[str, tuple[int, str]] = field(default_factory=dict)
    code: int = 250
    reply: str = ""
    queue_id: str | None = None
    server: str = ""


class Transport(Protocol):
    """Delivers :class:`OutgoingMessage` objects; raises :class:`TransportError` on failure."""

    def send(self, message: OutgoingMessage) -> SendResult: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class ClosesOnExit:
    """``with transport:`` closes it at the end; transports inherit this."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class StepRecorder:
    """Reports each step to an optional observer, with its duration and outcome."""

    def __init__(self, observer: StepObserver | None) -> None:
        self._observer = observer
        self.detail = ""

    @contextmanager
    def step(self, step: Step) -> Iterator[None]:
        self.detail = ""
        started = time.perf_counter()
        try:
            yield
        except TransportError as exc:
            self._emit(StepEvent(step, False, time.perf_counter() - started, self.detail, exc))
            raise
        self._emit(StepEvent(step, True, time.perf_counter() - started, self.detail))

    def _emit(self, event: StepEvent) -> None:
        if self._observer is not None:
            self._observer(event)
