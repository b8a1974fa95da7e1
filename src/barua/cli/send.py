"""``barua send``: email a message with the saved settings."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from barua.addresses import SeveralAddressesError, readable
from barua.cli.common import (
    _,
    bad_input,
    err,
    fail,
    out,
    settings_in_effect,
    user_errors,
    utf8_text,
)
from barua.errors import BaruaError, TransportError
from barua.i18n import N_
from barua.message import Attachment, build_message
from barua.settings import Settings
from barua.store import SettingsStore

if TYPE_CHECKING:
    from barua.outbox import OutboxEntry

# barua send --------------------------------------------------------------------------------


_OPTIONS = {"to": "--to", "cc": "--cc", "bcc": "--bcc"}
"""The option of each recipient field of :func:`~barua.message.build_message`."""


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise bad_input(
            f"cannot read the {what} file {readable(str(path))}: {exc.strerror}"
        ) from None
    except UnicodeDecodeError:
        raise bad_input(f"the {what} file {readable(str(path))} is not UTF-8 text") from None


def send_command(
    to: Annotated[
        list[str],
        typer.Option("--to", metavar="ADDRESS", help="Recipient; repeat for several."),
    ],
    subject: Annotated[str, typer.Option("--subject", metavar="TEXT", help="Subject line.")],
    cc: Annotated[
        list[str] | None, typer.Option("--cc", metavar="ADDRESS", help="Copy to; repeatable.")
    ] = None,
    bcc: Annotated[
        list[str] | None,
        typer.Option("--bcc", metavar="ADDRESS", help="Blind copy; repeatable."),
    ] = None,
    body: Annotated[
        str | None, typer.Option("--body", metavar="TEXT", help="The message text.")
    ] = None,
    body_file: Annotated[
        Path | None,
        typer.Option("--body-file", metavar="FILE", help="Read the message text from a file."),
    ] = None,
    html_file: Annotated[
        Path | None,
        typer.Option("--html-file", metavar="FILE", help="An HTML version of the message."),
    ] = None,
    attach: Annotated[
        list[Path] | None,
        typer.Option("--attach", metavar="FILE", help="Attach a file; repeatable."),
    ] = None,
    queue: Annotated[
        bool,
        typer.Option("--queue", help="Only put it in the outbox for `barua worker`; print its id."),
    ] = False,
    key: Annotated[
        str | None,
        typer.Option(
            "--key",
            metavar="KEY",
            help="Idempotency key: the same key again sends nothing new.",
        ),
    ] = None,
) -> None:
    """Send an email with the saved settings; exit 0 when the server accepted it.

    The email goes through the outbox: with --queue the command returns at once, otherwise it
    delivers the email and reports what the server said."""
    with user_errors():
        if (body is None) == (body_file is None):
            raise bad_input("give the message text with exactly one of --body or --body-file")
        to = [utf8_text(value, option="--to") for value in to]
        cc = [utf8_text(value, option="--cc") for value in cc or []]
        bcc = [utf8_text(value, option="--bcc") for value in bcc or []]
        subject = utf8_text(subject, option="--subject")
        if body is not None:
            body = utf8_text(body, option="--body")
        if key is not None:
            key = utf8_text(key, option="--key")
        text = body if body is not None else _read_text(body_file, "body")  # type: ignore[arg-type]
        html = _read_text(html_file, "HTML") if html_file is not None else None
        attachments = [Attachment.from_path(path) for path in attach or []]
        settings = settings_in_effect(SettingsStore())
        try:
            message = build_message(
                settings,
                to=to,
                cc=cc,
                bcc=bcc,
                subject=subject,
                text=text,
                html=html,
                attachments=attachments,
            )
        except SeveralAddressesError as exc:
            option = _OPTIONS.get(exc.field)
            if option is None:
                raise
            raise bad_input(
                _(N_('{option} "{value}" holds several addresses')).format(
                    option=option, value=exc.value
                ),
                hint=_(N_("Give one address per {option} (repeat {option} for several).")).format(
                    option=option
                ),
            ) from None
        from barua.outbox import Outbox, Worker

        with Outbox.open() as outbox:
            entry = outbox.enqueue(message, settings=settings, idempotency_key=key)
            if queue:
                out.print(f"Queued as outbox entry {entry.id} ({entry.message_id}).", markup=False)
                return
            if entry.status.final:
                delivery_entry, error = entry, None
            else:
                delivery = Worker(outbox, settings).deliver(entry.id)
                delivery_entry, error = delivery.entry, delivery.error
        report_delivery(delivery_entry, error, settings)


def report_delivery(entry: OutboxEntry, error: TransportError | None, settings: Settings) -> None:
    from barua.outbox import MessageStatus, RecipientStatus
    from barua.outbox.outcome import SETTINGS_FAULTS

    accepted = [r for r in entry.recipients if r.status is RecipientStatus.ACCEPTED]
    if entry.status is MessageStatus.SENT and accepted:
        code, reply = accepted[0].code, accepted[0].reply
        out.print(
            f"Sent to {', '.join(r.address for r in accepted)} ({code} {reply}).", markup=False
        )
        for r in entry.recipients:
            if r.status is not RecipientStatus.ACCEPTED:
                err.print(f"refused: {r.address} ({r.code} {r.reply})", markup=False)
        return
    if error is not None:
        if entry.status is MessageStatus.DEFERRED:
            later = (
                "`barua worker` sends it once the settings work"
                if entry.next_attempt_at is None or isinstance(error, SETTINGS_FAULTS)
                else "`barua worker` tries again from "
                + entry.next_attempt_at.strftime("%H:%M:%S UTC")
            )
            out.print(f"The email waits in the outbox as entry {entry.id}: {later}.", markup=False)
        raise fail(error, settings)
    raise fail(
        BaruaError(
            f"outbox entry {entry.id} is {entry.status}: {entry.summary}",
            hint=f"`barua outbox show {entry.id}` shows every attempt.",
        )
    )
