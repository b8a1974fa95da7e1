"""What every transport offers, and what a delivery reports back.

A transport is one method, :meth:`Transport.send`, plus :meth:`Transport.close`. It may keep a
connection open between sends; callers use it as a context manager. Every transport takes the
same options to ``send`` (work to overlap with the server's, the next message), so its callers
never ask which transport they hold.
"""

from __future__ import annotations

import builtins
import errno
import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self

from barua.errors import Cause, Step, TimeoutError, TransportError
from barua.message import OutgoingMessage
from barua.texts import Message
from barua.transports.messages import RESOLVE_TIMEOUT_HINT

if TYPE_CHECKING:
    from barua.certificates import CertificateInfo

AddrInfo = tuple[socket.AddressFamily, socket.SocketKind, int, str, tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class StepEvent:
    """One step of a delivery: what was done, how long it took, and how it ended."""

    step: Step
    ok: bool
    seconds: float
    detail: str = ""
    """What the step found, e.g. the server's banner or the TLS version."""
    error: TransportError | None = None
    recipient: str | None = None
    """For RCPT TO: the recipient this step announced (one step per recipient)."""
    certificate: CertificateInfo | None = None
    """For the certificate check: what the server presented."""


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

    def send(
        self,
        message: OutgoingMessage,
        *,
        meanwhile: Callable[[], None] | None = None,
        then: OutgoingMessage | None = None,
    ) -> SendResult:
        """Deliver ``message``, or raise the :class:`TransportError` that says why not.

        ``meanwhile`` is the caller's work to do while the server takes the message in (the
        outbox commits the previous message's result there). A transport calls it at most
        once per send, always before it reads the server's answer to this message, and
        always when the message may have reached the server; a send that fails before that
        point may not call it, and the caller then does that work itself. An exception it
        raises comes out of :meth:`send` (the message's fate may then be unknown).

        ``then`` names the message the caller sends next on this transport. A transport may
        prepare it (SMTP with PIPELINING sends its envelope ahead) or ignore it; sending
        another message next is allowed, and may cost a new connection.
        """
        ...

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
    """Reports each step to an optional observer, with its duration and outcome.

    Inside a step, ``detail``, ``recipient`` and ``certificate`` describe what it found, and
    ``refusal`` marks it failed without ending the delivery (one refused recipient of many).
    """

    def __init__(self, observer: StepObserver | None) -> None:
        self._observer = observer
        self.detail = ""
        self.recipient: str | None = None
        self.certificate: CertificateInfo | None = None
        self.refusal: TransportError | None = None

    @contextmanager
    def step(self, step: Step) -> Iterator[None]:
        self.detail, self.recipient, self.certificate, self.refusal = "", None, None, None
        started = time.perf_counter()
        try:
            yield
        except TransportError as exc:
            if exc.step is Step.CERTIFICATE and step is not Step.CERTIFICATE:
                # The handshake itself refused the certificate: it got as far as the
                # certificate, and the certificate step is what failed.
                self._emit(step, started, None)
                started = time.perf_counter()
                self.detail, self.certificate = "", getattr(exc, "certificate", None)
                step = Step.CERTIFICATE
            self._emit(step, started, exc)
            raise
        self._emit(step, started, self.refusal)

    def _emit(self, step: Step, started: float, error: TransportError | None) -> None:
        if self._observer is not None:
            self._observer(
                StepEvent(
                    step,
                    error is None,
                    time.perf_counter() - started,
                    self.detail,
                    error,
                    self.recipient,
                    self.certificate,
                )
            )


def format_size(size: int, *, unlike: int | None = None) -> str:
    """``size`` in bytes as a person reads it: ``31.2 MB``, ``25 MB``, ``20 KB``.

    With ``unlike``, enough decimals that the two sizes never read the same (a message of
    25.04 MB is not "25 MB" beside a 25 MB limit).
    """
    for decimals in (1, 2, 3):
        text = _size_text(size, decimals)
        if unlike is None or text != _size_text(unlike, decimals):
            return text
    return f"{size} bytes"


def _size_text(size: int, decimals: int) -> str:
    value, unit = (size / 1_000_000, "MB") if size >= 1_000_000 else (size / 1000, "KB")
    number = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    return f"{number} {unit}"


def lookup_timed_out(message: Message, host: str, port: int, timeout: float) -> TimeoutError:
    """The error of a name the DNS did not answer for in time; ``message`` names the server
    (:data:`~barua.transports.messages.SMTP_RESOLVE_TIMEOUT`, ``HTTP_RESOLVE_TIMEOUT``)."""
    return TimeoutError(
        message(host=host, timeout=timeout),
        step=Step.RESOLVE,
        cause=Cause.HOST_NOT_FOUND,
        hint=RESOLVE_TIMEOUT_HINT(),
        host=host,
        port=port,
    )


def resolve(host: str, port: int, *, timeout: float) -> list[AddrInfo]:
    """``socket.getaddrinfo`` for a TCP connection to ``host``, given at most ``timeout``
    seconds: the system resolver itself has no timeout (a broken DNS server can hold it for
    30 seconds or more), so it runs in a daemon thread that is left behind when too slow.

    Raises ``socket.gaierror`` as getaddrinfo does, and ``builtins.TimeoutError`` when late.
    """
    if _is_address(host):  # nothing to look up, so nothing that could hang
        return list(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
    outcome: list[list[AddrInfo] | BaseException] = []

    def lookup() -> None:
        try:
            outcome.append(list(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)))
        except BaseException as exc:  # handed to the caller's thread
            outcome.append(exc)

    worker = threading.Thread(target=lookup, name=f"resolve {host}", daemon=True)
    worker.start()
    worker.join(timeout)
    if not outcome:
        raise builtins.TimeoutError(f"{host} did not resolve within {timeout:g} seconds")
    found = outcome[0]
    if isinstance(found, BaseException):
        raise found
    return found


# errno values meaning "this computer has no way to that network", not "the server said no".
_NO_ROUTE = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, errno.EHOSTDOWN}


def connect_cause(exc: OSError) -> Cause:
    """Why a TCP connect failed, from the socket's error: no answer, no route, or refused."""
    if isinstance(exc, builtins.TimeoutError) or exc.errno == errno.ETIMEDOUT:
        return Cause.CONNECTION_TIMEOUT
    if exc.errno in _NO_ROUTE:
        return Cause.NO_ROUTE
    return Cause.CONNECTION_REFUSED


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
