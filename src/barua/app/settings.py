"""Use cases of the email settings: read them, change them, trust a certificate, detect them,
export and import them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from barua.addresses import display_address
from barua.app.context import Context
from barua.app.errors import (
    EMPTY_PASSWORD,
    EMPTY_PASSWORD_HINT,
    FINGERPRINT_DIFFERS,
    FINGERPRINT_DIFFERS_HINT,
    FINGERPRINT_INVALID,
    NO_SETTINGS,
    NO_SETTINGS_FOR,
    NO_SETTINGS_HINT,
    UNVERIFIED_PROVIDER,
    UNVERIFIED_PROVIDER_HINT,
    AppError,
)
from barua.certificates import CertificateInfo, describe_certificate, normalise_fingerprint
from barua.settings import SECRET_FIELDS, AuthMethod, Protocol, Settings, update_settings
from barua.store.businesses import Business, Saved
from barua.texts import Text

if TYPE_CHECKING:
    from barua.setup.detect import Proposal

_ADDRESS_FIELDS = ("email_address", "bcc_copy", "reply_to")
"""Shown in the user's own writing (an internationalised domain in Unicode)."""


@dataclass(frozen=True, slots=True)
class SignInStatus:
    """What a person may know of a business's sign-in: never a token."""

    provider: str
    account: str | None
    expires_at: datetime
    renewable: bool
    """True while barua can renew the token without the person (it holds a refresh token)."""
    failure: str | None
    """Set when the provider refused to renew it: sign in again."""


@dataclass(frozen=True, slots=True)
class SettingsWarning:
    """Settings that work, or may, but not as the user likely thinks: said when they are saved
    and before a test connects."""

    text: Text
    hint: Text


def settings_warnings(
    settings: Settings, *, unreadable: tuple[str, ...] = ()
) -> tuple[SettingsWarning, ...]:
    """What to warn of in ``settings``: a login with an empty password; verification turned
    off for a known provider, whose certificates are valid (its form says never to).
    ``unreadable``: secrets saved but not read (they are set)."""
    from barua.setup.providers import preset_for_host

    if settings.protocol is not Protocol.SMTP or settings.host is None:
        return ()
    found: list[SettingsWarning] = []
    if (
        settings.username is not None
        and settings.auth is AuthMethod.PASSWORD
        and "password" not in unreadable
        and not (settings.password and settings.password.get_secret_value())
    ):
        found.append(
            SettingsWarning(
                EMPTY_PASSWORD(username=settings.username, host=settings.host),
                EMPTY_PASSWORD_HINT(),
            )
        )
    preset = preset_for_host(settings.host, settings.port)
    if settings.skip_tls_verify and preset is not None:
        found.append(
            SettingsWarning(
                UNVERIFIED_PROVIDER(provider=preset.name, host=settings.host),
                UNVERIFIED_PROVIDER_HINT(),
            )
        )
    return tuple(found)


@dataclass(frozen=True, slots=True)
class SettingsView:
    """The settings in effect as a person may see them: never a secret, only whether it is set."""

    business: Business
    values: dict[str, Any]
    """Each setting's value; each secret as ``<name>_set``: True or False."""
    unreadable: tuple[str, ...]
    """Secrets saved with a key that is not at hand: set, but they must be set again."""
    overridden_by: tuple[str, ...]
    """The ``BARUA_*`` variables that override saved values."""
    sign_in: SignInStatus | None = None
    """Who signed in with the provider, when the settings sign in (OAuth)."""


class SettingsUseCases(Context):
    """Reading and changing a business's email settings."""

    def settings_in_effect(
        self,
        business: Business,
        changes: Mapping[str, Any] | None = None,
        *,
        hint: Text | None = None,
    ) -> Settings:
        """The saved settings (with the environment's overrides) and ``changes``, validated,
        without saving anything: what a test or a send uses.

        Raises :class:`AppError` when there is nothing to start from.
        """
        # A secret given here replaces the saved one: a lost key must not stand in the way.
        replaced = [name for name in SECRET_FIELDS if name in (changes or {})]
        current = self.store.load_effective(business, skip_secrets=replaced)
        if current is None and not changes:
            raise AppError(NO_SETTINGS(business=business.name), hint=hint or NO_SETTINGS_HINT())
        return update_settings(current, **(changes or {}))

    def no_settings(self, business: Business) -> Text:
        """ "No settings are saved yet", naming the business when there are several."""
        if len(self.store.businesses()) == 1:
            return NO_SETTINGS()
        return NO_SETTINGS_FOR(business=business.name)

    def settings_preview(self, business: Business, changes: Mapping[str, Any]) -> Settings:
        """What the saved settings of ``business`` would be with ``changes``, validated, not
        saved (a form checking its values; a command deciding whether to ask for a
        password)."""
        unreadable = self.store.unreadable_secrets(business)
        saved = self.store.load(business, skip_secrets=[*unreadable, *changes])
        return update_settings(saved, **changes)

    def save_settings(self, business: Business, changes: Mapping[str, Any]) -> Saved:
        """Apply ``changes`` to the saved settings of ``business`` (only the fields given;
        None removes an option or a secret), atomically, and save them. Check
        :func:`settings_warnings` of what was saved."""
        return self.store.update(business, changes)

    def settings_warnings(
        self, settings: Settings, *, unreadable: tuple[str, ...] = ()
    ) -> tuple[SettingsWarning, ...]:
        """See :func:`settings_warnings`."""
        return settings_warnings(settings, unreadable=unreadable)

    def settings_view(self, business: Business) -> SettingsView:
        """The settings in effect, fit to show: secrets only as set or not set."""
        overridden = tuple(self.store.overridden_variables(business))
        overrides = self.store.overrides_for(business)
        unreadable = tuple(
            name for name in self.store.unreadable_secrets(business) if name not in overrides
        )
        settings = self.store.load_effective(business, skip_secrets=unreadable)
        if settings is None:
            raise AppError(self.no_settings(business), hint=NO_SETTINGS_HINT())
        values = settings.public_dict()
        for name in _ADDRESS_FIELDS:
            if values[name] is not None:
                values[name] = display_address(values[name])
        for name in unreadable:
            values[f"{name}_set"] = True
        return SettingsView(
            business, values, unreadable, overridden, self.sign_in_status(business, settings)
        )

    def sign_in_status(self, business: Business, settings: Settings) -> SignInStatus | None:
        """Who is signed in and until when (never the tokens); None without a sign-in."""
        from barua.transports.oauth import provider_name

        if settings.auth is not AuthMethod.OAUTH:
            return None
        stored = self.store.sign_in(business)
        if stored is None:
            return None
        return SignInStatus(
            provider=provider_name(settings),
            account=stored.account,
            expires_at=datetime.fromtimestamp(stored.expires_at, UTC),
            renewable=stored.refresh_token is not None and stored.failure is None,
            failure=stored.failure,
        )

    # Certificates ------------------------------------------------------------------------------

    def fetch_certificate(self, business: Business) -> CertificateInfo:
        """The certificate the business's SMTP server presents now, described (not trusted)."""
        from barua.transports.smtp import fetch_certificate

        settings = self.settings_in_effect(business)
        return describe_certificate(fetch_certificate(settings))

    def trust_certificate(
        self, business: Business, certificate: CertificateInfo, *, expected: str | None = None
    ) -> Saved:
        """Pin ``certificate``: from now on the business's server is trusted when it presents
        this certificate and no other. With ``expected`` (a fingerprint from the server's
        administrator), only if it is that one."""
        if expected is not None:
            wanted = normalise_fingerprint(expected)
            if wanted is None:
                raise AppError(FINGERPRINT_INVALID())
            if wanted != certificate.sha256:
                raise AppError(
                    FINGERPRINT_DIFFERS(sha256=certificate.sha256),
                    hint=FINGERPRINT_DIFFERS_HINT(),
                )
        return self.store.update(business, {"pinned_certificate": certificate.sha256})

    def untrust_certificate(self, business: Business) -> Saved:
        """Stop trusting a pinned certificate: the CA check applies again."""
        return self.store.update(business, {"pinned_certificate": None})

    # Detection ---------------------------------------------------------------------------------

    def detect(self, address: str, *, confirm_lookalike: bool = False) -> Proposal:
        """Propose settings for ``address`` (provider presets, MX, autoconfig, probing); saves
        nothing. A domain one typo away from a provider's is not looked up until
        ``confirm_lookalike``."""
        from barua.setup.detect import detect

        return detect(address, resolver=self.resolver(), confirm_lookalike=confirm_lookalike)

    # Backups -----------------------------------------------------------------------------------

    def export_settings(self, business: Business) -> str:
        """The saved settings of ``business`` as a document, secrets still encrypted."""
        exported = self.store.export_settings(business)
        if exported is None:
            raise AppError(self.no_settings(business), hint=NO_SETTINGS_HINT())
        return exported

    def import_settings(self, business: Business, data: bytes, *, source: str) -> Settings:
        """Replace the settings of ``business`` with an exported document."""
        return self.store.import_settings(business, data, source=source)
