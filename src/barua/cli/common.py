"""What every command shares: the language and business chosen on the command line, the
application, output on stdout, and one or two lines per error on stderr in that language."""

from __future__ import annotations

import json as _json
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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
EXIT_SOME_REFUSED = 3
"""``barua send``: the server took the email for some recipients and refused the others."""

# What a terminal must not be sent as it is: C0 and C1 controls and DEL (ESC starts the
# sequences that clear a screen or hide text), the marks that reorder text (a name that
# reads backwards), line and paragraph separators, and lone surrogates (bytes that were not
# UTF-8). Kiswahili, accents and emoji (with their joiners) are shown as they are.
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNPRINTABLE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}\u2028\u2029\ud800-\udfff]")
_UNPRINTABLE_IN_LINES = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}\u2028\u2029\ud800-\udfff]")
# In JSON: what json.dumps leaves as it is (it escapes C0 itself).
_UNPRINTABLE_IN_JSON = re.compile(f"[\x7f-\x9f{_BIDI}\u2028\u2029\ud800-\udfff]")


_NAMED_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escaped(match: re.Match[str]) -> str:
    if match.group() in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[match.group()]
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, as Python keeps it
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, lines: bool = False) -> str:
    r"""``text`` fit to show on a terminal: each control character, reordering mark and
    byte that was not UTF-8 written as an escape (ESC as ``\x1b``), everything else as it is.
    With ``lines``, line breaks and tabs stay (text of several lines).

    >>> printable("Duka \x1b[2J la Amani ✓")
    'Duka \\x1b[2J la Amani ✓'
    """
    return (_UNPRINTABLE_IN_LINES if lines else _UNPRINTABLE).sub(_escaped, text)


class _Terminal(Console):
    """A console that shows text with its control characters escaped (:func:`printable`),
    whatever a command prints: names, subjects and servers' replies are other people's
    text. Markup is off: ``[red]`` in a subject is shown, not obeyed."""

    def print(self, *objects: Any, **options: Any) -> None:
        shown = (printable(o, lines=True) if isinstance(o, str) else o for o in objects)
        super().print(*shown, **options)

    def print_json(
        self,
        json: str | None = None,
        *,
        data: Any = None,
        indent: int | str | None = 2,
        highlight: bool = True,
        skip_keys: bool = False,
        ensure_ascii: bool = False,
        check_circular: bool = True,
        allow_nan: bool = True,
        default: Callable[[Any], Any] | None = None,
        sort_keys: bool = False,
    ) -> None:
        """JSON as rich prints it, with what a terminal must not get as it is escaped the
        JSON way (``\u009b``): the same values for a program."""
        from rich.highlighter import JSONHighlighter, NullHighlighter

        value = _json.loads(json) if json is not None else data
        text = _json.dumps(
            value,
            indent=indent,
            skipkeys=skip_keys,
            ensure_ascii=ensure_ascii,
            check_circular=check_circular,
            allow_nan=allow_nan,
            default=default,
            sort_keys=sort_keys,
        )
        text = _UNPRINTABLE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
        shown = (JSONHighlighter() if highlight else NullHighlighter())(text)
        shown.no_wrap = True
        shown.overflow = None
        super().print(shown, soft_wrap=True)


# No emoji codes: rich would turn ":ab:" in a fingerprint ("04:AB:54") into a picture.
out = _Terminal(highlight=False, soft_wrap=True, emoji=False, markup=False)
err = _Terminal(stderr=True, highlight=False, soft_wrap=True, emoji=False, markup=False)


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


def pgettext(context: str, text: str) -> str:
    """``text`` in the user's language, as it reads in ``context`` (one English word can
    be two: the ``subject`` of an email, the ``subject`` of a certificate)."""
    return translator(language()).pgettext(context, text)


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
