"""A real OAuth 2.0 authorization server for the tests, on 127.0.0.1, port 0.

It does what Microsoft's and Google's do, over HTTP on loopback: an OpenID discovery document,
the device-code flow (RFC 8628: ``authorization_pending`` until a test approves the code,
``slow_down`` when polled too fast, expiry), the authorization code with PKCE (RFC 7636: S256
checked, ``state`` passed back, the code single-use), refresh tokens that rotate (the old one
is dead once used) and that a test can revoke, and id tokens naming the account. The SMTP test
server asks :meth:`OAuthServer.check` whether an access token is valid for a user.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

CLIENT_ID = "barua-test-app"
CLIENT_SECRET = "test-client-secret"


@dataclass
class Grant:
    """What a refresh token stands for."""

    account: str
    scope: str
    alive: bool = True


@dataclass
class Device:
    code: str
    user_code: str
    expires_at: float
    account: str | None = None
    """Set when a test approves the sign-in."""
    denied: bool = False
    last_poll: float = 0.0


@dataclass
class AuthCode:
    account: str
    redirect_uri: str
    challenge: str
    scope: str
    used: bool = False


@dataclass
class Recorder:
    lock: threading.Lock = field(default_factory=threading.Lock)
    refreshes: int = 0
    token_requests: list[dict[str, str]] = field(default_factory=list)


class OAuthServer:
    """The authorization server. ``account`` is who signs in at the authorize page;
    ``lifetime`` how long access tokens live; ``rotate`` whether refresh tokens rotate."""

    def __init__(
        self,
        *,
        account: str = "duka@example.com",
        lifetime: float = 3600,
        rotate: bool = True,
        interval: float = 0.05,
        refresh_delay: float = 0.0,
        with_device: bool = True,
    ) -> None:
        self.account = account
        self.lifetime = lifetime
        self.rotate = rotate
        self.interval = interval
        self.refresh_delay = refresh_delay
        self.with_device = with_device
        self.recorder = Recorder()
        self.access: dict[str, tuple[str, float]] = {}
        self.refresh: dict[str, Grant] = {}
        self.devices: dict[str, Device] = {}
        self.codes: dict[str, AuthCode] = {}
        self.refuse_with: str | None = None
        """An error code the token endpoint answers until cleared (``consent_required``…)."""
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server._get(self)

            def do_POST(self) -> None:
                server._post(self)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._http.server_address[1]
        self.issuer = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    def __enter__(self) -> OAuthServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.shutdown()
        self._http.server_close()

    # What tests do -----------------------------------------------------------------------------

    def approve(self, user_code: str, account: str | None = None) -> None:
        for device in self.devices.values():
            if device.user_code == user_code:
                device.account = account or self.account
                return
        raise AssertionError(f"no device code {user_code}")

    def deny(self, user_code: str) -> None:
        for device in self.devices.values():
            if device.user_code == user_code:
                device.denied = True

    def revoke_all(self) -> None:
        """The user revoked the app's access (or changed the password)."""
        for grant in self.refresh.values():
            grant.alive = False
        self.access.clear()

    def expire_access_tokens(self) -> None:
        self.access = {token: (user, 0.0) for token, (user, _) in self.access.items()}

    def mint(self, account: str) -> str:
        """A valid access token for ``account``, as a sign-in would have given."""
        token = "at-" + secrets.token_urlsafe(24)
        self.access[token] = (account, time.time() + self.lifetime)
        return token

    def check(self, user: str, token: str) -> bool:
        """Whether ``token`` is a live access token of ``user`` (the SMTP server asks)."""
        found = self.access.get(token)
        return found is not None and found[0] == user and found[1] > time.time()

    def live_refresh_tokens(self) -> list[str]:
        return [token for token, grant in self.refresh.items() if grant.alive]

    def every_token(self) -> Iterator[str]:
        yield from self.access
        yield from self.refresh

    # Endpoints ---------------------------------------------------------------------------------

    def endpoint(self, path: str) -> str:
        return f"{self.issuer}{path}"

    def _get(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        if parts.path == "/.well-known/openid-configuration":
            document: dict[str, Any] = {
                "issuer": self.issuer,
                "authorization_endpoint": self.endpoint("/authorize"),
                "token_endpoint": self.endpoint("/token"),
            }
            if self.with_device:
                document["device_authorization_endpoint"] = self.endpoint("/devicecode")
            self._json(handler, 200, document)
        elif parts.path == "/authorize":
            self._authorize(handler, parse_qs(parts.query))
        else:
            self._json(handler, 404, {"error": "not_found"})

    def _authorize(self, handler: BaseHTTPRequestHandler, query: dict[str, list[str]]) -> None:
        """The user signs in at once (as :attr:`account`) and the browser goes back."""
        value = {k: v[0] for k, v in query.items()}
        if value.get("client_id") != CLIENT_ID or value.get("code_challenge_method") != "S256":
            self._json(handler, 400, {"error": "invalid_request"})
            return
        code = secrets.token_urlsafe(16)
        self.codes[code] = AuthCode(
            self.account, value["redirect_uri"], value["code_challenge"], value.get("scope", "")
        )
        answer = {"code": code, "state": value.get("state", "")}
        handler.send_response(302)
        handler.send_header("Location", f"{value['redirect_uri']}?{urlencode(answer)}")
        handler.end_headers()

    def _post(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length", 0))
        form = {k: v[0] for k, v in parse_qs(handler.rfile.read(length).decode()).items()}
        path = urlsplit(handler.path).path
        if path == "/devicecode" and self.with_device:
            self._device_code(handler, form)
        elif path == "/token":
            with self.recorder.lock:
                self.recorder.token_requests.append(form)
            self._token(handler, form)
        else:
            self._json(handler, 404, {"error": "not_found"})

    def _device_code(self, handler: BaseHTTPRequestHandler, form: dict[str, str]) -> None:
        if form.get("client_id") != CLIENT_ID:
            self._json(handler, 400, {"error": "invalid_client"})
            return
        device = Device(
            secrets.token_urlsafe(24),
            f"{secrets.randbelow(10**4):04d}-{secrets.randbelow(10**4):04d}",
            time.time() + 60,
        )
        self.devices[device.code] = device
        self._json(
            handler,
            200,
            {
                "device_code": device.code,
                "user_code": device.user_code,
                "verification_uri": self.endpoint("/devicelogin"),
                "expires_in": 60,
                "interval": self.interval,
            },
        )

    def _token(self, handler: BaseHTTPRequestHandler, form: dict[str, str]) -> None:
        if form.get("client_id") != CLIENT_ID:
            self._json(handler, 401, {"error": "invalid_client"})
            return
        if self.refuse_with is not None and form.get("grant_type") == "refresh_token":
            error = self.refuse_with
            self._json(handler, 400, {"error": error, "error_description": f"test: {error}"})
            return
        grant = form.get("grant_type")
        if grant == "urn:ietf:params:oauth:grant-type:device_code":
            self._device_token(handler, form)
        elif grant == "authorization_code":
            self._code_token(handler, form)
        elif grant == "refresh_token":
            self._refresh_token(handler, form)
        else:
            self._json(handler, 400, {"error": "unsupported_grant_type"})

    def _device_token(self, handler: BaseHTTPRequestHandler, form: dict[str, str]) -> None:
        device = self.devices.get(form.get("device_code", ""))
        if device is None:
            self._json(handler, 400, {"error": "invalid_grant"})
            return
        now = time.time()
        too_fast = now - device.last_poll < self.interval / 2
        device.last_poll = now
        if now > device.expires_at:
            self._json(handler, 400, {"error": "expired_token"})
        elif device.denied:
            self._json(handler, 400, {"error": "access_denied"})
        elif device.account is None:
            self._json(
                handler, 400, {"error": "slow_down" if too_fast else "authorization_pending"}
            )
        else:
            del self.devices[device.code]
            self._issue(handler, device.account, form.get("scope", "") or "mail")

    def _code_token(self, handler: BaseHTTPRequestHandler, form: dict[str, str]) -> None:
        code = self.codes.get(form.get("code", ""))
        verifier = form.get("code_verifier", "")
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        if (
            code is None
            or code.used
            or code.redirect_uri != form.get("redirect_uri")
            or code.challenge != challenge
            or form.get("client_secret") != CLIENT_SECRET
        ):
            self._json(handler, 400, {"error": "invalid_grant"})
            return
        code.used = True
        self._issue(handler, code.account, code.scope)

    def _refresh_token(self, handler: BaseHTTPRequestHandler, form: dict[str, str]) -> None:
        token = form.get("refresh_token", "")
        grant = self.refresh.get(token)
        if self.refresh_delay:
            time.sleep(self.refresh_delay)
        with self.recorder.lock:
            self.recorder.refreshes += 1
            if grant is None or not grant.alive:
                self._json(
                    handler,
                    400,
                    {"error": "invalid_grant", "error_description": "AADSTS70000: revoked"},
                )
                return
            if self.rotate:
                grant.alive = False  # a rotated refresh token works once
        self._issue(handler, grant.account, grant.scope, refresh=None if self.rotate else token)

    def _issue(
        self,
        handler: BaseHTTPRequestHandler,
        account: str,
        scope: str,
        *,
        refresh: str | None = None,
    ) -> None:
        access = "at-" + secrets.token_urlsafe(24)
        self.access[access] = (account, time.time() + self.lifetime)
        answer: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": int(self.lifetime),
            "scope": scope,
            "id_token": _id_token(account, self.issuer),
        }
        if refresh is None:
            refresh = "rt-" + secrets.token_urlsafe(24)
            self.refresh[refresh] = Grant(account, scope)
            answer["refresh_token"] = refresh
        self._json(handler, 200, answer)

    @staticmethod
    def _json(handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)


def _id_token(account: str, issuer: str) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    claims = {"iss": issuer, "aud": CLIENT_ID, "email": account, "exp": time.time() + 3600}
    return f"{part({'alg': 'RS256'})}.{part(claims)}.signature"
