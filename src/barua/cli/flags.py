"""The settings flags, shared by ``barua settings set`` and ``barua test``."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from barua.cli.common import bad_input
from barua.settings import Protocol, Security

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
# A list, so that both flags given at once are seen (and refused) rather than the last winning.
VerifyOpt = Annotated[
    list[bool] | None,
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
) -> dict[str, Any]:
    """Only the flags that were given: the others keep their saved values."""
    if bcc_copy is not None and no_bcc_copy:
        raise bad_input("--bcc-copy and --no-bcc-copy cannot be used together")
    if reply_to is not None and no_reply_to:
        raise bad_input("--reply-to and --no-reply-to cannot be used together")
    if isinstance(skip_tls_verify, list):
        if len(set(skip_tls_verify)) > 1:
            raise bad_input("--skip-tls-verify and --verify-tls cannot be used together")
        skip_tls_verify = skip_tls_verify[0] if skip_tls_verify else None
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
