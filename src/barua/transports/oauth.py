"""Signing in with the provider (OAuth 2.0) instead of a password.

Microsoft turns password login for SMTP off (Outlook.com since 2024, Microsoft 365 by default
from the end of 2026), and Google recommends sign-in over app passwords. A business signs in
once; barua keeps the refresh token (encrypted) and sends each message with a fresh access
token, carried to the SMTP server by SASL XOAUTH2, or OAUTHBEARER (RFC 7628).

Two ways to sign in, both from the command line now and a browser page later:

* **device code** (RFC 8628; Microsoft's default): barua shows a short code and a web address;
  the user opens it on any device, types the code and signs in; barua polls until done;
* **authorization code with PKCE** (RFC 7636; Google, whose device flow does not grant mail):
  barua opens the provider's page in a browser, which comes back to a one-shot listener on
  127.0.0.1 with a code; ``state`` and the S256 challenge tie the answer to this sign-in.

The protocol's details (PKCE, request encoding, error codes) are authlib's; the requests go
through httpx, with the same TLS verification as everything else barua sends.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

import httpx
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from barua.errors import AuthenticationError, Cause, ConnectError, Step, TransportError
from barua.settings import OAuthProvider, Security, Settings
from barua.texts import Text
from barua.transports import messages as say
from barua.transports.causes import fix_for

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
_MAX_ANSWER = 1_000_000
"""The largest answer read from a provider: a token answer is a few KB."""


@dataclass(frozen=True, slots=True)
class ProviderDefaults:
    """What barua knows of a provider: where it signs in, what it asks for, where mail goes."""

    name: str
    authorization_url: str | None
    token_url: str
    device_url: str | None
    scope: str
    smtp_host: str
    smtp_port: int
    smtp_security: Security


def _microsoft(tenant: str) -> ProviderDefaults:
    base = f"https://login.microsoftonline.com/{tenant}/oauth2/v2.0"
    return ProviderDefaults(
        name="Microsoft",
        authorization_url=f"{base}/authorize",
        token_url=f"{base}/token",
        device_url=f"{base}/devicecode",
        # openid and email only name who signed in, for the settings' username.
        scope="https://outlook.office.com/SMTP.Send offline_access openid email",
        smtp_host="smtp.office365.com",
        smtp_port=587,
        smtp_security=Security.STARTTLS,
    )


GOOGLE = ProviderDefaults(
    name="Google",
    authorization_url="https://accounts.google.com/o/oauth2/v2/auth",
    token_url="https://oauth2.googleapis.com/token",  # noqa: S106 - an address, not a token
    device_url=None,  # Google's device flow does not grant the mail scope
    scope="https://mail.google.com/ openid email",
    smtp_host="smtp.gmail.com",
    smtp_port=465,
    smtp_security=Security.SSL,
)
DEFAULT_TENANT = "organizations"
"""Microsoft: any work or school account, when the settings name no tenant."""


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where one provider signs in: its endpoints and the scopes asked for."""

    provider: str
    """The provider's name, as people read it: Microsoft, Google, or the issuer's host."""
    token_url: str
    authorization_url: str | None = None
    device_url: str | None = None
    scope: str = ""


def defaults_for(
    provider: OAuthProvider | None, tenant: str | None = None
) -> ProviderDefaults | None:
    """Microsoft's (for ``tenant``) or Google's defaults; None for a custom provider."""
    if provider is OAuthProvider.MICROSOFT:
        return _microsoft(tenant or DEFAULT_TENANT)
    if provider is OAuthProvider.GOOGLE:
        return GOOGLE
    return None


def provider_defaults(settings: Settings) -> ProviderDefaults | None:
    """Microsoft's or Google's defaults for ``settings``; None for a custom provider."""
    return defaults_for(settings.oauth_provider, settings.oauth_tenant)


def provider_name(settings: Settings) -> str:
    """The provider as people read it: Microsoft, Google, or the custom issuer's host."""
    defaults = provider_defaults(settings)
    if defaults is not None:
        return defaults.name
    where = settings.oauth_issuer or settings.oauth_token_url or ""
    return urlsplit(where).hostname or "the identity provider"


def endpoints_of(settings: Settings, *, discovered: Mapping[str, Any] | None = None) -> Endpoints:
    """The endpoints to use: the settings' own where they give them, else the provider's
    defaults, else what the custom issuer's discovery document said (``discovered``)."""
    defaults = provider_defaults(settings)
    found = dict(discovered or {})
    token = settings.oauth_token_url or (defaults.token_url if defaults else None)
    token = token or found.get("token_endpoint")
    if not token:
        raise AuthenticationError(
            say.OAUTH_NO_ENDPOINTS(provider=provider_name(settings)),
            step=Step.AUTH,
            cause=Cause.SIGN_IN_FAILED,
            hint=_fix(settings, Cause.SIGN_IN_FAILED),
        )
    return Endpoints(
        provider=provider_name(settings),
        token_url=str(token),
        authorization_url=settings.oauth_authorization_url
        or (defaults.authorization_url if defaults else found.get("authorization_endpoint")),
        device_url=settings.oauth_device_url
        or (defaults.device_url if defaults else found.get("device_authorization_endpoint")),
        scope=settings.oauth_scope or (defaults.scope if defaults else "openid email"),
    )


@dataclass(frozen=True, slots=True)
class Tokens:
    """What a sign-in or a refresh gave: never printed."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: float
    """Seconds since the epoch."""
    account: str | None = None
    """Who signed in, when the provider said (the id token's email)."""


@dataclass(frozen=True, slots=True)
class DeviceCode:
    """A device sign-in under way: the code to type and where."""

    device_code: str = field(repr=False)
    user_code: str
    verification_uri: str
    expires_at: float
    interval: float
    message: str | None = None
    """The provider's own instructions (Microsoft sends them in the user's language)."""


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A token to log in with, and who it signs in."""

    token: str = field(repr=False)
    account: str | None = None
    version: int = 0
    """Which sign-in or refresh it came from: a renewal asks for a newer one."""


class TokenSource(Protocol):
    """Where a transport takes its access token (the application keeps the tokens)."""

    def access_token(self, *, renew_after: int | None = None) -> AccessToken:
        """A valid token; with ``renew_after`` (the version the server refused), a newer one,
        refreshed now unless another process already did. Raises :class:`AuthenticationError`
        when the sign-in is needed again."""
        ...


def sign_in_fix(settings: Settings, cause: Cause, *, account: str | None = None) -> Text:
    """The fix of ``cause`` for a sign-in of ``settings`` (its provider and account)."""
    values = sign_in_values(settings, account)
    return fix_for(
        cause,
        provider=values["provider"],
        provider_id=values["provider_id"],
        account=values["account"],
    )


_fix = sign_in_fix


def sign_in_values(settings: Settings, account: str | None = None) -> dict[str, str]:
    """What the texts of a sign-in are filled with: the provider, its id, the account."""
    provider = settings.oauth_provider.value if settings.oauth_provider else "custom"
    return {
        "provider": provider_name(settings),
        "provider_id": provider,
        "account": account or settings.username or settings.email_address or "",
    }


class OAuthClient:
    """One provider's token endpoint (and device and authorization endpoints), for one app.

    >>> client = OAuthClient(settings, endpoints_of(settings))          # doctest: +SKIP
    >>> device = client.start_device()                                  # doctest: +SKIP
    >>> print(device.user_code, device.verification_uri)                # doctest: +SKIP
    >>> tokens = client.wait_for_device(device)                         # doctest: +SKIP
    """

    def __init__(
        self,
        settings: Settings,
        endpoints: Endpoints,
        *,
        http: httpx.Client | None = None,
        timeout: float | None = None,
    ) -> None:
        self.settings = settings
        self.endpoints = endpoints
        if not settings.oauth_client_id:
            raise AuthenticationError(
                say.OAUTH_NO_CLIENT(provider=endpoints.provider),
                step=Step.AUTH,
                cause=Cause.SIGN_IN_FAILED,
                hint=_fix(settings, Cause.SIGN_IN_FAILED),
            )
        self.client_id = settings.oauth_client_id
        secret = settings.oauth_client_secret
        self._secret = secret.get_secret_value() if secret is not None else None
        self._http = http or httpx.Client(
            timeout=timeout or settings.timeout,
            follow_redirects=False,
            verify=not settings.skip_tls_verify,
            headers={"Accept": "application/json"},
        )

    def close(self) -> None:
        self._http.close()

    # The device-code flow ----------------------------------------------------------------------

    def start_device(self) -> DeviceCode:
        """Ask for a code the user types at the provider's page (RFC 8628 §3.1)."""
        if not self.endpoints.device_url:
            raise AuthenticationError(
                say.OAUTH_NO_DEVICE(provider=self.endpoints.provider),
                step=Step.AUTH,
                cause=Cause.SIGN_IN_FAILED,
                hint=_fix(self.settings, Cause.SIGN_IN_FAILED),
            )
        answer = self._post(
            self.endpoints.device_url,
            {"client_id": self.client_id, "scope": self.endpoints.scope},
        )
        try:
            return DeviceCode(
                device_code=str(answer["device_code"]),
                user_code=str(answer["user_code"]),
                verification_uri=str(answer.get("verification_uri") or answer["verification_url"]),
                expires_at=time.time() + float(answer.get("expires_in", 900)),
                interval=max(1.0, float(answer.get("interval", 5))),
                message=answer.get("message"),
            )
        except (KeyError, TypeError, ValueError):
            raise self._unexpected(answer) from None

    def wait_for_device(
        self,
        device: DeviceCode,
        *,
        sleep: Callable[[float], object] = time.sleep,
    ) -> Tokens:
        """Poll until the user has signed in (RFC 8628 §3.4-3.5): ``authorization_pending``
        waits, ``slow_down`` waits 5 seconds longer from then on, an expired code or a refusal
        ends it."""
        interval = device.interval
        while True:
            if time.time() > device.expires_at:
                raise self._error(say.OAUTH_CODE_EXPIRED(), Cause.SIGN_IN_FAILED)
            sleep(interval)
            try:
                return self._tokens(
                    {
                        "grant_type": DEVICE_GRANT,
                        "device_code": device.device_code,
                        "client_id": self.client_id,
                    }
                )
            except _Pending as pending:
                if pending.slow_down:
                    interval += 5

    # The authorization-code flow with PKCE -----------------------------------------------------

    def authorization_url(self, *, redirect_uri: str, state: str, code_verifier: str) -> str:
        """The provider's page to open in a browser; it comes back to ``redirect_uri``."""
        if not self.endpoints.authorization_url:
            raise AuthenticationError(
                say.OAUTH_NO_AUTHORIZE(provider=self.endpoints.provider),
                step=Step.AUTH,
                cause=Cause.SIGN_IN_FAILED,
                hint=_fix(self.settings, Cause.SIGN_IN_FAILED),
            )
        extra: dict[str, str] = {
            "code_challenge": create_s256_code_challenge(code_verifier),
            "code_challenge_method": "S256",
        }
        if self.settings.oauth_provider is OAuthProvider.GOOGLE:
            # A refresh token, every time: without it the worker could not send tomorrow.
            extra.update(access_type="offline", prompt="consent")
        if self.settings.username:
            extra["login_hint"] = self.settings.username
        return str(
            prepare_grant_uri(
                self.endpoints.authorization_url,
                client_id=self.client_id,
                response_type="code",
                redirect_uri=redirect_uri,
                scope=self.endpoints.scope,
                state=state,
                **extra,
            )
        )

    def exchange(self, code: str, *, redirect_uri: str, code_verifier: str) -> Tokens:
        """The tokens for the ``code`` the browser brought back (RFC 6749 §4.1.3)."""
        return self._tokens(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "client_id": self.client_id,
                "code_verifier": code_verifier,
            }
        )

    # Refreshing --------------------------------------------------------------------------------

    def refresh(self, refresh_token: str, *, account: str | None = None) -> Tokens:
        """New tokens for ``refresh_token``. A provider that rotates refresh tokens sends a new
        one, which replaces the old; one that does not keeps the old one valid."""
        tokens = self._tokens(
            {
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": self.client_id,
                "scope": self.endpoints.scope,
            }
        )
        return Tokens(
            tokens.access_token,
            tokens.refresh_token or refresh_token,
            tokens.expires_at,
            tokens.account or account,
        )

    # Internals ---------------------------------------------------------------------------------

    def _tokens(self, data: dict[str, str]) -> Tokens:
        answer = self._post(self.endpoints.token_url, data, secret=True)
        access = answer.get("access_token")
        if not isinstance(access, str) or not access:
            raise self._unexpected(answer)
        lifetime = answer.get("expires_in", 3600)
        try:
            expires_at = time.time() + float(lifetime)
        except (TypeError, ValueError):
            expires_at = time.time() + 3600
        refresh = answer.get("refresh_token")
        return Tokens(
            access_token=access,
            refresh_token=refresh if isinstance(refresh, str) and refresh else None,
            expires_at=expires_at,
            account=account_of(answer),
        )

    def _post(self, url: str, data: dict[str, str], *, secret: bool = False) -> dict[str, Any]:
        if secret and self._secret is not None:
            data = {**data, "client_secret": self._secret}
        try:
            response = self._http.post(url, data=data)
        except httpx.HTTPError as exc:
            raise ConnectError(
                say.OAUTH_UNREACHABLE(provider=self.endpoints.provider, reason=str(exc)),
                step=Step.AUTH,
                cause=Cause.PROVIDER_UNREACHABLE,
                hint=_fix(self.settings, Cause.PROVIDER_UNREACHABLE),
                host=urlsplit(url).hostname,
            ) from exc
        body = response.content[:_MAX_ANSWER]
        try:
            answer = json.loads(body)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise self._error(say.OAUTH_NOT_JSON(status=response.status_code), Cause.SIGN_IN_FAILED)
        if response.is_success:
            return answer
        raise self.refusal(answer)

    def refusal(self, answer: Mapping[str, Any]) -> TransportError:
        """The provider's error answer (RFC 6749 §5.2) as barua's error, by its code."""
        error = str(answer.get("error", ""))
        described = str(answer.get("error_description", ""))[:500]
        if error in {"authorization_pending", "slow_down"}:
            return _Pending(slow_down=error == "slow_down")
        if error == "invalid_grant":
            return self._error(
                say.OAUTH_INVALID_GRANT(reason=described or error), Cause.SIGN_IN_EXPIRED
            )
        consent = {"consent_required", "interaction_required"}
        # Microsoft names a missing consent in its description (AADSTS65001).
        if error in consent or "AADSTS65001" in described:
            return self._error(say.OAUTH_CONSENT(reason=described or error), Cause.CONSENT_NEEDED)
        if error in {"access_denied", "authorization_declined"}:
            return self._error(say.OAUTH_DENIED(), Cause.SIGN_IN_FAILED)
        if error == "expired_token":
            return self._error(say.OAUTH_CODE_EXPIRED(), Cause.SIGN_IN_FAILED)
        return self._error(
            say.OAUTH_REFUSED(reason=f"{error}: {described}".strip(": ")), Cause.SIGN_IN_FAILED
        )

    def _unexpected(self, answer: Mapping[str, Any]) -> TransportError:
        return self._error(
            say.OAUTH_UNEXPECTED(fields=", ".join(sorted(map(str, answer))) or "-"),
            Cause.SIGN_IN_FAILED,
        )

    def _error(self, message: Text, cause: Cause) -> AuthenticationError:
        return AuthenticationError(
            message, step=Step.AUTH, cause=cause, hint=_fix(self.settings, cause)
        )


class _Pending(AuthenticationError):
    """The user has not finished signing in yet (``authorization_pending``, ``slow_down``)."""

    def __init__(self, *, slow_down: bool) -> None:
        super().__init__(say.OAUTH_PENDING(), step=Step.AUTH, cause=Cause.SIGN_IN_FAILED)
        self.slow_down = slow_down


def discover(issuer: str, *, http: httpx.Client, provider: str) -> dict[str, Any]:
    """The issuer's OpenID discovery document (its endpoints)."""
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        response = http.get(url)
        document = json.loads(response.content[:_MAX_ANSWER])
    except (httpx.HTTPError, ValueError) as exc:
        raise ConnectError(
            say.OAUTH_NO_DISCOVERY(url=url, reason=str(exc)),
            step=Step.AUTH,
            cause=Cause.PROVIDER_UNREACHABLE,
            hint=fix_for(Cause.PROVIDER_UNREACHABLE, provider=provider),
            host=urlsplit(url).hostname,
        ) from exc
    if not response.is_success or not isinstance(document, dict):
        raise ConnectError(
            say.OAUTH_NO_DISCOVERY(url=url, reason=f"HTTP {response.status_code}"),
            step=Step.AUTH,
            cause=Cause.PROVIDER_UNREACHABLE,
            hint=fix_for(Cause.PROVIDER_UNREACHABLE, provider=provider),
            host=urlsplit(url).hostname,
        )
    return document


def account_of(answer: Mapping[str, Any]) -> str | None:
    """Who signed in: the email (or Microsoft's preferred username) in the id token.

    The id token came straight from the provider's token endpoint over verified TLS, so its
    claims are read without checking its signature (OpenID Connect Core §3.1.3.7).
    """
    token = answer.get("id_token")
    if not isinstance(token, str) or token.count(".") != 2:
        return None
    payload = token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return None
    if not isinstance(claims, dict):
        return None
    for name in ("email", "preferred_username", "upn"):
        value = claims.get(name)
        if isinstance(value, str) and "@" in value:
            return value
    return None


def new_verifier() -> str:
    """A PKCE code verifier: 64 random URL-safe characters (RFC 7636 §4.1)."""
    return secrets.token_urlsafe(48)


# The browser's way back: a one-shot listener on 127.0.0.1 ---------------------------------


class LoopbackRedirect:
    """Listens on 127.0.0.1, on a port of the system's choosing, for the provider's redirect
    after the user signed in; takes one answer and stops (RFC 8252 §7.3).

    ``page`` is what the browser shows afterwards (in the user's language).
    """

    def __init__(self, *, page: str) -> None:
        self._answer: dict[str, str] = {}
        self._arrived = threading.Event()
        self._page = page.encode("utf-8")
        redirect = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                if not ({"code", "error"} & query.keys()):
                    self.send_error(404)  # a favicon, a browser's guess: not the answer
                    return
                redirect._answer = {k: v[0] for k, v in query.items() if v}
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(redirect._page)))
                self.end_headers()
                self.wfile.write(redirect._page)
                redirect._arrived.set()

            def log_message(self, format: str, *args: object) -> None:
                pass  # nothing of the answer (a code) goes to a log

        self._server = HTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="barua-oauth-redirect", daemon=True
        )
        self._thread.start()

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def wait(self, timeout: float) -> dict[str, str] | None:
        """The query of the redirect (``code``, ``state`` or ``error``), or None after
        ``timeout`` seconds."""
        return self._answer if self._arrived.wait(timeout) else None

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


# Carrying the token to SMTP ---------------------------------------------------------------


def xoauth2(user: str, token: str) -> str:
    """The SASL XOAUTH2 initial response (Google's and Microsoft's format), base64."""
    raw = f"user={user}\x01auth=Bearer {token}\x01\x01"
    return base64.b64encode(raw.encode("utf-8")).decode("ascii")


def oauthbearer(user: str, token: str, *, host: str, port: int) -> str:
    """The SASL OAUTHBEARER initial response (RFC 7628 §3.1), base64."""
    authzid = user.replace("=", "=3D").replace(",", "=2C")
    raw = f"n,a={authzid},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01"
    return base64.b64encode(raw.encode("utf-8")).decode("ascii")
