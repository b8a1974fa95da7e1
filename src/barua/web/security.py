"""What every response and every request goes through: security headers, the Host allow-list,
and the checks that a form was sent by barua's own page (CSRF).

The Content-Security-Policy allows no inline script and nothing from another origin: the
pages' JavaScript is one file served by barua. Pages may not be framed (clickjacking); a PDF
preview may be framed by barua's own pages only.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'self'; frame-src 'self'; connect-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
CSP_FRAMEABLE = CSP.replace("frame-ancestors 'none'", "frame-ancestors 'self'")

_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
]
FRAMEABLE_HEADER = "x-barua-frameable"
"""Set by a response that barua's own pages may show in a frame (a PDF preview)."""


class SecurityHeaders:
    """Adds the security headers to every HTTP response; HSTS when served over HTTPS."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() != FRAMEABLE_HEADER.encode()
                ]
                frameable = len(headers) != len(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                extra = [(n, v) for n, v in _HEADERS if n not in names]
                policy = CSP_FRAMEABLE if frameable else CSP
                extra.append((b"content-security-policy", policy.encode()))
                extra.append((b"x-frame-options", b"SAMEORIGIN" if frameable else b"DENY"))
                if self.https:
                    extra.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = headers + extra
            await send(message)

        await self.app(scope, receive, with_headers)


def same_token(given: str | None, expected: str) -> bool:
    """Whether the CSRF token of a form is the session's, in constant time."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def cross_site(headers: Any, *, allowed_hosts: tuple[str, ...]) -> bool:
    """Whether a request says it comes from another site: ``Sec-Fetch-Site: cross-site`` or an
    ``Origin`` whose host is not one of ours. (Browsers send both on a form's POST.)"""
    if headers.get("sec-fetch-site") == "cross-site":
        return True
    origin: str | None = headers.get("origin")
    if not origin or origin == "null":
        return origin == "null"
    host = origin.split("://", 1)[-1]
    return not host_allowed(host, allowed_hosts)


def host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    """Whether a Host header (``name`` or ``name:port``) names one of the ``allowed`` hosts;
    ``*`` allows any (behind a proxy that checks)."""
    if "*" in allowed:
        return True
    host = host.strip().lower()
    if not host:
        return False
    # "[::1]:8025" names [::1]; "localhost:8025" names localhost.
    name = host[: host.find("]") + 1] if host.startswith("[") else host.split(":", 1)[0]
    return host in allowed or name in allowed


class HostAllowList:
    """Refuses a request whose Host header names a host not allowed (DNS rebinding)."""

    def __init__(self, app: ASGIApp, *, allowed: tuple[str, ...]) -> None:
        self.app = app
        self.allowed = tuple(a.lower() for a in allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        host = ""
        for name, value in scope.get("headers", []):
            if name == b"host":
                host = value.decode("latin-1")
                break
        if host_allowed(host, self.allowed):
            await self.app(scope, receive, send)
            return
        body = b"This address is not one barua answers to (check --allowed-host).\n"
        await send(
            {
                "type": "http.response.start",
                "status": 421,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
