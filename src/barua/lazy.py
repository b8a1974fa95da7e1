"""Package attributes imported on first use, so importing a package stays cheap.

A package lists ``name -> module`` and gets a module ``__getattr__`` (PEP 562) that imports
the module when the name is first read; type checkers see the names through ordinary imports
under ``TYPE_CHECKING``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_attributes(
    package: str, namespace: dict[str, Any], table: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, resolving names through ``table``
    (``"module"``, or ``"module:attribute"`` for a name exported under another name)."""

    def __getattr__(name: str) -> Any:
        where = table.get(name)
        if where is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, _, attribute = where.partition(":")
        value = getattr(import_module(module), attribute or name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted([*namespace, *table])

    return __getattr__, __dir__
