"""The settings flags, shared by ``barua settings set`` and ``barua test``."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated, Any

import typer

from barua.choices import Protocol, Security
from barua.cli.common import NOT_UTF8_HINT, _, bad_input, utf8_text
from barua.i18n import N_
from barua.texts import Message

TOGETHER = Message("cli.flags_together", "{first} and {second} cannot be used together")
BOTH_STDIN = Message(
    "cli.both_stdin", "--password-stdin and --http-api-key-stdin cannot both read standard input"
)
BOTH_STDIN_HINT = Message("cli.both_stdin_hint", "Set them with two commands.")
STDIN_NOT_UTF8 = Message("cli.stdin_not_utf8", "the text read by {option} is not valid UTF-8")
NO_PASSWORD_READ = Message("cli.no_password_read", "{option} read no password")
NO_API_KEY_READ = Message("cli.no_api_key_read", "{option} read no API key")
REMOVE_WITH = Message(
    "cli.remove_with", "To remove the saved one, run `barua settings set {flag}`."
)
GIVE_OR_LEAVE_OUT = Message(
    "cli.give_or_leave_out",
    "Give it on standard input, or leave out {option} to use the saved one.",
)

ProtocolOpt = Annotated[
    Protocol | None, typer.Option("--protocol", help="smtp or http.", case_sensitive=False)
]
HostOpt = Annotated[
    str | None,
    typer.Option("--host", metavar="SERVER", help="SMTP server, e.g. smtp.gmail.com."),
]
PortOpt = Annotated[
    int | None,
    typer.Option("--port", metavar="PORT", help="SMTP port, usually 465, 587 or 25."),
]
SecurityOpt = Annotated[
    Security | None,
    typer.Option(
        "--security",
        help="auto (from the port), ssl, starttls, starttls_if_offered (STARTTLS when the "
        "server offers it) or none.",
    ),
]
UsernameOpt = Annotated[str | None, typer.Option("--username", metavar="NAME", help="Login name.")]
EmailOpt = Annotated[
    str | None,
    typer.Option(
        "--email-address",
        metavar="ADDRESS",
        help="Sending address, when the username is not one.",
    ),
]
PasswordStdinOpt = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from standard input (asked for, unseen, on a terminal).",
    ),
]
NoPasswordOpt = Annotated[bool, typer.Option("--no-password", help="Remove the saved password.")]
SenderNameOpt = Annotated[
    str | None, typer.Option("--sender-name", metavar="NAME", help="Name shown as the sender.")
]
BccOpt = Annotated[
    str | None,
    typer.Option(
        "--bcc-copy", metavar="ADDRESS", help="Send a copy of every email to this address."
    ),
]
NoBccOpt = Annotated[bool, typer.Option("--no-bcc-copy", help="Stop sending copies.")]
ReplyToOpt = Annotated[
    str | None,
    typer.Option("--reply-to", metavar="ADDRESS", help="Receive replies at this address."),
]
NoReplyToOpt = Annotated[bool, typer.Option("--no-reply-to", help="Replies go to the sender.")]
# A list, so that both flags given at once are seen (and refused) rather than the last winning.
VerifyOpt = Annotated[
    list[bool] | None,
    typer.Option(
        "--skip-tls-verify/--verify-tls",
        help="Do not verify the server's TLS certificate (self-signed servers only).",
    ),
]
UrlOpt = Annotated[
    str | None,
    typer.Option("--http-service-url", metavar="URL", help="URL of the HTTP email service."),
]
ApiKeyStdinOpt = Annotated[
    bool,
    typer.Option(
        "--http-api-key-stdin",
        help="Read the service's API key from standard input (asked for, unseen, on a terminal).",
    ),
]
NoApiKeyOpt = Annotated[bool, typer.Option("--no-http-api-key", help="Remove the saved API key.")]
TimeoutOpt = Annotated[
    float | None,
    typer.Option("--timeout", metavar="SECONDS", help="Seconds to wait for the server."),
]


def read_secret(option: str, *, prompt: str, empty: Message, clear_with: str | None) -> str:
    """One line of standard input, or what is typed unseen at a prompt on a terminal.

    An empty one is refused; with ``clear_with``, the flag of this command that removes the
    saved secret, the hint names it.
    """
    try:
        if sys.stdin.isatty():
            try:
                value = getpass.getpass(prompt)
            except EOFError:  # Ctrl-D at the prompt
                value = ""
        else:
            value = sys.stdin.buffer.readline().decode("utf-8")
    except UnicodeDecodeError:
        raise bad_input(STDIN_NOT_UTF8(option=option), hint=NOT_UTF8_HINT()) from None
    value = value.removesuffix("\n").removesuffix("\r")
    if not value:
        # An empty line must not silently remove a saved secret: that has its own flag.
        hint = (
            REMOVE_WITH(flag=clear_with)
            if clear_with is not None
            else GIVE_OR_LEAVE_OUT(option=option)
        )
        raise bad_input(empty(option=option), hint=hint)
    return value


def changes_from_flags(
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
    skip_tls_verify: list[bool] | bool | None,
    http_service_url: str | None,
    http_api_key_stdin: bool,
    timeout: float | None,
    no_password: bool = False,
    no_http_api_key: bool = False,
    offers_removal: bool = False,
) -> dict[str, Any]:
    """Only the flags that were given: the others keep their saved values.

    ``offers_removal`` is for the command that has --no-password and --no-http-api-key
    (``barua settings set``): an empty secret read from standard input then points to them.
    """
    for given, first, second in (
        (bcc_copy is not None and no_bcc_copy, "--bcc-copy", "--no-bcc-copy"),
        (reply_to is not None and no_reply_to, "--reply-to", "--no-reply-to"),
        (password_stdin and no_password, "--password-stdin", "--no-password"),
        (http_api_key_stdin and no_http_api_key, "--http-api-key-stdin", "--no-http-api-key"),
        (
            isinstance(skip_tls_verify, list) and len(set(skip_tls_verify)) > 1,
            "--skip-tls-verify",
            "--verify-tls",
        ),
    ):
        if given:
            raise bad_input(TOGETHER(first=first, second=second))
    if isinstance(skip_tls_verify, list):
        skip_tls_verify = skip_tls_verify[0] if skip_tls_verify else None
    if password_stdin and http_api_key_stdin:
        raise bad_input(BOTH_STDIN(), hint=BOTH_STDIN_HINT())
    texts = {
        "host": (host, "--host"),
        "username": (username, "--username"),
        "email_address": (email_address, "--email-address"),
        "sender_name": (sender_name, "--sender-name"),
        "bcc_copy": (bcc_copy, "--bcc-copy"),
        "reply_to": (reply_to, "--reply-to"),
        "http_service_url": (http_service_url, "--http-service-url"),
    }
    changes: dict[str, Any] = {
        name: utf8_text(value, option=option)
        for name, (value, option) in texts.items()
        if value is not None
    }
    others = {
        "protocol": protocol,
        "port": port,
        "security": security,
        "skip_tls_verify": skip_tls_verify,
        "timeout": timeout,
    }
    changes.update({name: value for name, value in others.items() if value is not None})
    if no_bcc_copy:
        changes["bcc_copy"] = None
    if no_reply_to:
        changes["reply_to"] = None
    if no_password:
        changes["password"] = None
    if no_http_api_key:
        changes["http_api_key"] = None
    if password_stdin:
        changes["password"] = read_secret(
            "--password-stdin",
            prompt=_(N_("Password: ")),
            empty=NO_PASSWORD_READ,
            clear_with="--no-password" if offers_removal else None,
        )
    if http_api_key_stdin:
        changes["http_api_key"] = read_secret(
            "--http-api-key-stdin",
            prompt=_(N_("API key: ")),
            empty=NO_API_KEY_READ,
            clear_with="--no-http-api-key" if offers_removal else None,
        )
    return changes
