"""Bounces: the relay's bounce address for each message (VERP), and what a delivery status
notification (RFC 3464) that comes back to it says (pure: no I/O).

>>> address = bounce_address("bounces@mail.example", "msg_0123abcd")
>>> address
'bounces+msg_0123abcd@mail.example'
>>> message_of(address, "bounces@mail.example")
'msg_0123abcd'
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.message import EmailMessage, Message

_ID = re.compile(r"msg_[A-Za-z0-9]{1,120}")
MAX_BOUNCE_SIZE = 1_000_000
"""The most of a bounce that is read: its report is at the start, the returned message after."""


def bounce_address(base: str, message: str) -> str:
    """``base`` (``bounces@mail.example``) with the message's id after a ``+``."""
    local, _, domain = base.rpartition("@")
    return f"{local}+{message}@{domain}"


def message_of(address: str, base: str) -> str | None:
    """The message id a bounce address of ``base`` carries, or None."""
    local, _, domain = address.strip().strip("<>").rpartition("@")
    base_local, _, base_domain = base.rpartition("@")
    if domain.lower() != base_domain.lower():
        return None
    prefix, plus, tag = local.partition("+")
    if not plus or prefix.lower() != base_local.lower() or not _ID.fullmatch(tag):
        return None
    return tag


@dataclass(frozen=True, slots=True)
class Failure:
    """One recipient the report says failed."""

    recipient: str
    status: str
    """The enhanced status code, such as ``5.1.1``."""
    diagnostic: str
    """What the receiving server said, one line."""

    @property
    def permanent(self) -> bool:
        """A hard bounce: the address will not work later either."""
        return self.status.startswith("5")

    @property
    def code(self) -> int:
        return 550 if self.permanent else 450


@dataclass(frozen=True, slots=True)
class Report:
    """What a bounce says: the bounce address it came back to, the failed recipients, and
    the Message-ID of the message it is about."""

    to: list[str]
    failures: list[Failure]
    original_message_id: str | None


def read_report(data: bytes) -> Report:
    """The failed recipients of a delivery status notification; a message that is not one
    has none (a reply or an out-of-office note sent to the bounce address)."""
    message = email.message_from_bytes(data[:MAX_BOUNCE_SIZE], policy=email.policy.compat32)
    to = [value for value in message.get_all("To", []) if isinstance(value, str)]
    to += [value for value in message.get_all("Delivered-To", []) if isinstance(value, str)]
    failures: list[Failure] = []
    original: str | None = None
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            failures.extend(_failures(part))
        elif kind in ("message/rfc822", "text/rfc822-headers") and original is None:
            original = _original_message_id(part)
    return Report(to, failures, original)


def _failures(part: Message) -> list[Failure]:
    """The failed recipients of a ``message/delivery-status`` part (its blocks of fields)."""
    blocks: list[Message] = []
    payload = part.get_payload()
    if isinstance(payload, list):
        blocks = [item for item in payload if isinstance(item, Message)]
    elif isinstance(payload, str):
        blocks = [email.message_from_string(b) for b in re.split(r"\r?\n\r?\n", payload) if b]
    found = []
    for block in blocks:
        action = str(block.get("Action", "")).strip().lower()
        recipient = str(block.get("Final-Recipient") or block.get("Original-Recipient") or "")
        if action != "failed" or not recipient:
            continue
        address = recipient.partition(";")[2].strip() or recipient.strip()
        status = str(block.get("Status", "5.0.0")).strip().split()[0]
        diagnostic = " ".join(str(block.get("Diagnostic-Code", "")).partition(";")[2].split())
        found.append(Failure(address, status, diagnostic[:300]))
    return found


def _original_message_id(part: Message) -> str | None:
    payload = part.get_payload()
    inner: Message | None = None
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        inner = payload[0]
    elif isinstance(payload, str):
        inner = email.message_from_string(payload)
    value = inner.get("Message-ID") if inner is not None else None
    return " ".join(str(value).split()) if value else None


def is_report(message: EmailMessage | Message) -> bool:
    return message.get_content_type() == "multipart/report"
