"""What a face needs to show barua's results in a person's language: the advice on a failed
delivery, step labels, addresses as typed, sizes. Nothing here decides anything."""

from __future__ import annotations

from barua.addresses import SeveralAddressesError, display_address, readable
from barua.certificates import CertificateInfo
from barua.documents import DocumentError, EmailOutcome, EmailStatus
from barua.outbox.errors import OUTCOME_WORDS, RECIPIENT_WORDS, STATUS_WORDS, detail_text
from barua.outbox.fleet import FleetReport
from barua.outbox.queue import Attempt, OutboxEntry, Pause
from barua.outbox.retry import RetryPolicy
from barua.outbox.status import AttemptOutcome, MessageStatus, RecipientStatus
from barua.outbox.worker import WorkerConfig
from barua.setup.advice import Advice, advise, step_label
from barua.setup.diagnose import TestReport
from barua.transports.base import StepEvent, StepObserver, format_size
from barua.transports.oauth import DeviceCode

__all__ = [
    "OUTCOME_WORDS",
    "RECIPIENT_WORDS",
    "STATUS_WORDS",
    "Advice",
    "Attempt",
    "AttemptOutcome",
    "CertificateInfo",
    "DeviceCode",
    "DocumentError",
    "EmailOutcome",
    "EmailStatus",
    "FleetReport",
    "MessageStatus",
    "OutboxEntry",
    "Pause",
    "RecipientStatus",
    "RetryPolicy",
    "SeveralAddressesError",
    "StepEvent",
    "StepObserver",
    "TestReport",
    "WorkerConfig",
    "advise",
    "detail_text",
    "display_address",
    "format_size",
    "readable",
    "step_label",
]
