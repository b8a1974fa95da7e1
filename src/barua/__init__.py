"""barua: email for small-business software.

The library a developer embeds: settings, messages, transports, the test email and its advice.

>>> from barua import make_settings, build_message, send_now
>>> settings = make_settings(host="smtp.example.com", username="shop@example.com")
>>> message = build_message(settings, to=["jane@example.com"], subject="Hi", text="Hi")
"""

from barua.addresses import Mailbox, parse_mailbox, validate_address
from barua.advice import Advice, advise
from barua.certificates import CertificateInfo, describe_certificate, fingerprint
from barua.delivery import open_transport, send_now
from barua.diagnose import TestReport, run_test
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
from barua.settings import Protocol, Security, Settings, make_settings, update_settings
from barua.store import SettingsStore, barua_home
from barua.transports.base import SendResult, StepEvent, Transport
from barua.transports.http import HttpTransport
from barua.transports.memory import MemoryTransport
from barua.transports.smtp import SmtpTransport, fetch_certificate
from barua.version import __version__

__all__ = [
    "Advice",
    "Attachment",
    "AuthenticationError",
    "BaruaError",
    "Cause",
    "CertificateInfo",
    "ConnectError",
    "HttpTransport",
    "InsecureError",
    "Mailbox",
    "MemoryTransport",
    "MessageError",
    "MessageTooLarge",
    "OutcomeUnknown",
    "OutgoingMessage",
    "PermanentError",
    "Protocol",
    "RecipientRefused",
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
    "__version__",
    "advise",
    "barua_home",
    "build_message",
    "compose",
    "describe_certificate",
    "fetch_certificate",
    "fingerprint",
    "make_settings",
    "open_transport",
    "parse_mailbox",
    "run_test",
    "send_now",
    "update_settings",
    "validate_address",
]
