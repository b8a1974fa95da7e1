"""``--help`` in the reader's language.

typer builds the click command tree from the commands' docstrings and options when the
command line runs; :func:`translate` then swaps every text of that tree — descriptions, option
help, value names (``ADDRESS``), the help option's own line — for its words in the catalog, and
gives each command a help formatter that translates the headings (``Usage:``, ``Options``) and
the notes typer adds (``[required]``, ``[default: 60.0]``). English needs none of it: the tree
is left as it was built, and Babel is never loaded.

:func:`help_texts` lists the texts of a tree, for ``scripts/update-catalog`` and the catalog's
test: the help lives in the code as plain strings, found where typer put them.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator, Sequence

from typer._click import Context, HelpFormatter
from typer._click.core import Command, Parameter

from barua.i18n import N_, translator

METAVAR = "metavar"
"""The catalog's context for the name of an option's value (``ADDRESS``, ``SECONDS``)."""

# What click and typer write around the texts barua gives them.
USAGE = N_("Usage: ")
OPTIONS = N_("[OPTIONS]")
SUBCOMMAND = N_("COMMAND [ARGS]...")
HEADINGS = (N_("Options"), N_("Commands"), N_("Arguments"))
HELP_OPTION = N_("Show this message and exit.")
REQUIRED = N_("required")
DEFAULT = N_("default: {default}")

# typer's notes after an option's help: "  [default: 300.0; x>=0.1]", "  [required]".
_NOTES = re.compile(r"(?P<help>.*?)(?P<space>\s*)\[(?P<notes>[^\[\]]*)\]$", re.DOTALL)


def commands(root: Command) -> Iterator[Command]:
    """``root`` and every command under it."""
    yield root
    for sub in getattr(root, "commands", {}).values():
        yield from commands(sub)


def _help_option(command: Command) -> Parameter | None:
    # click makes it on first use; made here so that its line can be translated too.
    return command.get_help_option(Context(command))


def help_texts(root: Command) -> set[tuple[str | None, str]]:
    """Every text the help of ``root``'s tree shows, as (context, English text)."""
    found: set[tuple[str | None, str]] = set()
    for command in commands(root):
        for text in (command.help, command.short_help, command.epilog):
            if text:
                found.add((None, inspect.cleandoc(text)))
        for param in command.params:
            help_text = getattr(param, "help", None)
            if help_text:
                found.add((None, inspect.cleandoc(help_text)))
            if param.metavar:
                found.add((METAVAR, param.metavar))
    return found


def translate(root: Command, lang: str) -> None:
    """Put ``root``'s tree in ``lang``, in place (nothing to do for English)."""
    if lang == "en":
        return
    words = translator(lang)

    def said(text: str | None) -> str | None:
        return words.gettext(inspect.cleandoc(text)) if text else text

    formatter = _formatter(words.gettext)
    context = type("TranslatedContext", (Context,), {"formatter_class": formatter})
    for command in commands(root):
        command.help = said(command.help)
        command.short_help = said(command.short_help)
        command.epilog = said(command.epilog)
        command.context_class = context
        if command.options_metavar == "[OPTIONS]":
            command.options_metavar = words.gettext(OPTIONS)
        if getattr(command, "subcommand_metavar", None) == "COMMAND [ARGS]...":
            command.subcommand_metavar = words.gettext(SUBCOMMAND)  # type: ignore[attr-defined]
        for param in (*command.params, _help_option(command)):
            if param is None:
                continue
            if getattr(param, "help", None):
                param.help = said(param.help)  # type: ignore[attr-defined]
            if param.metavar:
                param.metavar = words.pgettext(METAVAR, param.metavar)


def _formatter(gettext: Callable[[str], str]) -> type[HelpFormatter]:
    def notes(help_text: str) -> str:
        found = _NOTES.fullmatch(help_text)
        if found is None:
            return help_text
        shown = []
        for note in found["notes"].split("; "):
            if note == "required":
                shown.append(gettext(REQUIRED))
            elif note.startswith("default: "):
                shown.append(gettext(DEFAULT).format(default=note.removeprefix("default: ")))
            else:
                shown.append(note)
        return f"{found['help']}{found['space']}[{'; '.join(shown)}]"

    class TranslatedFormatter(HelpFormatter):
        def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
            super().write_usage(prog, args, gettext(USAGE) if prefix is None else prefix)

        def write_heading(self, heading: str) -> None:
            super().write_heading(gettext(heading))

        def write_dl(
            self, rows: Sequence[tuple[str, str]], col_max: int = 30, col_spacing: int = 2
        ) -> None:
            super().write_dl([(term, notes(text)) for term, text in rows], col_max, col_spacing)

    return TranslatedFormatter
