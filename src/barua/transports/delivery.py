"""Choosing the transport for the settings, and sending one message with it."""

from __future__ import annotations

from barua.message import OutgoingMessage
from barua.settings import Protocol, Settings
from barua.transports.base import SendResult, StepObserver, Transport
from barua.transports.http import HttpTransport
from barua.transports.oauth import TokenSource
from barua.transports.smtp import SmtpTransport


def open_transport(
    settings: Settings,
    *,
    observer: StepObserver | None = None,
    max_messages_per_connection: int | None = None,
    tokens: TokenSource | None = None,
) -> Transport:
    """The transport the settings ask for; it connects on first send. An SMTP connection
    is opened anew after ``max_messages_per_connection`` messages (a provider's limit);
    ``tokens`` give the access token of settings that sign in with the provider (OAuth)."""
    if settings.protocol is Protocol.HTTP:
        return HttpTransport(settings, observer=observer)
    return SmtpTransport(
        settings,
        observer=observer,
        max_messages_per_connection=max_messages_per_connection,
        tokens=tokens,
    )


def send_now(
    settings: Settings,
    message: OutgoingMessage,
    *,
    observer: StepObserver | None = None,
    tokens: TokenSource | None = None,
) -> SendResult:
    """Deliver one message straight away, without the outbox."""
    with open_transport(settings, observer=observer, tokens=tokens) as transport:
        return transport.send(message)
