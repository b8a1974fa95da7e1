"""What a failed delivery means and what to do about it, in plain words (pure: no I/O).

The transports say *what* failed (:class:`~barua.errors.Cause`, step, server reply); this
module turns that into the sentence a shop owner needs, in English or Kiswahili, the way an
expert with swaks and openssl would explain it. The summary and fix of each cause come from
:mod:`barua.transports.causes`, the table the transports take their hints from; this module
adds what depends on the provider and the settings (app passwords, Microsoft's replies, port
25, a mistyped server name) and the evidence (the reply, the certificate).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from barua.choices import AuthMethod
from barua.errors import (
    SYSTEM_MEANINGS,
    BaruaError,
    Cause,
    MessageTooLarge,
    Step,
    TLSError,
    TransportError,
)
from barua.i18n import N_, resolve_language, translator
from barua.settings import Protocol, Settings
from barua.setup.providers import (
    PasswordKind,
    Preset,
    preset_for_domain,
    preset_for_host,
    suggest_host,
)
from barua.transports.base import format_size
from barua.transports.causes import GENERAL, explain, filled
from barua.transports.oauth import sign_in_values

STEP_LABELS: dict[Step, str] = {
    Step.RESOLVE: N_("find the server"),
    Step.CONNECT: N_("connect"),
    Step.TLS: N_("encrypt (SSL/TLS)"),
    Step.GREETING: N_("server greeting"),
    Step.EHLO: N_("introduce ourselves"),
    Step.STARTTLS: N_("encrypt (STARTTLS)"),
    Step.CERTIFICATE: N_("check the certificate"),
    Step.AUTH: N_("log in"),
    Step.MAIL_FROM: N_("sender"),
    Step.RCPT_TO: N_("recipient"),
    Step.DATA: N_("send the message"),
    Step.HTTP_REQUEST: N_("send to the service"),
    Step.ACCEPTED: N_("accepted"),
}

_APP_PASSWORD = N_("{provider} needs an app password, not your normal password. {steps}")
_APP_PASSWORD_IF_2FA = N_(
    "If 2-step verification is on for your {provider} account, it needs an app password, "
    "not your normal password. {steps}"
)
_SMTP_CREDENTIALS = N_(
    "{provider} logs in with the SMTP credentials it issues, not your account password. {steps}"
)
_BRIDGE = N_("{provider}: use the password that the Bridge app shows, not your account password.")
_SEND_AS_ANOTHER = N_(
    "You signed in with {provider} as {account}, which is not {sender}: sign in again as "
    "{sender} (barua settings oauth {provider_id}), or ask an administrator to let {account} "
    "send as {sender}."
)
_SELF_SIGNED_EXPIRED = N_(
    "the server's certificate is self-signed, so this computer cannot check it, and it "
    "expired on {expiry}"
)
_DID_YOU_MEAN = N_('Did you mean "{suggestion}"?')
_PORT_25 = N_("Port 25 is blocked by many internet providers: use 587 or 465.")
_TOO_LARGE_LIMIT = N_("the message is {size}; the server accepts at most {limit}")
_TOO_LARGE_SIZE = N_("the message ({size}) is larger than the server accepts")

# Microsoft's replies to AUTH: 5.7.139 and 5.7.30 say that SMTP login with a password (basic
# authentication) is off for the mailbox or the whole organisation; 5.7.3 is a wrong password.
_BASIC_AUTH_OFF = re.compile(r"\b5\.7\.(?:139|30)\b")
_WRONG_PASSWORD = re.compile(r"\b5\.7\.3\b")
_MICROSOFT = frozenset({"microsoft_365", "outlook_com"})
_MICROSOFT_365_BASIC_AUTH_OFF = (
    N_("Microsoft 365 does not allow SMTP login with a password for this mailbox"),
    N_(
        "An administrator must turn on Authenticated SMTP for the mailbox (Microsoft 365 admin "
        "center → Users → Active users → the user → Mail → Manage email apps) and allow it for "
        "the organisation (security defaults turn it off). Or sign in with Microsoft instead of "
        "a password: barua settings oauth microsoft."
    ),
)
_OUTLOOK_BASIC_AUTH_OFF = N_(
    "Outlook.com does not allow SMTP login with a password for this account"
)
_MICROSOFT_365_WRONG_PASSWORD = N_(
    "Check the username (the full email address) and the password. If multi-factor "
    "authentication is on, create an app password at mysignins.microsoft.com → Security info → "
    "Add sign-in method → App password, and use it instead."
)
_RETIRING = N_(
    "Microsoft is retiring basic authentication (username and password) for SMTP: sign in "
    "with Microsoft instead (barua settings oauth microsoft)."
)

_CERT_LINES = (
    N_("certificate subject: {subject}"),
    N_("issued by: {issuer}"),
    N_("valid until: {expiry}"),
    N_("SHA-256 fingerprint: {sha256}"),
)
_CHANGED_LINES = (
    N_("SHA-256 fingerprint you trusted: {pinned}"),
    N_("SHA-256 fingerprint presented now: {sha256}"),
)
_SERVER_REPLIED = N_("server replied: {reply}")
_SYSTEM_ERROR = N_("system error: {error}")
_SYSTEM_ERROR_MEANS = N_("system error: {error} (that is: {meaning})")
_SEEN = N_("technical details: {message}")


@dataclass(frozen=True, slots=True)
class Advice:
    """The explanation of one failure: what went wrong, what to do, and the evidence."""

    cause: Cause
    summary: str
    fix: str
    details: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "cause": str(self.cause),
            "summary": self.summary,
            "fix": self.fix,
            "details": list(self.details),
        }


def _preset(settings: Settings | None) -> Preset | None:
    if settings is None or settings.protocol is Protocol.HTTP:
        return None
    if settings.host:
        found = preset_for_host(settings.host, settings.port)
        if found is not None:
            return found
    try:
        return preset_for_domain(settings.from_address.rsplit("@", 1)[1])
    except (AssertionError, IndexError, ValueError):
        return None


def _addresses(settings: Settings | None) -> list[str]:
    """The sender's and the username's addresses: their domain names the provider."""
    if settings is None or settings.protocol is Protocol.HTTP:
        return []
    found = [settings.email_address or "", settings.username or ""]
    return [a for a in found if "@" in a]


def password_advice(preset: Preset, gettext: Callable[[str], str]) -> str | None:
    """What to put in the password field for ``preset``: the app password and where to
    create it, the API key, or why OAuth is needed; None for a normal password."""
    steps = gettext(preset.password_steps) if preset.password_steps else ""
    if preset.oauth_note:
        return gettext(preset.oauth_note)
    template = {
        PasswordKind.APP_PASSWORD: _APP_PASSWORD,
        PasswordKind.APP_PASSWORD_IF_2FA: _APP_PASSWORD_IF_2FA,
        PasswordKind.API_KEY: _SMTP_CREDENTIALS,
        PasswordKind.BRIDGE_PASSWORD: _BRIDGE,
    }.get(preset.password_kind)
    if template is None:
        return None
    return gettext(template).format(provider=preset.name, steps=steps).strip()


def _oauth_note(preset: Preset, gettext: Callable[[str], str]) -> str:
    """The preset's note on signing in, translated; "" when it has none (gettext("") would
    answer the catalog's header)."""
    return gettext(preset.oauth_note) if preset.oauth_note else ""


def _microsoft_login(
    preset: Preset, error: TransportError, gettext: Callable[[str], str], lang: str | None
) -> tuple[str | None, str] | None:
    """For Microsoft 365 and Outlook.com, a refused login by the reason the reply gives:
    password login switched off (5.7.139, 5.7.30) or a wrong password (5.7.3). The new
    summary (None: keep it) and the fix; None for other providers."""
    if preset.id not in _MICROSOFT:
        return None
    if preset.id == "outlook_com":
        # Outlook.com turned basic authentication for SMTP off in September 2024: no password
        # works there, an app password included, whatever the reply says.
        return gettext(_OUTLOOK_BASIC_AUTH_OFF), _oauth_note(preset, gettext)
    reply = error.reply or ""
    if _BASIC_AUTH_OFF.search(reply):
        summary, fix = _MICROSOFT_365_BASIC_AUTH_OFF
        return gettext(summary), gettext(fix)
    if _WRONG_PASSWORD.search(reply):
        check = _MICROSOFT_365_WRONG_PASSWORD
        retiring = gettext(_RETIRING).format(provider=preset.name)
        return None, f"{gettext(check)} {retiring}"
    # No known reason: the password may be wrong, or password login may be off.
    general = GENERAL[Cause.AUTH_REFUSED].fix().render(lang)
    return None, f"{general} {_oauth_note(preset, gettext)}".strip()


_SIGN_IN_CAUSES = frozenset(
    {
        Cause.SIGN_IN_NEEDED,
        Cause.SIGN_IN_EXPIRED,
        Cause.SIGN_IN_FAILED,
        Cause.CONSENT_NEEDED,
        Cause.TOKEN_REFUSED,
        Cause.SMTP_AUTH_DISABLED,
        Cause.PROVIDER_UNREACHABLE,
    }
)


def _signed_in_as_another(settings: Settings | None, account: str) -> bool:
    """Whether the sign-in with the provider (OAuth) is another mailbox than the sender."""
    if settings is None or settings.auth is not AuthMethod.OAUTH or not account:
        return False
    return account.lower() != settings.from_address.lower()


def step_label(step: Step, lang: str | None = None) -> str:
    """A step as the user reads it, e.g. ``log in``."""
    return translator(lang).gettext(STEP_LABELS[step])


def advise(error: BaruaError, settings: Settings | None = None, lang: str | None = None) -> Advice:
    """Explain ``error`` for a person, in ``lang``."""
    gettext = translator(lang).gettext
    if not isinstance(error, TransportError):
        return Advice(Cause.UNKNOWN, str(error), error.hint or "")
    cause = error.cause
    certificate = error.certificate if isinstance(error, TLSError) else None
    values: dict[str, Any] = {
        "host": error.host or "",
        "port": error.port or "",
        "recipient": error.recipient or "",
        "sender": settings.from_address if settings is not None else "",
        "issuer": certificate.issuer if certificate else "?",
        "expiry": certificate.not_after.date().isoformat() if certificate else "?",
        "names": ", ".join(certificate.names) if certificate and certificate.names else "?",
        # A sign-in with the provider (OAuth): who, and the command that signs in again.
        **(
            sign_in_values(settings)
            if settings is not None
            else {"provider": "?", "provider_id": "microsoft", "account": ""}
        ),
    }
    http = settings is not None and settings.protocol is Protocol.HTTP
    explained = explain(error.cause, http=http, step=error.step, replied=error.code is not None)
    fix = filled(explained.fix, values)
    summary = filled(explained.summary, values).render(lang)
    if error.cause in _SIGN_IN_CAUSES and (settings is None or error.cause is Cause.SIGN_IN_FAILED):
        # The sign-in's own words name the provider and what happened more precisely than
        # the cause's, and its hint already names the provider and the command.
        summary = error.render(lang)
        if error.hint_text is not None:
            fix = error.hint_text
    if cause is Cause.CERT_SELF_SIGNED and certificate is not None and certificate.expired():
        # OpenSSL names the first problem it meets, "self-signed"; an expired one is worse.
        summary = gettext(_SELF_SIGNED_EXPIRED).format(**values)
    if isinstance(error, MessageTooLarge) and error.size is not None:
        if error.limit is not None:
            summary = gettext(_TOO_LARGE_LIMIT).format(
                size=format_size(error.size, unlike=error.limit),
                limit=format_size(error.limit, unlike=error.size),
            )
        else:
            summary = gettext(_TOO_LARGE_SIZE).format(size=format_size(error.size))
    fixes = [fix.render(lang)]
    details: list[str] = []
    if cause is Cause.UNKNOWN:
        # Nothing specific is known. The transport's own words are English: shown as they are
        # in English, as evidence under a translated summary otherwise; then the last resort.
        if resolve_language(lang) == "en":
            summary = error.message
            own = error.hint_text
            hints = [fix] if own is None or own.code == fix.code else [own, fix]
            fixes = [text for text in (hint.render() for hint in hints) if text]
        else:
            details.append(gettext(_SEEN).format(message=error.message))
    preset = _preset(settings)
    if cause is Cause.HOST_NOT_FOUND and error.host:
        suggestion = suggest_host(error.host, addresses=_addresses(settings))
        if suggestion:
            fixes.append(gettext(_DID_YOU_MEAN).format(suggestion=suggestion))
    unreachable = (Cause.CONNECTION_TIMEOUT, Cause.CONNECTION_REFUSED)
    if cause in unreachable and error.step is Step.CONNECT and error.port == 25 and not http:
        fixes = [gettext(_PORT_25)]
    if cause is Cause.SENDER_REFUSED and _signed_in_as_another(settings, values["account"]):
        fixes = [gettext(_SEND_AS_ANOTHER).format(**values)]
    microsoft = _microsoft_login(preset, error, gettext, lang) if preset is not None else None
    if cause is Cause.AUTH_REFUSED and microsoft is not None:
        summary = microsoft[0] or summary
        fixes = [microsoft[1]]
    elif cause is Cause.AUTH_REFUSED and preset is not None:
        specific = password_advice(preset, gettext)
        if specific:
            fixes = [specific]
    if error.code is not None and error.reply is not None:
        details.append(gettext(_SERVER_REPLIED).format(reply=f"{error.code} {error.reply}"))
    elif error.system_error is not None:
        meaning = SYSTEM_MEANINGS.get(error.system_errno or 0)
        if meaning is not None and lang not in (None, "en"):
            # The system's words stay as they are (to search for); what they mean is said too.
            details.append(
                gettext(_SYSTEM_ERROR_MEANS).format(
                    error=error.system_error, meaning=meaning().render(lang)
                )
            )
        else:
            details.append(gettext(_SYSTEM_ERROR).format(error=error.system_error))
    if certificate is not None:
        info = {
            "subject": certificate.subject,
            "issuer": certificate.issuer,
            "expiry": certificate.not_after.date().isoformat(),
            "sha256": certificate.sha256,
            "pinned": (error.pinned if isinstance(error, TLSError) else None) or "?",
        }
        lines: tuple[str, ...] = _CERT_LINES
        if cause is Cause.CERT_CHANGED:
            lines = (*_CERT_LINES[:-1], *_CHANGED_LINES)
        details += [gettext(line).format(**info) for line in lines]
    return Advice(cause, summary, " ".join(fixes), details)
