"""What a failed delivery means and what to do about it, in plain words (pure: no I/O).

The transports say *what* failed (:class:`~barua.errors.Cause`, step, server reply); this
module turns that into the sentence a shop owner needs, in English or Kiswahili, the way an
expert with swaks and openssl would explain it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from barua.errors import BaruaError, Cause, MessageTooLarge, Step, TLSError, TransportError
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

# cause: (what went wrong, what to do). Placeholders are filled from the error and settings.
_TEXTS: dict[Cause, tuple[str, str]] = {
    Cause.HOST_NOT_FOUND: (
        N_('the server name "{host}" could not be found'),
        N_("Check the spelling of the server name and that this computer is online."),
    ),
    Cause.CONNECTION_REFUSED: (
        N_("{host} refused the connection on port {port}"),
        N_(
            "Check the port: most providers use 587 (STARTTLS) or 465 (SSL/TLS). If the port "
            "is right, the server may be down."
        ),
    ),
    Cause.CONNECTION_TIMEOUT: (
        N_("no answer from {host} on port {port}"),
        N_(
            "A firewall or antivirus program may be blocking the connection, or the port is "
            "wrong. Internet providers often block port 25: use 587 or 465 instead."
        ),
    ),
    Cause.NO_ROUTE: (
        N_("this computer has no route to {host} (port {port})"),
        N_(
            "The network between this computer and the server is not reachable: check the "
            "internet connection, a VPN that may be switched on or off, or a firewall that "
            "blocks the way out."
        ),
    ),
    Cause.CONNECTION_LOST: (
        N_("the server closed the connection"),
        N_("The server may be busy or limiting connections: try again in a few minutes."),
    ),
    Cause.EXPECTS_STARTTLS: (
        N_("port {port} expects STARTTLS, but the settings use SSL/TLS from the start"),
        N_("Set security to STARTTLS, or use port 465 with SSL/TLS."),
    ),
    Cause.EXPECTS_IMPLICIT_TLS: (
        N_("port {port} expects SSL/TLS from the start, but the settings use STARTTLS"),
        N_("Set security to SSL/TLS, or use port 587 with STARTTLS."),
    ),
    Cause.NO_STARTTLS: (
        N_("the server offers no encryption (STARTTLS) on port {port}"),
        N_(
            "Use port 465 with SSL/TLS, or the port your provider gives for STARTTLS "
            "(usually 587). barua never sends mail and passwords unencrypted."
        ),
    ),
    Cause.CERT_SELF_SIGNED: (
        N_("the server's certificate is self-signed, so this computer cannot check it"),
        N_(
            "If this is your own server, trust this certificate (barua settings "
            "trust-certificate, or barua test --trust-certificate) rather than turning "
            "verification off."
        ),
    ),
    Cause.CERT_UNTRUSTED: (
        N_("the server's certificate was issued by {issuer}, which this computer does not trust"),
        N_(
            "If this is your own or your company's server, trust this certificate (barua "
            "settings trust-certificate), or add your authority's certificate with "
            "SSL_CERT_FILE."
        ),
    ),
    Cause.CERT_EXPIRED: (
        N_("the server's certificate expired on {expiry}"),
        N_("Ask the server's administrator or your provider to renew the certificate."),
    ),
    Cause.CERT_WRONG_HOST: (
        N_("the server's certificate is for {names}, not for {host}"),
        N_("Use the server name the certificate was issued for, or check the host."),
    ),
    Cause.CERT_CHANGED: (
        N_("the server's certificate has changed since you trusted it"),
        N_(
            "If the certificate was renewed, check the new fingerprint with the server's "
            "administrator and trust it again. Otherwise someone may be intercepting the "
            "connection: do not send."
        ),
    ),
    Cause.TLS_FAILED: (
        N_("the encrypted connection could not be set up"),
        N_(
            "The server may only offer old encryption (before TLS 1.2), which barua refuses. "
            "Ask your provider for a current server name and port."
        ),
    ),
    Cause.INSECURE_LOGIN: (
        N_("the connection is not encrypted, so barua did not send the password"),
        N_("Use port 587 with STARTTLS or port 465 with SSL/TLS."),
    ),
    Cause.AUTH_NOT_OFFERED: (
        N_("the server does not offer a login on port {port}"),
        N_(
            "Use your provider's submission port (587 or 465), or leave the username empty "
            "if this server needs no login."
        ),
    ),
    Cause.AUTH_REFUSED: (
        N_("the server refused the username or password"),
        N_(
            "Check the username and password. Many providers need an app password instead of "
            "your normal password."
        ),
    ),
    Cause.AUTH_REQUIRED: (
        N_("the server requires a login before it accepts mail"),
        N_("Enter the username and password of the mailbox."),
    ),
    Cause.SENDER_REFUSED: (
        N_("the server does not allow sending as {sender}"),
        N_(
            "Send from the address of the mailbox you log in with, or add {sender} as an "
            'allowed "send mail as" address at your provider.'
        ),
    ),
    Cause.RECIPIENT_REFUSED: (
        N_("the server refused the recipient {recipient}"),
        N_(
            "Check the address. If the server says it does not relay, it wants a login: set "
            "the username and password."
        ),
    ),
    Cause.COPY_REFUSED: (
        N_("the server refused {recipient}, the address that gets a copy of every email"),
        N_(
            "The test email went to the other recipients, but every email would go without "
            "its copy. Check the copy address (--bcc-copy), or stop sending copies "
            "(--no-bcc-copy)."
        ),
    ),
    Cause.MESSAGE_TOO_LARGE: (
        N_("the message is larger than the server accepts"),
        N_("Send smaller attachments, or a link to the file instead."),
    ),
    Cause.TRY_LATER: (
        N_("the server asked to try again later"),
        N_(
            "This is usually temporary (greylisting, a busy server or a sending limit): try "
            "again in a few minutes."
        ),
    ),
    Cause.SMTPUTF8_UNSUPPORTED: (
        N_("the server does not accept international email addresses"),
        N_("Use an address with only plain letters (a-z) before the @."),
    ),
    Cause.OUTCOME_UNKNOWN: (
        N_("the server did not confirm the message after receiving it"),
        N_("Check whether the email arrived before sending it again."),
    ),
    Cause.SERVICE_REFUSED: (
        N_("the server refused the message"),
        N_("The server's reply gives the reason."),
    ),
    Cause.API_KEY_REFUSED: (
        N_("the email service refused the API key"),
        N_(
            "Copy the API key again from the email service and enter it in the settings; if "
            "it is right, ask the service's administrator whether it may send for your address."
        ),
    ),
    Cause.UNKNOWN: (
        N_("the email could not be sent"),
        N_(
            "Try the same settings in another mail client such as Thunderbird: if it fails "
            "there too, ask your email provider."
        ),
    ),
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
_DID_YOU_MEAN = N_('Did you mean "{suggestion}"?')
_PORT_25 = N_("Port 25 is blocked by many internet providers: use 587 or 465.")
_STARTTLS_REQUIRED = (
    N_("the server requires encryption (STARTTLS) before it accepts mail"),
    N_("Set security to STARTTLS (port 587) or SSL/TLS (port 465)."),
)
_NO_GREETING = (
    N_("{host} accepted the connection on port {port} but did not answer"),
    N_(
        "The port may belong to another service, or the server is overloaded. Check the "
        "port: most providers use 587 (STARTTLS) or 465 (SSL/TLS)."
    ),
)
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
        "the organisation (security defaults turn it off). Microsoft is retiring this basic "
        "authentication for SMTP: sending through Microsoft 365 will need sign-in with OAuth."
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
    "Microsoft is retiring basic authentication (username and password) for SMTP: sending "
    "through {provider} will need sign-in with OAuth."
)

# An HTTP email service is reached at the address in http_service_url: the SMTP advice about
# ports 587 and 465, port 25 and `barua settings trust-certificate` does not apply to it.
_HTTP_TEXTS: dict[Cause, tuple[str, str]] = {
    Cause.HOST_NOT_FOUND: (
        N_('the email service\'s name "{host}" could not be found'),
        N_("Check the address in http_service_url and that this computer is online."),
    ),
    Cause.CONNECTION_REFUSED: (
        N_("the email service at {host} refused the connection on port {port}"),
        N_(
            "Check the address and port in http_service_url, and that the email service is running."
        ),
    ),
    Cause.CONNECTION_TIMEOUT: (
        N_("no answer from the email service at {host} on port {port}"),
        N_(
            "A firewall, antivirus program or proxy may be blocking the connection: check the "
            "address and port in http_service_url, and this computer's proxy settings "
            "(HTTPS_PROXY)."
        ),
    ),
    Cause.CERT_SELF_SIGNED: (
        N_("the email service's certificate is self-signed, so this computer cannot check it"),
        N_(
            "If this is your own email service, add its certificate to the trusted ones with "
            'SSL_CERT_FILE, or tick "do not verify TLS certificate" (--skip-tls-verify) only on '
            "a network you trust."
        ),
    ),
    Cause.CERT_UNTRUSTED: (
        N_("this computer does not trust the email service's certificate"),
        N_(
            "If this is your own or your company's email service, add your authority's "
            'certificate with SSL_CERT_FILE, or tick "do not verify TLS certificate" '
            "(--skip-tls-verify) only on a network you trust."
        ),
    ),
    Cause.CERT_WRONG_HOST: (
        N_("the email service's certificate is for {names}, not for {host}"),
        N_("Use the address the certificate was issued for in http_service_url."),
    ),
    Cause.TLS_FAILED: (
        N_("the encrypted connection to the email service could not be set up"),
        N_(
            "The service may not speak HTTPS on that port: check the address and port in "
            "http_service_url (https:// only when the service uses TLS)."
        ),
    ),
    Cause.RECIPIENT_REFUSED: (
        N_("the email service refused the recipient {recipient}"),
        N_("Check the address; the service's reply gives the reason."),
    ),
}
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


def _templates(error: TransportError, http: bool) -> tuple[str, str]:
    """The (what went wrong, what to do) templates for ``error``."""
    cause = error.cause
    if http and cause in _HTTP_TEXTS:
        return _HTTP_TEXTS[cause]
    if cause is Cause.NO_STARTTLS and error.code is not None:
        # The server answered a command with "530 Must issue a STARTTLS command first": it
        # offers STARTTLS, the settings did not use it.
        return _STARTTLS_REQUIRED
    if cause is Cause.CONNECTION_TIMEOUT and error.step is Step.GREETING:
        return _NO_GREETING
    return _TEXTS[cause]


def _microsoft_login(
    preset: Preset, error: TransportError, gettext: Callable[[str], str]
) -> tuple[str | None, str] | None:
    """For Microsoft 365 and Outlook.com, a refused login by the reason the reply gives:
    password login switched off (5.7.139, 5.7.30) or a wrong password (5.7.3). The new
    summary (None: keep it) and the fix; None for other providers."""
    if preset.id not in _MICROSOFT:
        return None
    if preset.id == "outlook_com":
        # Outlook.com turned basic authentication for SMTP off in September 2024: no password
        # works there, an app password included, whatever the reply says.
        return gettext(_OUTLOOK_BASIC_AUTH_OFF), gettext(preset.oauth_note or "")
    reply = error.reply or ""
    if _BASIC_AUTH_OFF.search(reply):
        summary, fix = _MICROSOFT_365_BASIC_AUTH_OFF
        return gettext(summary), gettext(fix)
    if _WRONG_PASSWORD.search(reply):
        check = _MICROSOFT_365_WRONG_PASSWORD
        retiring = gettext(_RETIRING).format(provider=preset.name)
        return None, f"{gettext(check)} {retiring}"
    # No known reason: the password may be wrong, or password login may be off.
    general = gettext(_TEXTS[Cause.AUTH_REFUSED][1])
    return None, f"{general} {gettext(preset.oauth_note or '')}".strip()


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
    }
    http = settings is not None and settings.protocol is Protocol.HTTP
    summary_text, fix_text = _templates(error, http)
    summary = gettext(summary_text).format(**values)
    if isinstance(error, MessageTooLarge) and error.size is not None:
        if error.limit is not None:
            summary = gettext(_TOO_LARGE_LIMIT).format(
                size=format_size(error.size, unlike=error.limit),
                limit=format_size(error.limit, unlike=error.size),
            )
        else:
            summary = gettext(_TOO_LARGE_SIZE).format(size=format_size(error.size))
    fixes = [gettext(fix_text).format(**values)]
    details: list[str] = []
    if cause is Cause.UNKNOWN:
        # Nothing specific is known. The transport's own words are English: shown as they are
        # in English, as evidence under a translated summary otherwise; then the last resort.
        if resolve_language(lang) == "en":
            summary = error.message
            fixes = [f for f in (error.hint, gettext(fix_text)) if f]
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
    microsoft = _microsoft_login(preset, error, gettext) if preset is not None else None
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
