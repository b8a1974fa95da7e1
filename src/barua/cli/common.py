"""What every command shares: output on stdout, one or two lines per error on stderr, and
the settings in effect."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console

from barua.addresses import readable
from barua.errors import BaruaError, SettingsError, TransportError
from barua.i18n import N_, translator
from barua.settings import SECRET_FIELDS, Settings, update_settings
from barua.store import SettingsStore

EXIT_DELIVERY_FAILED = 1
EXIT_BAD_INPUT = 2

# No emoji codes: rich would turn ":ab:" in a fingerprint ("04:AB:54") into a picture.
out = Console(highlight=False, soft_wrap=True, emoji=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


def _(text: str) -> str:
    """``text`` in the user's language; the command modules import it under this name, which
    is also the keyword that marks texts for the catalog."""
    return translator().gettext(text)


def nothing_saved(hint: str) -> typer.Exit:
    """The error of a command that needs saved settings when there are none."""
    return bad_input(_(N_("no email settings are saved yet")), hint=hint)


def fail(error: BaruaError, settings: Settings | None = None) -> typer.Exit:
    """Print ``error`` as one line of what went wrong and one of what to do; the exit code."""
    if isinstance(error, TransportError):
        from barua.setup.advice import advise, step_label

        advice = advise(error, settings)
        reply = ""
        if error.code is not None and error.reply is not None:
            reply = (
                " ("
                + _(N_("server replied: {reply}")).format(reply=f"{error.code} {error.reply}")
                + ")"
            )
        where = step_label(error.step)
        err.print(
            _(N_("error ({step}): {summary}")).format(step=where, summary=advice.summary) + reply,
            markup=False,
        )
        err.print(_(N_("hint: {hint}")).format(hint=advice.fix), markup=False)
        return typer.Exit(EXIT_DELIVERY_FAILED)
    # Texts the library marked for the catalog come out in the user's language; others (with
    # values in them) as they are.
    if isinstance(error, SettingsError):
        message = "; ".join(_(problem) for problem in error.problems.values() if problem)
    else:
        message = _(str(error)) if str(error) else ""
    err.print(_(N_("error: {message}")).format(message=message), markup=False)
    if error.hint:
        err.print(_(N_("hint: {hint}")).format(hint=_(error.hint)), markup=False)
    return typer.Exit(EXIT_BAD_INPUT)


@contextmanager
def user_errors() -> Iterator[None]:
    """Every failure the user can fix ends as one or two lines on stderr, never a traceback."""
    try:
        yield
    except BaruaError as exc:
        raise fail(exc) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(130) from None


def bad_input(message: str, hint: str | None = None) -> typer.Exit:
    return fail(BaruaError(message, hint=hint))


def not_utf8_hint() -> str:
    return _(N_("Set the terminal to UTF-8 (for example LANG=C.UTF-8) and give it again."))


def utf8_text(value: str, *, option: str) -> str:
    """``value`` as given to ``option``, or one clear error when its bytes were not UTF-8
    (Python keeps such bytes as lone surrogates, which no file or email can hold)."""
    if readable(value) == value:
        return value
    raise bad_input(
        _(N_("{option} is not valid UTF-8 text: {text}")).format(
            option=option, text=readable(value)
        ),
        hint=not_utf8_hint(),
    )


def settings_in_effect(store: SettingsStore, changes: dict[str, Any] | None = None) -> Settings:
    """The saved settings (with environment overrides) and ``changes``, validated.

    Commands that take the settings flags pass ``changes`` (even when empty): with nothing
    saved, the hint then points to those flags; for the others it points to `barua settings
    set` and the BARUA_* variables.
    """
    # A secret given here replaces the saved one: a lost key must not stand in the way.
    replaced = [name for name in SECRET_FIELDS if name in (changes or {})]
    current = store.load_effective(skip_secrets=replaced)
    if current is None and not changes:
        if changes is None:
            hint = _(
                N_("Run `barua settings set --help`, or give the BARUA_* environment variables.")
            )
        else:
            hint = _(
                N_(
                    "Run `barua settings set --host smtp.example.com --port 587 --username "
                    "you@example.com --password-stdin`, or give the settings on this command."
                )
            )
        raise nothing_saved(hint=hint)
    return update_settings(current, **(changes or {}))
