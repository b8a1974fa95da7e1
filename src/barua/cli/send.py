"""``barua send``: email a message with the saved settings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from barua.cli.common import bad_input, err, out, settings_in_effect, user_errors
from barua.delivery import send_now
from barua.message import Attachment, build_message
from barua.store import SettingsStore

# barua send --------------------------------------------------------------------------------


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise bad_input(f"cannot read the {what} file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise bad_input(f"the {what} file {path} is not UTF-8 text") from None


def send_command(
    to: Annotated[list[str], typer.Option("--to", help="Recipient; repeat for several.")],
    subject: Annotated[str, typer.Option("--subject", help="Subject line.")],
    cc: Annotated[list[str] | None, typer.Option("--cc", help="Copy to; repeatable.")] = None,
    bcc: Annotated[list[str] | None, typer.Option("--bcc", help="Blind copy; repeatable.")] = None,
    body: Annotated[str | None, typer.Option("--body", help="The message text.")] = None,
    body_file: Annotated[
        Path | None, typer.Option("--body-file", help="Read the message text from a file.")
    ] = None,
    html_file: Annotated[
        Path | None, typer.Option("--html-file", help="An HTML version of the message.")
    ] = None,
    attach: Annotated[
        list[Path] | None, typer.Option("--attach", help="Attach a file; repeatable.")
    ] = None,
) -> None:
    """Send an email with the saved settings; exit 0 when the server accepted it."""
    with user_errors():
        if (body is None) == (body_file is None):
            raise bad_input("give the message text with exactly one of --body or --body-file")
        text = body if body is not None else _read_text(body_file, "body")  # type: ignore[arg-type]
        html = _read_text(html_file, "HTML") if html_file is not None else None
        attachments = [Attachment.from_path(path) for path in attach or []]
        settings = settings_in_effect(SettingsStore())
        message = build_message(
            settings,
            to=to,
            cc=cc or [],
            bcc=bcc or [],
            subject=subject,
            text=text,
            html=html,
            attachments=attachments,
        )
        result = send_now(settings, message)
        out.print(
            f"Sent to {', '.join(result.accepted)} ({result.code} {result.reply}).", markup=False
        )
        for recipient, (code, reply) in result.refused.items():
            err.print(f"refused: {recipient} ({code} {reply})", markup=False)
