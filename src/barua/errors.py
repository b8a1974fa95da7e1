"""The one exception tree of barua.

Every error a user can meet carries a plain-language ``message``, a ``hint`` with the fix,
and structured fields a program can act on::

    BaruaError
     ├── SettingsError            a field of the settings is wrong (``problems`` lists each one)
     ├── StoreError               the saved settings cannot be read or written
     ├── MessageError             the message cannot be built (bad address, header injection)
     │    └── SeveralAddressesError  (barua.addresses) several addresses where one is expected
     └── TransportError           delivery failed; ``step``, ``host``, ``port``, ``code``, ``reply``
          ├── ConnectError        (also builtins.ConnectionError) host unknown, refused, unreachable
          ├── TimeoutError        (also builtins.TimeoutError) no answer in time
          ├── TLSError            handshake failed, certificate refused, STARTTLS missing
          ├── AuthenticationError the server refused the username or password
          ├── InsecureError       barua refused to send a password without encryption
          ├── TemporaryError      4xx: try again later
          │    └── OutcomeUnknown the connection broke after the message was sent
          └── PermanentError      5xx: retrying will not help
               ├── SenderRefused
               ├── RecipientRefused
               └── MessageTooLarge

``TransportError.temporary`` tells the outbox whether a retry can help.
"""

from __future__ import annotations

import builtins
import errno
import socket
from collections.abc import Mapping
from enum import StrEnum
from typing import TYPE_CHECKING

from barua.texts import Message, Text, joined, untranslated

if TYPE_CHECKING:
    from barua.certificates import CertificateInfo


class Step(StrEnum):
    """The steps of a delivery, in the order they happen."""

    RESOLVE = "resolve"
    """Looking up the server's address (DNS)."""
    CONNECT = "connect"
    """Opening the TCP connection."""
    TLS = "tls"
    """The TLS handshake of an implicit-TLS port (465)."""
    GREETING = "greeting"
    """Reading the server's banner."""
    EHLO = "ehlo"
    """Introducing ourselves and reading the server's extensions."""
    STARTTLS = "starttls"
    """Upgrading a plain connection to TLS."""
    CERTIFICATE = "certificate"
    """Checking the server's certificate and host name."""
    AUTH = "auth"
    """Logging in with the username and password."""
    MAIL_FROM = "mail_from"
    """Announcing the sender."""
    RCPT_TO = "rcpt_to"
    """Announcing each recipient."""
    DATA = "data"
    """Sending the message itself."""
    HTTP_REQUEST = "http_request"
    """The authenticated request to an HTTP email service."""
    ACCEPTED = "accepted"
    """The server took responsibility for the message."""


class Cause(StrEnum):
    """Why a delivery failed, when the transport can tell; the test email explains each."""

    HOST_NOT_FOUND = "host_not_found"
    CONNECTION_REFUSED = "connection_refused"
    CONNECTION_TIMEOUT = "connection_timeout"
    NO_ROUTE = "no_route"
    """This computer has no route to the server's network (ENETUNREACH, EHOSTUNREACH)."""
    CONNECTION_LOST = "connection_lost"
    EXPECTS_STARTTLS = "expects_starttls"
    """Implicit TLS was spoken to a port that expects a plain greeting and STARTTLS."""
    EXPECTS_IMPLICIT_TLS = "expects_implicit_tls"
    """A plain greeting was awaited from a port that expects TLS from the first byte."""
    NO_STARTTLS = "no_starttls"
    CERT_SELF_SIGNED = "cert_self_signed"
    CERT_UNTRUSTED = "cert_untrusted"
    CERT_EXPIRED = "cert_expired"
    CERT_WRONG_HOST = "cert_wrong_host"
    CERT_CHANGED = "cert_changed"
    """The server no longer presents the certificate the user chose to trust."""
    TLS_FAILED = "tls_failed"
    INSECURE_LOGIN = "insecure_login"
    AUTH_NOT_OFFERED = "auth_not_offered"
    AUTH_REFUSED = "auth_refused"
    AUTH_REQUIRED = "auth_required"
    SENDER_REFUSED = "sender_refused"
    RECIPIENT_REFUSED = "recipient_refused"
    COPY_REFUSED = "copy_refused"
    """The server refused the address that gets a copy of every email (``bcc_copy``)."""
    MESSAGE_TOO_LARGE = "message_too_large"
    TRY_LATER = "try_later"
    SMTPUTF8_UNSUPPORTED = "smtputf8_unsupported"
    OUTCOME_UNKNOWN = "outcome_unknown"
    SERVICE_REFUSED = "service_refused"
    API_KEY_REFUSED = "api_key_refused"
    """The HTTP email service refused the API key, or does not let it send this message."""
    SIGN_IN_NEEDED = "sign_in_needed"
    """The settings sign in with the provider (OAuth), and nobody has signed in yet."""
    SIGN_IN_EXPIRED = "sign_in_expired"
    """The provider no longer accepts the sign-in (``invalid_grant``: expired, revoked, the
    password changed): sign in again."""
    CONSENT_NEEDED = "consent_needed"
    """The provider wants the user's consent, or an administrator's approval of the app."""
    TOKEN_REFUSED = "token_refused"  # noqa: S105 - a cause, not a token
    """The mail server refused the access token (XOAUTH2 or OAUTHBEARER)."""
    SMTP_AUTH_DISABLED = "smtp_auth_disabled"
    """The provider turned SMTP login off for the mailbox or organisation (Microsoft 5.7.139)."""
    PROVIDER_UNREACHABLE = "provider_unreachable"
    """The provider's sign-in service could not be reached."""
    SIGN_IN_FAILED = "sign_in_failed"
    """The provider answered the sign-in with an error barua does not know."""
    REPLY_OUT_OF_BOUNDS = "reply_out_of_bounds"
    """The server's reply broke the protocol's bounds: longer than a server may send, or
    begun and not finished within the timeout."""
    UNKNOWN = "unknown"


class BaruaError(Exception):
    """Base of every error barua raises on purpose.

    ``text`` says what went wrong and ``hint_text`` what to do, each as a code with its values
    (:class:`~barua.texts.Text`), rendered in the reader's language where it is shown
    (:meth:`render`); ``message`` and ``hint`` are the English words.
    """

    def __init__(self, message: Text | str, *, hint: Text | str | None = None) -> None:
        self.text = message if isinstance(message, Text) else untranslated(message)
        self.hint_text = hint if hint is None or isinstance(hint, Text) else untranslated(hint)
        super().__init__(self.text.render())

    @property
    def message(self) -> str:
        """What went wrong, in English."""
        return self.text.render()

    @message.setter
    def message(self, value: Text | str) -> None:
        self.text = value if isinstance(value, Text) else untranslated(value)

    @property
    def hint(self) -> str | None:
        """What to do about it, in English."""
        return None if self.hint_text is None else self.hint_text.render()

    @property
    def error_code(self) -> str:
        """The code of what went wrong, e.g. ``secrets.key_missing`` (``code`` is the server's
        reply code in a :class:`TransportError`)."""
        return self.text.code

    def render(self, lang: str | None = None) -> str:
        """What went wrong, in ``lang``."""
        return self.text.render(lang)

    def render_hint(self, lang: str | None = None) -> str | None:
        """What to do about it, in ``lang``; None when there is no hint."""
        return None if self.hint_text is None else self.hint_text.render(lang)

    def __str__(self) -> str:
        return self.message


class SettingsError(BaruaError):
    """One or more settings are wrong; ``problems`` maps each field to its message."""

    def __init__(
        self, problems: Mapping[str, Text | str], *, hint: Text | str | None = None
    ) -> None:
        self.problems: dict[str, Text] = {
            name: problem if isinstance(problem, Text) else untranslated(problem)
            for name, problem in problems.items()
        }
        super().__init__(joined("settings.problems", tuple(self.problems.values())), hint=hint)

    @property
    def field(self) -> str:
        """The first field at fault."""
        return next(iter(self.problems))


class StoreError(BaruaError):
    """The settings store cannot be read or written."""


class MessageError(BaruaError):
    """The message cannot be built as asked."""

    def __init__(self, message: Text | str, *, field: str, hint: Text | str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.field = field


class TransportError(BaruaError):
    """Delivery failed at ``step``; ``code`` and ``reply`` hold the server's answer if any."""

    temporary = False

    def __init__(
        self,
        message: Text | str,
        *,
        step: Step,
        hint: Text | str | None = None,
        host: str | None = None,
        port: int | None = None,
        code: int | None = None,
        reply: str | None = None,
        recipient: str | None = None,
        cause: Cause = Cause.UNKNOWN,
    ) -> None:
        super().__init__(message, hint=hint)
        self.cause = cause
        self.step = step
        self.host = host
        self.port = port
        self.code = code
        self.reply = reply
        self.recipient = recipient

    def __str__(self) -> str:
        if self.code is not None and self.reply is not None:
            return f"{self.message} (server replied: {self.code} {self.reply})"
        return self.message

    @property
    def system_errno(self) -> int | None:
        """The number of :attr:`system_error` (``errno``, or a name lookup's ``EAI_*``)."""
        if self.code is not None:
            return None
        seen: set[int] = set()
        exc: BaseException | None = self.__cause__
        while exc is not None and id(exc) not in seen:
            seen.add(id(exc))
            if isinstance(exc, OSError) and not isinstance(exc, BaruaError):
                return exc.errno
            exc = exc.__cause__ or exc.__context__
        return None

    @property
    def system_error(self) -> str | None:
        """The operating system's or TLS library's own words for the failure, when there was
        no server reply to show instead (e.g. ``[Errno 111] Connection refused``)."""
        if self.code is not None:
            return None
        seen: set[int] = set()
        exc: BaseException | None = self.__cause__
        while exc is not None and id(exc) not in seen:
            seen.add(id(exc))
            if isinstance(exc, OSError) and not isinstance(exc, BaruaError):
                if exc.errno is not None and exc.strerror:
                    return f"[Errno {exc.errno}] {exc.strerror}"
                return str(exc) or type(exc).__name__
            exc = exc.__cause__ or exc.__context__
        return None


class ConnectError(TransportError, builtins.ConnectionError):
    """The server could not be reached: unknown host, refused or unreachable."""

    temporary = True


class TimeoutError(TransportError, builtins.TimeoutError):  # mirrors the builtin on purpose
    """The server did not answer in time."""

    temporary = True


class TLSError(TransportError):
    """The TLS handshake failed, the certificate was refused or STARTTLS is missing.

    ``certificate`` describes what the server presented, when barua could read it.
    """

    certificate: CertificateInfo | None = None
    pinned: str | None = None
    """The fingerprint the user trusted, when the server presented another one."""


class AuthenticationError(TransportError):
    """The server refused the username or password."""


class InsecureError(TransportError):
    """barua refused to do something unsafe, such as sending a password in clear text."""


class TemporaryError(TransportError):
    """The server said to try again later (4xx)."""

    temporary = True


class OutcomeUnknown(TemporaryError):
    """The connection broke after the whole message was sent: it may have been delivered."""


class PermanentError(TransportError):
    """The server refused for good (5xx); retrying the same thing will not help."""


class SenderRefused(PermanentError):
    """The server does not accept mail from the sending address."""


class RecipientRefused(PermanentError):
    """The server refused every recipient; ``refused`` maps each to the server's reply.

    When every refusal is temporary (4xx, e.g. greylisting) the cause is ``TRY_LATER`` and
    ``temporary`` is true: the same message will likely be accepted later.
    """

    def __init__(
        self,
        message: Text | str,
        *,
        refused: dict[str, tuple[int, str]],
        hint: Text | str | None = None,
        host: str | None = None,
        port: int | None = None,
    ) -> None:
        first, (code, reply) = next(iter(refused.items()))
        super().__init__(
            message,
            step=Step.RCPT_TO,
            cause=Cause.TRY_LATER if all_temporary(refused) else Cause.RECIPIENT_REFUSED,
            hint=hint,
            host=host,
            port=port,
            code=code,
            reply=reply,
            recipient=first,
        )
        self.refused = dict(refused)
        # Retrying helps only when every refusal was temporary (4xx, e.g. greylisting).
        self.temporary = all_temporary(refused)


def all_temporary(refused: dict[str, tuple[int, str]]) -> bool:
    """Whether every refusal in ``refused`` (address -> code, reply) was a 4xx."""
    return all(400 <= code < 500 for code, _ in refused.values())


class MessageTooLarge(PermanentError):
    """The message is larger than the server accepts.

    ``size`` is the message's size in bytes and ``limit`` the largest the server announced
    (SMTP ``SIZE``, the HTTP service's ``max_size``), each when known.
    """

    size: int | None = None
    limit: int | None = None


# The operating system's words for what went wrong, as its English strerror gives them: a
# reader of another language reads them in theirs. What is not listed is shown as it is.
_SYSTEM_REASONS = {
    errno.ENOENT: Message("system.enoent", "No such file or directory"),
    errno.EACCES: Message("system.eacces", "Permission denied"),
    errno.EPERM: Message("system.eperm", "Operation not permitted"),
    errno.EISDIR: Message("system.eisdir", "Is a directory"),
    errno.ENOTDIR: Message("system.enotdir", "Not a directory"),
    errno.EEXIST: Message("system.eexist", "File exists"),
    errno.ENOSPC: Message("system.enospc", "No space left on device"),
    errno.EROFS: Message("system.erofs", "Read-only file system"),
    errno.ENAMETOOLONG: Message("system.enametoolong", "File name too long"),
    errno.ELOOP: Message("system.eloop", "Too many levels of symbolic links"),
}


def system_reason(exc: OSError) -> Text:
    """Why the system refused a file operation, to show in the reader's language: its own
    words when barua does not know them."""
    reason = _SYSTEM_REASONS.get(exc.errno) if exc.errno is not None else None
    if reason is not None and exc.strerror == reason.template:
        return reason()
    return untranslated(exc.strerror or str(exc))


# What a failure of the network means, said beside the system's own words ([Errno 111] …).
_NO_WAY = Message("system.network_no_route", "this computer has no way to reach that network")
_CUT = Message("system.network_cut", "the other side cut the connection suddenly")
SYSTEM_MEANINGS = {
    errno.ECONNREFUSED: Message(
        "system.network_refused",
        "the server's computer refused the connection: no program listens on that port",
    ),
    errno.ETIMEDOUT: Message("system.network_timeout", "no answer came in time"),
    errno.EHOSTUNREACH: _NO_WAY,
    errno.ENETUNREACH: _NO_WAY,
    errno.ENETDOWN: _NO_WAY,
    errno.EHOSTDOWN: _NO_WAY,
    errno.ECONNRESET: _CUT,
    errno.ECONNABORTED: _CUT,
    errno.EPIPE: Message("system.network_closed", "the connection was already closed"),
    socket.EAI_NONAME: Message(
        "system.name_not_found", "the server's name was not found in the DNS"
    ),
    socket.EAI_AGAIN: Message(
        "system.name_lookup_failed", "the DNS could not be asked for now; try again later"
    ),
}
"""What each ``errno`` (or name lookup's ``EAI_*``) of a failed connection means."""
