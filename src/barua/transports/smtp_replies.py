"""What an SMTP server's replies mean: pure functions from a reply to barua's verdict.

The client (:mod:`barua.transports.smtp`) reads the replies; this module says which error of
barua's tree a reply stands for, with its cause and message, and finds the queue id in a
server's acceptance. Nothing here does I/O, so every rule is tested without a server.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

from barua.errors import (
    AuthenticationError,
    Cause,
    MessageTooLarge,
    PermanentError,
    SenderRefused,
    Step,
    TemporaryError,
    TLSError,
    TransportError,
)
from barua.texts import Message
from barua.transports.messages import (
    LOGIN_REFUSED,
    LOGIN_REQUIRED,
    LOGIN_UNAVAILABLE,
    NOT_ACCEPTING,
    REFUSED_MESSAGE,
    SENDER_REFUSED,
    STARTTLS_REQUIRED,
    TOO_LARGE,
    TRY_LATER,
)

# Postfix: "250 2.0.0 Ok: queued as 4F1x2"; Exim: "250 OK id=1abc-2def"; others vary.
_QUEUE_ID = re.compile(r"(?:queued as|\bid=)\s*<?([A-Za-z0-9._@-]+)", re.I)
# Replies that refuse the sender, whatever command they answer: Postfix's
# reject_sender_login_mismatch answers RCPT TO ("Sender address rejected: not owned by user"),
# Microsoft 365 answers DATA ("5.2.252 SendAsDenied"); RFC 3463's 5.1.7 (bad sender mailbox
# syntax) and 5.1.8 (bad sender system address), and Exchange's 5.7.60 (no permission to send
# as this sender).
_SENDER_REFUSAL = re.compile(
    r"sender address rejected|sendasdenied|not owned by user|\b5\.1\.[78]\b|\b5\.7\.60\b"
    r"|not (?:allowed|authori[sz]ed|permitted) to send (?:mail |email )?(?:as|on behalf)",
    re.I,
)


class Verdict(NamedTuple):
    """What a reply that is not success means. ``message`` may name the server (``host``,
    ``port``) and the ``step`` the reply answered, filled in by the client, which knows them;
    the hint is the fix of ``cause`` (:func:`~barua.transports.causes.fix_for`)."""

    kind: type[TransportError]
    cause: Cause
    message: Message


def reply_text(reply: bytes | str) -> str:
    """A server's reply as one line of text: decoded (invalid UTF-8 replaced), the line
    breaks of a multi-line reply and runs of white space made single spaces."""
    if isinstance(reply, bytes):
        reply = reply.decode("utf-8", "replace")
    return " ".join(reply.split())


MASK = "**********"
"""What stands in a reply's text for a secret the server echoed."""


def masked(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each of ``secrets`` replaced by :data:`MASK`, the longest first (one
    may hold another).

    >>> masked("535 5.7.8 bad password s3cret", ["s3cret"])
    '535 5.7.8 bad password **********'
    """
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, MASK)
    return text


def queue_id(text: str) -> str | None:
    """The server's id for an accepted message, when its reply names one.

    >>> queue_id("2.0.0 Ok: queued as 4F1x2")
    '4F1x2'
    """
    match = _QUEUE_ID.search(text)
    return match.group(1) if match else None


def refuses_sender(code: int, text: str) -> bool:
    """Whether a permanent refusal is about the sender rather than the command it answers
    (servers refuse a sender in reply to RCPT TO or DATA as well as to MAIL FROM)."""
    return code >= 500 and _SENDER_REFUSAL.search(text) is not None


def classify_reply(step: Step, code: int, text: str) -> Verdict:
    """Which error a reply means: by code first, then by the step it answered."""
    if code == 421:
        return Verdict(TemporaryError, Cause.TRY_LATER, NOT_ACCEPTING)
    if step is Step.AUTH:
        if 400 <= code < 500:
            return Verdict(TemporaryError, Cause.TRY_LATER, LOGIN_UNAVAILABLE)
        return Verdict(AuthenticationError, Cause.AUTH_REFUSED, LOGIN_REFUSED)
    if refuses_sender(code, text):
        return Verdict(SenderRefused, Cause.SENDER_REFUSED, SENDER_REFUSED)
    if code == 530 and "starttls" in text.lower():
        return Verdict(TLSError, Cause.NO_STARTTLS, STARTTLS_REQUIRED)
    if code == 530:
        return Verdict(AuthenticationError, Cause.AUTH_REQUIRED, LOGIN_REQUIRED)
    if code == 552 or (code == 554 and "size" in text.lower()):
        return Verdict(MessageTooLarge, Cause.MESSAGE_TOO_LARGE, TOO_LARGE)
    if 400 <= code < 500:
        return Verdict(TemporaryError, Cause.TRY_LATER, TRY_LATER)
    if step is Step.MAIL_FROM:
        return Verdict(SenderRefused, Cause.SENDER_REFUSED, SENDER_REFUSED)
    return Verdict(
        PermanentError,
        Cause.RECIPIENT_REFUSED if step is Step.RCPT_TO else Cause.SERVICE_REFUSED,
        REFUSED_MESSAGE,
    )
