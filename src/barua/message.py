"""Building a message once, as the bytes every delivery attempt sends (pure: no I/O).

>>> from barua.settings import make_settings
>>> settings = make_settings(host="smtp.example.com", username="shop@example.com")
>>> msg = build_message(settings, to=["jane@example.com"], subject="Hello", text="Hi Jane")
>>> msg.recipients
('jane@example.com',)
"""

from __future__ import annotations

import errno
import mimetypes
import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from barua.addresses import (
    Mailbox,
    check_no_line_breaks,
    check_utf8,
    parse_mailbox,
    readable,
    validate_address,
)
from barua.errors import MessageError, system_reason
from barua.settings import Settings
from barua.texts import Message, Text, untranslated

NO_FILE_NAME = Message("message.no_file_name", "the attachment's file name must not be empty")
BAD_CONTENT_TYPE = Message(
    "message.bad_content_type",
    'the attachment\'s content type "{value}" must look like type/subtype',
)
CANNOT_READ = Message("message.cannot_read", "cannot read the attachment {path}: {reason}")
NO_RECIPIENT = Message("message.no_recipient", "at least one recipient is required")
NOT_A_FILE = Message("message.not_a_file", "it is {kind}, not a regular file")
KINDS = {
    "device": Message("message.kind_device", "a device"),
    "fifo": Message("message.kind_fifo", "a named pipe (FIFO)"),
    "socket": Message("message.kind_socket", "a socket"),
    "other": Message("message.kind_other", "a special file"),
}
NOT_A_FILE_HINT = Message(
    "message.not_a_file_hint",
    "Give a regular file: save what a device or program writes to a file first.",
)
FILE_TOO_LARGE = Message(
    "message.file_too_large", "{path} is {size}: larger than {limit}, the most barua sends"
)
FILES_TOO_LARGE = Message(
    "message.files_too_large",
    "the attachments ({files}) are {size}: encoded for email they make a message larger than "
    "{limit}, the most barua sends",
)
TOO_LARGE = Message(
    "message.too_large",
    "the email is {size} with its attachments encoded: larger than {limit}, the most barua sends",
)
TOO_LARGE_HINT = Message(
    "message.too_large_hint",
    "Send a link to large files instead, or raise BARUA_MAX_MESSAGE_SIZE (the server may "
    "still refuse a larger email).",
)

MAX_MESSAGE_SIZE = 25_000_000
"""The largest email barua builds unless told otherwise (``BARUA_MAX_MESSAGE_SIZE``): 25 MB,
what the large providers accept."""

# 7bit bodies (quoted-printable or base64) travel through every server, 8BITMIME or not.
_ASCII_POLICY = policy.SMTP.clone(cte_type="7bit")
_UTF8_POLICY = policy.SMTPUTF8
_MAX_LINE = 78
"""RFC 5322's line length for headers (998 is the most a line may hold)."""
_SHORT_NAME = 30


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
    def from_path(
        cls, path: str | Path, *, filename: str | None = None, limit: int | None = None
    ) -> Attachment:
        """Read a regular file from disk, refused before it is read when it is larger than
        ``limit`` bytes (see :func:`read_file`); the recipient sees only its base name.

        A name that is not UTF-8 (a file from an older system) still sends the file: the
        recipient sees the name with each undecodable byte shown as U+FFFD."""
        source = Path(path)
        content = read_file(source, limit=limit, field="attachment")
        return cls(filename=filename or readable(source.name), content=content)


def _kind(mode: int) -> Text | None:
    """What a file of ``mode`` is when it is not a regular file, else None."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return KINDS["device"]()
    if stat.S_ISFIFO(mode):
        return KINDS["fifo"]()
    if stat.S_ISSOCK(mode):
        return KINDS["socket"]()
    return KINDS["other"]()


def _unreadable(
    cannot_read: Message, path: Path, reason: Text | str, field: str, hint: Text | None = None
) -> MessageError:
    text = reason if isinstance(reason, Text) else untranslated(reason)
    return MessageError(cannot_read(path=readable(str(path)), reason=text), field=field, hint=hint)


@dataclass(slots=True)
class _Opened:
    path: Path
    descriptor: int
    size: int


def _open_regular(path: Path, *, field: str, cannot_read: Message) -> _Opened:
    """``path`` opened for reading once it is known to be a regular file.

    O_NONBLOCK: opening a named pipe waits for a writer otherwise, before its type can be
    seen; on a regular file the flag changes nothing."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as exc:
        raise _unreadable(cannot_read, path, system_reason(exc), field) from exc
    try:
        info = os.fstat(descriptor)
        if stat.S_ISDIR(info.st_mode):
            raise _unreadable(
                cannot_read,
                path,
                system_reason(IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))),
                field,
            )
        kind = _kind(info.st_mode)
        if kind is not None:
            raise _unreadable(cannot_read, path, NOT_A_FILE(kind=kind), field, NOT_A_FILE_HINT())
    except BaseException:
        os.close(descriptor)
        raise
    return _Opened(path, descriptor, info.st_size)


def _read_opened(opened: _Opened, *, limit: int | None, field: str, cannot_read: Message) -> bytes:
    """The bytes of an opened file, never more than ``limit`` (it may grow while read)."""
    wanted = opened.size if limit is None else min(opened.size, limit) + 1
    chunks: list[bytes] = []
    read = 0
    try:
        with os.fdopen(opened.descriptor, "rb", closefd=True) as stream:
            while limit is None or read <= limit:
                chunk = stream.read(max(wanted - read, 1 << 16))
                if not chunk:
                    break
                chunks.append(chunk)
                read += len(chunk)
    except OSError as exc:
        raise _unreadable(cannot_read, opened.path, system_reason(exc), field) from exc
    if limit is not None and read > limit:
        raise _too_large(opened.path, read, limit, field)
    return b"".join(chunks)


def _sizes(size: int, limit: int) -> tuple[str, str]:
    """``size`` and ``limit`` in megabytes, with enough decimals that a size above the limit
    never reads as the limit itself (``25.01 MB`` beside ``25 MB``)."""
    for decimals in (1, 2, 3, 6):
        shown = f"{size / 1e6:.{decimals}f}".rstrip("0").rstrip(".")
        if shown != f"{limit / 1e6:.{decimals}f}".rstrip("0").rstrip("."):
            break
    return f"{shown} MB", f"{limit / 1e6:.6f}".rstrip("0").rstrip(".") + " MB"


def _too_large(path: Path, size: int, limit: int, field: str) -> MessageError:
    shown, most = _sizes(size, limit)
    return MessageError(
        FILE_TOO_LARGE(path=readable(str(path)), size=shown, limit=most),
        field=field,
        hint=TOO_LARGE_HINT(),
    )


def read_file(
    path: str | Path, *, limit: int | None, field: str, cannot_read: Message = CANNOT_READ
) -> bytes:
    """The bytes of the regular file at ``path``, at most ``limit`` of them.

    Refused with a :class:`~barua.errors.MessageError` (``cannot_read``, a message with
    ``{path}`` and ``{reason}``) before anything is read when it is not a regular file: a
    device such as ``/dev/zero`` never ends, a named pipe waits for a writer, a folder has no
    bytes. Refused as well, still unread, when the file is larger than ``limit`` bytes.
    """
    source = Path(path)
    opened = _open_regular(source, field=field, cannot_read=cannot_read)
    if limit is not None and opened.size > limit:
        os.close(opened.descriptor)
        raise _too_large(source, opened.size, limit, field)
    return _read_opened(opened, limit=limit, field=field, cannot_read=cannot_read)


def _encoded_size(size: int) -> int:
    """How many bytes ``size`` bytes of an attachment take in a message: base64, in lines of
    76 characters ending in CRLF (the part's headers not counted)."""
    characters = 4 * ((size + 2) // 3)
    return characters + 2 * ((characters + 75) // 76)


def read_attachments(paths: Sequence[str | Path], *, limit: int | None) -> list[Attachment]:
    """The files at ``paths`` as attachments, refused before any is read when one is not a
    regular file, or when together, encoded for email, they exceed ``limit`` bytes."""
    opened: list[_Opened] = []
    try:
        for path in paths:
            opened.append(_open_regular(Path(path), field="attachment", cannot_read=CANNOT_READ))
        if limit is not None and sum(_encoded_size(o.size) for o in opened) > limit:
            shown, most = _sizes(sum(o.size for o in opened), limit)
            raise MessageError(
                FILES_TOO_LARGE(
                    files=", ".join(readable(o.path.name) for o in opened), size=shown, limit=most
                ),
                field="attachment",
                hint=TOO_LARGE_HINT(),
            )
    except BaseException:
        for each in opened:
            os.close(each.descriptor)
        raise
    files = []
    for index, each in enumerate(opened):
        try:
            content = _read_opened(each, limit=limit, field="attachment", cannot_read=CANNOT_READ)
        except BaseException:
            for rest in opened[index + 1 :]:
                os.close(rest.descriptor)
            raise
        files.append(Attachment(filename=readable(each.path.name), content=content))
    return files


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


class _Folded(str):
    """A header barua folded itself. The policy stores a value that has a ``name`` as it is
    and asks it to ``fold`` itself (see :meth:`email.policy.EmailPolicy.header_store_parse`)."""

    name: str
    lines: tuple[str, ...]

    def __new__(cls, name: str, tokens: Sequence[str]) -> _Folded:
        folded = super().__new__(cls, " ".join(tokens))
        folded.name = name
        lines = [f"{name}:"]
        for token in tokens:
            if len(lines[-1]) + 1 + len(token) > _MAX_LINE and lines[-1] != f"{name}:":
                lines.append("")
            lines[-1] += f" {token}"
        folded.lines = tuple(lines)
        return folded

    def fold(self, *, policy: Any) -> str:
        return str(policy.linesep).join(self.lines) + str(policy.linesep)


def _fits(msg: EmailMessage, name: str) -> bool:
    assert isinstance(msg.policy, EmailPolicy)
    folded = msg.policy.fold(name, msg[name])
    return all(len(line) <= _MAX_LINE for line in folded.splitlines())


def _set_addresses(msg: EmailMessage, name: str, boxes: Sequence[Mailbox]) -> None:
    """Set the address header ``name``, folded within 78 characters a line.

    The email package cannot fold a display name with a word longer than a line (it leaves a
    3,000-character name on one line of 3,000 octets, past RFC 5322's 998), and folds a long
    name that is not ASCII slowly (1.6 s for 1,000 emoji): such a header gives every display
    name as RFC 2047 encoded words, which split anywhere and read back as the same name."""
    # A name of _SHORT_NAME characters fits on a line whatever it holds; a longer one in
    # ASCII is folded quickly, to see whether the email package managed it.
    long = [box.name for box in boxes if box.name and len(box.name) > _SHORT_NAME]
    if all(each.isascii() for each in long):
        msg[name] = [_header_address(box) for box in boxes]
        if not long or _fits(msg, name):
            return
        del msg[name]
    tokens: list[str] = []
    for index, box in enumerate(boxes):
        words = Header(box.name, "utf-8").encode(maxlinelen=64).split() if box.name else []
        address = _header_address(box).addr_spec
        last = "," if index < len(boxes) - 1 else ""
        tokens.extend([*words, f"<{address}>{last}" if words else f"{address}{last}"])
    msg[name] = _Folded(name, tokens)


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
    max_size: int | None = None,
) -> OutgoingMessage:
    """Build a message from ``sender``; ``bcc`` addresses go to the envelope only. A message
    larger than ``max_size`` bytes is refused."""
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
    _set_addresses(msg, "From", [sender])
    if to_boxes:
        _set_addresses(msg, "To", to_boxes)
    if cc_boxes:
        _set_addresses(msg, "Cc", cc_boxes)
    if reply_box is not None:
        _set_addresses(msg, "Reply-To", [reply_box])
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date or datetime.now(UTC))
    msg["Message-ID"] = message_id or make_msgid(domain=_msgid_domain(sender))
    msg["MIME-Version"] = "1.0"
    for name, value in (extra_headers or {}).items():
        check_no_line_breaks(name, field="header name")
        check_no_line_breaks(value, field=f"header {name}")
        msg[name] = value

    # NUL may not travel in a 7bit or 8bit body (RFC 2045): such a text goes quoted-printable,
    # as mail clients send one, and arrives whole.
    msg.set_content(text, cte="quoted-printable" if "\x00" in text else None)
    if html is not None:
        msg.add_alternative(
            html, subtype="html", cte="quoted-printable" if "\x00" in html else None
        )
    for attachment in attachments:
        maintype, subtype = attachment.content_type.split("/", 1)
        msg.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
        )

    recipients: dict[str, None] = {}
    for box in (*to_boxes, *cc_boxes, *bcc_boxes):
        recipients.setdefault(box.address, None)
    data = msg.as_bytes()
    if max_size is not None and len(data) > max_size:
        shown, most = _sizes(len(data), max_size)
        raise MessageError(TOO_LARGE(size=shown, limit=most), field="size", hint=TOO_LARGE_HINT())
    return OutgoingMessage(
        message_id=str(msg["Message-ID"]),
        sender=sender.address,
        recipients=tuple(recipients),
        data=data,
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
    max_size: int | None = None,
) -> OutgoingMessage:
    """Build a message as the business, with its sender name, Reply-To and BCC copy; one
    larger than ``max_size`` bytes is refused."""
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
        max_size=max_size,
    )
