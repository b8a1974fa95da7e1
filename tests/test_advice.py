"""Advice: each cause explained in plain words, provider-specific where it matters."""

from __future__ import annotations

import builtins
import errno
import os
from datetime import UTC, datetime

import pytest

from barua.certificates import CertificateInfo
from barua.errors import (
    AuthenticationError,
    Cause,
    ConnectError,
    PermanentError,
    Step,
    TimeoutError,
    TLSError,
    TransportError,
)
from barua.settings import Settings, make_settings
from barua.setup.advice import Advice, advise, step_label
from barua.transports.base import connect_cause


def smtp(host: str = "smtp.example.com", port: int = 587, **more: object) -> Settings:
    return make_settings(host=host, port=port, username="shop@example.com", **more)


def error(
    cls: type[TransportError] = PermanentError,
    cause: Cause = Cause.UNKNOWN,
    step: Step = Step.DATA,
    **more: object,
) -> TransportError:
    values: dict[str, object] = {"host": "smtp.example.com", "port": 587}
    values.update(more)
    return cls("technical message", step=step, cause=cause, hint="technical hint", **values)  # type: ignore[arg-type]


def test_gmail_needs_an_app_password() -> None:
    advice = advise(
        error(AuthenticationError, Cause.AUTH_REFUSED, Step.AUTH, code=535, reply="5.7.8 BadCred"),
        smtp("smtp.gmail.com"),
        "en",
    )
    assert advice.summary == "the server refused the username or password"
    assert advice.fix == (
        "Gmail needs an app password, not your normal password. Turn on 2-Step Verification "
        "for your Google Account, then open Google Account → Security → App passwords "
        "(myaccount.google.com/apppasswords), create an app password named barua and paste "
        "the 16 letters it shows as the password."
    )
    assert advice.details == ["server replied: 535 5.7.8 BadCred"]


def test_yahoo_app_password_steps() -> None:
    advice = advise(
        error(AuthenticationError, Cause.AUTH_REFUSED, Step.AUTH, code=535, reply="x"),
        smtp("smtp.mail.yahoo.com", 465),
        "en",
    )
    assert advice.summary == "the server refused the username or password"
    assert advice.fix == (
        "Yahoo Mail needs an app password, not your normal password. Open Yahoo Account Info → "
        "Account Security → Generate app password (or Create app password), type a name such "
        "as barua, generate the password and use the password it shows."
    )


_M365_WRONG_PASSWORD = (
    "Check the username (the full email address) and the password. If multi-factor "
    "authentication is on, create an app password at mysignins.microsoft.com → Security info → "
    "Add sign-in method → App password, and use it instead. Microsoft is retiring basic "
    "authentication (username and password) for SMTP: sign in with Microsoft instead (barua "
    "settings oauth microsoft)."
)
_M365_BASIC_AUTH_OFF = (
    "An administrator must turn on Authenticated SMTP for the mailbox (Microsoft 365 admin "
    "center → Users → Active users → the user → Mail → Manage email apps) and allow it for the "
    "organisation (security defaults turn it off). Or sign in with Microsoft instead of a "
    "password: barua settings oauth microsoft."
)
_OUTLOOK_OAUTH = (
    "Outlook.com no longer accepts a username and password for SMTP (basic authentication): "
    "sign in with Microsoft instead (barua settings oauth microsoft)."
)
_REFUSED = "the server refused the username or password"


@pytest.mark.parametrize(
    ("host", "reply", "summary", "fix"),
    [
        ("smtp.office365.com", "5.7.3 Authentication unsuccessful [BN0PR04CA0001]",
         _REFUSED, _M365_WRONG_PASSWORD),
        ("smtp.office365.com",
         "5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the "
         "Mailbox.", "Microsoft 365 does not allow SMTP login with a password for this mailbox",
         _M365_BASIC_AUTH_OFF),
        ("smtp.office365.com",
         "5.7.30 Basic authentication is not supported for Client Submission.",
         "Microsoft 365 does not allow SMTP login with a password for this mailbox",
         _M365_BASIC_AUTH_OFF),
        # Outlook.com accepts no password at all since September 2024, whatever the reply.
        ("smtp-mail.outlook.com", "5.7.3 Authentication unsuccessful",
         "Outlook.com does not allow SMTP login with a password for this account",
         _OUTLOOK_OAUTH),
        ("smtp-mail.outlook.com", "5.7.8 Error: authentication failed",
         "Outlook.com does not allow SMTP login with a password for this account",
         _OUTLOOK_OAUTH),
        ("smtp-mail.outlook.com",
         "5.7.139 Authentication unsuccessful, basic authentication is disabled.",
         "Outlook.com does not allow SMTP login with a password for this account",
         _OUTLOOK_OAUTH),
    ],
)  # fmt: skip
def test_microsoft_tells_a_wrong_password_from_password_login_turned_off(
    host: str, reply: str, summary: str, fix: str
) -> None:
    advice = advise(
        error(AuthenticationError, Cause.AUTH_REFUSED, Step.AUTH, code=535, reply=reply),
        smtp(host),
        "en",
    )
    assert (advice.summary, advice.fix) == (summary, fix)
    assert advice.details == [f"server replied: 535 {reply}"]


def test_microsoft_365_without_a_known_reason_gets_both_checks() -> None:
    advice = advise(
        error(AuthenticationError, Cause.AUTH_REFUSED, Step.AUTH, code=535, reply="x"),
        smtp("smtp.office365.com"),
        "en",
    )
    assert advice.summary == _REFUSED
    assert advice.fix == (
        "Check the username and password. Many providers need an app password instead of your "
        "normal password. Microsoft is retiring basic authentication (username and password) "
        "for SMTP in Microsoft 365: sign in with Microsoft instead (barua settings oauth "
        "microsoft). Until password login is switched off for your organisation, an "
        "administrator can still turn on Authenticated SMTP for the mailbox."
    )


def test_unknown_provider_gets_the_general_password_advice() -> None:
    advice = advise(error(AuthenticationError, Cause.AUTH_REFUSED, Step.AUTH), smtp(), "en")
    assert advice.fix == (
        "Check the username and password. Many providers need an app password instead of "
        "your normal password."
    )


def test_typo_in_host_suggests_the_real_one() -> None:
    advice = advise(
        error(ConnectError, Cause.HOST_NOT_FOUND, Step.RESOLVE, host="smtp.gmial.com"),
        smtp("smtp.gmial.com"),
        "en",
    )
    assert advice.summary == 'the server name "smtp.gmial.com" could not be found'
    assert advice.fix.endswith('Did you mean "smtp.gmail.com"?')


def test_port_25_timeout_suggests_submission_ports() -> None:
    advice = advise(
        error(TimeoutError, Cause.CONNECTION_TIMEOUT, Step.CONNECT, port=25), smtp(port=25), "en"
    )
    assert advice.fix == "Port 25 is blocked by many internet providers: use 587 or 465."


@pytest.mark.parametrize(
    ("cause", "summary", "fix_start"),
    [
        (Cause.EXPECTS_STARTTLS, "port 587 expects STARTTLS, but the settings use SSL/TLS",
         "Set security to STARTTLS"),
        (Cause.EXPECTS_IMPLICIT_TLS, "port 587 expects SSL/TLS from the start",
         "Set security to SSL/TLS"),
        (Cause.NO_STARTTLS, "the server offers no encryption (STARTTLS) on port 587",
         "Use port 465 with SSL/TLS"),
        (Cause.CONNECTION_REFUSED, "smtp.example.com refused the connection on port 587",
         "Check the port"),
    ],
)  # fmt: skip
def test_tls_mode_and_port_causes(cause: Cause, summary: str, fix_start: str) -> None:
    advice = advise(error(TLSError, cause, Step.TLS), smtp(), "en")
    assert advice.summary.startswith(summary)
    assert advice.fix.startswith(fix_start)


def test_certificate_details_are_shown() -> None:
    tls = error(TLSError, Cause.CERT_SELF_SIGNED, Step.CERTIFICATE)
    assert isinstance(tls, TLSError)
    tls.certificate = CertificateInfo(
        subject="mail.duka.co.tz",
        issuer="mail.duka.co.tz",
        not_before=datetime(2026, 1, 1, tzinfo=UTC),
        not_after=datetime(2027, 1, 1, tzinfo=UTC),
        sha256="AB:" * 31 + "AB",
        names=("mail.duka.co.tz",),
    )
    advice = advise(tls, smtp(), "en")
    assert advice.summary == (
        "the server's certificate is self-signed, so this computer cannot check it"
    )
    assert "trust-certificate" in advice.fix
    assert advice.details == [
        "certificate subject: mail.duka.co.tz",
        "issued by: mail.duka.co.tz",
        "valid until: 2027-01-01",
        "SHA-256 fingerprint: " + "AB:" * 31 + "AB",
    ]


def test_nothing_specific_known_suggests_another_mail_client() -> None:
    advice = advise(error(), smtp(), "en")
    assert advice.summary == "technical message"
    assert advice.fix.endswith(
        "Try the same settings in another mail client such as Thunderbird: if it fails there "
        "too, ask your email provider."
    )


def test_every_cause_has_advice_in_every_language() -> None:
    for lang in ("en", "sw"):
        for cause in Cause:
            advice = advise(error(cause=cause, recipient="a@example.com"), smtp(), lang)
            assert advice.summary and advice.fix, (lang, cause)
            assert "{" not in advice.summary + advice.fix, (lang, cause)
        for step in Step:
            assert step_label(step, lang)


def test_http_service_refusing_the_api_key_is_explained() -> None:
    import httpx

    from barua.message import build_message
    from barua.transports.http import HttpTransport

    settings = make_settings(
        protocol="http",
        http_service_url="https://relay.example.com",
        reply_to="office@example.com",
        http_api_key="wrong-key",
    )
    refuse = httpx.MockTransport(
        lambda request: httpx.Response(
            401, json={"error": {"code": "unauthorized", "message": "unknown key"}}
        )
    )
    message = build_message(settings, to=["jane@example.com"], subject="x", text="x")
    with (
        httpx.Client(transport=refuse) as client,
        HttpTransport(settings, client=client) as http,
        pytest.raises(TransportError) as caught,
    ):
        http.send(message)
    assert caught.value.cause is Cause.API_KEY_REFUSED
    advice = advise(caught.value, settings, "sw")
    assert advice.summary == "huduma ya barua pepe imekataa ufunguo wa API"
    assert "wrong-key" not in str(advice)


@pytest.mark.parametrize(
    ("cause", "summary", "fix"),
    [
        (Cause.SENDER_REFUSED, "the server does not allow sending as shop@example.com",
         "Send from the address of the mailbox you log in with, or add shop@example.com as an "
         'allowed "send mail as" address at your provider.'),
        (Cause.RECIPIENT_REFUSED, "the server refused the recipient a@example.com",
         "Check the address. If the server says it does not relay, it wants a login: set the "
         "username and password."),
        (Cause.MESSAGE_TOO_LARGE, "the message is larger than the server accepts",
         "Send smaller attachments, or a link to the file instead."),
        (Cause.TRY_LATER, "the server asked to try again later",
         "This is usually temporary (greylisting, a busy server or a sending limit): try again "
         "in a few minutes."),
    ],
)  # fmt: skip
def test_refusals_after_login(cause: Cause, summary: str, fix: str) -> None:
    advice = advise(error(cause=cause, recipient="a@example.com"), smtp(), "en")
    assert (advice.summary, advice.fix) == (summary, fix)


def _with_certificate(cause: Cause, **info: object) -> TransportError:
    tls = error(TLSError, cause, Step.CERTIFICATE, host="smtp.duka.co.tz")
    assert isinstance(tls, TLSError)
    values: dict[str, object] = {
        "subject": "mail.duka.co.tz",
        "issuer": "Duka Private CA",
        "not_before": datetime(2025, 1, 1, tzinfo=UTC),
        "not_after": datetime(2026, 1, 1, tzinfo=UTC),
        "sha256": "CD:" * 31 + "CD",
        "names": ("mail.duka.co.tz", "duka.co.tz"),
    }
    values.update(info)
    tls.certificate = CertificateInfo(**values)  # type: ignore[arg-type]
    return tls


@pytest.mark.parametrize(
    ("cause", "summary", "fix_part"),
    [
        (Cause.CERT_EXPIRED, "the server's certificate expired on 2026-01-01",
         "Ask the server's administrator or your provider to renew the certificate."),
        (Cause.CERT_WRONG_HOST,
         "the server's certificate is for mail.duka.co.tz, duka.co.tz, not for smtp.duka.co.tz",
         "Use the server name the certificate was issued for"),
        (Cause.CERT_UNTRUSTED,
         "the server's certificate was issued by Duka Private CA, which this computer does not "
         "trust", "add your authority's certificate with SSL_CERT_FILE"),
    ],
)  # fmt: skip
def test_certificate_problems_in_plain_words(cause: Cause, summary: str, fix_part: str) -> None:
    advice = advise(_with_certificate(cause), smtp(), "en")
    assert advice.summary == summary
    assert fix_part in advice.fix
    assert "SHA-256 fingerprint: " + "CD:" * 31 + "CD" in advice.details


_NOT_FOUND_FIX = "Check the spelling of the server name and that this computer is online."


@pytest.mark.parametrize(
    ("host", "sender", "real"),
    [
        ("smtp.yahoo.com", "duka@yahoo.com", "smtp.mail.yahoo.com"),
        ("smtp.icloud.com", "duka@icloud.com", "smtp.mail.me.com"),
        ("smtp.gmx.com", "duka@gmx.com", "mail.gmx.com"),
        ("mail.gmail.com", "duka@gmail.com", "smtp.gmail.com"),
        ("smtp.hotmail.com", "duka@hotmail.com", "smtp-mail.outlook.com"),
    ],
)
def test_unknown_host_suggests_the_server_of_the_senders_provider(
    host: str, sender: str, real: str
) -> None:
    advice = advise(
        error(ConnectError, Cause.HOST_NOT_FOUND, Step.RESOLVE, host=host),
        make_settings(host=host, port=587, username=sender),
        "en",
    )
    assert advice.summary == f'the server name "{host}" could not be found'
    assert advice.fix == f'{_NOT_FOUND_FIX} Did you mean "{real}"?'


def test_the_senders_provider_wins_over_a_close_name_of_another() -> None:
    # smtp.hotmail.com is closer to smtp.gmail.com than to Outlook.com's server name.
    advice = advise(
        error(ConnectError, Cause.HOST_NOT_FOUND, Step.RESOLVE, host="smtp.hotmail.com"),
        make_settings(host="smtp.hotmail.com", port=587, username="a@example.com",
                      email_address="duka@hotmail.com"),
        "en",
    )  # fmt: skip
    assert "smtp.gmail.com" not in advice.fix
    assert advice.fix.endswith('Did you mean "smtp-mail.outlook.com"?')


def test_no_suggestion_when_the_host_is_already_the_providers() -> None:
    advice = advise(
        error(ConnectError, Cause.HOST_NOT_FOUND, Step.RESOLVE, host="smtp.mail.yahoo.com"),
        make_settings(host="smtp.mail.yahoo.com", port=465, username="duka@yahoo.com"),
        "en",
    )
    assert advice.fix == _NOT_FOUND_FIX


def test_own_domain_falls_back_to_close_server_names() -> None:
    advice = advise(
        error(ConnectError, Cause.HOST_NOT_FOUND, Step.RESOLVE, host="smtp.gmial.com"),
        make_settings(host="smtp.gmial.com", port=587, username="mauzo@duka.co.tz"),
        "en",
    )
    assert advice.fix == f'{_NOT_FOUND_FIX} Did you mean "smtp.gmail.com"?'


_IF_2FA = "If 2-step verification is on for your {} account, it needs an app password, not your normal password. "  # noqa: E501


def refused_login(host: str) -> Advice:
    """The advice for a login the server at ``host`` refused with a reply that says nothing."""
    return advise(
        error(AuthenticationError, Cause.AUTH_REFUSED, Step.AUTH, code=535, reply="5.7.8 no"),
        smtp(host),
        "en",
    )


@pytest.mark.parametrize(
    ("host", "fix"),
    [
        ("smtp.mail.me.com",
         "iCloud Mail needs an app password, not your normal password. Sign in at "
         "account.apple.com, open Sign-In and Security → App-Specific Passwords, create one "
         "named barua and use the password it shows."),
        ("smtp.aol.com",
         "AOL Mail needs an app password, not your normal password. Open AOL Account Info → "
         "Account Security → Generate app password (or Create app password), type a name such "
         "as barua, generate the password and use the password it shows."),
        ("smtp.zoho.com",
         _IF_2FA.format("Zoho Mail") + "To create one, open Zoho Accounts → Security → App "
         "Passwords, generate a password named barua and use the password it shows."),
        ("smtp.fastmail.com",
         "Fastmail needs an app password, not your normal password. Open Fastmail Settings → "
         "Privacy & Security → Manage app passwords and access → New app password, choose SMTP "
         "access, and use the password it shows."),
        ("mail.gmx.com",
         _IF_2FA.format("GMX") + "To create one, open the security settings of your GMX "
         'account. Also allow "Send and receive email via external program" under Settings → '
         "POP3 & IMAP: GMX refuses SMTP until it is on."),
    ],
)  # fmt: skip
def test_app_password_steps_of_each_provider(host: str, fix: str) -> None:
    advice = refused_login(host)
    assert advice.summary == "the server refused the username or password"
    assert advice.fix == fix
    assert advice.details == ["server replied: 535 5.7.8 no"]


def test_general_timeout_advice() -> None:
    advice = advise(error(TimeoutError, Cause.CONNECTION_TIMEOUT, Step.CONNECT), smtp(), "en")
    assert advice.summary == "no answer from smtp.example.com on port 587"
    assert advice.fix == (
        "A firewall or antivirus program may be blocking the connection, or the port is wrong. "
        "Internet providers often block port 25: use 587 or 465 instead."
    )


@pytest.mark.parametrize("number", [errno.ENETUNREACH, errno.EHOSTUNREACH])
def test_no_route_is_told_apart_from_a_refusal(number: int) -> None:
    failure = OSError(number, os.strerror(number))
    assert connect_cause(failure) is Cause.NO_ROUTE
    no_route = error(ConnectError, Cause.NO_ROUTE, Step.CONNECT)
    no_route.__cause__ = failure
    advice = advise(no_route, smtp(), "en")
    assert advice.summary == "this computer has no route to smtp.example.com (port 587)"
    assert advice.fix == (
        "The network between this computer and the server is not reachable: check the "
        "internet connection, a VPN that may be switched on or off, or a firewall that blocks "
        "the way out."
    )
    assert advice.details == [f"system error: [Errno {number}] {os.strerror(number)}"]


def test_other_connect_failures_keep_their_cause() -> None:
    assert connect_cause(ConnectionRefusedError(errno.ECONNREFUSED, "refused")) is (
        Cause.CONNECTION_REFUSED
    )
    assert connect_cause(builtins.TimeoutError("timed out")) is Cause.CONNECTION_TIMEOUT


def test_unknown_cause_in_kiswahili_keeps_the_technical_words_as_evidence() -> None:
    advice = advise(error(), smtp(), "sw")
    assert advice.summary == "barua pepe haikuweza kutumwa"
    assert advice.fix == (
        "Jaribu mipangilio hiyo hiyo kwenye programu nyingine ya barua pepe kama Thunderbird: "
        "ikishindwa huko pia, muulize mtoa huduma wako wa barua pepe."
    )
    assert advice.details == ["maelezo ya kiufundi: technical message"]


_CREDENTIALS = "{} logs in with the SMTP credentials it issues, not your account password. "


@pytest.mark.parametrize(
    ("host", "fix"),
    [
        ("email-smtp.eu-west-1.amazonaws.com",
         _CREDENTIALS.format("Amazon SES") + "In the Amazon SES console, open SMTP settings → "
         "Create SMTP credentials, and use the SMTP user name and SMTP password it shows (not "
         "your AWS access keys)."),
        ("smtp.sendgrid.net",
         _CREDENTIALS.format("SendGrid") + "In SendGrid, open Settings → API Keys → Create API "
         'Key with Mail Send access. The username is the word "apikey" and the password is the '
         "key it shows once."),
        ("smtp.mailgun.org",
         _CREDENTIALS.format("Mailgun") + "In Mailgun, open Sending → Domain settings → SMTP "
         "credentials, create or reset the credentials and use the login and password it "
         "shows."),
        ("smtp.postmarkapp.com",
         _CREDENTIALS.format("Postmark") + "In Postmark, open your server → API Tokens and copy "
         "the Server API token: it is both the username and the password."),
        ("smtp-relay.brevo.com",
         _CREDENTIALS.format("Brevo") + "In Brevo, open SMTP & API → SMTP, generate a new SMTP "
         "key and use the SMTP login shown there as the username and the key as the password."),
    ],
)  # fmt: skip
def test_sending_services_name_the_smtp_credentials_they_issue(host: str, fix: str) -> None:
    advice = refused_login(host)
    assert advice.summary == "the server refused the username or password"
    assert advice.fix == fix


def test_proton_bridge_is_known_by_host_and_port_with_a_custom_domain() -> None:
    refused = error(AuthenticationError, Cause.AUTH_REFUSED, Step.AUTH, code=535, reply="no")
    bridge = make_settings(host="127.0.0.1", port=1025, username="mauzo@duka.co.tz")
    assert advise(refused, bridge, "en").fix == (
        "Proton Mail Bridge: use the password that the Bridge app shows, not your account password."
    )
    # Any other relay on this computer is not the Bridge.
    relay = make_settings(host="127.0.0.1", port=2525, username="mauzo@duka.co.tz")
    assert advise(refused, relay, "en").fix == (
        "Check the username and password. Many providers need an app password instead of "
        "your normal password."
    )


def test_port_25_refused_suggests_submission_ports() -> None:
    advice = advise(
        error(ConnectError, Cause.CONNECTION_REFUSED, Step.CONNECT, port=25), smtp(port=25), "en"
    )
    assert advice.summary == "smtp.example.com refused the connection on port 25"
    assert advice.fix == "Port 25 is blocked by many internet providers: use 587 or 465."


def test_an_http_service_on_port_25_gets_no_smtp_port_advice() -> None:
    service = make_settings(
        protocol="http", http_service_url="https://relay.example.com:25", reply_to="o@example.com"
    )
    advice = advise(
        error(ConnectError, Cause.CONNECTION_REFUSED, Step.CONNECT, host="relay.example.com",
              port=25),
        service,
        "en",
    )  # fmt: skip
    assert (
        advice.summary == "the email service at relay.example.com refused the connection on port 25"
    )
    assert advice.fix == (
        "Check the address and port in http_service_url, and that the email service is running."
    )
