"""What each cause of a failed delivery means and what to do about it: the one table.

A transport gives its error the fix of its cause (:func:`fix_for`) unless it knows something
more particular about that one failure (its own hint, in :mod:`~barua.transports.messages`);
:mod:`barua.setup.advice` explains a failure with the same summary and fix, refined for the
provider. So the words for one cause are written once::

    raise ConnectError(..., cause=Cause.CONNECTION_REFUSED,
                       hint=fix_for(Cause.CONNECTION_REFUSED, http=False))

An HTTP email service is reached at the address in ``http_service_url``: the SMTP advice
about ports 587 and 465, port 25 and ``barua settings trust-certificate`` does not apply to
it, so it has texts of its own where they differ (:data:`HTTP`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from barua.errors import Cause, Step
from barua.texts import Message, Text


class Explanation(NamedTuple):
    """The two sentences of a cause. Their placeholders are filled from the error and the
    settings: ``host``, ``port``, ``recipient``, ``sender``, and the certificate's ``issuer``,
    ``expiry`` and ``names``."""

    summary: Message
    """What went wrong."""
    fix: Message
    """What to do about it."""


GENERAL: dict[Cause, Explanation] = {
    Cause.HOST_NOT_FOUND: Explanation(
        Message("transport.summary.host_not_found", 'the server name "{host}" could not be found'),
        Message(
            "transport.fix.host_not_found",
            "Check the spelling of the server name and that this computer is online.",
        ),
    ),
    Cause.CONNECTION_REFUSED: Explanation(
        Message(
            "transport.summary.connection_refused", "{host} refused the connection on port {port}"
        ),
        Message(
            "transport.fix.connection_refused",
            "Check the port: most providers use 587 (STARTTLS) or 465 (SSL/TLS). If the port "
            "is right, the server may be down.",
        ),
    ),
    Cause.CONNECTION_TIMEOUT: Explanation(
        Message("transport.summary.connection_timeout", "no answer from {host} on port {port}"),
        Message(
            "transport.fix.connection_timeout",
            "A firewall or antivirus program may be blocking the connection, or the port is "
            "wrong. Internet providers often block port 25: use 587 or 465 instead.",
        ),
    ),
    Cause.NO_ROUTE: Explanation(
        Message("transport.summary.no_route", "this computer has no route to {host} (port {port})"),
        Message(
            "transport.fix.no_route",
            "The network between this computer and the server is not reachable: check the "
            "internet connection, a VPN that may be switched on or off, or a firewall that "
            "blocks the way out.",
        ),
    ),
    Cause.CONNECTION_LOST: Explanation(
        Message("transport.summary.connection_lost", "the server closed the connection"),
        Message(
            "transport.fix.connection_lost",
            "The server may be busy or limiting connections: try again in a few minutes.",
        ),
    ),
    Cause.EXPECTS_STARTTLS: Explanation(
        Message(
            "transport.summary.expects_starttls",
            "port {port} expects STARTTLS, but the settings use SSL/TLS from the start",
        ),
        Message(
            "transport.fix.expects_starttls",
            "Set security to STARTTLS, or use port 465 with SSL/TLS.",
        ),
    ),
    Cause.EXPECTS_IMPLICIT_TLS: Explanation(
        Message(
            "transport.summary.expects_implicit_tls",
            "port {port} expects SSL/TLS from the start, but the settings use STARTTLS",
        ),
        Message(
            "transport.fix.expects_implicit_tls",
            "Set security to SSL/TLS, or use port 587 with STARTTLS.",
        ),
    ),
    Cause.NO_STARTTLS: Explanation(
        Message(
            "transport.summary.no_starttls",
            "the server offers no encryption (STARTTLS) on port {port}",
        ),
        Message(
            "transport.fix.no_starttls",
            "Use port 465 with SSL/TLS, or the port your provider gives for STARTTLS "
            "(usually 587). barua never sends mail and passwords unencrypted.",
        ),
    ),
    Cause.CERT_SELF_SIGNED: Explanation(
        Message(
            "transport.summary.cert_self_signed",
            "the server's certificate is self-signed, so this computer cannot check it",
        ),
        Message(
            "transport.fix.cert_self_signed",
            "If this is your own server, trust this certificate (barua settings "
            "trust-certificate, or barua test --trust-certificate) rather than turning "
            "verification off.",
        ),
    ),
    Cause.CERT_UNTRUSTED: Explanation(
        Message(
            "transport.summary.cert_untrusted",
            "the server's certificate was issued by {issuer}, which this computer does not trust",
        ),
        Message(
            "transport.fix.cert_untrusted",
            "If this is your own or your company's server, trust this certificate (barua "
            "settings trust-certificate), or add your authority's certificate with "
            "SSL_CERT_FILE.",
        ),
    ),
    Cause.CERT_EXPIRED: Explanation(
        Message("transport.summary.cert_expired", "the server's certificate expired on {expiry}"),
        Message(
            "transport.fix.cert_expired",
            "Ask the server's administrator or your provider to renew the certificate.",
        ),
    ),
    Cause.CERT_WRONG_HOST: Explanation(
        Message(
            "transport.summary.cert_wrong_host",
            "the server's certificate is for {names}, not for {host}",
        ),
        Message(
            "transport.fix.cert_wrong_host",
            "Use the server name the certificate was issued for, or check the host.",
        ),
    ),
    Cause.CERT_CHANGED: Explanation(
        Message(
            "transport.summary.cert_changed",
            "the server's certificate has changed since you trusted it",
        ),
        Message(
            "transport.fix.cert_changed",
            "If the certificate was renewed, check the new fingerprint with the server's "
            "administrator and trust it again. Otherwise someone may be intercepting the "
            "connection: do not send.",
        ),
    ),
    Cause.TLS_FAILED: Explanation(
        Message("transport.summary.tls_failed", "the encrypted connection could not be set up"),
        Message(
            "transport.fix.tls_failed",
            "The server may only offer old encryption (before TLS 1.2), which barua refuses. "
            "Ask your provider for a current server name and port.",
        ),
    ),
    Cause.INSECURE_LOGIN: Explanation(
        Message(
            "transport.summary.insecure_login",
            "the connection is not encrypted, so barua did not send the password",
        ),
        Message(
            "transport.fix.insecure_login",
            "Use port 587 with STARTTLS or port 465 with SSL/TLS.",
        ),
    ),
    Cause.AUTH_NOT_OFFERED: Explanation(
        Message(
            "transport.summary.auth_not_offered",
            "the server does not offer a login on port {port}",
        ),
        Message(
            "transport.fix.auth_not_offered",
            "Use your provider's submission port (587 or 465), or leave the username empty "
            "if this server needs no login.",
        ),
    ),
    Cause.AUTH_REFUSED: Explanation(
        Message("transport.summary.auth_refused", "the server refused the username or password"),
        Message(
            "transport.fix.auth_refused",
            "Check the username and password. Many providers need an app password instead of "
            "your normal password.",
        ),
    ),
    Cause.AUTH_REQUIRED: Explanation(
        Message(
            "transport.summary.auth_required",
            "the server requires a login before it accepts mail",
        ),
        Message(
            "transport.fix.auth_required",
            "Enter the username and password of the mailbox.",
        ),
    ),
    Cause.SENDER_REFUSED: Explanation(
        Message(
            "transport.summary.sender_refused", "the server does not allow sending as {sender}"
        ),
        Message(
            "transport.fix.sender_refused",
            "Send from the address of the mailbox you log in with, or add {sender} as an "
            'allowed "send mail as" address at your provider.',
        ),
    ),
    Cause.RECIPIENT_REFUSED: Explanation(
        Message(
            "transport.summary.recipient_refused", "the server refused the recipient {recipient}"
        ),
        Message(
            "transport.fix.recipient_refused",
            "Check the address. If the server says it does not relay, it wants a login: set "
            "the username and password.",
        ),
    ),
    Cause.COPY_REFUSED: Explanation(
        Message(
            "transport.summary.copy_refused",
            "the server refused {recipient}, the address that gets a copy of every email",
        ),
        Message(
            "transport.fix.copy_refused",
            "The test email went to the other recipients, but every email would go without "
            "its copy. Check the copy address (--bcc-copy), or stop sending copies "
            "(--no-bcc-copy).",
        ),
    ),
    Cause.MESSAGE_TOO_LARGE: Explanation(
        Message(
            "transport.summary.message_too_large", "the message is larger than the server accepts"
        ),
        Message(
            "transport.fix.message_too_large",
            "Send smaller attachments, or a link to the file instead.",
        ),
    ),
    Cause.TRY_LATER: Explanation(
        Message("transport.summary.try_later", "the server asked to try again later"),
        Message(
            "transport.fix.try_later",
            "This is usually temporary (greylisting, a busy server or a sending limit): try "
            "again in a few minutes.",
        ),
    ),
    Cause.SMTPUTF8_UNSUPPORTED: Explanation(
        Message(
            "transport.summary.smtputf8_unsupported",
            "the server does not accept international email addresses",
        ),
        Message(
            "transport.fix.smtputf8_unsupported",
            "Use an address with only plain letters (a-z) before the @.",
        ),
    ),
    Cause.OUTCOME_UNKNOWN: Explanation(
        Message(
            "transport.summary.outcome_unknown",
            "the server did not confirm the message after receiving it",
        ),
        Message(
            "transport.fix.outcome_unknown",
            "Check whether the email arrived before sending it again.",
        ),
    ),
    Cause.SERVICE_REFUSED: Explanation(
        Message("transport.summary.service_refused", "the server refused the message"),
        Message("transport.fix.service_refused", "The server's reply gives the reason."),
    ),
    Cause.API_KEY_REFUSED: Explanation(
        Message("transport.summary.api_key_refused", "the email service refused the API key"),
        Message(
            "transport.fix.api_key_refused",
            "Copy the API key again from the email service and enter it in the settings; if "
            "it is right, ask the service's administrator whether it may send for your address.",
        ),
    ),
    Cause.REPLY_OUT_OF_BOUNDS: Explanation(
        Message(
            "transport.summary.reply_out_of_bounds",
            "{host} on port {port} does not answer as a mail server should",
        ),
        Message(
            "transport.fix.reply_out_of_bounds",
            "Check the server name and port: the port may belong to another service. If they "
            "are right, the server or a device between it and this computer (a firewall, an "
            "antivirus program) is misbehaving: try again later, and tell your provider if it "
            "goes on.",
        ),
    ),
    Cause.UNKNOWN: Explanation(
        Message("transport.summary.unknown", "the email could not be sent"),
        Message(
            "transport.fix.unknown",
            "Try the same settings in another mail client such as Thunderbird: if it fails "
            "there too, ask your email provider.",
        ),
    ),
}
"""Every cause, as an SMTP server's failure reads."""

GENERAL.update(
    {
        Cause.SIGN_IN_NEEDED: Explanation(
            Message(
                "transport.summary.sign_in_needed",
                "the settings sign in with {provider}, and nobody has signed in yet",
            ),
            Message(
                "transport.fix.sign_in_needed",
                "Sign in once: barua settings oauth {provider_id}.",
            ),
        ),
        Cause.SIGN_IN_EXPIRED: Explanation(
            Message(
                "transport.summary.sign_in_expired",
                "{provider} no longer accepts the sign-in of {account}",
            ),
            Message(
                "transport.fix.sign_in_expired",
                "Sign in again: barua settings oauth {provider_id}. A sign-in ends when it is "
                "revoked, when the password changes, or after a long time unused; the mail "
                "waits in the outbox until then.",
            ),
        ),
        Cause.CONSENT_NEEDED: Explanation(
            Message(
                "transport.summary.consent_needed",
                "{provider} wants consent for the app before it lets it send mail",
            ),
            Message(
                "transport.fix.consent_needed",
                "Sign in again and accept what the app asks for; if your organisation requires "
                "it, ask an administrator to grant consent for the app (Microsoft Entra admin "
                "center → Enterprise applications → the app → Permissions).",
            ),
        ),
        Cause.TOKEN_REFUSED: Explanation(
            Message(
                "transport.summary.token_refused",
                "the server refused the sign-in of {account}",
            ),
            Message(
                "transport.fix.token_refused",
                "Check that the account that signed in is the mailbox in the settings "
                "(username), then sign in again: barua settings oauth {provider_id}.",
            ),
        ),
        Cause.SMTP_AUTH_DISABLED: Explanation(
            Message(
                "transport.summary.smtp_auth_disabled",
                "SMTP sending is turned off for the mailbox {account}",
            ),
            Message(
                "transport.fix.smtp_auth_disabled",
                "An administrator must turn on Authenticated SMTP for the mailbox (Microsoft "
                "365 admin center → Users → Active users → the user → Mail → Manage email apps) "
                "and allow it for the organisation.",
            ),
        ),
        Cause.PROVIDER_UNREACHABLE: Explanation(
            Message(
                "transport.summary.provider_unreachable",
                "the sign-in service of {provider} could not be reached",
            ),
            Message(
                "transport.fix.provider_unreachable",
                "Check that this computer is online; barua tries again by itself.",
            ),
        ),
        Cause.SIGN_IN_FAILED: Explanation(
            Message("transport.summary.sign_in_failed", "{provider} refused the sign-in"),
            Message(
                "transport.fix.sign_in_failed",
                "Check the app's client ID (and secret) in the settings, then sign in again: "
                "barua settings oauth {provider_id}.",
            ),
        ),
    }
)
"""Signing in with the provider (OAuth): its ``provider``, ``provider_id`` and ``account``."""


HTTP: dict[Cause, Explanation] = {
    Cause.HOST_NOT_FOUND: Explanation(
        Message(
            "http.summary.host_not_found", 'the email service\'s name "{host}" could not be found'
        ),
        Message(
            "http.fix.host_not_found",
            "Check the address in http_service_url and that this computer is online.",
        ),
    ),
    Cause.CONNECTION_REFUSED: Explanation(
        Message(
            "http.summary.connection_refused",
            "the email service at {host} refused the connection on port {port}",
        ),
        Message(
            "http.fix.connection_refused",
            "Check the address and port in http_service_url, and that the email service is "
            "running.",
        ),
    ),
    Cause.CONNECTION_TIMEOUT: Explanation(
        Message(
            "http.summary.connection_timeout",
            "no answer from the email service at {host} on port {port}",
        ),
        Message(
            "http.fix.connection_timeout",
            "A firewall, antivirus program or proxy may be blocking the connection: check the "
            "address and port in http_service_url, and this computer's proxy settings "
            "(HTTPS_PROXY).",
        ),
    ),
    Cause.CERT_SELF_SIGNED: Explanation(
        Message(
            "http.summary.cert_self_signed",
            "the email service's certificate is self-signed, so this computer cannot check it",
        ),
        Message(
            "http.fix.cert_self_signed",
            "If this is your own email service, add its certificate to the trusted ones with "
            'SSL_CERT_FILE, or tick "do not verify TLS certificate" (--skip-tls-verify) only on '
            "a network you trust.",
        ),
    ),
    Cause.CERT_UNTRUSTED: Explanation(
        Message(
            "http.summary.cert_untrusted",
            "this computer does not trust the email service's certificate",
        ),
        Message(
            "http.fix.cert_untrusted",
            "If this is your own or your company's email service, add your authority's "
            'certificate with SSL_CERT_FILE, or tick "do not verify TLS certificate" '
            "(--skip-tls-verify) only on a network you trust.",
        ),
    ),
    Cause.CERT_WRONG_HOST: Explanation(
        Message(
            "http.summary.cert_wrong_host",
            "the email service's certificate is for {names}, not for {host}",
        ),
        Message(
            "http.fix.cert_wrong_host",
            "Use the address the certificate was issued for in http_service_url.",
        ),
    ),
    Cause.TLS_FAILED: Explanation(
        Message(
            "http.summary.tls_failed",
            "the encrypted connection to the email service could not be set up",
        ),
        Message(
            "http.fix.tls_failed",
            "The service may not speak HTTPS on that port: check the address and port in "
            "http_service_url (https:// only when the service uses TLS).",
        ),
    ),
    Cause.RECIPIENT_REFUSED: Explanation(
        Message(
            "http.summary.recipient_refused",
            "the email service refused the recipient {recipient}",
        ),
        Message(
            "http.fix.recipient_refused",
            "Check the address; the service's reply gives the reason.",
        ),
    ),
}
"""The causes an HTTP email service explains in words of its own; the others read as in
:data:`GENERAL`."""

STARTTLS_REQUIRED = Explanation(
    Message(
        "smtp.summary.starttls_required",
        "the server requires encryption (STARTTLS) before it accepts mail",
    ),
    Message(
        "smtp.fix.starttls_required",
        "Set security to STARTTLS (port 587) or SSL/TLS (port 465).",
    ),
)
"""``NO_STARTTLS`` when the server answered a command with "530 Must issue a STARTTLS command
first": it offers STARTTLS, the settings did not use it."""

NO_GREETING = Explanation(
    Message(
        "smtp.summary.no_greeting",
        "{host} accepted the connection on port {port} but did not answer",
    ),
    Message(
        "smtp.fix.no_greeting",
        "The port may belong to another service, or the server is overloaded. Check the "
        "port: most providers use 587 (STARTTLS) or 465 (SSL/TLS).",
    ),
)
"""``CONNECTION_TIMEOUT`` while waiting for the greeting of a port that took the connection."""


def explain(
    cause: Cause, *, http: bool = False, step: Step | None = None, replied: bool = False
) -> Explanation:
    """The summary and fix of ``cause``: an HTTP email service's own where it has one; a
    refinement for a server that ``replied`` with a code, or a failure at ``step``."""
    if http and cause in HTTP:
        return HTTP[cause]
    if cause is Cause.NO_STARTTLS and replied:
        return STARTTLS_REQUIRED
    if cause is Cause.CONNECTION_TIMEOUT and step is Step.GREETING:
        return NO_GREETING
    return GENERAL[cause]


def fix_for(
    cause: Cause,
    *,
    http: bool = False,
    step: Step | None = None,
    replied: bool = False,
    **values: Any,
) -> Text:
    """What to do about ``cause``, as the hint of a transport's error; ``values`` fill its
    placeholders (only ``SENDER_REFUSED`` has one: ``sender``).

    >>> fix_for(Cause.INSECURE_LOGIN).render()
    'Use port 587 with STARTTLS or port 465 with SSL/TLS.'
    """
    return filled(explain(cause, http=http, step=step, replied=replied).fix, values)


def filled(message: Message, values: Mapping[str, Any]) -> Text:
    """``message`` with the values among ``values`` that it names; the others are left out,
    so that a program reading the text's params finds only its own."""
    return message(**{name: value for name, value in values.items() if name in message.fields})
