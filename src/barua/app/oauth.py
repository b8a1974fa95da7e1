"""Use cases of signing in with the provider (OAuth 2.0): sign in once, then tokens that
renew themselves, one renewal at a time however many workers share the database."""

from __future__ import annotations

import json
import os
import secrets
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from barua.app.context import Context
from barua.app.settings import SettingsUseCases
from barua.errors import AuthenticationError, BaruaError, Cause, Step, TemporaryError
from barua.settings import AuthMethod, OAuthProvider, Settings, update_settings
from barua.store.businesses import Business, SettingsStore
from barua.texts import Message
from barua.transports import messages as say
from barua.transports.delivery import open_transport
from barua.transports.oauth import (
    AccessToken,
    DeviceCode,
    Endpoints,
    LoopbackRedirect,
    OAuthClient,
    Tokens,
    defaults_for,
    discover,
    endpoints_of,
    new_verifier,
    provider_defaults,
    provider_name,
    sign_in_fix,
)

if TYPE_CHECKING:
    import httpx

    from barua.outbox.limits import SendingLimits
    from barua.outbox.worker import TransportFactory
    from barua.transports.base import StepObserver, Transport

RENEW_BEFORE = 300.0
"""Seconds before expiry a token is renewed: a message is never sent with one about to end."""
LEAST_LEFT = 15.0
"""Seconds a token renewed by another process must still have for this one to use it."""
REFRESH_LEASE = 60.0
"""Seconds one process holds the right to renew a business's tokens."""
_PLACEHOLDER = "pending.sign-in@example.com"
"""The username of settings being signed in, until the provider says who signed in."""

NO_ACCOUNT = Message(
    "app.oauth_no_account",
    "{provider} did not say which mailbox signed in",
)
NO_ACCOUNT_HINT = Message(
    "app.oauth_no_account_hint",
    "Give the mailbox with --username (or --email-address) and sign in again.",
)
REDIRECT_PAGE = Message(
    "app.oauth_redirect_page",
    "barua: you are signed in. You can close this window and go back to barua.",
)


@dataclass(frozen=True, slots=True)
class SignedIn:
    """The outcome of a sign-in: who signed in, and the settings saved with it."""

    account: str
    settings: Settings


WEB_SIGN_IN_TIME = 900.0
"""Seconds a sign-in begun in the web app may take to come back."""

WEB_SIGN_IN_AGAIN = Message(
    "app.oauth.web_sign_in_again",
    "Press the sign-in button again and finish signing in within 15 minutes, in this browser.",
)


@dataclass(frozen=True, slots=True)
class WebSignIn:
    """A sign-in begun in the web app: where to send the browser, and what it carries back."""

    url: str
    sealed: str


class StoredTokens:
    """A business's tokens as the transports take them (:class:`TokenSource`): from the
    database, renewed shortly before they expire or when the server refuses them.

    Several workers on several machines may need a renewal at the same moment; a provider that
    rotates refresh tokens would invalidate all but the first. So one process at a time renews
    (it holds a lease in the business's row); the others wait for its result and use it.
    """

    def __init__(
        self,
        store: SettingsStore,
        business: Business,
        settings: Settings,
        *,
        http: httpx.Client | None = None,
    ) -> None:
        self._store = store
        self._business = business
        self._settings = settings
        self._http = http
        self._endpoints: Endpoints | None = None
        self._holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"[:64]

    def access_token(self, *, renew_after: int | None = None) -> AccessToken:
        deadline = time.monotonic() + REFRESH_LEASE
        first: int | None = None
        while True:
            stored = self._store.sign_in(self._business)
            if stored is None:
                raise self._error(say.OAUTH_NOT_SIGNED_IN, Cause.SIGN_IN_NEEDED)
            if stored.failure is not None:
                raise self._error(say.OAUTH_SIGN_IN_DEAD, Cause.SIGN_IN_EXPIRED, stored.account)
            first = stored.version if first is None else first
            newer = renew_after is None or stored.version > renew_after
            left = stored.expires_at - time.time()
            # A token renewed meanwhile by another process is taken while it has a little
            # time left: a provider's short-lived tokens are never renewed twice over.
            just_renewed = stored.version > first and left > LEAST_LEFT
            if newer and (left > RENEW_BEFORE or just_renewed):
                return AccessToken(
                    stored.access_token.get_secret_value(), stored.account, stored.version
                )
            if stored.refresh_token is None:
                raise self._error(say.OAUTH_SIGN_IN_DEAD, Cause.SIGN_IN_EXPIRED, stored.account)
            if self._store.claim_refresh(
                self._business, version=stored.version, holder=self._holder, lease=REFRESH_LEASE
            ):
                return self._renew(stored.refresh_token.get_secret_value(), stored)
            # Another process renews right now (or just did): its tokens are read next time.
            if time.monotonic() > deadline:
                raise TemporaryError(
                    say.OAUTH_UNREACHABLE(
                        provider=provider_name(self._settings), reason="renewal under way"
                    ),
                    step=Step.AUTH,
                    cause=Cause.PROVIDER_UNREACHABLE,
                    hint=sign_in_fix(self._settings, Cause.PROVIDER_UNREACHABLE),
                )
            time.sleep(0.1)

    def _renew(self, refresh_token: str, stored: Any) -> AccessToken:
        try:
            client = OAuthClient(self._settings, self._endpoints_of(), http=self._http)
            tokens = client.refresh(refresh_token, account=stored.account)
        except AuthenticationError as exc:
            # invalid_grant: revoked, expired, the password changed. No retry can help.
            dead = exc.cause is Cause.SIGN_IN_EXPIRED
            self._store.fail_refresh(
                self._business, holder=self._holder, failure="invalid_grant" if dead else None
            )
            raise
        except BaruaError:
            self._store.fail_refresh(self._business, holder=self._holder, failure=None)
            raise
        self._store.finish_refresh(
            self._business,
            holder=self._holder,
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            expires_at=tokens.expires_at,
        )
        return AccessToken(tokens.access_token, tokens.account, stored.version + 1)

    def _endpoints_of(self) -> Endpoints:
        if self._endpoints is None:
            self._endpoints = endpoints_for(self._settings, http=self._http)
        return self._endpoints

    def _error(
        self, message: Message, cause: Cause, account: str | None = None
    ) -> AuthenticationError:
        return AuthenticationError(
            message(provider=provider_name(self._settings), account=account or ""),
            step=Step.AUTH,
            cause=cause,
            hint=sign_in_fix(self._settings, cause, account=account),
        )


def endpoints_for(settings: Settings, *, http: httpx.Client | None = None) -> Endpoints:
    """The provider's endpoints; a custom issuer's from its discovery document."""
    if provider_defaults(settings) is not None or settings.oauth_issuer is None:
        return endpoints_of(settings)
    import httpx

    client = http or httpx.Client(
        timeout=settings.timeout, verify=not settings.skip_tls_verify, follow_redirects=False
    )
    try:
        found = discover(settings.oauth_issuer, http=client, provider=provider_name(settings))
    finally:
        if http is None:
            client.close()
    return endpoints_of(settings, discovered=found)


def transport_factory(store: SettingsStore, business: Business) -> TransportFactory:
    """The transports of ``business``: each gets the business's tokens when its settings sign
    in with the provider (the settings may change while a worker runs)."""

    def make(settings: Settings, limits: SendingLimits, observer: StepObserver | None) -> Transport:
        tokens = (
            StoredTokens(store, business, settings) if settings.auth is AuthMethod.OAUTH else None
        )
        return open_transport(
            settings,
            observer=observer,
            max_messages_per_connection=limits.max_messages_per_connection,
            tokens=tokens,
        )

    return make


class OAuthUseCases(SettingsUseCases, Context):
    """Signing a business in with its provider, and the tokens its transports use."""

    def tokens(self, business: Business, settings: Settings) -> StoredTokens | None:
        """The token source of ``business`` when its settings sign in with the provider."""
        if settings.auth is not AuthMethod.OAUTH:
            return None
        return StoredTokens(self.store, business, settings)

    def sign_in(
        self,
        business: Business,
        provider: OAuthProvider,
        *,
        changes: dict[str, Any] | None = None,
        on_code: Callable[[DeviceCode], None] | None = None,
        on_browser: Callable[[str], None] | None = None,
        timeout: float = 900.0,
        lang: str | None = None,
        http: httpx.Client | None = None,
    ) -> SignedIn:
        """Sign ``business`` in with ``provider`` and keep its tokens (encrypted): a code to
        type on any device (``on_code`` shows it) where the provider offers that, else the
        provider's page in a browser (``on_browser`` opens or shows it) coming back to a
        one-shot listener on 127.0.0.1. ``changes`` are settings given with the sign-in (the
        app's client id and secret, a tenant, an issuer, the mailbox).

        The settings switch to the provider's SMTP server (Microsoft 365 or Gmail, unless
        ``changes`` name another) and to login with the token; a queue that waited for the
        sign-in resumes.
        """
        settings = self._sign_in_settings(business, provider, changes or {})
        endpoints = endpoints_for(settings, http=http)
        client = OAuthClient(settings, endpoints, http=http)
        try:
            if endpoints.device_url and provider is not OAuthProvider.GOOGLE:
                device = client.start_device()
                if on_code is not None:
                    on_code(device)
                tokens = client.wait_for_device(device)
            else:
                tokens = self._in_browser(client, on_browser, timeout=timeout, lang=lang)
        finally:
            if http is None:
                client.close()
        return self._keep(business, settings, endpoints, tokens, changes or {})

    def start_web_sign_in(
        self,
        business: Business,
        provider: OAuthProvider,
        *,
        changes: dict[str, Any],
        redirect_uri: str,
        http: httpx.Client | None = None,
    ) -> WebSignIn:
        """Begin a sign-in in the person's own browser, coming back to ``redirect_uri`` (the
        web app's): the provider's page to send them to, and what the browser carries back
        sealed (the ``state``, the PKCE verifier, the business and the settings given), so
        that any of several web processes can finish it."""
        settings = self._sign_in_settings(business, provider, changes)
        endpoints = endpoints_for(settings, http=http)
        state = secrets.token_urlsafe(24)
        verifier = new_verifier()
        client = OAuthClient(settings, endpoints, http=http)
        try:
            url = client.authorization_url(
                redirect_uri=redirect_uri, state=state, code_verifier=verifier
            )
        finally:
            if http is None:
                client.close()
        carried = {
            "business": business.key,
            "provider": provider.value,
            "changes": {k: _plain(v) for k, v in changes.items()},
            "state": state,
            "verifier": verifier,
            "redirect_uri": redirect_uri,
        }
        return WebSignIn(url, self.store.seal(json.dumps(carried)))

    def finish_web_sign_in(
        self, sealed: str, answer: Mapping[str, str], *, http: httpx.Client | None = None
    ) -> tuple[Business, SignedIn]:
        """Finish a sign-in begun by :meth:`start_web_sign_in` with the provider's ``answer``
        (the query of the redirect). An answer meant for another sign-in, or coming back
        after :data:`WEB_SIGN_IN_TIME`, is refused."""
        opened = self.store.unseal(sealed, max_age=WEB_SIGN_IN_TIME) if sealed else None
        carried = json.loads(opened) if opened else None
        if not isinstance(carried, dict) or not secrets.compare_digest(
            str(answer.get("state", "")), str(carried.get("state", ""))
        ):
            raise AuthenticationError(
                say.OAUTH_STATE(),
                step=Step.AUTH,
                cause=Cause.SIGN_IN_FAILED,
                hint=WEB_SIGN_IN_AGAIN(),
            )
        business = next((b for b in self.store.businesses() if b.key == carried["business"]), None)
        if business is None:
            raise AuthenticationError(say.OAUTH_STATE(), step=Step.AUTH, cause=Cause.SIGN_IN_FAILED)
        provider = OAuthProvider(carried["provider"])
        changes = dict(carried["changes"])
        settings = self._sign_in_settings(business, provider, changes)
        endpoints = endpoints_for(settings, http=http)
        client = OAuthClient(settings, endpoints, http=http)
        try:
            if "error" in answer:
                raise client.refusal(answer)
            tokens = client.exchange(
                str(answer.get("code", "")),
                redirect_uri=str(carried["redirect_uri"]),
                code_verifier=str(carried["verifier"]),
            )
        finally:
            if http is None:
                client.close()
        return business, self._keep(business, settings, endpoints, tokens, changes)

    def _keep(
        self,
        business: Business,
        settings: Settings,
        endpoints: Endpoints,
        tokens: Tokens,
        changes: dict[str, Any],
    ) -> SignedIn:
        """Keep a sign-in's tokens (encrypted) and switch the settings to it."""
        account = tokens.account or _given_account(changes)
        if account is None:
            raise AuthenticationError(
                NO_ACCOUNT(provider=endpoints.provider),
                step=Step.AUTH,
                cause=Cause.SIGN_IN_FAILED,
                hint=NO_ACCOUNT_HINT(),
            )
        saved = self.store.update(
            business, {**self._pending_changes(settings), "username": account}
        )
        self.store.save_sign_in(
            business,
            account=account,
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            expires_at=tokens.expires_at,
        )
        self.outbox.resume(business.key)
        return SignedIn(account, saved.settings)

    def sign_out(self, business: Business) -> bool:
        """Forget the business's tokens (its settings stay)."""
        return self.store.forget_sign_in(business)

    # Internals ---------------------------------------------------------------------------------

    def _sign_in_settings(
        self, business: Business, provider: OAuthProvider, changes: dict[str, Any]
    ) -> Settings:
        """The settings to sign in with: what is saved, the provider's SMTP server when the
        provider changes, the given changes, login with a token."""
        unreadable = self.store.unreadable_secrets(business)
        current = self.store.load(business, skip_secrets=[*unreadable, *changes])
        values: dict[str, Any] = {"auth": AuthMethod.OAUTH, "oauth_provider": provider}
        switching = current is None or current.oauth_provider is not provider
        defaults = defaults_for(provider, changes.get("oauth_tenant"))
        if switching and defaults is not None:
            values.update(
                host=defaults.smtp_host, port=defaults.smtp_port, security=defaults.smtp_security
            )
        values.update(changes)
        if current is None or current.username is None:
            values.setdefault("username", _given_account(changes) or _PLACEHOLDER)
        return update_settings(current, **values)

    def _pending_changes(self, settings: Settings) -> dict[str, Any]:
        """What the sign-in changes in the saved settings (the username comes from it)."""
        names = (
            "protocol",
            "host",
            "port",
            "security",
            "auth",
            "oauth_provider",
            "oauth_client_id",
            "oauth_client_secret",
            "oauth_tenant",
            "oauth_issuer",
            "oauth_scope",
            "oauth_authorization_url",
            "oauth_token_url",
            "oauth_device_url",
        )
        return {name: getattr(settings, name) for name in names}

    def _in_browser(
        self,
        client: OAuthClient,
        on_browser: Callable[[str], None] | None,
        *,
        timeout: float,
        lang: str | None,
    ) -> Tokens:
        state = secrets.token_urlsafe(24)
        verifier = new_verifier()
        redirect = LoopbackRedirect(page=REDIRECT_PAGE().render(self.lang(lang)))
        try:
            url = client.authorization_url(
                redirect_uri=redirect.redirect_uri, state=state, code_verifier=verifier
            )
            if on_browser is not None:
                on_browser(url)
            answer = redirect.wait(timeout)
        finally:
            redirect.close()
        settings = client.settings
        if answer is None:
            raise AuthenticationError(
                say.OAUTH_BROWSER_TIMEOUT(minutes=round(timeout / 60)),
                step=Step.AUTH,
                cause=Cause.SIGN_IN_FAILED,
                hint=sign_in_fix(settings, Cause.SIGN_IN_FAILED),
            )
        # An answer meant for another sign-in (a page left open, another site) is refused.
        if not secrets.compare_digest(answer.get("state", ""), state):
            raise AuthenticationError(
                say.OAUTH_STATE(),
                step=Step.AUTH,
                cause=Cause.SIGN_IN_FAILED,
                hint=sign_in_fix(settings, Cause.SIGN_IN_FAILED),
            )
        if "error" in answer:
            raise client.refusal(answer)
        return client.exchange(
            answer.get("code", ""), redirect_uri=redirect.redirect_uri, code_verifier=verifier
        )


def _plain(value: Any) -> Any:
    """A setting as JSON carries it (a secret's value: the whole is sealed)."""
    if hasattr(value, "get_secret_value"):
        return value.get_secret_value()
    return value.value if hasattr(value, "value") else value


def _given_account(changes: dict[str, Any]) -> str | None:
    for name in ("username", "email_address"):
        value = changes.get(name)
        if isinstance(value, str) and "@" in value:
            return value
    return None
