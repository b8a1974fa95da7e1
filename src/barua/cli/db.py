"""``barua db upgrade`` and ``barua db version``: the database's schema, upgraded on purpose."""

from __future__ import annotations

import typer

from barua.cli.common import _, app, print_line, user_errors
from barua.i18n import N_
from barua.version import __version__

db_app = typer.Typer(
    help="The database's schema: its version, and its upgrade after installing a new barua.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@db_app.command("upgrade")
def upgrade_command() -> None:
    """Upgrade the database's schema to the newest this barua knows (back it up first; run
    it once, from one machine; nothing to do when it is up to date)."""
    with user_errors():
        upgraded = app().upgrade_schema()
    if upgraded.before == upgraded.after:
        line = N_("the database's schema is up to date (version {version})")
        print_line(_(line).format(version=upgraded.after))
    else:
        line = N_("upgraded the database's schema from version {before} to {after}")
        print_line(_(line).format(before=upgraded.before, after=upgraded.after))


@db_app.command("version")
def version_command() -> None:
    """Show the database's schema version and the newest this barua knows."""
    with user_errors():
        state = app().schema_state()
    print_line(_(N_("database schema: version {version}")).format(version=state.version))
    latest = N_("this barua ({release}) knows: version {version}")
    print_line(_(latest).format(release=__version__, version=state.latest))
    if state.newer:
        line = N_("the database is newer than this barua: install barua {release} or newer")
        print_line(_(line).format(release=state.required or "?"))
    elif state.current:
        print_line(_(N_("up to date")))
    else:
        print_line(_(N_("run `barua db upgrade` to upgrade it")))
