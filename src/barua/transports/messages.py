"""What the transports say when a delivery fails: each message declared once, with its code.

Codes start with ``smtp.`` or ``http.`` for one transport, ``transport.`` for both. The
values go in as params: the server and port (``host``, ``port``), seconds (``timeout``),
and the evidence as it came (``reason``: the operating system's, OpenSSL's or httpx's
words; a server's reply stays in the error's ``reply``).

Most errors take their hint from the cause (:func:`barua.transports.causes.fix_for`); the
hints here say something more particular about one failure.
"""

from __future__ import annotations

from barua.texts import Message

# Both transports ---------------------------------------------------------------------------------

RESOLVE_TIMEOUT_HINT = Message(
    "transport.resolve_timeout_hint",
    "Check that this computer is online and its DNS server answers.",
)
CONNECT_TIMEOUT = Message(
    "transport.connect_timeout", "no answer from {host} port {port} within {timeout:g} seconds"
)
NO_ROUTE = Message("transport.no_route", "no route to {host} port {port}: {reason}")
REFUSED = Message("transport.refused", "{host} port {port} refused the connection")
CANNOT_CONNECT = Message(
    "transport.cannot_connect", "could not connect to {host} port {port}: {reason}"
)
CERTIFICATE_NOT_TRUSTED = Message(
    "transport.certificate_not_trusted",
    "the certificate of {host} port {port} is not trusted: {reason}",
)
HANDSHAKE_FAILED = Message(
    "transport.handshake_failed", "the TLS handshake with {host} port {port} failed ({reason})"
)
NOTHING_DELIVERED_HINT = Message(
    "transport.nothing_delivered_hint", "Nothing was delivered; barua will try again."
)

# SMTP --------------------------------------------------------------------------------------------

NO_SMTP_HOST = Message("smtp.no_host", "the settings name no SMTP server (host)")
NO_SMTP_HOST_HINT = Message(
    "smtp.no_host_hint",
    "Set the SMTP server's host, port and security, or use an HTTP email service with its "
    "own transport.",
)
TRUST_NEEDS_SMTP = Message(
    "smtp.trust_needs_smtp",
    "trust-certificate applies to an SMTP server; these settings send through an HTTP email "
    "service",
)
TRUST_NEEDS_SMTP_HINT = Message(
    "smtp.trust_needs_smtp_hint",
    "For an HTTP email service with a self-signed or private certificate, add that "
    "certificate (or its authority's) to SSL_CERT_FILE, or turn certificate verification off "
    "(--skip-tls-verify) on a network you trust.",
)
SMTP_HOST_NOT_FOUND = Message(
    "smtp.host_not_found", 'could not find the mail server "{host}" (the name does not resolve)'
)
SMTP_RESOLVE_TIMEOUT = Message(
    "smtp.resolve_timeout",
    'the name of the mail server "{host}" did not resolve within {timeout:g} seconds',
)
CERTIFICATE_CHANGED = Message(
    "smtp.certificate_changed",
    "the certificate of {host} port {port} has changed: barua trusts {pinned}, the server now "
    "presents {presented}",
)
OLD_TLS = Message(
    "smtp.old_tls",
    "{host} port {port} offers only TLS older than 1.2, which barua refuses ({reason})",
)
NO_IMPLICIT_TLS = Message(
    "smtp.no_implicit_tls", "{host} port {port} does not speak SSL/TLS from the start ({reason})"
)
HANDSHAKE_TIMEOUT = Message(
    "smtp.handshake_timeout", "the TLS handshake with {host} port {port} did not finish in time"
)
HANDSHAKE_CLOSED = Message(
    "smtp.handshake_closed", "{host} port {port} closed the connection during the TLS handshake"
)
MAY_EXPECT_STARTTLS_HINT = Message(
    "smtp.may_expect_starttls_hint", "This port may expect STARTTLS rather than SSL/TLS."
)
NO_STARTTLS = Message(
    "smtp.no_starttls",
    "{host} port {port} does not offer STARTTLS, so the connection cannot be encrypted",
)
INSECURE_LOGIN = Message(
    "smtp.insecure_login",
    "{host} port {port} offers no encryption, and barua will not send your password unencrypted",
)
NO_AUTH = Message(
    "smtp.no_auth", "{host} port {port} does not offer login (AUTH), but a username is set"
)
NO_AUTH_METHOD = Message(
    "smtp.no_auth_method",
    "{host} port {port} offers no login method barua supports ({methods}; barua supports "
    "PLAIN and LOGIN)",
)
NO_AUTH_METHOD_AT_ALL = Message(
    "smtp.no_auth_method_at_all",
    "{host} port {port} offers no login method barua supports (none; barua supports PLAIN "
    "and LOGIN)",
)
CONNECTION_BROKE = Message(
    "smtp.connection_broke", "the connection broke while the message was being sent"
)
NOT_CONFIRMED = Message(
    "smtp.not_confirmed",
    "the server did not confirm the message after receiving it; it may or may not have been "
    "delivered",
)
NOT_CONFIRMED_HINT = Message(
    "smtp.not_confirmed_hint",
    "barua will try again with the same Message-ID, so the recipient can recognise a duplicate.",
)
SMTP_EVERY_RECIPIENT_REFUSED = Message(
    "smtp.every_recipient_refused", "the server refused every recipient: {refusals}"
)
SMTP_TOO_LARGE_FOR_LIMIT = Message(
    "smtp.too_large_for_limit", "the message is {size}; {host} accepts at most {limit}"
)
SMTP_TOO_LARGE_FOR_HOST = Message(
    "smtp.too_large_for_host", "the message ({size}) is larger than {host} accepts"
)
NO_SMTPUTF8 = Message(
    "smtp.no_smtputf8", "{host} does not accept international email addresses (SMTPUTF8)"
)
NO_ANSWER = Message(
    "smtp.no_answer", "{host} port {port} did not answer within {timeout:g} seconds ({step})"
)
SLOW_HINT = Message("smtp.slow_hint", "The server is slow or the connection is blocked.")
CLOSED_UNEXPECTEDLY = Message(
    "smtp.closed_unexpectedly", "{host} port {port} closed the connection unexpectedly ({step})"
)
CLOSED = Message("smtp.closed", "{host} port {port} closed the connection")
NO_GREETING = Message(
    "smtp.no_greeting", "{host} port {port} sent no greeting within {timeout:g} seconds"
)
NO_GREETING_BUT_TLS = Message(
    "smtp.no_greeting_but_tls",
    "{host} port {port} sent no greeting within {timeout:g} seconds, but answers a TLS handshake",
)
NO_GREETING_NOR_TLS = Message(
    "smtp.no_greeting_nor_tls",
    "{host} port {port} accepted the connection but sent no greeting within {timeout:g} "
    "seconds, and does not answer a TLS handshake either",
)
SLOW_GREETING = Message(
    "smtp.slow_greeting",
    "{host} port {port} did not finish its greeting within {timeout:g} seconds",
)
SLOW_REPLY = Message(
    "smtp.slow_reply",
    "{host} port {port} did not finish its reply to {command} within {timeout:g} seconds",
)
LONG_GREETING = Message(
    "smtp.long_greeting",
    "the greeting of {host} port {port} is longer than an SMTP server may send ({limit})",
)
LONG_REPLY = Message(
    "smtp.long_reply",
    "the reply of {host} port {port} to {command} is longer than an SMTP server may send ({limit})",
)
# The {limit} of LONG_GREETING and LONG_REPLY: which bound the reply broke.
LIMIT_LINE = Message("smtp.limit_line", "a line of more than {count} bytes")
LIMIT_LINES = Message("smtp.limit_lines", "more than {count} lines")
LIMIT_SIZE = Message("smtp.limit_size", "more than {count} bytes")
NO_CERTIFICATE = Message(
    "smtp.no_certificate", "security is set to none, so the server presents no certificate"
)

# What a reply means (barua.transports.smtp_replies); {step} is the step it answered.
NOT_ACCEPTING = Message("smtp.not_accepting", "{host} port {port} is not accepting mail right now")
LOGIN_UNAVAILABLE = Message(
    "smtp.login_unavailable", "the server could not check the login right now"
)
LOGIN_REFUSED = Message("smtp.login_refused", "the server refused the username or password")
SENDER_REFUSED = Message(
    "smtp.sender_refused", "the server does not accept mail from the sending address"
)
STARTTLS_REQUIRED = Message(
    "smtp.starttls_required", "the server requires encryption (STARTTLS) before it accepts mail"
)
LOGIN_REQUIRED = Message(
    "smtp.login_required", "the server requires a login before it accepts mail"
)
TOO_LARGE = Message("smtp.too_large", "the message is larger than the server accepts")
TRY_LATER = Message("smtp.try_later", "the server asked to try again later ({step})")
REFUSED_MESSAGE = Message("smtp.refused_message", "the server refused the message ({step})")

# HTTP --------------------------------------------------------------------------------------------

KEY_CHARACTERS = Message(
    "http.key_characters",
    "http_api_key may contain only ASCII letters, digits and punctuation, without spaces",
)
KEY_CHARACTERS_HINT = Message(
    "http.key_characters_hint",
    "Copy the API key again from the email service, without spaces or line breaks around it.",
)
HTTP_HOST_NOT_FOUND = Message(
    "http.host_not_found",
    'could not find the email service "{host}" (the name does not resolve)',
)
HTTP_RESOLVE_TIMEOUT = Message(
    "http.resolve_timeout",
    'the name of the email service "{host}" did not resolve within {timeout:g} seconds',
)
NO_ANSWER_AFTER_SENDING = Message(
    "http.no_answer_after_sending",
    "the email service did not answer within {timeout:g} seconds after receiving the message; "
    "it may or may not have been accepted",
)
ANSWER_TOO_SLOW = Message(
    "http.answer_too_slow",
    "the email service did not finish its answer within {timeout:g} seconds after receiving "
    "the message; it may or may not have been accepted",
)
ANSWER_TOO_LARGE = Message(
    "http.answer_too_large",
    "the answer of the email service is larger than {limit}, more than an email service "
    "sends; the message may or may not have been accepted",
)
SAME_ID_HINT = Message(
    "http.same_id_hint",
    "barua will try again with the same Message-ID; the email service recognises it and will "
    "not send the message twice.",
)
SAME_ID_OR_SCHEME_HINT = Message(
    "http.same_id_or_scheme_hint",
    "{retry} If this happens every time, check that http_service_url starts with https:// "
    "when the service uses TLS.",
)
NOT_TAKEN = Message(
    "http.not_taken", "{host} port {port} did not take the message within {timeout:g} seconds"
)
NOT_TAKEN_HINT = Message(
    "http.not_taken_hint",
    "The connection is slow or blocked. Nothing was delivered; barua will try again.",
)
PROXY_REFUSED = Message("http.proxy_refused", "the proxy refused to connect to {host} port {port}")
PROXY_HINT = Message(
    "http.proxy_hint", "Check the proxy settings (HTTPS_PROXY, NO_PROXY) of this computer."
)
BROKE_AFTER_SENDING = Message(
    "http.broke_after_sending",
    "the connection broke after the message was sent, before the email service answered; it "
    "may or may not have been accepted",
)
CLOSED_BEFORE_SENDING = Message(
    "http.closed_before_sending",
    "{host} port {port} closed the connection before the message was sent",
)
UNREADABLE_ANSWER = Message(
    "http.unreadable_answer",
    "the answer of the email service could not be read; the message may or may not have been "
    "accepted",
)
REQUEST_FAILED = Message(
    "http.request_failed", "the request to {host} port {port} failed: {reason}"
)
UNEXPECTED_HINT = Message(
    "http.unexpected_hint", "This is unexpected: please report it together with this message."
)
HTTP_EVERY_RECIPIENT_REFUSED = Message(
    "http.every_recipient_refused", "the email service refused every recipient: {refusals}"
)

# The service's answers other than 202 (HttpTransport._refusal).
KEY_REQUIRED = Message("http.key_required", "the email service requires an API key")
KEY_REQUIRED_HINT = Message(
    "http.key_required_hint", "Enter the API key the email service gave you in the settings."
)
KEY_REFUSED = Message("http.key_refused", "the email service refused the API key")
KEY_NOT_ALLOWED = Message(
    "http.key_not_allowed", "the email service does not allow this API key to send this message"
)
KEY_NOT_ALLOWED_HINT = Message(
    "http.key_not_allowed_hint",
    "The key may be disabled, or not allowed to send for {sender}: ask the service's "
    "administrator, or check the reply_to address in the settings.",
)
HTTP_TOO_LARGE_FOR_LIMIT = Message(
    "http.too_large_for_limit",
    "the message is {size}, larger than the {limit} the email service accepts",
)
HTTP_TOO_LARGE = Message(
    "http.too_large", "the message ({size}) is larger than the email service accepts"
)
RATE_LIMITED = Message("http.rate_limited", "the email service is limiting how fast mail is sent")
IN_PROGRESS = Message("http.in_progress", "the email service is still working on this message")
RETRY_HINT = Message("http.retry_hint", "barua will try again {wait}.")
WAIT_AS_ASKED = Message("http.wait_as_asked", "in {seconds:g} seconds, as the service asks")
WAIT_LATER = Message("http.wait_later", "later")
SAME_ID_CONFLICT = Message(
    "http.same_id_conflict",
    "the email service already has a different message with the same Message-ID",
)
SAME_ID_CONFLICT_HINT = Message(
    "http.same_id_conflict_hint",
    "Each message needs its own Message-ID; build the message again.",
)
GATEWAY_GAVE_UP = Message(
    "http.gateway_gave_up",
    "a gateway in front of the email service gave up ({status}); the message may or may not "
    "have been accepted",
)
SERVICE_PROBLEM = Message(
    "http.service_problem", "the email service has a problem right now ({status} {reason})"
)
SERVICE_PROBLEM_HINT = Message(
    "http.service_problem_hint", "This is on the service's side; barua will try again {wait}."
)
NOT_OFFERED = Message(
    "http.not_offered",
    "{host} port {port} does not offer the barua email service ({status} for {path})",
)
NOT_OFFERED_HINT = Message(
    "http.not_offered_hint",
    "Check http_service_url: it is the service's base address, such as "
    "https://mail.example.com, without /v1/messages.",
)
REDIRECTS = Message("http.redirects", "the email service redirects to {target}")
ANOTHER_ADDRESS = Message("http.another_address", "another address")
REDIRECTS_HINT = Message(
    "http.redirects_hint",
    "Set http_service_url to the new address. barua does not follow redirects, so the API key "
    "goes only where the settings say.",
)
UNLIKE_THE_SERVICE = Message(
    "http.unlike_the_service",
    "{host} port {port} does not answer like a barua email service ({status} {reason}); the "
    "message may or may not have been accepted",
)
UNLIKE_THE_SERVICE_HINT = Message(
    "http.unlike_the_service_hint",
    "Check that http_service_url is the address of the email service, not of a website.",
)
INVALID_REQUEST = Message(
    "http.invalid_request", "the email service refused the request as invalid"
)
INVALID_REQUEST_HINT = Message(
    "http.invalid_request_hint",
    "The service's reply says what is wrong; this points to a bug or to incompatible versions "
    "of barua and the service.",
)
HTTP_REFUSED = Message("http.refused", "the email service refused the message ({status} {reason})")

# Signing in with the provider (OAuth) -----------------------------------------------------------

OAUTH_NO_ENDPOINTS = Message(
    "transport.oauth.no_endpoints", "barua does not know where {provider} signs in"
)
OAUTH_NO_CLIENT = Message(
    "transport.oauth.no_client", "no app is registered for signing in with {provider}"
)
OAUTH_NO_DEVICE = Message(
    "transport.oauth.no_device", "{provider} offers no sign-in with a code on another device"
)
OAUTH_NO_AUTHORIZE = Message(
    "transport.oauth.no_authorize", "{provider} offers no sign-in in a browser"
)
OAUTH_CODE_EXPIRED = Message("transport.oauth.code_expired", "the sign-in was not finished in time")
OAUTH_DENIED = Message("transport.oauth.denied", "the sign-in was refused at the provider's page")
OAUTH_PENDING = Message("transport.oauth.pending", "the sign-in is not finished yet")
OAUTH_UNREACHABLE = Message(
    "transport.oauth.unreachable", "the sign-in service of {provider} did not answer: {reason}"
)
OAUTH_NOT_JSON = Message(
    "transport.oauth.not_json", "the sign-in service answered HTTP {status} with no usable answer"
)
OAUTH_INVALID_GRANT = Message(
    "transport.oauth.invalid_grant", "the provider no longer accepts the sign-in ({reason})"
)
OAUTH_CONSENT = Message(
    "transport.oauth.consent", "the provider wants consent for the app ({reason})"
)
OAUTH_REFUSED = Message("transport.oauth.refused", "the provider refused: {reason}")
OAUTH_UNEXPECTED = Message(
    "transport.oauth.unexpected", "the provider's answer holds no token (it has: {fields})"
)
OAUTH_NO_DISCOVERY = Message(
    "transport.oauth.no_discovery", "the discovery document {url} could not be read: {reason}"
)
OAUTH_STATE = Message(
    "transport.oauth.state",
    "the browser came back with an answer to another sign-in (its state does not match)",
)
OAUTH_BROWSER_TIMEOUT = Message(
    "transport.oauth.browser_timeout", "the browser did not come back within {minutes} minutes"
)
OAUTH_NOT_SIGNED_IN = Message(
    "transport.oauth.not_signed_in", "nobody has signed in with {provider} for these settings"
)
OAUTH_SIGN_IN_DEAD = Message(
    "transport.oauth.sign_in_dead", "{provider} refused to renew the sign-in of {account}"
)
OAUTH_TOKEN_REFUSED = Message(
    "transport.oauth.token_refused", "the server refused the sign-in of {account}"
)
OAUTH_NO_MECHANISM = Message(
    "transport.oauth.no_mechanism",
    "{host} port {port} offers no login with a token (XOAUTH2 or OAUTHBEARER)",
)
