"""The choices a face offers (protocols, security modes, statuses, paper sizes), from modules
light enough that ``barua --help`` stays fast."""

from __future__ import annotations

from barua.choices import Protocol, Security
from barua.documents.paper import Paper
from barua.outbox.status import MessageStatus

__all__ = ["MessageStatus", "Paper", "Protocol", "Security"]
