"""Building a message once, as the bytes every delivery attempt sends (pure: no I/O).

>>> from barua.settings import make_settings
>>> settings = make_settings(host="smtp.example.com", username="shop@example.com")
>>> msg = build_message(settings, to=["jane@example.com"], subject="Hello", text="Hi Jane")
>>> msg.recipients
('jane@example.com',)
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from barua.addresses import (
    Mailbox,
    check_no_line_breaks,
    check_utf8,
    parse_mailbox,
    readable,
    validate_address,
)
from barua.errors import MessageError
from barua.settings import Settings
from barua.texts import Message

NO_FILE_NAME = Message("message.no_file_name", "the attachment's file name must not be empty")
BAD_CONTENT_TYPE = Message(
    "message.bad_content_type",
    'the attachment\'s content type "{value}" must look like type/subtype',
)
CANNOT_READ = Message("message.cannot_read", "cannot read the attachment {path}: {reason}")
NO_RECIPIENT = Message("message.no_recipient", "at least one recipient is required")

# 7bit bodies (quoted-printable or base64) travel through every server, 8BITMIME or not.
_ASCII_POLICY = policy.SMTP.clone(cte_type="7bit")
_UTF8_POLICY = policy.SMTPUTF8


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file to attach: its name as the recipient sees it, its bytes and MIME type."""

    filename: str
    content: bytes = field(repr=False)
    content_type: str = ""

    def __post_init__(self) -> None:
        check_no_line_breaks(self.filename, field="attachment file name")
        if not self.filename.strip():
            raise MessageError(NO_FILE_NAME(), field="attachment")
        if not self.content_type:
            guessed, _ = mimetypes.guess_type(self.filename, strict=False)
            object.__setattr__(self, "content_type", guessed or "application/octet-stream")
        if self.content_type.count("/") != 1:
            raise MessageError(BAD_CONTENT_TYPE(value=self.content_type), field="attachment")

    @classmethod
    def from_path(cls, path: str | Path, *, filename: str | None = None) -> Attachment:
        """Read a file from disk; the recipient sees only its base name.

        A name that is not UTF-8 (a file from an older system) still sends the file: the
        recipient sees the name with each undecodable byte shown as U+FFFD."""
        source = Path(path)
        try:
            content = source.read_bytes()
        except OSError as exc:
            raise MessageError(
                CANNOT_READ(path=readable(str(source)), reason=exc.strerror or str(exc)),
                field="attachment",
            ) from exc
        return cls(filename=filename or readable(source.name), content=content)


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A message ready to send: envelope and the exact bytes, built once."""

    message_id: str
    sender: str
    """The envelope sender (MAIL FROM)."""
    recipients: tuple[str, ...]
    """Every envelope recipient: To, Cc and blind copies, each once."""
    data: bytes = field(repr=False)
    """The message with CRLF line endings, not yet dot-stuffed."""
    subject: str = ""

    @property
    def smtputf8(self) -> bool:
        """True when an address needs a server offering SMTPUTF8."""
        return not self.sender.isascii() or not all(r.isascii() for r in self.recipients)

    @property
    def size(self) -> int:
        return len(self.data)


def _mailboxes(values: Iterable[str], *, field: str) -> list[Mailbox]:
    return [parse_mailbox(value, field=field) for value in values]


def _header_address(mailbox: Mailbox) -> Address:
    local, domain = mailbox.address.rsplit("@", 1)
    return Address(display_name=mailbox.name or "", username=local, domain=domain)


def _msgid_domain(sender: Mailbox) -> str:
    try:
        return sender.domain.encode("idna").decode("ascii")
    except UnicodeError:
        return "barua.invalid"


def compose(
    *,
    sender: Mailbox,
    to: Sequence[str],
    cc: Sequence[str] = (),
    bcc: Sequence[str] = (),
    reply_to: str | None = None,
    subject: str,
    text: str,
    html: str | None = None,
    attachments: Sequence[Attachment] = (),
    message_id: str | None = None,
    date: datetime | None = None,
    extra_headers: dict[str, str] | None = None,
) -> OutgoingMessage:
    """Build a message from ``sender``; ``bcc`` addresses go to the envelope only."""
    to_boxes = _mailboxes(to, field="to")
    cc_boxes = _mailboxes(cc, field="cc")
    bcc_boxes = _mailboxes(bcc, field="bcc")
    if not (to_boxes or cc_boxes or bcc_boxes):
        raise MessageError(NO_RECIPIENT(), field="to")
    reply_box = parse_mailbox(reply_to, field="reply_to") if reply_to else None
    check_no_line_breaks(subject, field="subject")
    check_utf8(text, field="text")
    if html is not None:
        check_utf8(html, field="html")
    if sender.name:
        check_no_line_breaks(sender.name, field="sender_name")

    every = [sender, *to_boxes, *cc_boxes, *bcc_boxes, *([reply_box] if reply_box else [])]
    utf8 = any(box.needs_smtputf8 for box in every)

    msg = EmailMessage(policy=_UTF8_POLICY if utf8 else _ASCII_POLICY)
    msg["From"] = _header_address(sender)
    if to_boxes:
        msg["To"] = [_header_address(box) for box in to_boxes]
    if cc_boxes:
        msg["Cc"] = [_header_address(box) for box in cc_boxes]
    if reply_box is not None:
        msg["Reply-To"] = _header_address(reply_box)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date or datetime.now(UTC))
    msg["Message-ID"] = message_id or make_msgid(domain=_msgid_domain(sender))
    msg["MIME-Version"] = "1.0"
    for name, value in (extra_headers or {}).items():
        check_no_line_breaks(name, field="header name")
        check_no_line_breaks(value, field=f"header {name}")
        msg[name] = value

    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for attachment in attachments:
        maintype, subtype = attachment.content_type.split("/", 1)
        msg.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
        )

    recipients: dict[str, None] = {}
    for box in (*to_boxes, *cc_boxes, *bcc_boxes):
        recipients.setdefault(box.address, None)
    return OutgoingMessage(
        message_id=str(msg["Message-ID"]),
        sender=sender.address,
        recipients=tuple(recipients),
        data=msg.as_bytes(),
        subject=subject,
    )


def build_message(
    settings: Settings,
    *,
    to: Sequence[str],
    cc: Sequence[str] = (),
    bcc: Sequence[str] = (),
    subject: str,
    text: str,
    html: str | None = None,
    attachments: Sequence[Attachment] = (),
    reply_to: str | None = None,
    message_id: str | None = None,
    date: datetime | None = None,
) -> OutgoingMessage:
    """Build a message as the business, with its sender name, Reply-To and BCC copy."""
    sender = validate_address(settings.from_address, field="email_address")
    sender = Mailbox(address=sender.address, name=settings.sender_name)
    if not (to or cc or bcc):
        raise MessageError(NO_RECIPIENT(), field="to")
    blind = list(bcc)
    if settings.bcc_copy is not None:
        blind.append(settings.bcc_copy)
    return compose(
        sender=sender,
        to=to,
        cc=cc,
        bcc=blind,
        reply_to=reply_to or settings.reply_to,
        subject=subject,
        text=text,
        html=html,
        attachments=attachments,
        message_id=message_id,
        date=date,
    )
