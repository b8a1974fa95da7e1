"""Delivery over SMTP: one stateful connection over the stdlib's smtplib, reused for many messages.

smtplib does the line protocol; barua does what smtplib gets wrong or leaves out: opening the
socket step by step (so a failure names its step), TCP_NODELAY, a verified TLS context by
default, never a password in clear text, UTF-8 SASL (``smtplib.login`` cannot encode
``Pässwörd-ß€``), PIPELINING (RFC 2920: a message's envelope in one write, sent behind the
previous message's final dot when the caller names the next message: one round trip per
message instead of four), stored bytes sent as they are, without a copy, when they need no
dot-stuffing, every reply read within bounds of size and time
(:mod:`~barua.transports.smtp_reading`) and its text shown with the password masked, and one
translation of every low-level failure into barua's errors (:func:`_translate`).

Beside the client: what a reply means (:mod:`~barua.transports.smtp_replies`), the questions
asked of a server only to explain a failure (:mod:`~barua.transports.smtp_probes`), and the
TLS context every transport uses (:mod:`~barua.transports.tls`).
"""

from __future__ import annotations

import base64
import builtins
import smtplib
import socket
import ssl
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from functools import lru_cache, partial
from typing import TypeVar

from barua.certificates import (
    CERT_PINNED,
    CERT_UNCHECKED,
    CERT_VERIFIED,
    CertificateInfo,
    fingerprint,
)
from barua.errors import (
    AuthenticationError,
    Cause,
    ConnectError,
    InsecureError,
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
from barua.settings import AuthMethod, Protocol, Security, Settings, is_loopback
from barua.texts import Text
from barua.transports import messages as say
from barua.transports.base import (
    AddrInfo,
    ClosesOnExit,
    SendResult,
    StepObserver,
    StepRecorder,
    connect_cause,
    format_size,
    lookup_timed_out,
    resolve,
)
from barua.transports.causes import filled, fix_for
from barua.transports.oauth import (
    TokenSource,
    oauthbearer,
    sign_in_fix,
    sign_in_values,
    xoauth2,
)
from barua.transports.smtp_probes import await_greeting, old_tls_context
from barua.transports.smtp_reading import (
    Bound,
    BoundedReplies,
    ReplyTooLong,
    ReplyTooSlow,
)
from barua.transports.smtp_replies import (
    classify_reply,
    masked,
    queue_id,
    refuses_sender,
    reply_text,
)
from barua.transports.tls import certificate_cause, certificate_info, make_tls_context
from barua.wire import data_parts

# make_tls_context is offered here too, where code that sends over SMTP has always found it.
__all__ = ["SmtpTransport", "envelope_commands", "fetch_certificate", "make_tls_context"]

_T = TypeVar("_T")


@lru_cache(maxsize=1024)
def _quoted(address: str) -> str:
    # smtplib's own quoting (through email.utils.parseaddr) costs ~10 µs an address; the same
    # few addresses come back message after message.
    return smtplib.quoteaddr(address)


def envelope_commands(message: OutgoingMessage, options: Sequence[str]) -> bytes:
    """MAIL FROM, one RCPT TO per recipient and DATA, as one write for a PIPELINING server."""
    mail = f"MAIL FROM:{_quoted(message.sender)}"
    if options:
        mail += " " + " ".join(options)
    lines = [mail, *(f"RCPT TO:{_quoted(r)}" for r in message.recipients), "DATA", ""]
    text = "\r\n".join(lines)
    if text.count("\r") != len(lines) - 1 or text.count("\n") != len(lines) - 1:
        # As smtplib.putcmd: an address never carries a line break into the command stream.
        raise ValueError("command and arguments contain prohibited newline characters")
    return text.encode("utf-8" if message.smtputf8 else "ascii")


def _send_parts(sock: socket.socket, parts: Sequence[bytes]) -> None:
    """Write ``parts`` in order: one ``sendmsg`` on a plain socket (the stored bytes are not
    joined into a copy), ``sendall`` each over TLS (which has no ``sendmsg``)."""
    if len(parts) == 1 or isinstance(sock, ssl.SSLSocket):
        for part in parts:
            sock.sendall(part)
        return
    views = [memoryview(part) for part in parts]
    while views:
        sent = sock.sendmsg(views)
        while views and sent >= len(views[0]):
            sent -= len(views[0])
            views.pop(0)
        if views and sent:
            views[0] = views[0][sent:]


def _sasl(*parts: str) -> str:
    return base64.b64encode("\0".join(parts).encode("utf-8")).decode("ascii")


def _b64(value: str) -> str:
    return base64.b64encode(value.encode("utf-8")).decode("ascii")


def _password_forms(username: str | None, password: str) -> tuple[str, ...]:
    """The password as a server may echo it back: in clear (as a reply's text shows it, its
    runs of white space made single spaces, too), in base64 as AUTH LOGIN sends it, and AUTH
    PLAIN's whole response, which holds it."""
    if not password:
        return ()
    return (
        password,
        " ".join(password.split()),
        _b64(password),
        _sasl("", username or "", password),
    )


class _Client(BoundedReplies):
    """smtplib over a socket barua opened itself, step by step, each reply read within bounds."""

    def __init__(self, sock: socket.socket, *, host: str, timeout: float, local_name: str) -> None:
        self._prepared_sock = sock
        super().__init__(local_hostname=local_name, timeout=timeout)
        self._host = host

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return self._prepared_sock


# What OpenSSL says when the server's newest TLS is older than the 1.2 barua requires. Said
# on an implicit-TLS port, it must not read as "this port expects STARTTLS".
_OLD_TLS_REASONS = frozenset(
    {"UNSUPPORTED_PROTOCOL", "TLSV1_ALERT_PROTOCOL_VERSION", "NO_PROTOCOLS_AVAILABLE"}
)


class SmtpTransport(ClosesOnExit):
    """Sends messages over one SMTP connection, opened on first use and reused.

    >>> with SmtpTransport(settings) as smtp:            # doctest: +SKIP
    ...     smtp.send(build_message(settings, to=["a@example.com"], subject="Hi", text="Hi"))
    """

    def __init__(
        self,
        settings: Settings,
        *,
        observer: StepObserver | None = None,
        tls_context: ssl.SSLContext | None = None,
        max_messages_per_connection: int | None = None,
        tokens: TokenSource | None = None,
    ) -> None:
        if settings.protocol is not Protocol.SMTP or settings.host is None:
            raise SettingsError({"host": say.NO_SMTP_HOST()}, hint=say.NO_SMTP_HOST_HINT())
        self.settings = settings
        self._tokens = tokens
        self.host: str = settings.host
        self.port = settings.port
        self.security = settings.effective_security
        # A pinned certificate replaces CA verification: the fingerprint is checked instead.
        verify = not settings.skip_tls_verify and settings.pinned_certificate is None
        self._tls = tls_context or make_tls_context(verify=verify)
        self._peeking = False
        self._steps = StepRecorder(observer) if observer is not None else _Unobserved()
        # Certificates are described (parsed) only for someone watching the steps.
        self._observed = observer is not None
        self._client: _Client | None = None
        self._sent_on_connection = 0
        self._max_per_connection = max_messages_per_connection
        self._ahead: OutgoingMessage | None = None
        """The message whose envelope already went out behind the previous message's data."""
        self._size_limit: int | None = None
        """The largest message the server takes (its EHLO SIZE), when it says."""
        self._sender: str | None = None
        """The sender of the message being sent: a refused sender's hint names it."""
        self.encrypted = False
        self.tls_version: str | None = None
        self.peer_certificate: bytes | None = None
        password = settings.password.get_secret_value() if settings.password else ""
        self._secrets = _password_forms(settings.username, password)
        """What never leaves in a reply's text: a server may echo the login it refuses."""

    # Context manager ----------------------------------------------------------------------

    # Connection ---------------------------------------------------------------------------

    def _error(
        self,
        cls: type[TransportError],
        message: Text,
        *,
        step: Step,
        cause: Cause,
        hint: Text | None = None,
    ) -> TransportError:
        """An error of ``cls`` at this server; its hint, unless given, is the fix of ``cause``."""
        return cls(
            message,
            step=step,
            cause=cause,
            hint=hint or self._fix(cause, step),
            host=self.host,
            port=self.port,
        )

    def _fix(self, cause: Cause, step: Step, *, replied: bool = False) -> Text:
        """What to do about ``cause``, from the one table of causes."""
        sender = self._sender or self.settings.email_address or self.settings.username or ""
        return fix_for(cause, step=step, replied=replied, sender=sender)

    @property
    def _server(self) -> dict[str, object]:
        """The values that name this server in a message."""
        return {"host": self.host, "port": self.port}

    def _said(self, reply: bytes | str) -> str:
        """A reply as text to keep or show: one line, the password and its AUTH forms masked
        (a server may echo the credentials it refuses, and the reply goes into the error, the
        test email's report and the outbox's log)."""
        return masked(reply_text(reply), self._secrets)

    def open(self) -> None:
        """Connect, greet, encrypt and log in; does nothing when already connected."""
        if self._client is not None:
            return
        steps = self._steps
        timeout = self.settings.timeout

        with steps.step(Step.RESOLVE):
            addresses = self._resolve()
            steps.detail = ", ".join(sorted({a[4][0] for a in addresses}))
        with steps.step(Step.CONNECT):
            sock = self._connect(addresses)
            steps.detail = f"{sock.getpeername()[0]}"
        try:
            if self.security is Security.SSL:
                with steps.step(Step.TLS):
                    sock = self._wrap(sock)
                    steps.detail = self.tls_version or ""
                with steps.step(Step.CERTIFICATE):
                    self._check_certificate(sock)
            local_name = _address_literal(sock.getsockname()[0])
            client = _Client(sock, host=self.host, timeout=timeout, local_name=local_name)
            # Each step that waits for the server ends within the timeout, however the server
            # spaces its bytes: one deadline for the step, not one for each read.
            with steps.step(Step.GREETING), client.within(timeout):
                if self._observed and not self._peeking and self.security is not Security.SSL:
                    await_greeting(sock, host=self.host, port=self.port, timeout=timeout)
                code, banner = self._call(
                    Step.GREETING, lambda: client.connect(self.host, self.port)
                )
                steps.detail = f"{code} {self._said(banner)}"
                if code != 220:
                    raise self._reply_error(Step.GREETING, code, banner)
            self._client = client
            with steps.step(Step.EHLO), client.within(timeout):
                self._ehlo(client)
            if self.security in (Security.STARTTLS, Security.STARTTLS_IF_OFFERED):
                self._starttls(client)
            if self.settings.username is not None:
                with steps.step(Step.AUTH):
                    self._login(client)
        except BaseException:
            self.close()
            sock.close()  # before the greeting, the client is not yet this transport's
            raise
        self._sent_on_connection = 0

    def _resolve(self) -> list[AddrInfo]:
        try:
            return resolve(self.host, self.port, timeout=self.settings.timeout)
        except builtins.TimeoutError as exc:
            timeout = self.settings.timeout
            raise lookup_timed_out(say.SMTP_RESOLVE_TIMEOUT, self.host, self.port, timeout) from exc
        except (socket.gaierror, UnicodeError) as exc:
            raise self._error(
                ConnectError,
                say.SMTP_HOST_NOT_FOUND(host=self.host),
                step=Step.RESOLVE,
                cause=Cause.HOST_NOT_FOUND,
            ) from exc

    def _connect(self, addresses: list[AddrInfo]) -> socket.socket:
        last: OSError | None = None
        for family, kind, proto, _, address in addresses:
            sock = socket.socket(family, kind, proto)
            sock.settimeout(self.settings.timeout)
            try:
                sock.connect(address)
            except OSError as exc:
                sock.close()
                last = exc
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        assert last is not None
        cause = connect_cause(last)
        reason = last.strerror or str(last)
        if cause is Cause.CONNECTION_TIMEOUT:
            raise self._error(
                TimeoutError,
                say.CONNECT_TIMEOUT(**self._server, timeout=self.settings.timeout),
                step=Step.CONNECT,
                cause=Cause.CONNECTION_TIMEOUT,
            ) from last
        if cause is Cause.NO_ROUTE:
            raise self._error(
                ConnectError,
                say.NO_ROUTE(**self._server, reason=reason),
                step=Step.CONNECT,
                cause=Cause.NO_ROUTE,
            ) from last
        if isinstance(last, ConnectionRefusedError):
            raise self._error(
                ConnectError,
                say.REFUSED(**self._server),
                step=Step.CONNECT,
                cause=Cause.CONNECTION_REFUSED,
            ) from last
        raise self._error(
            ConnectError,
            say.CANNOT_CONNECT(**self._server, reason=reason),
            step=Step.CONNECT,
            cause=Cause.CONNECTION_REFUSED,
        ) from last

    def _wrap(self, sock: socket.socket) -> ssl.SSLSocket:
        try:
            wrapped = self._tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException as exc:
            sock.close()
            raise self._tls_error(exc, Step.TLS) from exc
        self._after_tls(wrapped)
        return wrapped

    def _after_tls(self, sock: ssl.SSLSocket) -> None:
        self.encrypted = True
        self.tls_version = sock.version()
        self.peer_certificate = sock.getpeercert(binary_form=True)

    def _check_certificate(self, sock: ssl.SSLSocket) -> None:
        """The certificate step: a pinned certificate must be the one presented; otherwise
        the handshake has already verified it (or verification is off)."""
        der = self.peer_certificate or b""
        info = certificate_info(der) if der and self._observed else None
        self._steps.certificate = info
        pinned = self.settings.pinned_certificate
        if pinned is None or self._peeking:
            verified = self._tls.verify_mode != ssl.CERT_NONE
            self._steps.detail = CERT_VERIFIED if verified else CERT_UNCHECKED
            return
        presented = fingerprint(der)
        if presented == pinned:
            self._steps.detail = CERT_PINNED
            return
        error = self._error(
            TLSError,
            say.CERTIFICATE_CHANGED(**self._server, pinned=pinned, presented=presented),
            step=Step.CERTIFICATE,
            cause=Cause.CERT_CHANGED,
        )
        assert isinstance(error, TLSError)
        error.certificate = info or certificate_info(der)
        error.pinned = pinned
        sock.close()
        raise error

    def _tls_error(self, exc: BaseException, step: Step) -> TransportError:
        if isinstance(exc, ssl.SSLCertVerificationError):
            certificate = self._peek_certificate()
            cause = certificate_cause(exc.verify_code)
            if cause is Cause.CERT_UNTRUSTED and certificate and certificate.self_signed:
                cause = Cause.CERT_SELF_SIGNED
            error = self._error(
                TLSError,
                say.CERTIFICATE_NOT_TRUSTED(**self._server, reason=exc.verify_message),
                step=Step.CERTIFICATE,
                cause=cause,
            )
            assert isinstance(error, TLSError)
            error.certificate = certificate
            return error
        if isinstance(exc, ssl.SSLError):
            reason = exc.reason or str(exc)
            if exc.reason in _OLD_TLS_REASONS or self._offers_only_old_tls():
                return self._error(
                    TLSError,
                    say.OLD_TLS(**self._server, reason=reason),
                    step=step,
                    cause=Cause.TLS_FAILED,
                )
            if step is Step.TLS:
                return self._error(
                    TLSError,
                    say.NO_IMPLICIT_TLS(**self._server, reason=reason),
                    step=step,
                    cause=Cause.EXPECTS_STARTTLS,
                )
            return self._error(
                TLSError,
                say.HANDSHAKE_FAILED(**self._server, reason=reason),
                step=step,
                cause=Cause.TLS_FAILED,
            )
        # A port that hangs or hangs up on a TLS handshake from the start may expect STARTTLS;
        # after STARTTLS, the cause's own advice applies.
        hint = say.MAY_EXPECT_STARTTLS_HINT() if step is Step.TLS else None
        if isinstance(exc, socket.timeout):
            return self._error(
                TimeoutError,
                say.HANDSHAKE_TIMEOUT(**self._server),
                step=step,
                cause=Cause.CONNECTION_TIMEOUT,
                hint=hint,
            )
        if isinstance(exc, OSError):
            return self._error(
                ConnectError,
                say.HANDSHAKE_CLOSED(**self._server),
                step=step,
                cause=Cause.CONNECTION_LOST,
                hint=hint,
            )
        raise exc

    def _offers_only_old_tls(self) -> bool:
        """Whether the server, offered TLS 1.0 or 1.1 only, completes a handshake: asked after a
        failed one, since many old servers just hang up on a client that wants TLS 1.2 (as
        `openssl s_client -tls1_1` would tell). That connection logs in to nothing and sends
        no message: it ends after the handshake (for STARTTLS, after EHLO and STARTTLS)."""
        if self._peeking:
            return False
        try:
            fetch_certificate(self.settings, tls_context=old_tls_context())
        except TransportError:
            return False
        return True

    def _peek_certificate(self) -> CertificateInfo | None:
        """What the server presents, read over a second, unverified connection."""
        if self._peeking:
            return None
        try:
            der = fetch_certificate(self.settings)
        except TransportError:
            return None
        return certificate_info(der)

    def _ehlo(self, client: _Client) -> None:
        code, reply = self._call(Step.EHLO, client.ehlo)
        if code != 250:
            code, reply = self._call(Step.EHLO, client.helo)
            if code != 250:
                raise self._reply_error(Step.EHLO, code, reply)
        size = client.esmtp_features.get("size", "")
        self._size_limit = int(size) if size.isdigit() and int(size) else None
        self._steps.detail = self._said(" ".join(sorted(client.esmtp_features)) or reply)

    def _starttls(self, client: _Client) -> None:
        with self._steps.step(Step.STARTTLS):
            if not client.has_extn("starttls"):
                if self.security is Security.STARTTLS_IF_OFFERED:
                    self._steps.detail = "not offered; continuing unencrypted"
                    return
                raise self._error(
                    TLSError,
                    say.NO_STARTTLS(**self._server),
                    step=Step.STARTTLS,
                    cause=Cause.NO_STARTTLS,
                )
            try:
                with client.within(self.settings.timeout):  # the reply and the handshake
                    client.starttls(context=self._tls)
            except smtplib.SMTPResponseException as exc:
                raise self._reply_error(Step.STARTTLS, exc.smtp_code, exc.smtp_error) from exc
            except (ReplyTooLong, ReplyTooSlow) as exc:
                raise self._translate(exc, Step.STARTTLS) from exc
            except (ssl.SSLError, OSError) as exc:
                self.close()
                raise self._tls_error(exc, Step.STARTTLS) from exc
            except smtplib.SMTPException as exc:
                raise self._translate(exc, Step.STARTTLS) from exc
            assert isinstance(client.sock, ssl.SSLSocket)
            self._after_tls(client.sock)
            self._steps.detail = self.tls_version or ""
        with self._steps.step(Step.CERTIFICATE):
            self._check_certificate(client.sock)
        with self._steps.step(Step.EHLO), client.within(self.settings.timeout):
            self._ehlo(client)

    def _login(self, client: _Client) -> None:
        username = self.settings.username
        password = self.settings.password
        assert username is not None
        if not self.encrypted and not (self.security is Security.NONE and is_loopback(self.host)):
            raise self._error(
                InsecureError,
                say.INSECURE_LOGIN(**self._server),
                step=Step.AUTH,
                cause=Cause.INSECURE_LOGIN,
            )
        if not client.has_extn("auth"):
            raise self._error(
                AuthenticationError,
                say.NO_AUTH(**self._server),
                step=Step.AUTH,
                cause=Cause.AUTH_NOT_OFFERED,
            )
        mechanisms = client.esmtp_features.get("auth", "").upper().split()
        if self.settings.auth is AuthMethod.OAUTH:
            self._login_with_token(client, username, mechanisms)
            return
        secret = password.get_secret_value() if password is not None else ""
        with client.within(self.settings.timeout):  # AUTH LOGIN's three exchanges too
            code, reply = self._password_login(client, username, secret, mechanisms)
        if code != 235:
            raise self._reply_error(Step.AUTH, code, reply)
        self._steps.detail = f"{code} {self._said(reply)}"

    def _password_login(
        self, client: _Client, username: str, secret: str, mechanisms: list[str]
    ) -> tuple[int, bytes]:
        """The reply to AUTH PLAIN, or the last of AUTH LOGIN's."""
        if "PLAIN" in mechanisms:
            code, reply = self._call(
                Step.AUTH, lambda: client.docmd("AUTH", "PLAIN " + _sasl("", username, secret))
            )
        elif "LOGIN" in mechanisms:
            code, reply = self._call(Step.AUTH, lambda: client.docmd("AUTH", "LOGIN"))
            if code == 334:
                code, reply = self._call(Step.AUTH, lambda: client.docmd(_b64(username)))
            if code == 334:
                code, reply = self._call(Step.AUTH, lambda: client.docmd(_b64(secret)))
        else:
            raise self._error(
                AuthenticationError,
                say.NO_AUTH_METHOD(**self._server, methods=" ".join(mechanisms))
                if mechanisms
                else say.NO_AUTH_METHOD_AT_ALL(**self._server),
                step=Step.AUTH,
                cause=Cause.AUTH_NOT_OFFERED,
            )
        return code, reply

    def _login_with_token(self, client: _Client, username: str, mechanisms: list[str]) -> None:
        """Log in with an access token (SASL XOAUTH2, else OAUTHBEARER). A refused token is
        renewed and tried once more: it may have been revoked, or expired early."""
        values = sign_in_values(self.settings)
        if self._tokens is None:
            raise self._error(
                AuthenticationError,
                say.OAUTH_NOT_SIGNED_IN(provider=values["provider"]),
                step=Step.AUTH,
                cause=Cause.SIGN_IN_NEEDED,
                hint=sign_in_fix(self.settings, Cause.SIGN_IN_NEEDED),
            )
        if "XOAUTH2" in mechanisms:
            initial = xoauth2
        elif "OAUTHBEARER" in mechanisms:
            initial = partial(oauthbearer, host=self.host, port=self.port)
        else:
            raise self._error(
                AuthenticationError,
                say.OAUTH_NO_MECHANISM(**self._server),
                step=Step.AUTH,
                cause=Cause.AUTH_NOT_OFFERED,
            )
        mechanism = "XOAUTH2" if "XOAUTH2" in mechanisms else "OAUTHBEARER"
        token = self._tokens.access_token()
        for attempt in (1, 2):
            response = initial(username, token.token)
            self._secrets = (*self._secrets, token.token, response)
            command = f"{mechanism} {response}"
            code, reply = self._call(Step.AUTH, partial(client.docmd, "AUTH", command))
            if code == 334:
                # The server's error, as a challenge: an empty line ends the exchange.
                code, reply = self._call(Step.AUTH, lambda: client.docmd(""))
            if code == 235:
                self._steps.detail = f"{code} {self._said(reply)}"
                return
            if attempt == 1 and 500 <= code < 600:
                token = self._tokens.access_token(renew_after=token.version)
                continue
            break
        text = self._said(reply)
        account = token.account or username
        cause = (
            Cause.SMTP_AUTH_DISABLED
            if "5.7.139" in text or "SmtpClientAuthentication" in text
            else Cause.TOKEN_REFUSED
        )
        error = self._error(
            AuthenticationError if 500 <= code < 600 else TemporaryError,
            say.OAUTH_TOKEN_REFUSED(account=account),
            step=Step.AUTH,
            cause=cause if 500 <= code < 600 else Cause.TRY_LATER,
            hint=sign_in_fix(self.settings, cause, account=account) if 500 <= code < 600 else None,
        )
        error.code, error.reply = code, text
        raise error

    def close(self) -> None:
        """Say QUIT when possible and close the connection."""
        client, self._client = self._client, None
        ahead, self._ahead = self._ahead, None
        if client is None:
            return
        if ahead is not None:
            # The server may be waiting for the data of the envelope sent ahead: a QUIT would
            # be taken for a line of it. Closing now makes it drop that transaction unsent.
            client.close()
            return
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()

    # Sending ------------------------------------------------------------------------------

    def send(
        self,
        message: OutgoingMessage,
        *,
        meanwhile: Callable[[], None] | None = None,
        then: OutgoingMessage | None = None,
    ) -> SendResult:
        """Deliver ``message`` to the server; reconnects once if a reused connection dropped.

        ``meanwhile`` is called once the whole message is written and before its reply is
        read: work done there (the outbox recording the previous message) overlaps with the
        server taking this one in. When it raises, the connection is closed (the message's
        fate is then unknown) and its exception propagates.

        ``then`` names the message the caller sends next. With PIPELINING its envelope goes
        out in the same write as this message's final dot (RFC 2920 allows the content as the
        first "command" of a group), so its replies are already there when it is sent: one
        round trip per message. Sending another message next instead costs a new connection.
        """
        if self._ahead is not None and self._ahead is not message:
            self.close()
        self._sender = message.sender
        reused = self._client is not None
        if (
            reused
            and self._max_per_connection is not None
            and self._sent_on_connection >= self._max_per_connection
        ):
            self.close()
            reused = False
        self.open()
        try:
            return self._send(message, meanwhile, then)
        except _StaleConnection:
            self.close()
            if not reused:
                raise self._error(
                    ConnectError,
                    say.CLOSED(**self._server),
                    step=Step.MAIL_FROM,
                    cause=Cause.CONNECTION_LOST,
                ) from None
            self.open()
            return self._send(message, meanwhile, then)
        except MessageTooLarge as exc:
            self._sized(exc, message.size)
            if self._client is None:
                self.close()
            raise
        except TransportError as exc:
            if exc.code == 421 or self._client is None:
                self.close()
            raise

    def _sized(self, error: MessageTooLarge, size: int) -> MessageTooLarge:
        """``error`` with the message's size and the server's limit, in its words too."""
        if error.size is not None:
            return error
        error.size, error.limit = size, self._size_limit
        if error.limit is not None:
            text = say.SMTP_TOO_LARGE_FOR_LIMIT(
                size=format_size(size, unlike=error.limit),
                host=self.host,
                limit=format_size(error.limit, unlike=size),
            )
        else:
            text = say.SMTP_TOO_LARGE_FOR_HOST(size=format_size(size), host=self.host)
        error.message = text
        error.args = (text.render(),)
        return error

    def _send(
        self,
        message: OutgoingMessage,
        meanwhile: Callable[[], None] | None,
        then: OutgoingMessage | None,
    ) -> SendResult:
        client = self._client
        assert client is not None
        steps = self._steps
        # RFC 2920: with PIPELINING, MAIL FROM, every RCPT TO and DATA go in one write (or went
        # already, behind the previous message) and the replies are read in order.
        pipelined = client.has_extn("pipelining")
        if pipelined:
            accepted, refused = self._envelope_pipelined(client, message)
        else:
            accepted, refused = self._envelope(client, message)

        with steps.step(Step.DATA):
            if pipelined:
                code, reply = self._call(Step.DATA, client.getreply)
            else:
                code, reply = self._call(Step.DATA, lambda: client.docmd("DATA"))
            if code != 354:
                self._reset(client)
                raise self._reply_error(Step.DATA, code, reply)
            parts = data_parts(message.data)
            ahead = self._envelope_ahead(client, then) if pipelined and then else None
            try:
                assert client.sock is not None
                _send_parts(
                    client.sock, parts if ahead is None else (*parts[:-1], parts[-1] + ahead)
                )
                if ahead is not None:
                    self._ahead = then
            except (smtplib.SMTPException, OSError) as exc:
                self.close()
                raise self._error(
                    TemporaryError,
                    say.CONNECTION_BROKE(),
                    step=Step.DATA,
                    cause=Cause.CONNECTION_LOST,
                    hint=say.NOTHING_DELIVERED_HINT(),
                ) from exc
            if meanwhile is not None:
                try:
                    meanwhile()
                except BaseException:
                    self.close()
                    raise
            try:
                code, reply = client.getreply()
            except (smtplib.SMTPException, OSError) as exc:
                self.close()
                raise self._error(
                    OutcomeUnknown,
                    say.NOT_CONFIRMED(),
                    step=Step.DATA,
                    cause=Cause.OUTCOME_UNKNOWN,
                    hint=say.NOT_CONFIRMED_HINT(),
                ) from exc
            steps.detail = f"{code} {self._said(reply)}"
            if code != 250:
                raise self._reply_error(Step.DATA, code, reply)
        self._sent_on_connection += 1
        text = self._said(reply)
        with steps.step(Step.ACCEPTED):
            steps.detail = text
        return SendResult(
            message_id=message.message_id,
            accepted=tuple(accepted),
            refused=refused,
            code=code,
            reply=text,
            queue_id=queue_id(text),
            server=f"{self.host}:{self.port}",
        )

    def _envelope(
        self, client: _Client, message: OutgoingMessage
    ) -> tuple[list[str], dict[str, tuple[int, str]]]:
        """MAIL FROM and RCPT TO one command at a time, each waiting for its reply."""
        steps = self._steps
        with steps.step(Step.MAIL_FROM):
            options = self._mail_options(client, message)
            try:
                code, reply = client.mail(message.sender, options)
            except smtplib.SMTPServerDisconnected as exc:
                raise _StaleConnection from exc
            except (smtplib.SMTPException, OSError) as exc:
                raise self._translate(exc, Step.MAIL_FROM) from exc
            steps.detail = f"{code} {self._said(reply)}"
            if code != 250:
                self._reset(client)
                raise self._reply_error(Step.MAIL_FROM, code, reply)
        replies = ((recipient, partial(client.rcpt, recipient)) for recipient in message.recipients)
        return self._recipients(replies, partial(self._reset, client))

    def _envelope_pipelined(
        self, client: _Client, message: OutgoingMessage
    ) -> tuple[list[str], dict[str, tuple[int, str]]]:
        """MAIL FROM, every RCPT TO and DATA in one write; then their replies, in order. The
        caller reads the reply to DATA."""
        steps = self._steps
        with steps.step(Step.MAIL_FROM):
            if self._ahead is message:  # written behind the previous message's data
                self._ahead = None
                commands = None
            else:
                commands = envelope_commands(message, self._mail_options(client, message))
            try:
                assert client.sock is not None
                if commands is not None:
                    client.sock.sendall(commands)
                code, reply = client.getreply()
            except smtplib.SMTPServerDisconnected as exc:
                raise _StaleConnection from exc
            except (ReplyTooLong, ReplyTooSlow) as exc:  # smtplib's errors are OSErrors too
                raise self._translate(exc, Step.MAIL_FROM) from exc
            except OSError as exc:
                client.close()
                raise _StaleConnection from exc
            steps.detail = f"{code} {self._said(reply)}"
            if code != 250:
                if code != 421:  # after a 421 the server closes: nothing left to read
                    self._abandon(client, len(message.recipients))
                raise self._reply_error(Step.MAIL_FROM, code, reply)
        replies = ((recipient, client.getreply) for recipient in message.recipients)
        return self._recipients(replies, partial(self._abandon, client, 0))

    def _envelope_ahead(self, client: _Client, message: OutgoingMessage) -> bytes | None:
        """The envelope of ``message`` to send ahead, or None when it must wait: it would
        go over the messages allowed on this connection, or the server would refuse it
        before any reply (size, SMTPUTF8), which its own :meth:`send` reports."""
        limit = self._max_per_connection
        if limit is not None and self._sent_on_connection + 1 >= limit:
            return None
        try:
            return envelope_commands(message, self._mail_options(client, message))
        except (TransportError, ValueError):
            return None

    def _recipients(
        self,
        replies: Iterator[tuple[str, Callable[[], tuple[int, bytes]]]],
        end_transaction: Callable[[], None],
    ) -> tuple[list[str], dict[str, tuple[int, str]]]:
        """Each recipient's reply to RCPT TO (one step each), sorted into accepted and
        refused; when every one is refused, ``end_transaction`` and raise
        :class:`RecipientRefused`."""
        steps = self._steps
        accepted: list[str] = []
        refused: dict[str, tuple[int, str]] = {}
        for recipient, ask in replies:
            with steps.step(Step.RCPT_TO):
                steps.recipient = recipient
                code, reply = self._call(Step.RCPT_TO, ask)
                steps.detail = f"{code} {self._said(reply)}"
                if code in (250, 251):
                    accepted.append(recipient)
                elif code == 421:
                    raise self._reply_error(Step.RCPT_TO, code, reply, recipient=recipient)
                else:
                    refused[recipient] = (code, self._said(reply))
                    steps.refusal = self._reply_error(
                        Step.RCPT_TO, code, reply, recipient=recipient
                    )
        if not accepted:
            end_transaction()
            for recipient, (code, text) in refused.items():
                if refuses_sender(code, text):
                    # The server refuses the sender, not the address: it says so in reply to
                    # RCPT TO (Postfix checks the sender's owner there).
                    raise self._reply_error(Step.RCPT_TO, code, text, recipient=recipient)
            names = ", ".join(f"{r} ({c} {t})" for r, (c, t) in refused.items())
            cause = Cause.TRY_LATER if all_temporary(refused) else Cause.RECIPIENT_REFUSED
            raise RecipientRefused(
                say.SMTP_EVERY_RECIPIENT_REFUSED(refusals=names),
                refused=refused,
                host=self.host,
                port=self.port,
                hint=self._fix(cause, Step.RCPT_TO, replied=True),
            )
        return accepted, refused

    def _abandon(self, client: _Client, recipients: int) -> None:
        """After a refusal inside a pipelined group: read the replies still owed (to the
        remaining RCPT TOs and to DATA) and end the transaction, as RFC 2920 asks; a server
        that accepted DATA anyway gets a lone ``.`` (no recipient, so nothing is delivered)."""
        try:
            for _ in range(recipients):
                client.getreply()
            code, _reply = client.getreply()
            if code == 354:
                assert client.sock is not None
                client.sock.sendall(b".\r\n")
                client.getreply()
        except (smtplib.SMTPException, OSError):
            self.close()
            return
        self._reset(client)

    def _mail_options(self, client: _Client, message: OutgoingMessage) -> list[str]:
        options: list[str] = []
        if client.has_extn("size"):
            limit = int(client.esmtp_features.get("size", "0") or 0)
            if limit and message.size > limit:
                error = self._error(
                    MessageTooLarge,
                    say.TOO_LARGE(),  # made precise by _sized
                    step=Step.MAIL_FROM,
                    cause=Cause.MESSAGE_TOO_LARGE,
                )
                assert isinstance(error, MessageTooLarge)
                raise self._sized(error, message.size)
            options.append(f"SIZE={message.size}")
        if message.smtputf8:
            if not client.has_extn("smtputf8"):
                raise self._error(
                    PermanentError,
                    say.NO_SMTPUTF8(host=self.host),
                    step=Step.MAIL_FROM,
                    cause=Cause.SMTPUTF8_UNSUPPORTED,
                )
            options.append("SMTPUTF8")
            if client.has_extn("8bitmime"):
                options.append("BODY=8BITMIME")
        return options

    def _reset(self, client: _Client) -> None:
        try:
            client.rset()
        except (smtplib.SMTPException, OSError):
            self.close()

    # Error translation --------------------------------------------------------------------

    def _call(self, step: Step, action: Callable[[], _T]) -> _T:
        try:
            return action()
        except (smtplib.SMTPException, OSError) as exc:
            raise self._translate(exc, step) from exc

    def _translate(self, exc: BaseException, step: Step) -> TransportError:
        """The one place where smtplib's and the socket's failures become barua's errors."""
        self.close()
        if isinstance(exc, smtplib.SMTPResponseException):
            return self._reply_error(step, exc.smtp_code, exc.smtp_error)
        if isinstance(exc, ReplyTooLong | ReplyTooSlow):
            return self._out_of_bounds(exc, step)
        timed_out = isinstance(exc, socket.timeout) or isinstance(exc.__context__, socket.timeout)
        if timed_out:
            if step is Step.GREETING and self.security is not Security.SSL:
                return self._no_greeting()
            return self._error(
                TimeoutError,
                say.NO_ANSWER(**self._server, timeout=self.settings.timeout, step=step),
                step=step,
                cause=Cause.CONNECTION_TIMEOUT,
                hint=say.SLOW_HINT(),
            )
        return self._error(
            ConnectError,
            say.CLOSED_UNEXPECTEDLY(**self._server, step=step),
            step=step,
            cause=Cause.CONNECTION_LOST,
        )

    def _out_of_bounds(self, exc: ReplyTooLong | ReplyTooSlow, step: Step) -> TransportError:
        """A reply longer than SMTP allows, or begun and not finished by the step's deadline:
        a server to leave, whatever it meant, before it fills the memory or holds the
        worker."""
        command = _COMMANDS.get(step, str(step).upper())
        if isinstance(exc, ReplyTooSlow):
            timeout = self.settings.timeout
            return self._error(
                TimeoutError,
                say.SLOW_GREETING(**self._server, timeout=timeout)
                if step is Step.GREETING
                else say.SLOW_REPLY(**self._server, command=command, timeout=timeout),
                step=step,
                cause=Cause.REPLY_OUT_OF_BOUNDS,
            )
        limit = _LIMITS[exc.bound](count=exc.limit)
        return self._error(
            ConnectError,
            say.LONG_GREETING(**self._server, limit=limit)
            if step is Step.GREETING
            else say.LONG_REPLY(**self._server, command=command, limit=limit),
            step=step,
            cause=Cause.REPLY_OUT_OF_BOUNDS,
        )

    def _no_greeting(self) -> TransportError:
        """The port took the connection and said nothing for the whole timeout: most likely an
        implicit-TLS port waiting for a handshake (the test email checks before it says so)."""
        return self._error(
            TimeoutError,
            say.NO_GREETING(**self._server, timeout=self.settings.timeout),
            step=Step.GREETING,
            cause=Cause.EXPECTS_IMPLICIT_TLS,
        )

    def _reply_error(
        self, step: Step, code: int, reply: bytes | str, *, recipient: str | None = None
    ) -> TransportError:
        """An SMTP reply that is not success, as the matching error of barua's tree."""
        text = self._said(reply)
        cls, cause, message = classify_reply(step, code, text)
        return cls(
            filled(message, {**self._server, "step": step}),
            host=self.host,
            port=self.port,
            step=step,
            code=code,
            reply=text,
            recipient=recipient,
            cause=cause,
            hint=self._fix(cause, step, replied=True),
        )


def fetch_certificate(settings: Settings, *, tls_context: ssl.SSLContext | None = None) -> bytes:
    """The DER certificate the server presents, read without verifying it or logging in.

    Used to show a refused certificate to the user and to pin it on request; with
    ``tls_context``, to try a handshake barua would not accept for sending.
    """
    if settings.protocol is not Protocol.SMTP:
        raise SettingsError({"protocol": say.TRUST_NEEDS_SMTP()}, hint=say.TRUST_NEEDS_SMTP_HINT())
    anonymous = settings.model_copy(update={"username": None, "password": None})
    probe = SmtpTransport(anonymous, tls_context=tls_context or make_tls_context(verify=False))
    probe._peeking = True
    if probe.security is Security.STARTTLS_IF_OFFERED:
        probe.security = Security.STARTTLS
    if probe.security is Security.NONE:
        raise TLSError(
            say.NO_CERTIFICATE(),
            step=Step.CERTIFICATE,
            host=probe.host,
            port=probe.port,
            cause=Cause.NO_STARTTLS,
            hint=fix_for(Cause.NO_STARTTLS, step=Step.CERTIFICATE),
        )
    try:
        probe.open()
        assert probe.peer_certificate is not None
        return probe.peer_certificate
    finally:
        probe.close()


_COMMANDS = {
    Step.EHLO: "EHLO",
    Step.STARTTLS: "STARTTLS",
    Step.AUTH: "AUTH",
    Step.MAIL_FROM: "MAIL FROM",
    Step.RCPT_TO: "RCPT TO",
    Step.DATA: "DATA",
}
"""The command whose reply a step reads, as a message names it."""

_LIMITS = {Bound.LINE: say.LIMIT_LINE, Bound.LINES: say.LIMIT_LINES, Bound.SIZE: say.LIMIT_SIZE}


class _Unobserved:
    """The steps when nobody observes them: a message's five steps then cost nothing (a
    generator-based context manager each, otherwise)."""

    detail = ""
    recipient: str | None = None
    certificate: CertificateInfo | None = None
    refusal: TransportError | None = None

    def step(self, step: Step) -> AbstractContextManager[None]:
        return _NOTHING


_NOTHING = nullcontext()


class _StaleConnection(Exception):
    """A reused connection had been closed by the server before this message."""


def _address_literal(ip: str) -> str:
    return f"[IPv6:{ip}]" if ":" in ip else f"[{ip}]"
