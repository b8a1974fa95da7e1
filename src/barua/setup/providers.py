"""Built-in provider presets: the documented SMTP settings of well-known email providers (pure).

A shop owner knows their address, not their provider's server name, port and login rules. A
:class:`Preset` holds what the provider documents, so that barua can fill the settings form,
explain which password to use (an app password, an API key…) and check the domain's SPF record
against the provider's ``include:``. Texts shown to the user are marked with ``N_`` and
translated where they are shown.

>>> preset = preset_for_domain("gmail.com")
>>> preset_settings(preset, "duka@gmail.com")["host"]
'smtp.gmail.com'
>>> suggest_host("smtp.gmial.com")
'smtp.gmail.com'
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from barua.addresses import validate_address
from barua.errors import SettingsError
from barua.i18n import N_
from barua.settings import OAuthProvider, Security, is_loopback
from barua.texts import Message


class UsernameFormat(StrEnum):
    """What the provider expects as the SMTP username."""

    FULL_ADDRESS = "full_address"
    """The whole email address, e.g. ``duka@gmail.com``."""
    FIXED = "fixed"
    """The same literal for everyone (SendGrid's ``apikey``); the secret is the password."""
    ACCOUNT = "account"
    """A login the provider issues that is not the address (Amazon SES SMTP credentials)."""
    PROVIDER_ADDRESS = "provider_address"
    """The address at one of the provider's own domains, also when sending from a custom
    domain: iCloud Mail logs in ``duka@icloud.com`` for mail from ``duka@duka.co.tz``."""


class PasswordKind(StrEnum):
    """What goes in the password field; a wrong kind is the most common login failure."""

    PASSWORD = "password"  # noqa: S105 - names a kind, holds no secret
    """The mailbox's normal password."""
    APP_PASSWORD = "app_password"  # noqa: S105 - names a kind, holds no secret
    """An app password is required: the normal password is refused for SMTP."""
    APP_PASSWORD_IF_2FA = "app_password_if_2fa"  # noqa: S105 - names a kind, holds no secret
    """The normal password, or an app password when 2-step verification is on."""
    API_KEY = "api_key"
    """A key or SMTP credential created in the service's dashboard."""
    BRIDGE_PASSWORD = "bridge_password"  # noqa: S105 - names a kind, holds no secret
    """The password a local bridge program shows (Proton Mail Bridge)."""
    OAUTH_REQUIRED = "oauth_required"
    """The provider refuses passwords for SMTP: sign-in through OAuth is needed."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Preset:
    """One provider's documented SMTP settings, limits and login rules."""

    id: str
    name: str
    domains: tuple[str, ...] = ()
    """Address domains that mean this provider (``gmail.com``, ``googlemail.com``)."""
    mx_suffixes: tuple[str, ...] = ()
    """MX host suffixes that identify a domain hosted here (``google.com`` → Google Workspace)."""
    host: str
    port: int
    security: Security
    username_format: UsernameFormat = UsernameFormat.FULL_ADDRESS
    fixed_username: str | None = None
    username_template: str | None = None
    """For ``ACCOUNT``: the usual login, from ``{local}`` and ``{domain}`` of the address.
    Without it the login is left for the user to enter (``password_steps`` says where)."""
    password_kind: PasswordKind = PasswordKind.PASSWORD
    password_steps: str = ""
    """Where to get the app password or key, as complete sentences (``N_``-marked)."""
    oauth_note: str | None = None
    oauth: OAuthProvider | None = None
    """Who signs the user in, when the provider lets barua send with a sign-in (OAuth)."""
    spf_includes: tuple[str, ...] = ()
    """The ``include:`` domains an SPF record needs so that this provider may send."""
    daily_limit: int | None = None
    """Emails (recipients) per day the provider allows a normal account, when documented."""
    per_minute_limit: int | None = None
    max_connections: int | None = None
    """Simultaneous SMTP connections the provider allows one login."""
    notes: str = ""
    other_hosts: tuple[str, ...] = ()
    """Other server names of the same provider (regions, older names): never typos."""
    host_pattern: str | None = None
    """A regular expression matching every server name (Amazon SES has one per region)."""

    def matches_host(self, host: str) -> bool:
        """True when ``host`` is one of this provider's server names."""
        name = _clean(host)
        if name == self.host or name in self.other_hosts:
            return True
        return self.host_pattern is not None and re.fullmatch(self.host_pattern, name) is not None


_GOOGLE_APP_PASSWORD = N_(
    "Turn on 2-Step Verification for your Google Account, then open Google Account → "
    "Security → App passwords (myaccount.google.com/apppasswords), create an app password "
    "named barua and paste the 16 letters it shows as the password."
)
_OUTLOOK_OAUTH = N_(
    "Outlook.com no longer accepts a username and password for SMTP (basic authentication): "
    "sign in with Microsoft instead (barua settings oauth microsoft)."
)
_MICROSOFT_365_OAUTH = N_(
    "Microsoft is retiring basic authentication (username and password) for SMTP in "
    "Microsoft 365: sign in with Microsoft instead (barua settings oauth microsoft). Until "
    "password login is switched off for your organisation, an administrator can still turn on "
    "Authenticated SMTP for the mailbox."
)
_ZOHO_STEPS = N_(
    "To create one, open Zoho Accounts → Security → App Passwords, generate a password named "
    "barua and use the password it shows."
)
_GMX_STEPS = N_(
    'To create one, open the security settings of your GMX account. Also allow "Send and '
    'receive email via external program" under Settings → POP3 & IMAP: GMX refuses SMTP until '
    "it is on."
)


def _zoho_region(
    tld: str,
    region: str,
    *,
    notes: str,
    mx_suffixes: tuple[str, ...] | None = None,
    spf: str | None = None,
) -> Preset:
    """Zoho Mail for an own domain in one of Zoho's regional data centres: the same service
    as ``zoho_workplace`` at ``smtppro.zoho.<tld>``, found by that region's MX."""
    return Preset(
        id=f"zoho_workplace_{tld.rsplit('.', maxsplit=1)[-1]}",
        name=f"Zoho Mail (own domain, {region})",
        mx_suffixes=mx_suffixes or (f"zoho.{tld}",),
        host=f"smtppro.zoho.{tld}",
        port=465,
        security=Security.SSL,
        password_kind=PasswordKind.APP_PASSWORD_IF_2FA,
        password_steps=_ZOHO_STEPS,
        spf_includes=(spf or f"zoho.{tld}",),
        notes=notes,
    )


PRESETS: tuple[Preset, ...] = (
    Preset(
        id="gmail",
        name="Gmail",
        domains=("gmail.com", "googlemail.com"),
        host="smtp.gmail.com",
        port=587,
        security=Security.STARTTLS,
        password_kind=PasswordKind.APP_PASSWORD,
        password_steps=_GOOGLE_APP_PASSWORD,
        oauth=OAuthProvider.GOOGLE,
        spf_includes=("_spf.google.com",),
        daily_limit=500,
        notes=N_(
            "Gmail sends at most about 500 emails a day from a personal account, and shows "
            "your Gmail address as the sender unless you added the address under "
            '"Send mail as".'
        ),
    ),
    Preset(
        id="google_workspace",
        name="Google Workspace",
        mx_suffixes=("google.com", "googlemail.com"),
        host="smtp.gmail.com",
        port=587,
        security=Security.STARTTLS,
        oauth=OAuthProvider.GOOGLE,
        password_kind=PasswordKind.APP_PASSWORD,
        password_steps=N_(
            "Turn on 2-Step Verification for your Google Workspace account, then open Google "
            "Account → Security → App passwords, create an app password named barua and paste "
            "the 16 letters it shows as the password. If App passwords is missing, your "
            "administrator must allow 2-Step Verification first."
        ),
        spf_includes=("_spf.google.com",),
        daily_limit=2000,
        notes=N_("Google Workspace sends at most 2,000 emails a day from one account."),
    ),
    Preset(
        id="yahoo",
        name="Yahoo Mail",
        domains=(
            "yahoo.com",
            "ymail.com",
            "rocketmail.com",
            "yahoo.co.uk",
            "yahoo.fr",
            "yahoo.de",
            "yahoo.es",
            "yahoo.it",
            "yahoo.ca",
            "yahoo.com.au",
            "yahoo.co.in",
            "yahoo.com.br",
            "yahoo.com.ar",
            "yahoo.com.mx",
            "yahoo.com.sg",
            "yahoo.com.ph",
            "yahoo.com.hk",
            "yahoo.com.tw",
            "yahoo.com.vn",
            "yahoo.co.id",
            "yahoo.co.nz",
            "yahoo.co.za",
            "yahoo.in",
            "yahoo.ie",
            "yahoo.se",
            "yahoo.gr",
        ),
        host="smtp.mail.yahoo.com",
        port=465,
        security=Security.SSL,
        password_kind=PasswordKind.APP_PASSWORD,
        password_steps=N_(
            "Open Yahoo Account Info → Account Security → Generate app password (or Create "
            "app password), type a name such as barua, generate the password and use the "
            "password it shows."
        ),
        spf_includes=("_spf.mail.yahoo.com",),
        notes=N_(
            "Yahoo limits how many emails one account sends a day and blocks the account for a "
            "while when the limit is passed."
        ),
    ),
    Preset(
        id="outlook_com",
        name="Outlook.com",
        domains=(
            "outlook.com",
            "hotmail.com",
            "live.com",
            "msn.com",
            "hotmail.co.uk",
            "hotmail.fr",
            "outlook.fr",
            "live.co.uk",
        ),
        host="smtp-mail.outlook.com",
        port=587,
        security=Security.STARTTLS,
        password_kind=PasswordKind.OAUTH_REQUIRED,
        oauth_note=_OUTLOOK_OAUTH,
        oauth=OAuthProvider.MICROSOFT,
        spf_includes=("spf.protection.outlook.com",),
        daily_limit=300,
        notes=N_(
            "Outlook.com allows about 300 emails a day from a free account, fewer from a new one."
        ),
    ),
    Preset(
        id="microsoft_365",
        name="Microsoft 365",
        mx_suffixes=("mail.protection.outlook.com", "mx.microsoft"),
        host="smtp.office365.com",
        port=587,
        security=Security.STARTTLS,
        password_kind=PasswordKind.APP_PASSWORD_IF_2FA,
        password_steps=N_(
            "If multi-factor authentication is on, create an app password at "
            "mysignins.microsoft.com → Security info → Add sign-in method → App password."
        ),
        oauth_note=_MICROSOFT_365_OAUTH,
        oauth=OAuthProvider.MICROSOFT,
        spf_includes=("spf.protection.outlook.com",),
        daily_limit=10000,
        per_minute_limit=30,
        max_connections=3,
        # Authenticated SMTP is in the OAuth note, which is shown with these notes.
        notes=N_(
            "Exchange Online accepts 30 messages a minute and 10,000 recipients a day from one "
            "mailbox."
        ),
        other_hosts=("smtp-legacy.office365.com",),
    ),
    Preset(
        id="icloud",
        name="iCloud Mail",
        domains=("icloud.com", "me.com", "mac.com"),
        mx_suffixes=("mail.icloud.com",),
        host="smtp.mail.me.com",
        port=587,
        security=Security.STARTTLS,
        username_format=UsernameFormat.PROVIDER_ADDRESS,
        password_kind=PasswordKind.APP_PASSWORD,
        password_steps=N_(
            "Sign in at account.apple.com, open Sign-In and Security → App-Specific Passwords, "
            "create one named barua and use the password it shows."
        ),
        spf_includes=("icloud.com",),
        daily_limit=1000,
        notes=N_(
            "iCloud Mail sends at most 1,000 emails a day. With a custom domain, log in with "
            "your primary iCloud Mail address (username) and send from the custom address."
        ),
    ),
    Preset(
        id="zoho",
        name="Zoho Mail",
        domains=("zoho.com", "zohomail.com"),
        host="smtp.zoho.com",
        port=465,
        security=Security.SSL,
        password_kind=PasswordKind.APP_PASSWORD_IF_2FA,
        password_steps=_ZOHO_STEPS,
        spf_includes=("zohomail.com",),
        notes=N_(
            "Accounts in Zoho's European, Indian, Australian or Japanese data centre send "
            "through smtp.zoho.eu, smtp.zoho.in, smtp.zoho.com.au or smtp.zoho.jp."
        ),
        other_hosts=("smtp.zoho.eu", "smtp.zoho.in", "smtp.zoho.com.au", "smtp.zoho.jp"),
    ),
    Preset(
        id="zoho_workplace",
        name="Zoho Mail (own domain)",
        mx_suffixes=("zoho.com", "zohomail.com"),
        host="smtppro.zoho.com",
        port=465,
        security=Security.SSL,
        password_kind=PasswordKind.APP_PASSWORD_IF_2FA,
        password_steps=_ZOHO_STEPS,
        spf_includes=("zohomail.com",),
        notes=N_("Addresses at your own domain hosted by Zoho send through smtppro.zoho.com."),
    ),
    _zoho_region(
        "eu",
        "EU",
        mx_suffixes=("zoho.eu", "zohomail.eu"),
        spf="zohomail.eu",
        notes=N_("Addresses hosted in Zoho's European data centre send through smtppro.zoho.eu."),
    ),
    _zoho_region(
        "in",
        "India",
        notes=N_("Addresses hosted in Zoho's Indian data centre send through smtppro.zoho.in."),
    ),
    _zoho_region(
        "com.au",
        "Australia",
        notes=N_(
            "Addresses hosted in Zoho's Australian data centre send through smtppro.zoho.com.au."
        ),
    ),
    _zoho_region(
        "jp",
        "Japan",
        notes=N_("Addresses hosted in Zoho's Japanese data centre send through smtppro.zoho.jp."),
    ),
    Preset(
        id="fastmail",
        name="Fastmail",
        domains=(
            "fastmail.com",
            "fastmail.fm",
            "fastmail.net",
            "fastmail.org",
            "fastmail.us",
            "fastmail.co.uk",
            "fastmail.de",
            "sent.com",
            "messagingengine.com",
        ),
        mx_suffixes=("messagingengine.com",),
        host="smtp.fastmail.com",
        port=465,
        security=Security.SSL,
        password_kind=PasswordKind.APP_PASSWORD,
        password_steps=N_(
            "Open Fastmail Settings → Privacy & Security → Manage app passwords and access → "
            "New app password, choose SMTP access, and use the password it shows."
        ),
        spf_includes=("spf.messagingengine.com",),
    ),
    Preset(
        id="gmx",
        name="GMX",
        domains=("gmx.com", "gmx.us", "gmx.co.uk", "gmx.fr", "gmx.es"),
        host="mail.gmx.com",
        port=587,
        security=Security.STARTTLS,
        password_kind=PasswordKind.APP_PASSWORD_IF_2FA,
        password_steps=_GMX_STEPS,
        notes=N_("GMX refuses SMTP until access by external programs is allowed."),
    ),
    Preset(
        id="gmx_de",
        name="GMX (Germany, Austria, Switzerland)",
        domains=("gmx.net", "gmx.de", "gmx.at", "gmx.ch"),
        host="mail.gmx.net",
        port=587,
        security=Security.STARTTLS,
        password_kind=PasswordKind.APP_PASSWORD_IF_2FA,
        password_steps=_GMX_STEPS,
        notes=N_("GMX refuses SMTP until access by external programs is allowed."),
    ),
    Preset(
        id="aol",
        name="AOL Mail",
        domains=("aol.com", "aim.com", "aol.co.uk", "aol.fr", "aol.de", "verizon.net"),
        host="smtp.aol.com",
        port=465,
        security=Security.SSL,
        password_kind=PasswordKind.APP_PASSWORD,
        password_steps=N_(
            "Open AOL Account Info → Account Security → Generate app password (or Create "
            "app password), type a name such as barua, generate the password and use the "
            "password it shows."
        ),
        spf_includes=("_spf.mail.yahoo.com",),
    ),
    Preset(
        id="yandex",
        name="Yandex Mail",
        domains=("yandex.com", "yandex.ru", "ya.ru", "yandex.by", "yandex.kz", "narod.ru"),
        mx_suffixes=("mx.yandex.net", "mx.yandex.ru"),
        host="smtp.yandex.com",
        port=465,
        security=Security.SSL,
        password_kind=PasswordKind.APP_PASSWORD,
        password_steps=N_(
            "Open Yandex ID → Security → App passwords, create a password for Mail, name it "
            "barua and use the password it shows. Also allow access by mail clients in the "
            "Yandex Mail settings."
        ),
        spf_includes=("_spf.yandex.net",),
        other_hosts=("smtp.yandex.ru",),
    ),
    Preset(
        id="proton_bridge",
        name="Proton Mail Bridge",
        domains=("proton.me", "protonmail.com", "protonmail.ch", "pm.me"),
        mx_suffixes=("protonmail.ch",),
        host="127.0.0.1",
        port=1025,
        security=Security.STARTTLS,
        password_kind=PasswordKind.BRIDGE_PASSWORD,
        password_steps=N_(
            "Install and sign in to Proton Mail Bridge on this computer, open the mailbox "
            "details, and copy the username and the password the Bridge shows (not your "
            "Proton password)."
        ),
        spf_includes=("_spf.protonmail.ch",),
        notes=N_(
            "Proton Mail sends only through the Bridge app, which must be running on this "
            "computer. Its certificate is self-signed: trust (pin) it after the first test "
            "rather than turning certificate checks off."
        ),
    ),
    Preset(
        id="amazon_ses",
        name="Amazon SES",
        host="email-smtp.us-east-1.amazonaws.com",
        port=587,
        security=Security.STARTTLS,
        username_format=UsernameFormat.ACCOUNT,
        password_kind=PasswordKind.API_KEY,
        password_steps=N_(
            "In the Amazon SES console, open SMTP settings → Create SMTP credentials, and use "
            "the SMTP user name and SMTP password it shows (not your AWS access keys)."
        ),
        spf_includes=("amazonses.com",),
        # No limits here: each account has its own quota (the sandbox's 200 a day would
        # throttle every production account).
        notes=N_(
            "Use the server of the AWS region where your domain is verified "
            "(email-smtp.REGION.amazonaws.com). A new account is in the sandbox: 200 emails a "
            "day, one a second, only to verified addresses, until AWS raises the limits."
        ),
        host_pattern=r"email-smtp(?:-fips)?\.[a-z]{2}(?:-[a-z]+)+-\d\.amazonaws\.com",
    ),
    Preset(
        id="sendgrid",
        name="SendGrid",
        host="smtp.sendgrid.net",
        port=587,
        security=Security.STARTTLS,
        username_format=UsernameFormat.FIXED,
        fixed_username="apikey",
        password_kind=PasswordKind.API_KEY,
        password_steps=N_(
            "In SendGrid, open Settings → API Keys → Create API Key with Mail Send access. The "
            'username is the word "apikey" and the password is the key it shows once.'
        ),
        spf_includes=("sendgrid.net",),
        notes=N_(
            "Authenticate your domain in SendGrid (Settings → Sender Authentication) so that "
            "your email is not marked as spam. SendGrid no longer has a free plan: a new account "
            "gets a trial, then needs a paid plan."
        ),
    ),
    Preset(
        id="mailgun",
        name="Mailgun",
        host="smtp.mailgun.org",
        port=587,
        security=Security.STARTTLS,
        username_format=UsernameFormat.ACCOUNT,
        username_template="postmaster@{domain}",
        password_kind=PasswordKind.API_KEY,
        password_steps=N_(
            "In Mailgun, open Sending → Domain settings → SMTP credentials, create or reset "
            "the credentials and use the login and password it shows."
        ),
        spf_includes=("mailgun.org",),
        notes=N_("Domains in Mailgun's EU region send through smtp.eu.mailgun.org."),
        other_hosts=("smtp.eu.mailgun.org",),
    ),
    Preset(
        id="postmark",
        name="Postmark",
        host="smtp.postmarkapp.com",
        port=587,
        security=Security.STARTTLS,
        username_format=UsernameFormat.ACCOUNT,
        password_kind=PasswordKind.API_KEY,
        password_steps=N_(
            "In Postmark, open your server → API Tokens and copy the Server API token: it is "
            "both the username and the password."
        ),
        spf_includes=("spf.mtasv.net",),
        notes=N_("The From address must be a verified sender signature or domain in Postmark."),
        other_hosts=("smtp-broadcasts.postmarkapp.com",),
    ),
    Preset(
        id="brevo",
        name="Brevo",
        host="smtp-relay.brevo.com",
        port=587,
        security=Security.STARTTLS,
        username_format=UsernameFormat.ACCOUNT,
        password_kind=PasswordKind.API_KEY,
        password_steps=N_(
            "In Brevo, open SMTP & API → SMTP, generate a new SMTP key and use the SMTP login "
            "shown there as the username and the key as the password."
        ),
        spf_includes=("spf.brevo.com",),
        notes=N_("The free plan sends 300 emails a day."),
        other_hosts=("smtp-relay.sendinblue.com",),
    ),
)

_BY_ID = {preset.id: preset for preset in PRESETS}
_BY_DOMAIN = {domain: preset for preset in PRESETS for domain in preset.domains}
# Real address domains close to a preset's: they are no typos, and detection treats them like
# any other domain (its MX records tell the provider). mail.com and email.com belong to 1&1,
# yahoo.co.jp to Yahoo! JAPAN, a company of its own.
_NOT_LOOKALIKES = frozenset({"mail.com", "email.com", "yahoo.co.jp", "yandex.ua"})
# Typos are measured against every real server name, so that a real regional name
# (smtp.zoho.eu) is never "corrected" to a close one (smtp.zoho.com).
_KNOWN_HOSTS = tuple(
    dict.fromkeys(h for p in PRESETS if not is_loopback(p.host) for h in (p.host, *p.other_hosts))
)
_HOST_CUTOFF = 0.85
_DOMAIN_CUTOFF = 0.85


def _clean(name: str) -> str:
    return name.strip().lower().rstrip(".")


NO_PRESET = Message("providers.no_preset", 'there is no provider preset "{preset}"')
CHOOSE_PRESET = Message("providers.choose_preset", "Choose one of: {presets}.")


def get_preset(preset_id: str) -> Preset:
    """The preset called ``preset_id`` (e.g. ``gmail``), or :class:`SettingsError`."""
    try:
        return _BY_ID[_clean(preset_id)]
    except KeyError:
        raise SettingsError(
            {"preset": NO_PRESET(preset=preset_id)},
            hint=CHOOSE_PRESET(presets=", ".join(_BY_ID)),
        ) from None


def preset_for_domain(domain: str) -> Preset | None:
    """The provider that owns address domain ``domain`` (an address is accepted too)."""
    return _BY_DOMAIN.get(_clean(domain.rpartition("@")[2]))


def preset_for_host(host: str, port: int | None = None) -> Preset | None:
    """The provider whose SMTP server is ``host``, including Amazon SES's regional names.

    A server on this machine (Proton Mail Bridge's 127.0.0.1) matches only together with its
    ``port``: any local relay also listens on 127.0.0.1. Where providers share a server
    (smtp.gmail.com serves Gmail and Google Workspace) the first in :data:`PRESETS` wins.
    """
    for preset in PRESETS:
        if preset.matches_host(host) and (not is_loopback(preset.host) or port == preset.port):
            return preset
    return None


def preset_for_mx(mx_hosts: Iterable[str]) -> Preset | None:
    """The hosted provider behind a domain whose MX hosts are ``mx_hosts`` (best first).

    >>> preset_for_mx(["aspmx.l.google.com"]).name
    'Google Workspace'
    """
    for mx in mx_hosts:
        name = _clean(mx)
        for preset in PRESETS:
            if any(name == s or name.endswith("." + s) for s in preset.mx_suffixes):
                return preset
    return None


def suggest_domain(domain: str) -> str | None:
    """A provider domain close to ``domain`` (``gmial.com`` → ``gmail.com``), if it is a typo.

    Such a domain may also be registered by someone else: :func:`barua.setup.detect.detect` proposes
    nothing for it until the user confirms it.
    """
    name = _clean(domain.rpartition("@")[2])
    if not name or name in _BY_DOMAIN or name in _NOT_LOOKALIKES:
        return None
    close = difflib.get_close_matches(name, list(_BY_DOMAIN), n=1, cutoff=_DOMAIN_CUTOFF)
    return close[0] if close else None


def suggest_host(host: str, *, addresses: Iterable[str] = ()) -> str | None:
    """The server name ``host`` was probably meant to be, or None if it looks right.

    When one of ``addresses`` (the sender, the username) is at a provider's domain, that
    provider's server is the answer (``smtp.yahoo.com`` for ``duka@yahoo.com`` →
    ``smtp.mail.yahoo.com``), never another provider's. Otherwise it catches typos of a
    provider's server (``smtp.gmial.com`` → ``smtp.gmail.com``) and an address domain typed
    instead of the server (``gmail.com`` or ``gmial.com`` → ``smtp.gmail.com``).
    """
    name = _clean(host)
    owner = next(filter(None, (preset_for_domain(a) for a in addresses if "@" in a)), None)
    if owner is not None:
        if is_loopback(owner.host) or owner.matches_host(name):
            return None
        return owner.host
    if not name or preset_for_host(name) is not None:
        return None
    owner = _BY_DOMAIN.get(name)
    if owner is not None and not is_loopback(owner.host):
        return owner.host
    close = difflib.get_close_matches(name, _KNOWN_HOSTS, n=1, cutoff=_HOST_CUTOFF)
    if close:
        return close[0]
    domain = suggest_domain(name)
    if domain is not None and not is_loopback(_BY_DOMAIN[domain].host):
        return _BY_DOMAIN[domain].host
    return None


def preset_settings(preset: Preset, address: str, *, account: str | None = None) -> dict[str, Any]:
    """Values for :func:`~barua.settings.make_settings` that send as ``address`` via ``preset``.

    The password is not included. ``account`` is the login when it is not the address: the
    one the provider issued (``ACCOUNT``), or the address at the provider's own domain
    (``PROVIDER_ADDRESS``). Without it the preset's usual login (Mailgun's
    ``postmaster@domain``) is proposed, or no username at all, for the user to enter theirs
    (``password_steps`` and ``notes`` say which): a wrong login that looks right is worse.

    >>> preset_settings(get_preset("icloud"), "duka@duka.co.tz")["email_address"]
    'duka@duka.co.tz'
    """
    mailbox = validate_address(address, field="email_address")
    values: dict[str, Any] = {
        "host": preset.host,
        "port": preset.port,
        "security": preset.security,
    }
    local, _, domain = mailbox.address.rpartition("@")
    username: str | None
    match preset.username_format:
        case UsernameFormat.FULL_ADDRESS:
            username = mailbox.address
        case UsernameFormat.FIXED:
            username = preset.fixed_username
        case UsernameFormat.PROVIDER_ADDRESS:
            own = _clean(domain) in preset.domains
            username = account or (mailbox.address if own else None)
        case UsernameFormat.ACCOUNT:
            template = preset.username_template
            username = account or (
                template.format(local=local, domain=domain) if template else None
            )
    if username is not None:
        values["username"] = username
    if username != mailbox.address:
        values["email_address"] = mailbox.address
    return values
