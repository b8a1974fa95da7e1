"""``barua service install``: systemd units that run barua's servers on boot.

Each unit runs one command as an unprivileged user, with its state in ``StateDirectory``
(``/var/lib/barua``, made and owned by that user), the database URL and the secret key from an
environment file only root can read, and the rest of the system read-only. It restarts on a
failure and stops gracefully: systemd sends SIGTERM, the worker finishes the messages in
flight (and gives back the ones it has not started), and only after ``TimeoutStopSec`` would
systemd kill what is left.
"""

from __future__ import annotations

import shlex
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from barua.cli.common import _, bad_input, print_line, user_errors
from barua.i18n import N_
from barua.texts import Message

CANNOT_WRITE = Message("cli.service_cannot_write", "cannot write {path}: {reason}")
CANNOT_WRITE_HINT = Message(
    "cli.service_cannot_write_hint",
    "Run it as root (sudo barua service install …), or write the unit elsewhere with "
    "--output DIR and copy it to /etc/systemd/system yourself.",
)
BAD_ARGUMENT = Message(
    "cli.service_bad_argument", "the argument {argument} cannot go into a unit file"
)
BAD_ARGUMENT_HINT = Message(
    "cli.service_bad_argument_hint",
    "Give the arguments of the command after --, each on one line and without control characters.",
)
BAD_USER = Message("cli.service_bad_user", '--user "{user}" is not a user name systemd accepts')
BAD_USER_HINT = Message(
    "cli.service_bad_user_hint",
    "Give a name of lowercase letters, digits, - and _, such as barua.",
)

service_app = typer.Typer(
    help="Run barua as services that start on boot (systemd).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


class Service(StrEnum):
    """What a unit runs."""

    WEB = "web"
    WORKER = "worker"
    RELAY = "relay"


_COMMANDS: dict[Service, tuple[str, ...]] = {
    # The worker runs as its own service: the web app leaves delivery to it.
    Service.WEB: ("serve", "--no-worker"),
    Service.WORKER: ("worker", "--health-port", "9101"),
    Service.RELAY: ("relay", "serve"),
}
_DESCRIPTIONS = {
    Service.WEB: "barua web app (barua serve)",
    Service.WORKER: "barua delivery worker (barua worker)",
    Service.RELAY: "barua HTTP email relay (barua relay serve)",
}
STOP_SECONDS = {Service.WEB: 30, Service.WORKER: 300, Service.RELAY: 120}
"""How long systemd waits after SIGTERM. The worker finishes the deliveries in flight: one
message over a slow link can take minutes (a 25 MB attachment, a server that answers slowly
within barua's timeouts); the relay finishes its answers and its in-process worker too."""


def _barua_executable() -> list[str]:
    beside = Path(sys.executable).with_name("barua")
    if beside.is_file():
        return [str(beside.absolute())]
    return [str(Path(sys.executable).absolute()), "-m", "barua"]


def _unit_value(argument: str) -> str:
    """``argument`` as systemd reads it back from ExecStart: specifiers and variables
    escaped, quoted when it has spaces or quotes."""
    if any(ord(char) < 32 or ord(char) == 127 for char in argument):
        raise bad_input(BAD_ARGUMENT(argument=repr(argument)), BAD_ARGUMENT_HINT())
    escaped = argument.replace("%", "%%").replace("$", "$$")
    return shlex.quote(escaped) if escaped != shlex.quote(escaped) else escaped


def unit_text(
    service: Service,
    *,
    user: str,
    environment_file: Path,
    arguments: list[str],
    executable: list[str] | None = None,
) -> str:
    """The unit file for ``service``; pure, so the tests read it without writing it."""
    command = [*(executable or _barua_executable()), *_COMMANDS[service], *arguments]
    exec_start = " ".join(_unit_value(part) for part in command)
    return f"""\
# Written by `barua service install {service}`. Settings that are secrets (BARUA_SECRET_KEY,
# BARUA_DATABASE_URL with its password) go in {environment_file}, readable by root only.
[Unit]
Description={_DESCRIPTIONS[service]}
Wants=network-online.target
After=network-online.target postgresql.service

[Service]
Type=exec
User={user}
Group={user}
StateDirectory=barua
StateDirectoryMode=0700
Environment=BARUA_HOME=/var/lib/barua
EnvironmentFile=-{environment_file}
ExecStart={exec_start}
Restart=on-failure
RestartSec=5
KillSignal=SIGTERM
KillMode=mixed
TimeoutStopSec={STOP_SECONDS[service]}
UMask=0077
NoNewPrivileges=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectSystem=strict
ProtectHome=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictSUIDSGID=yes
LockPersonality=yes

[Install]
WantedBy=multi-user.target
"""


@service_app.command("install")
def install_command(
    service: Annotated[
        Service,
        typer.Argument(
            metavar="web|worker|relay", case_sensitive=False, show_default=False, hidden=True
        ),
    ],
    arguments: Annotated[
        list[str] | None,
        typer.Argument(metavar="[-- ARGUMENTS]", show_default=False, hidden=True),
    ] = None,
    output: Annotated[
        Path,
        typer.Option("--output", metavar="DIR", help="Where to write the unit file."),
    ] = Path("/etc/systemd/system"),
    user: Annotated[
        str,
        typer.Option("--user", metavar="NAME", help="The unprivileged user the service runs as."),
    ] = "barua",
    environment_file: Annotated[
        Path,
        typer.Option(
            "--environment-file",
            metavar="FILE",
            help="Where the service reads BARUA_DATABASE_URL, BARUA_SECRET_KEY and the like.",
        ),
    ] = Path("/etc/barua/barua.env"),
) -> None:
    """Write the systemd unit barua-web, barua-worker or barua-relay.service; the arguments
    after -- go to the command (barua serve, barua worker, barua relay serve)."""
    import re

    with user_errors():
        if not re.fullmatch(r"[a-z_][a-z0-9_-]{0,31}", user):
            raise bad_input(BAD_USER(user=user), BAD_USER_HINT())
        text = unit_text(
            service, user=user, environment_file=environment_file, arguments=arguments or []
        )
        path = output / f"barua-{service}.service"
        try:
            output.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise bad_input(
                CANNOT_WRITE(path=str(path), reason=exc.strerror or str(exc)), CANNOT_WRITE_HINT()
            ) from None
        print_line(_(N_("wrote {path}")).format(path=path))
        print_line(_(N_("next: create the user and start the service:")))
        print_line(f"  useradd --system --no-create-home --shell /usr/sbin/nologin {user}")
        print_line(f"  systemctl daemon-reload && systemctl enable --now barua-{service}")
