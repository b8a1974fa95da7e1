"""The ``barua`` command line: parses, calls the library, prints. No business logic lives here.

Exit codes: 0 success; 1 the delivery failed; 2 the input was wrong (a setting, an address,
a file, a flag).
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from typing import Annotated, Any

import typer

from barua.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_DELIVERY_FAILED,
    bad_input,
    fail,
    out,
    settings_in_effect,
    user_errors,
)
from barua.cli.document import document_app
from barua.cli.outbox import outbox_app, worker_command
from barua.cli.send import send_command
from barua.diagnose import run_test
from barua.errors import TransportError
from barua.settings import Protocol, Security, update_settings
from barua.store import ENV_OVERRIDES, SettingsStore
from barua.transports.base import StepEvent
from barua.version import __version__

app = typer.Typer(
    help="barua: send invoices, quotes and reports by email, reliably.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
settings_app = typer.Typer(
    help="Show and change how email leaves: SMTP server or HTTP email service.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(settings_app, name="settings")


def _version(value: bool) -> None:
    if value:
        out.print(f"barua {__version__}", markup=False)
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """barua: send invoices, quotes and reports by email, reliably."""


# The settings flags, shared by `settings set` and `test` ------------------------------------

ProtocolOpt = Annotated[
    Protocol | None, typer.Option("--protocol", help="smtp or http.", case_sensitive=False)
]
HostOpt = Annotated[str | None, typer.Option("--host", help="SMTP server, e.g. smtp.gmail.com.")]
PortOpt = Annotated[int | None, typer.Option("--port", help="SMTP port: 465, 587 or 25.")]
SecurityOpt = Annotated[
    Security | None,
    typer.Option("--security", help="auto (from the port), ssl, starttls or none."),
]
UsernameOpt = Annotated[str | None, typer.Option("--username", help="Login name.")]
EmailOpt = Annotated[
    str | None,
    typer.Option("--email-address", help="Sending address, when the username is not one."),
]
PasswordStdinOpt = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]
SenderNameOpt = Annotated[
    str | None, typer.Option("--sender-name", help="Name shown as the sender.")
]
BccOpt = Annotated[
    str | None, typer.Option("--bcc-copy", help="Send a copy of every email to this address.")
]
NoBccOpt = Annotated[bool, typer.Option("--no-bcc-copy", help="Stop sending copies.")]
ReplyToOpt = Annotated[
    str | None, typer.Option("--reply-to", help="Receive replies at this address.")
]
NoReplyToOpt = Annotated[bool, typer.Option("--no-reply-to", help="Replies go to the sender.")]
VerifyOpt = Annotated[
    bool | None,
    typer.Option(
        "--skip-tls-verify/--verify-tls",
        help="Do not verify the server's TLS certificate (self-signed servers only).",
    ),
]
UrlOpt = Annotated[
    str | None, typer.Option("--http-service-url", help="URL of the HTTP email service.")
]
ApiKeyStdinOpt = Annotated[
    bool, typer.Option("--http-api-key-stdin", help="Read the service's API key from stdin.")
]
TimeoutOpt = Annotated[
    float | None, typer.Option("--timeout", help="Seconds to wait for the server.")
]


def _read_secret() -> str:
    value = sys.stdin.readline()
    return value.removesuffix("\n").removesuffix("\r")


def _changes(
    *,
    protocol: Protocol | None,
    host: str | None,
    port: int | None,
    security: Security | None,
    username: str | None,
    email_address: str | None,
    password_stdin: bool,
    sender_name: str | None,
    bcc_copy: str | None,
    no_bcc_copy: bool,
    reply_to: str | None,
    no_reply_to: bool,
    skip_tls_verify: bool | None,
    http_service_url: str | None,
    http_api_key_stdin: bool,
    timeout: float | None,
) -> dict[str, Any]:
    """Only the flags that were given: the others keep their saved values."""
    if bcc_copy is not None and no_bcc_copy:
        raise bad_input("--bcc-copy and --no-bcc-copy cannot be used together")
    if reply_to is not None and no_reply_to:
        raise bad_input("--reply-to and --no-reply-to cannot be used together")
    if password_stdin and http_api_key_stdin:
        raise bad_input(
            "--password-stdin and --http-api-key-stdin cannot both read standard input",
            hint="Set them with two commands.",
        )
    given = {
        "protocol": protocol,
        "host": host,
        "port": port,
        "security": security,
        "username": username,
        "email_address": email_address,
        "sender_name": sender_name,
        "bcc_copy": bcc_copy,
        "reply_to": reply_to,
        "skip_tls_verify": skip_tls_verify,
        "http_service_url": http_service_url,
        "timeout": timeout,
    }
    changes: dict[str, Any] = {name: value for name, value in given.items() if value is not None}
    if no_bcc_copy:
        changes["bcc_copy"] = None
    if no_reply_to:
        changes["reply_to"] = None
    if password_stdin:
        changes["password"] = _read_secret()
    if http_api_key_stdin:
        changes["http_api_key"] = _read_secret()
    return changes


# barua settings ----------------------------------------------------------------------------


@settings_app.command("set")
def settings_set(
    protocol: ProtocolOpt = None,
    host: HostOpt = None,
    port: PortOpt = None,
    security: SecurityOpt = None,
    username: UsernameOpt = None,
    email_address: EmailOpt = None,
    password_stdin: PasswordStdinOpt = False,
    sender_name: SenderNameOpt = None,
    bcc_copy: BccOpt = None,
    no_bcc_copy: NoBccOpt = False,
    reply_to: ReplyToOpt = None,
    no_reply_to: NoReplyToOpt = False,
    skip_tls_verify: VerifyOpt = None,
    http_service_url: UrlOpt = None,
    http_api_key_stdin: ApiKeyStdinOpt = False,
    timeout: TimeoutOpt = None,
) -> None:
    """Validate and save settings. Flags not given keep their saved values."""
    with user_errors():
        changes = _changes(**locals())
        store = SettingsStore()
        saved = store.load()
        settings = update_settings(saved, **changes)
        if (
            settings.protocol is Protocol.SMTP
            and settings.username is not None
            and settings.password is None
            and sys.stdin.isatty()
        ):
            password = getpass.getpass(f"Password for {settings.username}: ")
            settings = update_settings(settings, password=password)
        store.save(settings)
        out.print(f"Saved the email settings to {store.path}", markup=False)


@settings_app.command("show")
def settings_show(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the settings in effect. Passwords and keys are shown as set or not set, never."""
    with user_errors():
        store = SettingsStore()
        settings = store.load_effective()
        if settings is None:
            raise bad_input(
                "no email settings are saved yet", hint="Run `barua settings set --help`."
            )
        data = settings.public_dict()
        if as_json:
            out.print_json(json.dumps(data))
            return
        for name, value in data.items():
            label, shown = name, "" if value is None else value
            if name.endswith("_set"):
                label, shown = name.removesuffix("_set"), "set" if value else "not set"
            out.print(f"{label:18} {shown}", markup=False)
        overrides = [var for var in ENV_OVERRIDES if var in os.environ]
        if overrides:
            out.print(f"(overridden by the environment: {', '.join(overrides)})", markup=False)


# barua test --------------------------------------------------------------------------------


def _print_step(event: StepEvent) -> None:
    mark, style = ("✓", "green") if event.ok else ("✗", "red")
    out.print(f"{mark} ", style=style, end="")
    out.print(f"{event.step:12} {event.seconds * 1000:7.1f} ms  {event.detail}", markup=False)


@app.command("test")
def test_command(
    to: Annotated[str, typer.Option("--to", help="Where to send the test email.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    save: Annotated[
        bool, typer.Option("--save", help="Save the settings given here if the test passes.")
    ] = False,
    protocol: ProtocolOpt = None,
    host: HostOpt = None,
    port: PortOpt = None,
    security: SecurityOpt = None,
    username: UsernameOpt = None,
    email_address: EmailOpt = None,
    password_stdin: PasswordStdinOpt = False,
    sender_name: SenderNameOpt = None,
    bcc_copy: BccOpt = None,
    no_bcc_copy: NoBccOpt = False,
    reply_to: ReplyToOpt = None,
    no_reply_to: NoReplyToOpt = False,
    skip_tls_verify: VerifyOpt = None,
    http_service_url: UrlOpt = None,
    http_api_key_stdin: ApiKeyStdinOpt = False,
    timeout: TimeoutOpt = None,
) -> None:
    """Send a test email, step by step, with the saved settings or the ones given here."""
    with user_errors():
        flags = {k: v for k, v in locals().items() if k not in {"to", "as_json", "save"}}
        store = SettingsStore()
        settings = settings_in_effect(store, _changes(**flags))
        report = run_test(settings, to=to, observer=None if as_json else _print_step)
        if as_json:
            out.print_json(json.dumps(report.to_dict()))
        elif report.error is not None:
            if not isinstance(report.error, TransportError):
                raise report.error
            raise fail(report.error)
        else:
            assert report.result is not None
            out.print(
                f"The server accepted the test email for {to} "
                f"({report.result.code} {report.result.reply}).",
                markup=False,
            )
        if report.error is not None:
            code = (
                EXIT_DELIVERY_FAILED if isinstance(report.error, TransportError) else EXIT_BAD_INPUT
            )
            raise typer.Exit(code)
        if save:
            store.save(settings)
            if not as_json:
                out.print(f"Saved the email settings to {store.path}", markup=False)


app.command("send")(send_command)
app.add_typer(document_app, name="document")
app.add_typer(outbox_app, name="outbox")
app.command("worker")(worker_command)


def main() -> None:
    """Entry point of the ``barua`` console script."""
    app()
