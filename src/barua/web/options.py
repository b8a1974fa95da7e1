"""How a web app is served: which host names it answers to, and whether its cookies need
HTTPS."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from barua.texts import Text


@dataclass(frozen=True, slots=True)
class WebOptions:
    """The choices of ``barua serve`` that the app itself needs."""

    allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost", "[::1]")
    """Host names (with or without the port) requests may name. A page on another site that
    points its own name at 127.0.0.1 (DNS rebinding) sends its own name: it is refused."""
    https: bool = False
    """Whether people reach the app over HTTPS (directly or through a proxy): cookies are then
    marked Secure and browsers are told to stay on HTTPS."""
    worker: bool = True
    """Whether the delivery worker runs in the web app's process."""
    log: Callable[[Text], None] | None = None
    """Where the delivery worker in the web app's process says what it does (a line each)."""
