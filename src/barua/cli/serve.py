"""``barua serve``: the web app, with the delivery worker in the same process."""

from __future__ import annotations

import gc
from typing import Annotated

import typer

from barua.cli.common import _, app, print_line, render, user_errors
from barua.cli.events import LogFormat, LogFormatOpt
from barua.cli.serving import (
    AccessLogOpt,
    CertFileOpt,
    ForwardedOpt,
    KeyFileOpt,
    MetricsFromOpt,
    listening,
    run,
)
from barua.i18n import N_


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
            "HTTPS only (implied by --certfile and --forwarded-allow-ips).",
        ),
    ] = False,
    certfile: CertFileOpt = None,
    keyfile: KeyFileOpt = None,
    forwarded_allow_ips: ForwardedOpt = None,
    metrics_from: MetricsFromOpt = None,
    log_format: LogFormatOpt = LogFormat.TEXT,
    access_log: AccessLogOpt = False,
) -> None:
    """Run the web app: email settings, the test email, documents and the outbox."""
    from barua.web import WebOptions, create_app

    with user_errors():
        where = listening(
            host,
            port,
            certfile=certfile,
            keyfile=keyfile,
            forwarded_allow_ips=forwarded_allow_ips,
            metrics_from=metrics_from,
            log_format=log_format,
            access_log=access_log,
        )
        barua = app()
        allowed = ("127.0.0.1", "localhost", "[::1]", *(allowed_host or ()))
        options = WebOptions(
            allowed_hosts=allowed,
            https=https or where.behind_https,
            worker=worker,
            log=lambda line: where.log(
                "worker",
                _(N_("worker: {line}")).format(
                    line=line.render() if where.log.format is LogFormat.JSON else render(line)
                ),
            ),
        )
        asgi = create_app(barua, options)
        base = where.url("", localhost=True)
        token = barua.setup_link_token()
        if token is not None:
            invite = N_(
                "Open this link to choose your username and password (it works once, for one hour):"
            )
            print_line(_(invite))
            print_line(f"  {base}/setup/{token}")
        else:
            print_line(_(N_("barua is at {url}")).format(url=f"{base}/"))
    # The web app's modules, templates and models live as long as the process: kept out of
    # the garbage collector's full passes, which the worker inside would otherwise pay for
    # on every pass while it delivers.
    gc.collect()
    gc.freeze()
    run(asgi, where, barua=barua)
