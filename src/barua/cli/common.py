"""What every command shares: the language and business chosen on the command line, the
application, output on stdout, and one or two lines per error on stderr in that language."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from barua.environment import Environment
from barua.errors import BaruaError, TransportError
from barua.i18n import N_, translator
from barua.texts import Message, Text

if TYPE_CHECKING:
    from barua.app import Barua, Business, Settings
    from barua.app.settings import SettingsWarning

EXIT_DELIVERY_FAILED = 1
EXIT_BAD_INPUT = 2

# No emoji codes: rich would turn ":ab:" in a fingerprint ("04:AB:54") into a picture.
out = Console(highlight=False, soft_wrap=True, emoji=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


@dataclass
class Invocation:
    """This run of the command line: its environment (read once, at start), its language, the
    business it concerns, and the application, opened when a command first needs it."""

    environment: Environment
    lang: str
    business_name: str | None = None
    _app: Barua | None = None

    def app(self) -> Barua:
        if self._app is None:
            from barua.app import Barua

            self._app = Barua(self.environment)
        return self._app

    def business(self) -> Business:
        """The business named by ``--business``, or the default one."""
        return self.app().business(self.business_name)

    def close(self) -> None:
        if self._app is not None:
            self._app.close()
            self._app = None


_current: list[Invocation] = []


def start(*, lang: str | None = None, business: str | None = None) -> Invocation:
    """Read the environment once and remember the choices of the command line."""
    environment = Environment.from_environ()
    _current[:] = [Invocation(environment, environment.lang(lang), business)]
    return _current[0]


def finish() -> None:
    """Forget this run: the next starts from the environment again."""
    _current.clear()


def current() -> Invocation:
    """This run (started with the environment's defaults if the callback has not run)."""
    return _current[0] if _current else start()


def app() -> Barua:
    """The application, opened on first use."""
    return current().app()


def business() -> Business:
    """The business this command concerns: ``--business``, or the default one."""
    return current().business()


def language() -> str:
    """The language of this run: ``--lang``, else the environment's."""
    return current().lang


def _(text: str) -> str:
    """``text`` in the user's language; the command modules import it under this name, which
    is also the keyword that marks texts for the catalog."""
    return translator(language()).gettext(text)


def render(text: Text) -> str:
    """``text`` in the user's language."""
    return text.render(language())


def fail(error: BaruaError, settings: Settings | None = None) -> typer.Exit:
    """Print ``error`` as one line of what went wrong and one of what to do; the exit code."""
    lang = language()
    if isinstance(error, TransportError):
        from barua.app.present import advise, step_label

        advice = advise(error, settings, lang)
        reply = ""
        if error.code is not None and error.reply is not None:
            reply = (
                " ("
                + _(N_("server replied: {reply}")).format(reply=f"{error.code} {error.reply}")
                + ")"
            )
        where = step_label(error.step, lang)
        err.print(
            _(N_("error ({step}): {summary}")).format(step=where, summary=advice.summary) + reply,
            markup=False,
        )
        err.print(_(N_("hint: {hint}")).format(hint=advice.fix), markup=False)
        return typer.Exit(EXIT_DELIVERY_FAILED)
    err.print(_(N_("error: {message}")).format(message=error.render(lang)), markup=False)
    hint = error.render_hint(lang)
    if hint:
        err.print(_(N_("hint: {hint}")).format(hint=hint), markup=False)
    return typer.Exit(EXIT_BAD_INPUT)


@contextmanager
def user_errors() -> Iterator[None]:
    """Every failure the user can fix ends as one or two lines on stderr, never a traceback."""
    try:
        yield
    except BaruaError as exc:
        raise fail(exc) from None
    except KeyboardInterrupt:
        err.print(_(N_("interrupted")), markup=False)
        raise typer.Exit(130) from None


def print_warnings(warnings: Iterable[SettingsWarning]) -> None:
    """Each warning on stderr, its advice under it; the command goes on."""
    for warning in warnings:
        err.print(
            _(N_("warning: {message}")).format(message=render(warning.text)),
            style="yellow",
            markup=False,
        )
        err.print(_(N_("hint: {hint}")).format(hint=render(warning.hint)), markup=False)


def bad_input(message: Text, hint: Text | None = None) -> typer.Exit:
    return fail(BaruaError(message, hint=hint))


def print_line(line: str) -> None:
    out.print(line, markup=False)


NOT_UTF8 = Message("cli.not_utf8", "{option} is not valid UTF-8 text: {text}")
NOT_UTF8_HINT = Message(
    "cli.not_utf8_hint", "Set the terminal to UTF-8 (for example LANG=C.UTF-8) and give it again."
)


def utf8_text(value: str, *, option: str) -> str:
    """``value`` as given to ``option``, or one clear error when its bytes were not UTF-8
    (Python keeps such bytes as lone surrogates, which no file or email can hold)."""
    from barua.app.present import readable

    if readable(value) == value:
        return value
    raise bad_input(NOT_UTF8(option=option, text=readable(value)), hint=NOT_UTF8_HINT())
