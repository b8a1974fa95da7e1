"""``barua serve``: the web app, with the delivery worker in the same process."""

from __future__ import annotations

import ipaddress
from typing import Annotated

import typer

from barua.cli.common import _, app, bad_input, print_line, user_errors
from barua.i18n import N_
from barua.texts import Message

NOT_LOOPBACK = Message(
    "cli.serve_not_loopback",
    "--host {host} would let other machines reach barua without encryption",
)
NOT_LOOPBACK_HINT = Message(
    "cli.serve_not_loopback_hint",
    "Serve on 127.0.0.1 behind a web server that adds HTTPS (Caddy, nginx) and give --https, "
    "or keep the default --host 127.0.0.1.",
)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve_command(
    host: Annotated[
        str, typer.Option("--host", metavar="ADDRESS", help="The address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", metavar="PORT", min=1, max=65535, help="The port.")
    ] = 8025,
    worker: Annotated[
        bool,
        typer.Option(
            "--worker/--no-worker",
            help="Deliver the outbox in this process (--no-worker when workers run apart).",
        ),
    ] = True,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-host",
            metavar="NAME",
            help="A host name people use to reach barua (repeatable); 127.0.0.1, localhost "
            "and ::1 are always allowed.",
        ),
    ] = None,
    https: Annotated[
        bool,
        typer.Option(
            "--https",
            help="People reach barua over HTTPS (through a proxy): cookies are sent over "
            "HTTPS only.",
        ),
    ] = False,
) -> None:
    """Run the web app: email settings, the test email, documents and the outbox."""
    import uvicorn

    from barua.web import WebOptions, create_app

    with user_errors():
        if not _loopback(host) and not https:
            raise bad_input(NOT_LOOPBACK(host=host), NOT_LOOPBACK_HINT())
        barua = app()
        allowed = ("127.0.0.1", "localhost", "[::1]", *(allowed_host or ()))
        options = WebOptions(allowed_hosts=allowed, https=https, worker=worker)
        asgi = create_app(barua, options)
        shown = "localhost" if host in {"127.0.0.1", "localhost"} else host
        base = f"http://{shown}:{port}"
        token = barua.setup_link_token()
        if token is not None:
            invite = N_(
                "Open this link to choose your username and password (it works once, for one hour):"
            )
            print_line(_(invite))
            print_line(f"  {base}/setup/{token}")
        else:
            print_line(_(N_("barua is at {url}")).format(url=f"{base}/"))
    uvicorn.run(asgi, host=host, port=port, log_level="warning", access_log=False)
