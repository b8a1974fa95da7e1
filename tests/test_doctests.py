"""The examples in barua's docstrings run, and show what they say (those marked ``+SKIP`` need
a database, a server or a person, and only illustrate)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import barua

# Alembic's environment script runs only inside a migration; __main__ runs the command line.
NOT_IMPORTABLE = ("barua.database.alembic", "barua.__main__")


def modules_with_examples() -> list[str]:
    found = []
    for info in pkgutil.walk_packages(barua.__path__, "barua."):
        if info.name.startswith(NOT_IMPORTABLE):
            continue
        module = importlib.import_module(info.name)
        tests = doctest.DocTestFinder().find(module)
        if any(test.examples for test in tests):
            found.append(info.name)
    return found


@pytest.mark.parametrize("name", modules_with_examples())
def test_the_examples_of_a_module_hold(name: str) -> None:
    module = importlib.import_module(name)
    outcome = doctest.testmod(module, optionflags=doctest.ELLIPSIS, report=False)
    assert outcome.failed == 0, f"{outcome.failed} of the examples of {name} failed (run it)"
