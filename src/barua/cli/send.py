"""``barua send``: email a message with the saved settings."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from barua.cli.common import (
    EXIT_SOME_REFUSED,
    _,
    app,
    bad_input,
    business,
    err,
    fail,
    print_line,
    printable,
    user_errors,
    utf8_text,
)
from barua.errors import BaruaError
from barua.i18n import N_
from barua.texts import Message

if TYPE_CHECKING:
    from barua.app.sending import Sent

_OPTIONS = {"to": "--to", "cc": "--cc", "bcc": "--bcc"}
"""The option of each recipient field of the message."""

ONE_BODY = Message(
    "cli.one_body", "give the message text with exactly one of --body or --body-file"
)
CANNOT_READ = {
    "body": Message("cli.cannot_read_body", "cannot read the body file {path}: {reason}"),
    "html": Message("cli.cannot_read_html", "cannot read the HTML file {path}: {reason}"),
}
NOT_UTF8_FILE = {
    "body": Message("cli.body_not_utf8", "the body file {path} is not UTF-8 text"),
    "html": Message("cli.html_not_utf8", "the HTML file {path} is not UTF-8 text"),
}
SEVERAL = Message("cli.several_addresses", '{option} "{value}" holds several addresses')
SEVERAL_HINT = Message(
    "cli.several_addresses_hint", "Give one address per {option} (repeat {option} for several)."
)
ENTRY_STATE = Message("cli.entry_state", "outbox entry {id} is {status}: {summary}")
ENTRY_STATE_HINT = Message("cli.entry_state_hint", "`barua outbox show {id}` shows every attempt.")


def _read_text(path: Path, what: str) -> str:
    """The text of the file given as the body or its HTML: a regular file no larger than an
    email may be (a device, a pipe or a huge file is refused unread), in UTF-8."""
    from barua.app.present import readable

    data = app().read_file(path, field=what, cannot_read=CANNOT_READ[what])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise bad_input(NOT_UTF8_FILE[what](path=readable(str(path)))) from None


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
    """Send an email with the saved settings; exit 0 when the server accepted it for every
    recipient, 3 when it refused some of them (each is printed with the server's reply, the
    others get the email), 1 when the delivery failed, 2 when the input is wrong.

    The email goes through the outbox: with --queue the command returns at once, otherwise it
    delivers the email and reports what the server said. The files of --body-file,
    --html-file and --attach must be regular files; an email larger than
    BARUA_MAX_MESSAGE_SIZE (25 MB unless set) is refused before anything is queued."""
    with user_errors():
        if (body is None) == (body_file is None):
            raise bad_input(ONE_BODY())
        to = [utf8_text(value, option="--to") for value in to]
        cc = [utf8_text(value, option="--cc") for value in cc or []]
        bcc = [utf8_text(value, option="--bcc") for value in bcc or []]
        subject = utf8_text(subject, option="--subject")
        if body is not None:
            body = utf8_text(body, option="--body")
        if key is not None:
            key = utf8_text(key, option="--key")
        text = body if body is not None else _read_text(body_file, "body")  # type: ignore[arg-type]
        html = _read_text(html_file, "html") if html_file is not None else None
        from barua.app.present import SeveralAddressesError

        try:
            sent = app().send(
                business(),
                to=to,
                cc=cc,
                bcc=bcc,
                subject=subject,
                text=text,
                html=html,
                attachments=attach or [],
                key=key,
                wait=not queue,
            )
        except SeveralAddressesError as exc:
            option = _OPTIONS.get(exc.field)
            if option is None:
                raise
            raise bad_input(
                SEVERAL(option=option, value=exc.value), hint=SEVERAL_HINT(option=option)
            ) from None
        if queue:
            print_line(
                _(N_("Queued as outbox entry {id} ({message_id}).")).format(
                    id=sent.entry.id, message_id=sent.entry.message_id
                )
            )
            return
        report_delivery(sent)


def report_delivery(sent: Sent) -> None:
    """What became of an email delivered now: the server's acceptance, the refused
    recipients, or the failure and when it is tried again."""
    from barua.app.present import MessageStatus, RecipientStatus

    entry, error = sent.entry, sent.error
    accepted = [r for r in entry.recipients if r.status is RecipientStatus.ACCEPTED]
    if entry.status is MessageStatus.SENT and accepted:
        code, reply = accepted[0].code, accepted[0].reply
        print_line(
            _(N_("Sent to {recipients} ({reply}).")).format(
                recipients=", ".join(printable(r.address) for r in accepted),
                reply=printable(f"{code} {reply}"),
            )
        )
        refused = [r for r in entry.recipients if r.status is not RecipientStatus.ACCEPTED]
        for r in refused:
            err.print(
                _(N_("refused: {address} ({reply})")).format(
                    address=printable(r.address), reply=printable(f"{r.code} {r.reply}")
                ),
                markup=False,
            )
        if refused:
            raise typer.Exit(EXIT_SOME_REFUSED)
        return
    if error is not None:
        if entry.status is MessageStatus.DEFERRED:
            if sent.waits_for_settings or entry.next_attempt_at is None:
                later = _(N_("`barua worker` sends it once the settings work"))
            else:
                later = _(N_("`barua worker` tries again from {time}")).format(
                    time=entry.next_attempt_at.strftime("%H:%M:%S UTC")
                )
            print_line(
                _(N_("The email waits in the outbox as entry {id}: {later}.")).format(
                    id=entry.id, later=later
                )
            )
        raise fail(error, sent.settings)
    raise fail(
        BaruaError(
            ENTRY_STATE(id=entry.id, status=entry.status, summary=entry.summary),
            hint=ENTRY_STATE_HINT(id=entry.id),
        )
    )
