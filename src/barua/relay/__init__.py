"""The relay (``barua relay serve``): the HTTP email service of ``docs/http-protocol.md``.

The face reads what HTTP brings (the key, the content type, the body within its limits) and
answers what the application layer decides (:mod:`barua.app.relay`); the delivery worker
runs in the same process unless told otherwise.

>>> from barua.relay import RelayServeOptions, create_app
>>> asgi = create_app(barua, RelayServeOptions())                      # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from barua.lazy import lazy_attributes

if TYPE_CHECKING:
    from barua.relay.app import RelayServeOptions, create_app

_LAZY: dict[str, str] = {
    "RelayServeOptions": "barua.relay.app",
    "create_app": "barua.relay.app",
}

__all__ = ["RelayServeOptions", "create_app"]

__getattr__, __dir__ = lazy_attributes(__name__, globals(), _LAZY)
