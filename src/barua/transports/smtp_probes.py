"""Questions asked of an SMTP server only to explain a failure, never to send.

The test email, watched step by step by someone setting barua up, does not wait out the whole
timeout on a port that stays silent: it asks, on a connection of its own, whether the port
speaks TLS from the start (:func:`await_greeting`). A failed handshake is explained by trying
one with TLS 1.0 or 1.1 (:func:`old_tls_context`), which barua never sends over.

Asking which certificate a server presents is the client's own work, stopped before it logs
in: :func:`barua.transports.smtp.fetch_certificate`.
"""

from __future__ import annotations

import builtins
import socket
import ssl
import warnings
from functools import lru_cache

from barua.errors import Cause, Step, TimeoutError
from barua.transports.base import resolve
from barua.transports.causes import fix_for
from barua.transports.messages import NO_GREETING_BUT_TLS, NO_GREETING_NOR_TLS
from barua.transports.tls import make_tls_context

# How long the test email waits for a greeting before it checks whether the port expects TLS
# from the start: a server that is up greets within a second or two.
GREETING_WAIT = 10.0


def await_greeting(sock: socket.socket, *, host: str, port: int, timeout: float) -> None:
    """The test email's wait for the greeting, which does not spend the whole ``timeout`` on
    a port that stays silent: an implicit-TLS port does that to a client waiting for a
    greeting. After ``GREETING_WAIT`` it asks with a TLS handshake of its own (sending
    nothing over it); when that fails too, it goes on waiting, since some servers pause
    before greeting on purpose (Postfix's postscreen, sendmail's greet_pause).

    Returns once the server starts to speak, without taking its bytes; otherwise closes
    ``sock`` and raises the :class:`~barua.errors.TimeoutError` that says which it was.
    """
    first = min(timeout, GREETING_WAIT)
    if greeting_arrives(sock, first, then=timeout):
        return
    if speaks_tls(host, port, timeout=first):
        sock.close()
        raise TimeoutError(
            NO_GREETING_BUT_TLS(host=host, port=port, timeout=first),
            step=Step.GREETING,
            cause=Cause.EXPECTS_IMPLICIT_TLS,
            hint=fix_for(Cause.EXPECTS_IMPLICIT_TLS),
            host=host,
            port=port,
        )
    if timeout > first and greeting_arrives(sock, timeout - first, then=timeout):
        return
    sock.close()
    raise TimeoutError(
        NO_GREETING_NOR_TLS(host=host, port=port, timeout=timeout),
        step=Step.GREETING,
        cause=Cause.CONNECTION_TIMEOUT,
        hint=fix_for(Cause.CONNECTION_TIMEOUT, step=Step.GREETING),
        host=host,
        port=port,
    )


def greeting_arrives(sock: socket.socket, wait: float, *, then: float) -> bool:
    """Whether the server starts to speak within ``wait`` seconds, read without taking the
    bytes (smtplib reads the greeting itself); the socket's timeout is ``then`` afterwards."""
    sock.settimeout(wait)
    try:
        sock.recv(1, socket.MSG_PEEK)  # b"" when the server hung up: smtplib says so next
    except builtins.TimeoutError:  # the socket module's timeout, not barua's error
        return False
    except OSError:
        return True  # a reset: the greeting step reports it
    finally:
        sock.settimeout(then)
    return True


def speaks_tls(host: str, port: int, *, timeout: float) -> bool:
    """Whether the port completes a TLS handshake (certificate unchecked: only the kind of
    port is in question); nothing is sent after it."""
    try:
        addresses = resolve(host, port, timeout=timeout)
        family, kind, proto, _, address = addresses[0]
        with socket.socket(family, kind, proto) as raw:
            raw.settimeout(timeout)
            raw.connect(address)
            context = make_tls_context(verify=False)
            with context.wrap_socket(raw, server_hostname=host):
                return True
    except (OSError, ValueError):
        return False


@lru_cache(maxsize=1)
def old_tls_context() -> ssl.SSLContext:
    """A context that offers TLS 1.0 and 1.1 only, for diagnosis: never used to send. Made
    once (a context is safe to share between threads), so the warnings filter, which is
    process-wide, is touched once."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():  # the old versions are deprecated: that is the point
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")  # TLS 1.1 signs with SHA-1
    return context
