"""The ``barua`` command line: parses, calls the library, prints. No business logic lives here.

Exit codes: 0 success; 1 the delivery failed; 2 the input was wrong (a setting, an address,
a file, a flag); 3 an email sent now was taken for some recipients and refused for others.
"""

from __future__ import annotations

import re
import sys
from typing import Annotated, Any

import typer
from typer._click.exceptions import (
    BadParameter,
    ClickException,
    MissingParameter,
    NoArgsIsHelpError,
    NoSuchOption,
)

from barua.cli.backup import backup_command, restore_command
from barua.cli.businesses import business_app, template_app
from barua.cli.common import (
    EXIT_BAD_INPUT,
    NOT_UTF8_HINT,
    _,
    current,
    err,
    finish,
    out,
    render,
    start,
)
from barua.cli.db import db_app
from barua.cli.document import document_app
from barua.cli.help import translate
from barua.cli.outbox import outbox_app, worker_command
from barua.cli.relay import relay_app
from barua.cli.send import send_command
from barua.cli.serve import serve_command
from barua.cli.service import service_app
from barua.cli.settings import settings_app
from barua.cli.testmail import test_command
from barua.i18n import N_
from barua.version import __version__


class _Barua(typer.Typer):
    """The command tree, built when the command line runs and put in the run's language."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        command = typer.main.get_command(self)
        translate(command, current().lang)
        return command(*args, **kwargs)


app = _Barua(
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
            "--lang",
            metavar="LANGUAGE",
            help="Language of messages: en or sw (default: BARUA_LANG or the system's).",
        ),
    ] = None,
    business: Annotated[
        str | None,
        typer.Option(
            "--business",
            metavar="NAME",
            help="The business this command concerns (default: the only one, or 'default').",
        ),
    ] = None,
) -> None:
    """barua: send invoices, quotes and reports by email, reliably."""
    # The language and business of this run, passed to every command; the environment is
    # read once and left as it is.
    start(lang=lang or current().lang, business=business)


app.add_typer(business_app, name="business")
app.add_typer(settings_app, name="settings")
app.add_typer(template_app, name="template")
app.command("test")(test_command)
app.command("send")(send_command)
app.add_typer(document_app, name="document")
app.add_typer(outbox_app, name="outbox")
app.command("worker")(worker_command)
app.command("serve")(serve_command)
app.add_typer(relay_app, name="relay")
app.add_typer(service_app, name="service")
app.command("backup")(backup_command)
app.command("restore")(restore_command)
app.add_typer(db_app, name="db")


def _option_name(error: BadParameter) -> str:
    param = error.param
    if param is None:
        return _(N_("a value"))
    if param.param_type_name == "option" and param.opts:
        return max(param.opts, key=len)
    if current().lang != "en" and param.metavar:
        return param.metavar  # the argument's name as the help in this language shows it
    return (param.name or "argument").upper()


def _what_is_wrong(error: BadParameter) -> str:
    """The problem with a value in plain words: typer's own wording comes from pydantic."""
    from pydantic import ValidationError  # only for a mistake: `barua --help` stays fast

    if isinstance(error.__cause__, ValidationError) and error.__cause__.errors():
        first = error.__cause__.errors()[0]
        value, kind = first.get("input"), first["type"]
        if kind == "int_parsing":
            return _(N_("{value} is not a whole number")).format(value=repr(value))
        if kind == "float_parsing":
            return _(N_("{value} is not a number")).format(value=repr(value))
        limits = {
            "greater_than_equal": ("ge", N_("Input should be greater than or equal to {limit}")),
            "greater_than": ("gt", N_("Input should be greater than {limit}")),
            "less_than_equal": ("le", N_("Input should be less than or equal to {limit}")),
            "less_than": ("lt", N_("Input should be less than {limit}")),
        }
        if kind in limits:
            name, words = limits[kind]
            return _(words).format(limit=first.get("ctx", {}).get(name))
        reason = first.get("ctx", {}).get("error")
        if reason is not None:  # an enum's choices, as "'tls' is not one of 'auto', ..."
            found = _NOT_ONE_OF.fullmatch(str(reason))
            if found is not None:
                return _(N_("{value} is not one of {choices}")).format(**found.groupdict())
            return str(reason).rstrip(".")
    return str(error.message).rstrip(".")


_NOT_ONE_OF = re.compile(r"(?P<value>.*) is not one of (?P<choices>.*?)\.?", re.DOTALL)
# click's and typer's own words for a mistake, and barua's in the reader's language.
_CLICK_MISTAKES = (
    (re.compile(r"No such command (?P<name>.*?)\.(?: Did you mean (?P<choices>.*)\?)?"), None),
    (re.compile(r"Missing command\."), N_("missing command")),
    (
        re.compile(r"Got unexpected extra argument\(s\) \((?P<arguments>.*)\)"),
        N_("got unexpected extra argument(s) ({arguments})"),
    ),
    (
        re.compile(r"Option (?P<option>'.*') requires an argument\."),
        N_("option {option} requires an argument"),
    ),
    (
        re.compile(r"Option (?P<option>'.*') does not take a value\."),
        N_("option {option} does not take a value"),
    ),
)


def _click_mistake(error: ClickException) -> str:
    """A mistake click or typer found, in the reader's language when barua knows its words."""
    message = error.format_message()
    for pattern, words in _CLICK_MISTAKES:
        found = pattern.fullmatch(message)
        if found is None:
            continue
        values = found.groupdict()
        if words is not None:
            return _(words).format(**values)
        problem = _(N_("no such command {name}")).format(name=values["name"])
        if values["choices"]:
            choices = _(N_(" or ")).join(values["choices"].split(", "))
            problem += " " + _(N_("(did you mean {choices}?)")).format(choices=choices)
        return problem
    message = message.rstrip(".")
    return message[:1].lower() + message[1:]


def usage_error_lines(error: ClickException) -> list[str]:
    """A mistake on the command line as one line naming the option, and where to read more."""
    if isinstance(error, MissingParameter) and error.param is not None:
        problem = _(N_("{option} is required")).format(option=_option_name(error))
    elif isinstance(error, BadParameter):
        problem = f"{_option_name(error)}: {_what_is_wrong(error)}"
    elif isinstance(error, NoSuchOption):
        problem = _(N_("there is no option {option}")).format(option=error.option_name)
        if error.possibilities:
            choices = _(N_(" or ")).join(sorted(error.possibilities))
            problem += " " + _(N_("(did you mean {choices}?)")).format(choices=choices)
    else:
        problem = _click_mistake(error)
    lines = [_(N_("error: {message}")).format(message=problem)]
    # Some parsing errors come without the command they happened in: then the top's help.
    context = getattr(error, "ctx", None)
    command = context.command_path if context is not None else "barua"
    lines.append(_(N_("Try '{command} --help'.")).format(command=command))
    return lines


def _holds_bytes_that_were_not_utf8(error: UnicodeEncodeError) -> bool:
    """True when what failed to encode are lone surrogates: Python's stand-ins for bytes of
    the command line, the environment or a file name that were not UTF-8."""
    failed = error.object[error.start : error.end]
    return bool(failed) and all("\ud800" <= char <= "\udfff" for char in failed)


def _lang_in(arguments: list[str]) -> str | None:
    """The value of ``--lang`` among the arguments before the command, if given."""
    value_next = False
    for index, argument in enumerate(arguments):
        if value_next:
            value_next = False
            continue
        if argument == "--lang" and index + 1 < len(arguments):
            return arguments[index + 1]
        if argument.startswith("--lang="):
            return argument.removeprefix("--lang=")
        if argument == "--business":
            value_next = True
        elif not argument.startswith("-"):
            return None  # the command: its own options come after
    return None


def main() -> None:
    """Entry point of the ``barua`` console script.

    typer runs outside its standalone mode so that a mistake on the command line ends like
    every other user error: one or two lines on stderr, exit code 2."""
    # The language is known before the command line is parsed, so that a mistake in it is
    # reported in the language asked for.
    start(lang=_lang_in(sys.argv[1:]))
    try:
        code = app(standalone_mode=False)
    except NoArgsIsHelpError as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ClickException as exc:
        for line in usage_error_lines(exc):
            err.print(line, markup=False)
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print(_(N_("aborted")), markup=False)
        sys.exit(1)
    except UnicodeEncodeError as exc:
        if not _holds_bytes_that_were_not_utf8(exc):
            raise  # a fault of barua, not of the text it was given
        # Each command names the option whose text is not UTF-8; this catches what slips
        # past them (a file name, a variable), still without a traceback.
        problem = _(N_("some of the text given to barua is not valid UTF-8"))
        err.print(_(N_("error: {message}")).format(message=problem), markup=False)
        err.print(_(N_("hint: {hint}")).format(hint=render(NOT_UTF8_HINT())), markup=False)
        sys.exit(EXIT_BAD_INPUT)
    finally:
        current().close()
        finish()  # an embedding program (or a test) calling main() again starts afresh
    sys.exit(code if isinstance(code, int) else 0)
