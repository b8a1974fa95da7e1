"""``barua backup`` and ``barua restore``: a consistent copy of an SQLite home, and back."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from barua.cli.common import _, app, err, print_line, user_errors
from barua.i18n import N_

FileArg = Annotated[Path, typer.Argument(metavar="FILE", hidden=True, show_default=False)]


def backup_command(
    target: FileArg,
    force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists.")] = False,
) -> None:
    """Write a backup of this barua (SQLite) to FILE while it runs: businesses, settings,
    templates, the outbox, documents and users. The secret key is left out: keep it apart."""
    with user_errors():
        info = app().backup(target, force=force)
    print_line(
        _(N_("wrote {path}: the database ({size} bytes, schema version {version})")).format(
            path=info.path, size=info.size, version=info.schema_version
        )
    )
    print_line(
        _(
            N_(
                "The secret key is not in the backup: keep a copy of it apart (secret.key in "
                "the home, or BARUA_SECRET_KEY); without it the saved passwords cannot be read."
            )
        )
    )


def restore_command(
    source: FileArg,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Replace the database this home has (it is kept aside, in before-restore-...).",
        ),
    ] = False,
) -> None:
    """Restore a backup written by `barua backup` into this home (stop the services using it
    first)."""
    with user_errors():
        barua = app()
        restored = barua.restore(source, force=force)
        has_key = barua.has_secret_key()
    taken = datetime.fromtimestamp(restored.backup.taken_at, UTC).strftime("%Y-%m-%d %H:%M:%S")
    print_line(
        _(N_("restored the backup of {taken} UTC (schema version {version})")).format(
            taken=taken, version=restored.backup.schema_version
        )
    )
    if restored.kept_aside is not None:
        print_line(
            _(N_("the database it replaced is kept in {path}")).format(path=restored.kept_aside)
        )
    if not has_key:
        err.print(
            _(
                N_(
                    "warning: this home has no secret key: copy secret.key from the home that "
                    "was backed up (or set BARUA_SECRET_KEY), or the saved passwords cannot "
                    "be read"
                )
            ),
            markup=False,
        )
