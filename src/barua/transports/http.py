"""Delivery through an HTTP email service, protocol v1 (see ``docs/http-protocol.md``).

httpx does the HTTP; barua adds what a business's mail needs on top of it:

* TLS verified with the system CA store (``SSL_CERT_FILE`` honoured) by
  :func:`~barua.transports.tls.make_tls_context`, and redirects never followed, so the API key
  only ever goes to the address in the settings;
* each phase reported as a step (connect, TLS, request, accepted). httpx opens connections
  lazily inside a request, so the phases are followed through httpcore's documented ``trace``
  request extension (:class:`_Phases`);
* one translation of every httpx failure into barua's errors (:meth:`HttpTransport._translate`)
  and one of every refusal the service answers (:meth:`HttpTransport._refusal`);
* "nothing was sent" told apart from "it may have been sent": once the whole request has left,
  a lost answer is :class:`~barua.errors.OutcomeUnknown`. The service treats a repeated
  Message-ID as the same message for 24 hours, so the retry that follows never sends twice;
* the answer bounded: at most :data:`MAX_ANSWER` bytes, never decompressed, and over within
  ``timeout`` seconds of the request's last byte, however the service spaces its bytes (httpx
  bounds each read; a :class:`~barua.transports.deadlines.Deadline` bounds the whole).

The request's encoding and the answers' parsing, which the service (barua's relay) shares, are
in :mod:`~barua.transports.http_protocol`.
"""

from __future__ import annotations

import builtins
import re
import socket
import ssl
import time
import urllib.request
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, TypeVar

import httpx

from barua.certificates import CertificateInfo, describe_certificate
from barua.errors import (
    AuthenticationError,
    Cause,
    ConnectError,
    MessageTooLarge,
    OutcomeUnknown,
    PermanentError,
    RecipientRefused,
    SettingsError,
    Step,
    TemporaryError,
    TimeoutError,
    TLSError,
    TransportError,
    all_temporary,
)
from barua.message import OutgoingMessage
from barua.settings import Settings
from barua.texts import Message, Text
from barua.transports import messages as say
from barua.transports.base import (
    ClosesOnExit,
    SendResult,
    StepObserver,
    StepRecorder,
    connect_cause,
    lookup_timed_out,
    resolve,
)
from barua.transports.causes import filled, fix_for
from barua.transports.deadlines import WATCHDOG, Deadline
from barua.transports.http_protocol import (
    AUTHORIZATION,
    IDEMPOTENT_REPLAYED,
    JSON_TYPE,
    MESSAGES_PATH,
    RETRY_AFTER,
    ErrorCode,
    ServiceError,
    bearer,
    encode_request,
    parse_acceptance,
    parse_error,
    parse_refused,
    parse_retry_after,
)
from barua.transports.tls import certificate_cause, make_tls_context
from barua.version import __version__

_E = TypeVar("_E", bound=BaseException)
# RFC 9110 field values: visible ASCII only, so a pasted key with a space or a non-ASCII
# character is caught here, with a message, rather than by h11 (whose error quotes the value).
_KEY_CHARS = re.compile(r"^[\x21-\x7e]+$")
MAX_ANSWER = 1_000_000
"""The most bytes read of an answer: the service's answers are JSON of a few KB."""
_GRACE = 0.5
"""Seconds the deadline of an answer waits beyond the timeout: a service silent all along
meets httpx's read timeout first, and its error says so; the deadline ends one that keeps
sending too slowly."""


def _size(size: int) -> str:
    if size < 1_000_000:
        return f"{size / 1000:.1f} KB"
    return f"{size / 1_000_000:.1f} MB"


def _cause(exc: BaseException, kind: type[_E]) -> _E | None:
    """The first exception of ``kind`` in the chain httpx and httpcore keep behind ``exc``."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


# Following the phases of a request -------------------------------------------------------------


class _Abandoned(Exception):
    """Closes a step without reporting it (the attempt is retried at once)."""


class _Phases:
    """Turns httpcore's ``trace`` events into barua's steps, one at a time.

    httpx resolves the host name inside connecting, so an unknown name ends the CONNECT step
    with an error whose ``step`` is RESOLVE, as an untrusted certificate ends the TLS step with
    a CERTIFICATE error (the SMTP transport does the same).

    Also remembers what the error translation needs: whether this request opened a new
    connection, and whether the whole body was sent. A transport that does not trace (such as
    ``httpx.MockTransport``) sends no events; then nothing is known and the request step is
    opened when the answer arrives.
    """

    def __init__(self, steps: StepRecorder, *, stream: Any = None, timeout: float) -> None:
        self._steps = steps
        self._open: AbstractContextManager[None] | None = None
        self._timeout = timeout
        self.step: Step | None = None
        self.traced = False
        self.new_connection = False
        self.body_sent = False
        self.tls: Any = None
        """The ``ssl.SSLObject`` of a connection opened by this request."""
        self.stream: Any = stream
        """httpcore's network stream of the connection: the one this request opened, or the
        one the previous request left open (httpx reuses it)."""
        self.deadline: Deadline | None = None
        """When the answer must be over: armed once the whole request has left."""

    def __call__(self, event: str, info: dict[str, Any]) -> None:
        self.traced = True
        name, _, state = event.rpartition(".")
        phase = name.rpartition(".")[2]
        if phase == "connect_tcp":
            if state == "started":
                self.new_connection = True
                self.begin(Step.CONNECT)
            elif state == "complete":
                self.stream = info.get("return_value")
                self.end(_peer(self.stream))
        elif phase == "start_tls":
            if state == "started":
                self.begin(Step.TLS)
            elif state == "complete":
                stream = info.get("return_value")
                self.stream = stream or self.stream
                self.tls = stream.get_extra_info("ssl_object") if stream is not None else None
                self.end(self.tls.version() if self.tls is not None else "")
        elif phase == "send_request_headers" and state == "started":
            # A proxy tunnel sends its own CONNECT request first: only the last one counts.
            self.body_sent = False
            if self.step is not Step.HTTP_REQUEST:
                self.begin(Step.HTTP_REQUEST)
        elif phase == "send_request_body" and state == "complete":
            self.body_sent = True
            self._arm()

    def _arm(self) -> None:
        """From now on the answer has ``timeout`` seconds in all, not for each read (and a
        moment more: :data:`_GRACE`)."""
        self.disarm()
        try:
            sock = self.stream.get_extra_info("socket") if self.stream is not None else None
        except (AttributeError, OSError):
            sock = None
        if isinstance(sock, socket.socket):
            self.deadline = WATCHDOG.arm(self._timeout + _GRACE, sock)

    def disarm(self) -> bool:
        """Stop the deadline; whether it had passed (and ended the connection)."""
        deadline, self.deadline = self.deadline, None
        return deadline is not None and deadline.disarm()

    def begin(self, step: Step) -> None:
        self.end()
        opened = self._steps.step(step)
        opened.__enter__()
        self._open, self.step = opened, step

    def end(self, detail: str = "") -> None:
        if self._open is not None:
            self._steps.detail = detail
            self._close(None)

    def fail(self, error: TransportError) -> None:
        """Report ``error`` as the outcome of the current step (or of its own step)."""
        if self._open is None:
            self.begin(error.step)
        self._close(error)

    def abandon(self) -> None:
        if self._open is not None:
            self._close(_Abandoned())

    def _close(self, error: BaseException | None) -> None:
        opened, self._open, self.step = self._open, None, None
        assert opened is not None
        # The recorder's context manager reports a TransportError passing through it as the
        # step's failure and swallows nothing: __exit__ returns False for the very exception.
        opened.__exit__(type(error) if error is not None else None, error, None)


def _peer(stream: Any) -> str:
    try:
        address = stream.get_extra_info("server_addr")
    except (AttributeError, OSError):
        return ""
    return str(address[0]) if address else ""


class _StaleConnection(Exception):
    """A reused keep-alive connection had been closed by the service before this request."""


# The transport ---------------------------------------------------------------------------------


class HttpTransport(ClosesOnExit):
    """Sends messages to an HTTP email service over one httpx client, reused between sends.

    >>> with HttpTransport(settings) as service:            # doctest: +SKIP
    ...     service.send(build_message(settings, to=["a@example.com"], subject="Hi", text="Hi"))

    ``client`` replaces the client barua would build (for tests, or a custom proxy setup); it
    then carries its own TLS settings and stays open after :meth:`close`, as it belongs to the
    caller.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        observer: StepObserver | None = None,
        tls_context: ssl.SSLContext | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        if settings.http_service_url is None:
            raise ValueError("HttpTransport needs settings with an http_service_url")
        key = settings.http_api_key.get_secret_value() if settings.http_api_key else None
        if key is not None and not _KEY_CHARS.match(key):
            # Never quote the key: it is a secret even when it is wrong.
            raise SettingsError(
                {"http_api_key": say.KEY_CHARACTERS()}, hint=say.KEY_CHARACTERS_HINT()
            )
        self.settings = settings
        base = httpx.URL(settings.http_service_url)
        self.url = base.copy_with(path=base.path.rstrip("/") + MESSAGES_PATH)
        self.host: str = base.host
        self.port: int = base.port or (443 if base.scheme == "https" else 80)
        self._key = key
        self._tls = tls_context
        self._steps = StepRecorder(observer)
        # Observed (the test email), the name is looked up as a step of its own before the
        # client barua builds connects; httpx would otherwise resolve it silently inside
        # connecting. A caller's client may not connect to the name at all (a mock), and
        # behind a proxy only the proxy needs to find it.
        self._observed = observer is not None and client is None and not _proxied(base)
        self._resolve_first = self._observed
        self._own_client = client is None
        self._client = client
        self._stream: Any = None
        """The network stream of the client's connection, from the request that opened it."""
        self.encrypted = False
        self.tls_version: str | None = None
        self.peer_certificate: bytes | None = None

    # Context manager ----------------------------------------------------------------------

    def close(self) -> None:
        """Close the connections of the client barua built; the next send opens a new one."""
        if self._own_client and self._client is not None:
            self._client.close()
            self._client = None
            self._stream = None
            self._resolve_first = self._observed

    def _http(self) -> httpx.Client:
        if self._client is None:
            if self._tls is None:
                self._tls = make_tls_context(verify=not self.settings.skip_tls_verify)
            self._client = httpx.Client(
                verify=self._tls, timeout=self.settings.timeout, follow_redirects=False
            )
        return self._client

    # Sending ------------------------------------------------------------------------------

    def send(
        self,
        message: OutgoingMessage,
        *,
        meanwhile: Callable[[], None] | None = None,
        then: OutgoingMessage | None = None,
    ) -> SendResult:
        """Deliver ``message`` to the service; retries once if a reused connection was stale.

        ``meanwhile`` runs once per send, just before the request goes out, and not while it
        is in flight: httpx offers no dependable moment between the body's last byte and the
        answer's first (a client that does not trace, such as a mock, reports none), and the
        caller needs it done before the answer is read. So it has run whenever the request
        fails, before or after reaching the service, and the retry on a new connection does
        not run it again. When it raises, nothing is sent. ``then`` is ignored: an HTTP
        request has nothing to send ahead.
        """
        body = encode_request(message)
        if meanwhile is not None:
            meanwhile()
        if self._resolve_first:
            self._resolve()
        try:
            response, answer, phases = self._post(body, first=True)
        except _StaleConnection:
            response, answer, phases = self._post(body, first=False)
        return self._accept(message, response, answer, phases)

    def _resolve(self) -> None:
        with self._steps.step(Step.RESOLVE):
            try:
                addresses = resolve(self.host, self.port, timeout=self.settings.timeout)
            except builtins.TimeoutError as exc:
                timeout = self.settings.timeout
                raise lookup_timed_out(
                    say.HTTP_RESOLVE_TIMEOUT, self.host, self.port, timeout
                ) from exc
            except (socket.gaierror, UnicodeError) as exc:
                raise self._not_found() from exc
            self._steps.detail = ", ".join(sorted({a[4][0] for a in addresses}))
        self._resolve_first = False

    def _post(self, body: bytes, *, first: bool) -> tuple[httpx.Response, bytes, _Phases]:
        """The request, and the service's answer with its body, read within bounds."""
        timeout = self.settings.timeout
        phases = _Phases(self._steps, stream=self._stream, timeout=timeout)
        headers = {
            "Content-Type": JSON_TYPE,
            "Accept": JSON_TYPE,
            # The answer's bytes are bounded as they arrive; compressed, they would not be.
            "Accept-Encoding": "identity",
            "User-Agent": f"barua/{__version__}",
        }
        if self._key is not None:
            headers[AUTHORIZATION] = bearer(self._key)
        client = self._http()
        request = client.build_request(
            "POST",
            self.url,
            content=body,
            headers=headers,
            timeout=timeout,
            extensions={"trace": phases},
        )
        response: httpx.Response | None = None
        try:
            response = client.send(request, stream=True, follow_redirects=False)
            try:
                answer = self._read(response, phases)
            finally:
                response.close()
        except httpx.HTTPError as exc:
            if phases.disarm():
                # The deadline ended the connection: the answer was too slow, not broken.
                error = self._late(answered=response is not None)
            elif first and _stale(exc, phases):
                phases.abandon()
                raise _StaleConnection from exc
            else:
                error = self._translate(exc, phases)
            phases.fail(error)
            raise error from exc
        except TransportError as error:
            phases.disarm()
            phases.fail(error)
            raise
        except BaseException:
            phases.disarm()
            phases.abandon()
            raise
        phases.disarm()
        self._stream = phases.stream
        if phases.tls is not None:
            self.encrypted = True
            self.tls_version = phases.tls.version()
            self.peer_certificate = phases.tls.getpeercert(True)
        return response, answer, phases

    def _read(self, response: httpx.Response, phases: _Phases) -> bytes:
        """The body of ``response``, as it came (never decompressed), within bounds: at most
        :data:`MAX_ANSWER` bytes, and over within the timeout (checked here between reads
        when barua could not arm a deadline on the connection: a client that does not
        trace)."""
        if response.is_stream_consumed:  # made in memory (a mock transport): read already
            return response.content
        started = time.monotonic()
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_raw():
            size += len(chunk)
            if size > MAX_ANSWER:
                raise self._error(
                    OutcomeUnknown,
                    say.ANSWER_TOO_LARGE(limit=_size(MAX_ANSWER)),
                    step=Step.HTTP_REQUEST,
                    hint=say.SAME_ID_HINT(),
                )
            if phases.deadline is None and time.monotonic() - started > self.settings.timeout:
                raise self._late(answered=True)
            chunks.append(chunk)
        return b"".join(chunks)

    def _late(self, *, answered: bool) -> TransportError:
        """The answer was not over ``timeout`` seconds after the request had left; it began
        (its status and headers came) when ``answered``."""
        timeout = self.settings.timeout
        return self._error(
            OutcomeUnknown,
            say.ANSWER_TOO_SLOW(timeout=timeout)
            if answered
            else say.NO_ANSWER_AFTER_SENDING(timeout=timeout),
            step=Step.HTTP_REQUEST,
            hint=say.SAME_ID_HINT(),
        )

    def _accept(
        self, message: OutgoingMessage, response: httpx.Response, answer: bytes, phases: _Phases
    ) -> SendResult:
        if phases.step is not Step.HTTP_REQUEST:
            phases.begin(Step.HTTP_REQUEST)
        status = f"{response.status_code} {response.reason_phrase}"
        acceptance = parse_acceptance(answer) if response.status_code == 202 else None
        if acceptance is None:
            error = self._refusal(message, response, answer)
            phases.fail(error)
            raise error
        phases.end(status)
        replayed = response.headers.get(IDEMPOTENT_REPLAYED, "").lower() == "true"
        reply = f"{response.reason_phrase} as {acceptance.id}" + (" (replayed)" if replayed else "")
        with self._steps.step(Step.ACCEPTED):
            self._steps.detail = (
                f"{reply}: {len(acceptance.accepted)} accepted, {len(acceptance.refused)} refused"
            )
        return SendResult(
            message_id=message.message_id,
            accepted=acceptance.accepted,
            refused=acceptance.refused,
            code=response.status_code,
            reply=reply,
            queue_id=acceptance.id,
            server=f"{self.host}:{self.port}",
        )

    # Error translation --------------------------------------------------------------------

    @property
    def _server(self) -> dict[str, object]:
        """The values that name the service in a message."""
        return {"host": self.host, "port": self.port}

    def _error(
        self,
        cls: type[TransportError],
        message: Text,
        *,
        step: Step,
        cause: Cause | None = None,
        hint: Text | None = None,
        code: int | None = None,
        reply: str | None = None,
    ) -> TransportError:
        """An error of ``cls`` at the service; its cause, unless given, is the one ``cls`` at
        ``step`` stands for, and its hint, unless given, the fix of that cause."""
        cause = cause or _default_cause(cls, step)
        return cls(
            message,
            step=step,
            cause=cause,
            hint=hint or fix_for(cause, http=True, step=step),
            host=self.host,
            port=self.port,
            code=code,
            reply=reply,
        )

    def _not_found(self) -> TransportError:
        return self._error(ConnectError, say.HTTP_HOST_NOT_FOUND(host=self.host), step=Step.RESOLVE)

    def _redact(self, text: str) -> str:
        """``text`` without the API key, in case a service or a library echoes it."""
        return text.replace(self._key, "**********") if self._key else text

    def _translate(self, exc: httpx.HTTPError, phases: _Phases) -> TransportError:
        """The one place where httpx's failures become barua's errors."""
        timeout = self.settings.timeout
        step = phases.step or Step.HTTP_REQUEST
        # Without trace events nothing is known, so the cautious answer is "maybe sent".
        maybe_sent = phases.body_sent or not phases.traced
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            return self._connect_error(exc, step if step is Step.TLS else Step.CONNECT)
        if isinstance(exc, httpx.ReadTimeout) and maybe_sent:
            return self._error(
                OutcomeUnknown,
                say.NO_ANSWER_AFTER_SENDING(timeout=timeout),
                step=Step.HTTP_REQUEST,
                hint=say.SAME_ID_HINT(),
            )
        if isinstance(exc, httpx.TimeoutException):
            return self._error(
                TimeoutError,
                say.NOT_TAKEN(**self._server, timeout=timeout),
                step=Step.HTTP_REQUEST,
                hint=say.NOT_TAKEN_HINT(),
            )
        if isinstance(exc, httpx.ProxyError):
            return self._error(
                ConnectError,
                say.PROXY_REFUSED(**self._server),
                step=Step.CONNECT,
                hint=say.PROXY_HINT(),
            )
        if isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError):
            if maybe_sent:
                hint = say.SAME_ID_HINT()
                if phases.new_connection:
                    hint = say.SAME_ID_OR_SCHEME_HINT(retry=hint)
                return self._error(
                    OutcomeUnknown, say.BROKE_AFTER_SENDING(), step=Step.HTTP_REQUEST, hint=hint
                )
            return self._error(
                ConnectError,
                say.CLOSED_BEFORE_SENDING(**self._server),
                step=Step.HTTP_REQUEST,
                hint=say.NOTHING_DELIVERED_HINT(),
            )
        if isinstance(exc, httpx.DecodingError):
            return self._error(
                OutcomeUnknown,
                say.UNREADABLE_ANSWER(),
                step=Step.HTTP_REQUEST,
                hint=say.SAME_ID_HINT(),
            )
        reason = self._redact(str(exc)) or type(exc).__name__
        return self._error(
            PermanentError,
            say.REQUEST_FAILED(**self._server, reason=reason),
            step=step,
            hint=say.UNEXPECTED_HINT(),
        )

    def _connect_error(self, exc: httpx.HTTPError, step: Step) -> TransportError:
        untrusted = _cause(exc, ssl.SSLCertVerificationError)
        if untrusted is not None:
            # The test email shows what the service presents, as for an SMTP server.
            certificate = self._peek_certificate() if self._observed else None
            cause = certificate_cause(untrusted.verify_code)
            if cause is Cause.CERT_UNTRUSTED and certificate and certificate.self_signed:
                cause = Cause.CERT_SELF_SIGNED
            error = self._error(
                TLSError,
                say.CERTIFICATE_NOT_TRUSTED(**self._server, reason=untrusted.verify_message),
                step=Step.CERTIFICATE,
                cause=cause,
            )
            assert isinstance(error, TLSError)
            error.certificate = certificate
            return error
        tls = _cause(exc, ssl.SSLError)
        if tls is not None:
            return self._error(
                TLSError,
                say.HANDSHAKE_FAILED(**self._server, reason=tls.reason or str(tls)),
                step=Step.TLS,
            )
        if isinstance(exc, httpx.ConnectTimeout):
            return self._error(
                TimeoutError,
                say.CONNECT_TIMEOUT(**self._server, timeout=self.settings.timeout),
                step=step,
            )
        if _cause(exc, socket.gaierror) is not None:
            return self._not_found()
        if _cause(exc, ConnectionRefusedError) is not None:
            return self._error(ConnectError, say.REFUSED(**self._server), step=Step.CONNECT)
        failure = _cause(exc, OSError)
        reason = (failure.strerror if failure is not None else None) or "network error"
        if failure is not None and connect_cause(failure) is Cause.NO_ROUTE:
            return self._error(
                ConnectError,
                say.NO_ROUTE(**self._server, reason=reason),
                step=Step.CONNECT,
                cause=Cause.NO_ROUTE,
            )
        return self._error(
            ConnectError, say.CANNOT_CONNECT(**self._server, reason=reason), step=Step.CONNECT
        )

    def _peek_certificate(self) -> CertificateInfo | None:
        """What the service presents, read over a second, unverified TLS connection that
        sends nothing; None when it cannot be read."""
        timeout = self.settings.timeout
        try:
            with socket.create_connection((self.host, self.port), timeout=timeout) as raw:
                context = make_tls_context(verify=False)
                with context.wrap_socket(raw, server_hostname=self.host) as tls:
                    der = tls.getpeercert(binary_form=True)
            return describe_certificate(der) if der else None
        except (OSError, ValueError):
            return None

    def _refusal(
        self, message: OutgoingMessage, response: httpx.Response, body: bytes
    ) -> TransportError:
        """The one place where the service's answers other than ``202`` become barua's errors."""
        status, reason = response.status_code, response.reason_phrase
        answer = parse_error(
            status,
            body,
            content_type=response.headers.get("content-type", ""),
            reason=reason,
        )
        if status == 422:
            return self._all_refused(message, answer)
        retry_after = parse_retry_after(response.headers.get(RETRY_AFTER))
        limit = answer.fields.get("max_size")
        location = response.headers.get("location")
        kind, text, hint = _meaning(
            status, answer.code, keyed=self._key is not None, limit=isinstance(limit, int)
        )
        values = {
            **self._server,
            "status": status,
            "reason": reason,
            "path": MESSAGES_PATH,
            "sender": message.sender,
            "size": _size(message.size),
            "limit": _size(limit) if isinstance(limit, int) else "",
            "target": self._redact(location) if location is not None else say.ANOTHER_ADDRESS(),
            "wait": say.WAIT_AS_ASKED(seconds=retry_after)
            if retry_after is not None
            else say.WAIT_LATER(),
        }
        error = self._error(
            kind,
            filled(text, values),
            hint=filled(hint, values) if hint is not None else None,
            step=Step.HTTP_REQUEST,
            code=status,
            reply=self._redact(answer.reply),
        )
        if isinstance(error, MessageTooLarge):
            error.size, error.limit = message.size, limit if isinstance(limit, int) else None
        if error.temporary:
            # Until TransportError has a field for it, the wait travels as an attribute.
            error.retry_after = retry_after  # type: ignore[attr-defined]
        return error

    def _all_refused(self, message: OutgoingMessage, answer: ServiceError) -> RecipientRefused:
        try:
            refused = parse_refused(answer.fields.get("refused"))
        except ValueError:
            refused = {}
        if not refused:  # a service that breaks the protocol still gets a readable error
            refused = {r: (550, self._redact(answer.text)) for r in message.recipients}
        names = ", ".join(f"{r} ({c} {t})" for r, (c, t) in refused.items())
        cause = Cause.TRY_LATER if all_temporary(refused) else Cause.RECIPIENT_REFUSED
        return RecipientRefused(
            say.HTTP_EVERY_RECIPIENT_REFUSED(refusals=names),
            refused=refused,
            host=self.host,
            port=self.port,
            hint=fix_for(cause, http=True, step=Step.HTTP_REQUEST, replied=True),
        )


def _proxied(url: httpx.URL) -> bool:
    """Whether the client barua builds goes to ``url`` through a proxy (HTTPS_PROXY and the
    like, which httpx honours unless NO_PROXY names the host)."""
    proxies = urllib.request.getproxies()
    if url.scheme not in proxies and "all" not in proxies:
        return False
    return not urllib.request.proxy_bypass(url.host)


def _default_cause(cls: type[TransportError], step: Step | None) -> Cause:
    """The cause an HTTP failure of class ``cls`` at ``step`` stands for."""
    if issubclass(cls, ConnectError):
        return {
            Step.RESOLVE: Cause.HOST_NOT_FOUND,
            Step.CONNECT: Cause.CONNECTION_REFUSED,
        }.get(step or Step.HTTP_REQUEST, Cause.CONNECTION_LOST)
    for kind, cause in (
        (OutcomeUnknown, Cause.OUTCOME_UNKNOWN),
        (TimeoutError, Cause.CONNECTION_TIMEOUT),
        (TLSError, Cause.TLS_FAILED),
        (AuthenticationError, Cause.API_KEY_REFUSED),
        (MessageTooLarge, Cause.MESSAGE_TOO_LARGE),
        (TemporaryError, Cause.TRY_LATER),
    ):
        if issubclass(cls, kind):
            return cause
    return Cause.SERVICE_REFUSED


def _meaning(
    status: int, code: str | None, *, keyed: bool, limit: bool
) -> tuple[type[TransportError], Message, Message | None]:
    """What an answer other than ``202`` means: the error, its message and its hint (None:
    the fix of the error's cause). :meth:`HttpTransport._refusal` fills them in."""
    if status == 401 and not keyed:
        return AuthenticationError, say.KEY_REQUIRED, say.KEY_REQUIRED_HINT
    if status == 401:
        return AuthenticationError, say.KEY_REFUSED, None
    if status == 403:
        return AuthenticationError, say.KEY_NOT_ALLOWED, say.KEY_NOT_ALLOWED_HINT
    if status == 413:
        return MessageTooLarge, say.HTTP_TOO_LARGE_FOR_LIMIT if limit else say.HTTP_TOO_LARGE, None
    if status == 429:
        return TemporaryError, say.RATE_LIMITED, say.RETRY_HINT
    if status == 409 and code == ErrorCode.IN_PROGRESS:
        return TemporaryError, say.IN_PROGRESS, say.RETRY_HINT
    if status == 409:
        return PermanentError, say.SAME_ID_CONFLICT, say.SAME_ID_CONFLICT_HINT
    if status in (502, 504):
        # A gateway in front of the service gave up waiting: the service may have taken it.
        return OutcomeUnknown, say.GATEWAY_GAVE_UP, say.SAME_ID_HINT
    if status == 408 or status >= 500:
        return TemporaryError, say.SERVICE_PROBLEM, say.SERVICE_PROBLEM_HINT
    if status in (404, 405):
        return PermanentError, say.NOT_OFFERED, say.NOT_OFFERED_HINT
    if 300 <= status < 400:
        return PermanentError, say.REDIRECTS, say.REDIRECTS_HINT
    if 200 <= status < 300:
        return PermanentError, say.UNLIKE_THE_SERVICE, say.UNLIKE_THE_SERVICE_HINT
    if status == 400:
        return PermanentError, say.INVALID_REQUEST, say.INVALID_REQUEST_HINT
    return PermanentError, say.HTTP_REFUSED, None


def _stale(exc: httpx.HTTPError, phases: _Phases) -> bool:
    """True when a reused keep-alive connection broke: the service closed it while idle."""
    return (
        phases.traced
        and not phases.new_connection
        and isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError)
    )
