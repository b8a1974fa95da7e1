"""What every command shares: output on stdout, one or two lines per error on stderr, and
the settings in effect."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console

from barua.errors import BaruaError, TransportError
from barua.settings import Settings, update_settings
from barua.store import SettingsStore

EXIT_DELIVERY_FAILED = 1
EXIT_BAD_INPUT = 2

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

# Errors -------------------------------------------------------------------------------------


def fail(error: BaruaError) -> typer.Exit:
    step = f" at step {error.step}" if isinstance(error, TransportError) else ""
    err.print(f"error{step}: {error}", markup=False)
    if error.hint:
        err.print(f"hint: {error.hint}", markup=False)
    code = EXIT_DELIVERY_FAILED if isinstance(error, TransportError) else EXIT_BAD_INPUT
    return typer.Exit(code)


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


def settings_in_effect(store: SettingsStore, changes: dict[str, Any] | None = None) -> Settings:
    """The saved settings (with environment overrides) and ``changes``, validated."""
    changes = changes or {}
    current = store.load_effective()
    if current is None and not changes:
        raise bad_input(
            "no email settings are saved yet",
            hint="Run `barua settings set --host smtp.example.com --port 587 --username "
            "you@example.com --password-stdin`, or give the settings on this command.",
        )
    return update_settings(current, **changes)
