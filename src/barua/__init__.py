"""barua: email for small-business software.

The library a developer embeds: the application (:class:`Barua`, every use case), and below
it settings, messages, transports, the test email and its advice, the outbox and its worker,
and business documents as PDF.

>>> from barua import make_settings, build_message
>>> settings = make_settings(host="smtp.example.com", username="shop@example.com")
>>> message = build_message(settings, to=["jane@example.com"], subject="Hi", text="Hi")

Names are imported on first use, so ``import barua`` (and the ``barua`` command) starts fast
without loading the database, PDF or HTTP libraries a program may never touch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from barua.lazy import lazy_attributes
from barua.version import __version__

if TYPE_CHECKING:
    from barua.addresses import Mailbox, parse_mailbox, validate_address
    from barua.app import Barua
    from barua.certificates import CertificateInfo, describe_certificate, fingerprint
    from barua.documents import (
        DocumentError,
        Paper,
        compose_document_email,
        email_document,
        email_documents,
        idempotency_key,
        load_document,
        parse_document,
        render_pdf,
    )
    from barua.environment import Environment
    from barua.errors import (
        AuthenticationError,
        BaruaError,
        Cause,
        ConnectError,
        InsecureError,
        MessageError,
        MessageTooLarge,
        OutcomeUnknown,
        PermanentError,
        RecipientRefused,
        SenderRefused,
        SettingsError,
        Step,
        StoreError,
        TemporaryError,
        TimeoutError,
        TLSError,
        TransportError,
    )
    from barua.message import Attachment, OutgoingMessage, build_message, compose
    from barua.outbox import (
        MessageStatus,
        Outbox,
        OutboxEntry,
        OutboxError,
        RetryPolicy,
        Worker,
        WorkerConfig,
    )
    from barua.settings import Protocol, Security, Settings, make_settings, update_settings
    from barua.setup.advice import Advice, advise
    from barua.setup.diagnose import TestReport, run_test
    from barua.store import Business, SettingsStore
    from barua.transports.base import SendResult, StepEvent, Transport
    from barua.transports.delivery import open_transport, send_now
    from barua.transports.http import HttpTransport
    from barua.transports.memory import MemoryTransport
    from barua.transports.smtp import SmtpTransport, fetch_certificate

_LAZY: dict[str, str] = {
    "Advice": "barua.setup.advice",
    "Attachment": "barua.message",
    "AuthenticationError": "barua.errors",
    "BaruaError": "barua.errors",
    "Cause": "barua.errors",
    "CertificateInfo": "barua.certificates",
    "ConnectError": "barua.errors",
    "DocumentError": "barua.documents",
    "HttpTransport": "barua.transports.http",
    "InsecureError": "barua.errors",
    "Mailbox": "barua.addresses",
    "MemoryTransport": "barua.transports.memory",
    "MessageError": "barua.errors",
    "MessageStatus": "barua.outbox",
    "MessageTooLarge": "barua.errors",
    "Outbox": "barua.outbox",
    "OutboxEntry": "barua.outbox",
    "OutboxError": "barua.outbox",
    "OutcomeUnknown": "barua.errors",
    "OutgoingMessage": "barua.message",
    "Paper": "barua.documents",
    "PermanentError": "barua.errors",
    "Protocol": "barua.settings",
    "RecipientRefused": "barua.errors",
    "RetryPolicy": "barua.outbox",
    "Security": "barua.settings",
    "SendResult": "barua.transports.base",
    "SenderRefused": "barua.errors",
    "Settings": "barua.settings",
    "SettingsError": "barua.errors",
    "SettingsStore": "barua.store",
    "Business": "barua.store",
    "Barua": "barua.app",
    "Environment": "barua.environment",
    "SmtpTransport": "barua.transports.smtp",
    "Step": "barua.errors",
    "StepEvent": "barua.transports.base",
    "StoreError": "barua.errors",
    "TLSError": "barua.errors",
    "TemporaryError": "barua.errors",
    "TestReport": "barua.setup.diagnose",
    "TimeoutError": "barua.errors",
    "Transport": "barua.transports.base",
    "TransportError": "barua.errors",
    "Worker": "barua.outbox",
    "WorkerConfig": "barua.outbox",
    "advise": "barua.setup.advice",
    "build_message": "barua.message",
    "compose": "barua.message",
    "compose_document_email": "barua.documents",
    "describe_certificate": "barua.certificates",
    "email_document": "barua.documents",
    "email_documents": "barua.documents",
    "fetch_certificate": "barua.transports.smtp",
    "fingerprint": "barua.certificates",
    "idempotency_key": "barua.documents",
    "load_document": "barua.documents",
    "make_settings": "barua.settings",
    "open_transport": "barua.transports.delivery",
    "parse_document": "barua.documents",
    "parse_mailbox": "barua.addresses",
    "render_pdf": "barua.documents",
    "run_test": "barua.setup.diagnose",
    "send_now": "barua.transports.delivery",
    "update_settings": "barua.settings",
    "validate_address": "barua.addresses",
}

__all__ = [
    "Advice",
    "Attachment",
    "AuthenticationError",
    "Barua",
    "BaruaError",
    "Business",
    "Cause",
    "CertificateInfo",
    "ConnectError",
    "DocumentError",
    "Environment",
    "HttpTransport",
    "InsecureError",
    "Mailbox",
    "MemoryTransport",
    "MessageError",
    "MessageStatus",
    "MessageTooLarge",
    "Outbox",
    "OutboxEntry",
    "OutboxError",
    "OutcomeUnknown",
    "OutgoingMessage",
    "Paper",
    "PermanentError",
    "Protocol",
    "RecipientRefused",
    "RetryPolicy",
    "Security",
    "SendResult",
    "SenderRefused",
    "Settings",
    "SettingsError",
    "SettingsStore",
    "SmtpTransport",
    "Step",
    "StepEvent",
    "StoreError",
    "TLSError",
    "TemporaryError",
    "TestReport",
    "TimeoutError",
    "Transport",
    "TransportError",
    "Worker",
    "WorkerConfig",
    "__version__",
    "advise",
    "build_message",
    "compose",
    "compose_document_email",
    "describe_certificate",
    "email_document",
    "email_documents",
    "fetch_certificate",
    "fingerprint",
    "idempotency_key",
    "load_document",
    "make_settings",
    "open_transport",
    "parse_document",
    "parse_mailbox",
    "render_pdf",
    "run_test",
    "send_now",
    "update_settings",
    "validate_address",
]


__getattr__, __dir__ = lazy_attributes(__name__, globals(), _LAZY)
