"""``barua relay``: the HTTP email service (serve it, its settings, keys, DKIM and bounces)."""

from __future__ import annotations

import ipaddress
import re
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from barua.cli.common import (
    _,
    app,
    bad_input,
    current,
    print_line,
    printable,
    render,
    user_errors,
)
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
from barua.texts import Message, Text

NOT_LOOPBACK = Message(
    "cli.relay_not_loopback",
    "--open takes requests without a key: it is allowed on a loopback address only, not {host}",
)
NOT_LOOPBACK_HINT = Message(
    "cli.relay_not_loopback_hint",
    "Serve on 127.0.0.1 for programs on this machine, or give each program a key "
    "(`barua relay keys create`).",
)
NOT_A_RATE = Message(
    "cli.relay_not_a_rate", '{option} "{value}" is not a number of messages a minute'
)
CANNOT_LISTEN = Message("cli.relay_cannot_listen", "cannot listen on {host}:{port}: {reason}")
CANNOT_LISTEN_HINT = Message(
    "cli.relay_cannot_listen_hint",
    "Choose a free port with --port; ports below 1024, such as 25, need root.",
)
NOT_A_RATE_HINT = Message("cli.relay_not_a_rate_hint", "Give it as 60/min, or 60.")
OPEN_ONE_PROCESS = Message(
    "cli.relay_open_one_process",
    "--open counts each client address's messages in one process: it takes no --processes",
)
OPEN_ONE_PROCESS_HINT = Message(
    "cli.relay_open_one_process_hint",
    "Leave out --processes, or give each program a key (`barua relay keys create`).",
)

relay_app = typer.Typer(
    help="The HTTP email service: other barua installations (and programs) send through it.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
keys_app = typer.Typer(
    help="The API keys of the relay: who may send, as whom, how fast.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
dkim_app = typer.Typer(
    help="The relay's DKIM key, and the DNS records its domain needs.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
relay_app.add_typer(keys_app, name="keys")
relay_app.add_typer(dkim_app, name="dkim")

NameArg = Annotated[str, typer.Argument(metavar="NAME", hidden=True, show_default=False)]
_RATE = re.compile(r"\s*(\d+)\s*(?:/\s*min(?:ute)?)?\s*", re.I)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@relay_app.command("serve")
def serve_command(
    host: Annotated[
        str, typer.Option("--host", metavar="ADDRESS", help="The address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", metavar="PORT", min=1, max=65535, help="The port.")
    ] = 8026,
    worker: Annotated[
        bool,
        typer.Option(
            "--worker/--no-worker",
            help="Deliver in this process (--no-worker when `barua relay worker` runs apart).",
        ),
    ] = True,
    open_mode: Annotated[
        bool,
        typer.Option("--open", help="Take requests without a key (only on a loopback address)."),
    ] = False,
    open_sender: Annotated[
        list[str] | None,
        typer.Option(
            "--open-sender",
            metavar="ADDRESS_OR_@DOMAIN",
            help="What requests without a key may send as (repeatable; default: anything).",
        ),
    ] = None,
    poll_interval: Annotated[
        float,
        typer.Option("--poll-interval", metavar="SECONDS", min=0.01, help="Worker's idle sleep."),
    ] = 1.0,
    lease: Annotated[
        float,
        typer.Option(
            "--lease", metavar="SECONDS", min=0.1, help="Seconds a claimed message stays ours."
        ),
    ] = 300.0,
    processes: Annotated[
        int,
        typer.Option(
            "--processes",
            metavar="N",
            min=1,
            max=256,
            help="Answer from N processes on the one port (one a CPU core uses every core; "
            "the first also delivers).",
        ),
    ] = 1,
    certfile: CertFileOpt = None,
    keyfile: KeyFileOpt = None,
    forwarded_allow_ips: ForwardedOpt = None,
    metrics_from: MetricsFromOpt = None,
    log_format: LogFormatOpt = LogFormat.TEXT,
    access_log: AccessLogOpt = False,
    open_rate: Annotated[
        str,
        typer.Option(
            "--open-rate",
            metavar="N/min",
            help="With --open: messages a minute from one client address, at most.",
        ),
    ] = "60/min",
) -> None:
    """Serve POST /v1/messages and GET /v1/health (docs/http-protocol.md)."""
    from barua.app.present import WorkerConfig
    from barua.app.relay import RelayOptions
    from barua.relay import RelayServeOptions, create_app

    with user_errors():
        if open_mode and not _loopback(host):
            raise bad_input(NOT_LOOPBACK(host=host), NOT_LOOPBACK_HINT())
        if open_mode and processes > 1:
            raise bad_input(OPEN_ONE_PROCESS(), OPEN_ONE_PROCESS_HINT())
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
        relay = RelayOptions(
            open=open_mode,
            open_senders=tuple(open_sender or ()),
            open_rate_per_minute=_rate(open_rate, option="--open-rate"),
        )

        def options(delivers: bool) -> RelayServeOptions:
            return RelayServeOptions(
                relay=relay,
                worker=delivers,
                worker_config=WorkerConfig(poll_interval=poll_interval, lease=lease),
            )

        if processes == 1:
            asgi = create_app(app(), options(worker))
        else:
            from barua.app.relay import ready_relay_config

            ready_relay_config(app())  # the database made ready and the settings checked once
            _listen(host, port).close()  # the port is free: said once, not by every process
            current().close()  # no connection of the parent's may reach a child
        print_line(_(N_("barua relay is at {url}")).format(url=where.url("/v1/")))
    # The event loop gives the GIL up on every send and receive; with Python's 5 ms switch
    # interval it then waits behind the threads that check, sign and commit, and so does
    # every answer.
    sys.setswitchinterval(0.0005)
    if processes == 1:
        run(asgi, where, barua=app(), relay=True, timeout_keep_alive=15)
        return

    from barua.relay.processes import serve_processes

    def serve(number: int) -> None:
        with user_errors():
            listener = _listen(host, port, share=True)
            asgi = create_app(app(), options(worker and number == 0))
        run(asgi, where, barua=app(), relay=True, timeout_keep_alive=15, sockets=[listener])

    def log(line: Text) -> None:
        where.log("relay_processes", render(line), level="warning")

    with user_errors():
        serve_processes(_exiting(serve), processes=processes, log=log)


def _listen(host: str, port: int, *, share: bool = False) -> socket.socket:
    """A socket bound to ``host``:``port``; listening, with ``share``, beside the other
    processes of this relay (SO_REUSEPORT: the kernel spreads new connections over them)."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if share:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        listener.bind((host.strip("[]"), port))
        if share:
            listener.listen(2048)
    except OSError as exc:
        raise bad_input(
            CANNOT_LISTEN(host=host, port=port, reason=exc.strerror or str(exc)),
            CANNOT_LISTEN_HINT(),
        ) from exc
    return listener


def _exiting(serve: Callable[[int], None]) -> Callable[[int], None]:
    """``serve`` ending its process with the command line's exit code and error line (a
    child's error is one line on stderr, as the parent's is, not a traceback)."""

    def child(number: int) -> None:
        try:
            serve(number)
        except typer.Exit as exc:
            sys.exit(exc.exit_code)

    return child


@relay_app.command("worker")
def worker_command(
    poll_interval: Annotated[
        float,
        typer.Option("--poll-interval", metavar="SECONDS", min=0.01, help="Longest idle sleep."),
    ] = 1.0,
    once: Annotated[
        bool, typer.Option("--once", help="Deliver everything that is due, then exit.")
    ] = False,
) -> None:
    """Deliver the relay's mail (when `barua relay serve --no-worker` runs)."""
    import signal

    from barua.app.present import WorkerConfig

    with user_errors():
        worker = app().relay_worker(
            WorkerConfig(poll_interval=poll_interval), log=lambda line: print_line(render(line))
        )
        signal.signal(signal.SIGTERM, lambda *_: worker.stop())
        # The businesses are told of the deliveries that failed; with --once, of those that
        # ended half a minute before (the next run tells of the rest).
        stop_notices = app().notify_delivery_failures_every(15.0)
        try:
            report = worker.run(once=once)
        finally:
            stop_notices()
        print_line(
            _(N_("sent {sent}, deferred {deferred}, failed {failed}")).format(
                sent=report.sent, deferred=report.deferred, failed=report.failed
            )
        )


@relay_app.command("settings")
def settings_command(
    sending_address: Annotated[
        str | None,
        typer.Option(
            "--sending-address",
            metavar="ADDRESS",
            help="The address the relay sends from (display names are kept).",
        ),
    ] = None,
    bounce_address: Annotated[
        str | None,
        typer.Option(
            "--bounce-address",
            metavar="ADDRESS",
            help="Where bounces come back (default: bounces@ the sending domain).",
        ),
    ] = None,
    direct: Annotated[
        bool | None,
        typer.Option(
            "--direct/--smarthost",
            help="Send to each recipient's MX, or through the email settings (barua settings).",
        ),
    ] = None,
    mx_port: Annotated[
        int | None,
        typer.Option("--mx-port", metavar="PORT", min=1, max=65535, help="The MX servers' port."),
    ] = None,
    domain_connections: Annotated[
        int | None,
        typer.Option(
            "--domain-connections", metavar="N", min=1, help="Connections at once to one domain."
        ),
    ] = None,
    smtputf8: Annotated[
        bool | None,
        typer.Option(
            "--smtputf8/--no-smtputf8",
            help="Whether the next hop takes international addresses (--no-smtputf8: refuse "
            "them before accepting).",
        ),
    ] = None,
) -> None:
    """Show the relay's settings, changing those given."""
    with user_errors():
        changes = {
            name: value
            for name, value in (
                ("sending_address", sending_address),
                ("bounce_address", bounce_address),
                ("direct", direct),
                ("mx_port", mx_port),
                ("domain_connections", domain_connections),
                ("smtputf8", smtputf8),
            )
            if value is not None
        }
        config = app().update_relay_config(**changes) if changes else app().relay_config()
        unset = _(N_("(not set)"))
        print_line(f"sending_address: {config.sending_address or unset}")
        print_line(f"bounce_address: {config.bounces or unset}")
        print_line(f"delivery: {'direct (MX)' if config.direct else 'smarthost (barua settings)'}")
        if config.direct:
            print_line(f"mx_port: {config.mx_port}")
            print_line(f"domain_connections: {config.domain_connections}")
        dkim = (
            f"{config.dkim_selector}._domainkey.{config.dkim_domain}" if config.dkim_key else unset
        )
        print_line(f"dkim: {dkim}")
        if config.smtputf8 is not None:
            print_line(f"smtputf8: {'yes' if config.smtputf8 else 'no'}")


# Keys ---------------------------------------------------------------------------------------


def _rate(value: str | None, *, option: str = "--rate") -> int | None:
    if value is None:
        return None
    found = _RATE.fullmatch(value)
    if found is None:
        raise bad_input(NOT_A_RATE(option=option, value=value), NOT_A_RATE_HINT())
    return int(found.group(1))


@keys_app.command("create")
def keys_create(
    name: NameArg,
    sender: Annotated[
        list[str],
        typer.Option(
            "--sender",
            metavar="ADDRESS_OR_@DOMAIN",
            help="An address, or @domain, the key may send as (repeatable).",
        ),
    ],
    rate: Annotated[
        str | None, typer.Option("--rate", metavar="N/min", help="Messages a minute, at most.")
    ] = None,
    daily_quota: Annotated[
        int | None,
        typer.Option("--daily-quota", metavar="N", help="Messages a day (UTC), at most."),
    ] = None,
    from_address: Annotated[
        str | None,
        typer.Option(
            "--from", metavar="ADDRESS", help="Send this key's mail from ADDRESS instead."
        ),
    ] = None,
) -> None:
    """Make a key called NAME; it is printed once, and kept only as a hash."""
    with user_errors():
        key, made = app().create_relay_key(
            name,
            senders=sender,
            rate_per_minute=_rate(rate),
            daily_quota=daily_quota,
            from_address=from_address,
        )
        print_line(key)
        print_line(
            _(N_('This is the key of "{name}": it is shown only this once.')).format(
                name=printable(made.name)
            )
        )


@keys_app.command("list")
def keys_list() -> None:
    """List the keys: name, start of the key, status, senders and limits."""
    with user_errors():
        for key in app().relay_keys():
            limits = []
            if key.rate_per_minute:
                limits.append(f"{key.rate_per_minute}/min")
            if key.daily_quota is not None:
                limits.append(f"{key.daily_quota}/day")
            print_line(
                f"{printable(key.name)}  {key.prefix}…  {key.status}  "
                f"{' '.join(key.senders)}  {' '.join(limits) or '-'}"
            )


def _set_status(name: str, status: str, done: str) -> None:
    with user_errors():
        key = app().set_relay_key_status(name, status)
        print_line(_(done).format(name=printable(key.name)))


@keys_app.command("disable")
def keys_disable(name: NameArg) -> None:
    """Refuse the key NAME (403) until it is enabled again."""
    _set_status(name, "disabled", N_('The key "{name}" is disabled.'))


@keys_app.command("enable")
def keys_enable(name: NameArg) -> None:
    """Take the key NAME again."""
    _set_status(name, "enabled", N_('The key "{name}" is enabled.'))


@keys_app.command("revoke")
def keys_revoke(name: NameArg) -> None:
    """Refuse the key NAME for good (401)."""
    _set_status(name, "revoked", N_('The key "{name}" is revoked.'))


@keys_app.command("suppressed")
def keys_suppressed(
    name: NameArg,
    remove: Annotated[
        list[str] | None,
        typer.Option("--remove", metavar="ADDRESS", help="Send to ADDRESS again (repeatable)."),
    ] = None,
) -> None:
    """The addresses key NAME no longer sends to (they bounced for good)."""
    with user_errors():
        for address in remove or ():
            if app().relay_unsuppress(name, address):
                print_line(_(N_("{address} is no longer suppressed.")).format(address=address))
            else:
                print_line(_(N_("{address} was not suppressed.")).format(address=address))
        if remove:
            return
        for entry in app().relay_suppressed(name):
            print_line(f"{printable(entry.address)}  {entry.code}  {printable(entry.reason)}")


# DKIM ---------------------------------------------------------------------------------------


@dkim_app.command("generate")
def dkim_generate(
    domain: Annotated[
        str, typer.Option("--domain", metavar="DOMAIN", help="The domain that signs (d=).")
    ],
    selector: Annotated[
        str, typer.Option("--selector", metavar="SELECTOR", help="The key's selector (s=).")
    ],
) -> None:
    """Make the signing key (kept encrypted) and print the DNS records to publish."""
    with user_errors():
        records = app().generate_dkim(domain=domain, selector=selector)
        print_line(_(N_("Publish these DNS records:")))
        for record in records:
            print_line(str(record))


@dkim_app.command("records")
def dkim_records() -> None:
    """Print the DNS records the relay's domain needs (DKIM, SPF, DMARC)."""
    with user_errors():
        for record in app().dns_records():
            print_line(str(record))


@dkim_app.command("check")
def dkim_check() -> None:
    """Look the records up and say which are missing or wrong."""
    with user_errors():
        missing = 0
        for finding in app().check_dns():
            if finding.ok:
                print_line(
                    _(N_("ok: {name} {type}")).format(
                        name=finding.record.name, type=finding.record.type
                    )
                )
                continue
            missing += 1
            if finding.found is None:
                line = _(N_("missing: {record}"))
            else:
                line = _(N_("differs: {record} (found: {found})"))
            print_line(
                line.format(record=str(finding.record), found=printable(finding.found or ""))
            )
        if missing:
            raise typer.Exit(1)


# Bounces ------------------------------------------------------------------------------------


@relay_app.command("bounce")
def bounce_command(
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            metavar="ADDRESS",
            help="The bounce's envelope recipient (${recipient}).",
        ),
    ] = None,
    maildir: Annotated[
        Path | None,
        typer.Option("--maildir", metavar="DIR", help="Handle every bounce waiting in DIR/new."),
    ] = None,
) -> None:
    """Read a bounce on standard input (or every one in a Maildir): the recipients are marked
    failed, hard bounces suppressed, and the sender told."""
    with user_errors():
        if maildir is not None:
            outcomes = app().relay_bounces_in(str(maildir))
        else:
            outcomes = [app().relay_bounce(sys.stdin.buffer.read(2_000_000), to=to)]
        for outcome in outcomes:
            if outcome.message is None:
                print_line(_(N_("not a bounce of a message of this relay")))
                continue
            print_line(
                _(N_("{message}: failed {failed}; suppressed {suppressed}")).format(
                    message=outcome.message,
                    failed=", ".join(outcome.failed) or "-",
                    suppressed=", ".join(outcome.suppressed) or "-",
                )
            )


@relay_app.command("bounce-listen")
def bounce_listen_command(
    host: Annotated[
        str, typer.Option("--host", metavar="ADDRESS", help="The address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", metavar="PORT", min=0, max=65535, help="The SMTP port.")
    ] = 2525,
) -> None:
    """Take bounces over SMTP for the bounce address (point its domain's MX, or Postfix's
    transport for it, here): the recipients are marked failed, hard bounces suppressed,
    and the sender told."""
    import signal
    import threading

    from barua.relay.bounces import BounceListener

    with user_errors():
        try:
            listener = BounceListener(app(), host=host, port=port)
        except OSError as exc:
            raise bad_input(
                CANNOT_LISTEN(host=host, port=port, reason=exc.strerror or str(exc)),
                CANNOT_LISTEN_HINT(),
            ) from exc
        listener.start()
        print_line(
            _(N_("barua relay takes bounces at {host}:{port} (SMTP)")).format(
                host=host, port=listener.port
            )
        )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_args: stop.set())
    stop.wait()
    listener.stop()
