"""The ``barua`` command line: parses, calls the library, prints. No business logic lives here.

Exit codes: 0 success; 1 the delivery failed; 2 the input was wrong (a setting, an address,
a file, a flag).
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from barua.cli.common import out
from barua.cli.document import document_app
from barua.cli.outbox import outbox_app, worker_command
from barua.cli.send import send_command
from barua.cli.settings import settings_app
from barua.cli.testmail import test_command
from barua.version import __version__

app = typer.Typer(
    help="barua: send invoices, quotes and reports by email, reliably.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


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
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang", help="Language of messages: en or sw (default: BARUA_LANG or the system's)."
        ),
    ] = None,
) -> None:
    """barua: send invoices, quotes and reports by email, reliably."""
    if lang:
        # Every message of this process follows it, exactly as if BARUA_LANG were set.
        os.environ["BARUA_LANG"] = lang


app.add_typer(settings_app, name="settings")
app.command("test")(test_command)
app.command("send")(send_command)
app.add_typer(document_app, name="document")
app.add_typer(outbox_app, name="outbox")
app.command("worker")(worker_command)


def main() -> None:
    """Entry point of the ``barua`` console script."""
    app()
