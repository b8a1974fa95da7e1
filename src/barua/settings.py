"""The email settings a business chooses, and their validation (pure: no I/O).

>>> s = make_settings(host="smtp.example.com", port=587, username="shop@example.com",
...                   password="secret")
>>> s.from_address, s.effective_security
('shop@example.com', <Security.STARTTLS: 'starttls'>)
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from barua.addresses import check_no_line_breaks, validate_address
from barua.certificates import normalise_fingerprint
from barua.choices import AuthMethod, OAuthProvider, Protocol, Security
from barua.errors import MessageError, SettingsError
from barua.i18n import NC_
from barua.texts import Message, Text

__all__ = [
    "SECRET_FIELDS",
    "AuthMethod",
    "OAuthProvider",
    "Protocol",
    "Security",
    "Settings",
    "is_loopback",
    "make_settings",
    "settings_problems",
    "update_settings",
]

SECRET_FIELDS = ("password", "http_api_key", "oauth_client_secret")

# What an Authorization header can carry: printable ASCII, no spaces.
_API_KEY = re.compile(r"[\x21-\x7e]+")
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*\.?$"
)


FIELD_NAMES = (
    NC_("field", "protocol"),
    NC_("field", "host"),
    NC_("field", "port"),
    NC_("field", "security"),
    NC_("field", "username"),
    NC_("field", "email_address"),
    NC_("field", "sender_name"),
    NC_("field", "http_service_url"),
    NC_("field", "http_api_key"),
    NC_("field", "bcc_copy"),
    NC_("field", "reply_to"),
    NC_("field", "skip_tls_verify"),
    NC_("field", "pinned_certificate"),
    NC_("field", "timeout"),
    NC_("field", "auth"),
    NC_("field", "password"),
    NC_("field", "oauth_provider"),
    NC_("field", "oauth_client_id"),
    NC_("field", "oauth_client_secret"),
    NC_("field", "oauth_tenant"),
    NC_("field", "oauth_issuer"),
    NC_("field", "oauth_scope"),
    NC_("field", "oauth_authorization_url"),
    NC_("field", "oauth_token_url"),
    NC_("field", "oauth_device_url"),
    NC_("field", "sign-in"),
)
"""Every setting's name, marked for the catalog: messages and `settings show` name a setting
in the reader's language (``sign-in``: the sign-in a setting of OAuth keeps)."""


API_KEY_CHARACTERS = Message(
    "settings.api_key_characters",
    "http_api_key may contain only ASCII letters, digits and punctuation, without spaces",
)
HOST_WITH_SCHEME = Message(
    "settings.host_with_scheme",
    'host must be a server name such as smtp.example.com, without "{scheme}://"',
)
HOST_WITH_PORT = Message(
    "settings.host_with_port",
    "host must not contain a port or path: put the port in the port field",
)
HOST_INVALID = Message("settings.host_invalid", 'host "{value}" is not a valid server name')
PIN_INVALID = Message(
    "settings.pin_invalid",
    "pinned_certificate must be a SHA-256 fingerprint (64 hexadecimal digits)",
)
PORT_RANGE = Message("settings.port_range", "port must be between 1 and 65535")
TIMEOUT_RANGE = Message(
    "settings.timeout_range", "timeout must be more than 0 and at most 600 seconds"
)
URL_NOT_FULL = Message(
    "settings.url_not_full",
    "http_service_url must be a full address such as https://mail.example.com",
)
URL_NOT_HTTPS = Message(
    "settings.url_not_https",
    "http_service_url must use https:// (plain http:// is allowed only for localhost)",
)
URL_REQUIRED = Message(
    "settings.url_required", "http_service_url is required with the HTTP protocol"
)
REPLY_TO_REQUIRED = Message(
    "settings.reply_to_required",
    "reply_to is required with the HTTP protocol: the service sends from its own address, so "
    "replies must go to yours",
)
HOST_REQUIRED = Message("settings.host_required", "host is required with the SMTP protocol")
USERNAME_REQUIRED = Message(
    "settings.username_required", "username is required when a password is given"
)
EMAIL_ADDRESS_REQUIRED = Message(
    "settings.email_address_required",
    'email_address is required because username "{username}" is not an email address',
)
FROM_ADDRESS_REQUIRED = Message(
    "settings.from_address_required",
    "email_address is required when there is no username: it is the address mail is sent from",
)
OAUTH_URL = Message(
    "settings.oauth_url",
    "{field} must be a full https:// address (plain http:// only for this computer)",
)
OAUTH_PROVIDER_REQUIRED = Message(
    "settings.oauth_provider_required",
    "oauth_provider is required to sign in: microsoft, google or custom",
)
OAUTH_CLIENT_REQUIRED = Message(
    "settings.oauth_client_required",
    "oauth_client_id is required to sign in: the app registered with the provider",
)
OAUTH_USERNAME_REQUIRED = Message(
    "settings.oauth_username_required",
    "username is required with a sign-in: the mailbox that signs in",
)
OAUTH_ISSUER_REQUIRED = Message(
    "settings.oauth_issuer_required",
    "oauth_issuer is required with a custom provider: the address of its discovery document",
)
UNKNOWN_SETTING = Message("settings.unknown", "{field} is not a setting barua knows")
NOT_WHOLE_NUMBER = Message("settings.not_whole_number", "{field} must be a whole number")
NOT_NUMBER = Message("settings.not_number", "{field} must be a number")
NOT_BOOLEAN = Message("settings.not_boolean", "{field} must be true or false")
NOT_ONE_OF = Message("settings.not_one_of", "{field} must be one of {choices}")
INVALID_VALUE = Message("settings.invalid", "{field}: {reason}")

_ONE = "barua"
_SEVERAL = "barua_settings_problems"


def _problem(text: Text) -> PydanticCustomError:
    return PydanticCustomError(_ONE, "{text}", {"text": text})


def _problems(problems: list[tuple[str, Text]]) -> PydanticCustomError:
    """Problems of the settings as a whole, each with the field it is about."""
    return PydanticCustomError(
        _SEVERAL, "{count} problems", {"problems": problems, "count": len(problems)}
    )


def is_loopback(host: str) -> bool:
    """True when ``host`` names this machine (localhost or a loopback address)."""
    if host.lower() in {"localhost", "localhost.", "ip6-localhost"}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Settings(BaseModel):
    """Everything the email settings form holds. Instances are immutable and always valid."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    protocol: Protocol = Protocol.SMTP
    # SMTP
    host: str | None = None
    port: int = 587
    security: Security = Security.AUTO
    username: str | None = None
    email_address: str | None = None
    password: SecretStr | None = None
    sender_name: str | None = None
    # HTTP email service
    http_service_url: str | None = None
    http_api_key: SecretStr | None = None
    # Options
    bcc_copy: str | None = None
    reply_to: str | None = None
    skip_tls_verify: bool = False
    pinned_certificate: str | None = None
    """SHA-256 fingerprint of the one certificate to accept, instead of CA verification."""
    timeout: float = 30.0
    # Signing in with the provider instead of a password (OAuth 2.0)
    auth: AuthMethod = AuthMethod.PASSWORD
    oauth_provider: OAuthProvider | None = None
    oauth_client_id: str | None = None
    """The app the business registered with its provider."""
    oauth_client_secret: SecretStr | None = None
    """The app's secret, where the provider gives one (Google's desktop apps, web apps)."""
    oauth_tenant: str | None = None
    """Microsoft: the organisation's tenant (a domain or ID); ``organizations`` when unset."""
    oauth_issuer: str | None = None
    """A custom provider: the issuer URL whose discovery document names its endpoints."""
    oauth_scope: str | None = None
    """The scopes asked for, instead of the provider's usual ones."""
    oauth_authorization_url: str | None = None
    oauth_token_url: str | None = None
    oauth_device_url: str | None = None
    """The provider's endpoints, instead of its usual ones (a private identity provider)."""

    @model_validator(mode="before")
    @classmethod
    def _no_line_breaks(cls, data: Any) -> Any:
        if isinstance(data, dict):
            key = data.get("http_api_key")
            if isinstance(key, str | SecretStr):
                # A key copied from a web page often brings a space or line break along.
                raw = key.get_secret_value() if isinstance(key, SecretStr) else key
                data = {**data, "http_api_key": raw.strip()}
            for name, value in data.items():
                raw = value.get_secret_value() if isinstance(value, SecretStr) else value
                if isinstance(raw, str):
                    try:
                        check_no_line_breaks(raw, field=name)
                    except MessageError as exc:
                        raise _problems([(name, exc.text)]) from None
        return data

    @field_validator(
        "host",
        "username",
        "email_address",
        "sender_name",
        "http_service_url",
        "bcc_copy",
        "reply_to",
        "oauth_client_id",
        "oauth_tenant",
        "oauth_issuer",
        "oauth_scope",
        "oauth_authorization_url",
        "oauth_token_url",
        "oauth_device_url",
        mode="before",
    )
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            return value or None
        return value

    @field_validator("password", "http_api_key", "oauth_client_secret", mode="before")
    @classmethod
    def _empty_secret_is_none(cls, value: Any) -> Any:
        if value == "" or (isinstance(value, SecretStr) and not value.get_secret_value()):
            return None
        return value

    @field_validator("http_api_key")
    @classmethod
    def _check_api_key(cls, value: SecretStr | None) -> SecretStr | None:
        # Never quote the key: it is a secret even when it is wrong.
        if value is not None and not _API_KEY.fullmatch(value.get_secret_value()):
            raise _problem(API_KEY_CHARACTERS())
        return value

    @field_validator("host")
    @classmethod
    def _check_host(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if "://" in value:
            raise _problem(HOST_WITH_SCHEME(scheme=value.split("://")[0]))
        try:
            ipaddress.ip_address(value.strip("[]"))
            return value.strip("[]")
        except ValueError:
            pass
        if ":" in value or "/" in value:
            raise _problem(HOST_WITH_PORT())
        try:
            ascii_host = value.encode("idna").decode("ascii")
        except UnicodeError:
            ascii_host = ""
        if not _HOSTNAME.match(ascii_host):
            raise _problem(HOST_INVALID(value=value))
        return value

    @field_validator("pinned_certificate", mode="before")
    @classmethod
    def _check_pin(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        normalised = normalise_fingerprint(str(value))
        if normalised is None:
            raise _problem(PIN_INVALID())
        return normalised

    @field_validator("port")
    @classmethod
    def _check_port(cls, value: int) -> int:
        if not 1 <= value <= 65535:
            raise _problem(PORT_RANGE())
        return value

    @field_validator("timeout")
    @classmethod
    def _check_timeout(cls, value: float) -> float:
        if not 0 < value <= 600:
            raise _problem(TIMEOUT_RANGE())
        return value

    @field_validator("email_address", "bcc_copy", "reply_to")
    @classmethod
    def _check_address(cls, value: str | None, info: Any) -> str | None:
        if value is None:
            return None
        try:
            return validate_address(value, field=info.field_name).address
        except MessageError as exc:
            raise _problem(exc.text) from None

    @field_validator("http_service_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"https", "http"} or not parts.hostname:
            raise _problem(URL_NOT_FULL())
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            raise _problem(URL_NOT_HTTPS())
        return value.rstrip("/")

    @field_validator(
        "oauth_issuer", "oauth_authorization_url", "oauth_token_url", "oauth_device_url"
    )
    @classmethod
    def _check_oauth_url(cls, value: str | None, info: Any) -> str | None:
        # Tokens and the app's secret go to these addresses: HTTPS only, but on this machine.
        if value is None:
            return None
        parts = urlsplit(value)
        secure = parts.scheme == "https" or (
            parts.scheme == "http" and parts.hostname is not None and is_loopback(parts.hostname)
        )
        if not parts.hostname or not secure:
            raise _problem(OAUTH_URL(field=info.field_name))
        return value.rstrip("/")

    @model_validator(mode="after")
    def _check_combination(self) -> Settings:
        problems: list[tuple[str, Text]] = []
        if self.protocol is Protocol.HTTP:
            if self.http_service_url is None:
                problems.append(("http_service_url", URL_REQUIRED()))
            if self.reply_to is None:
                problems.append(("reply_to", REPLY_TO_REQUIRED()))
        else:
            if self.host is None:
                problems.append(("host", HOST_REQUIRED()))
            if self.password is not None and self.username is None:
                problems.append(("username", USERNAME_REQUIRED()))
            if (
                self.username is not None
                and self.email_address is None
                and not _looks_like_address(self.username)
            ):
                problems.append(("email_address", EMAIL_ADDRESS_REQUIRED(username=self.username)))
            if self.username is None and self.email_address is None:
                problems.append(("email_address", FROM_ADDRESS_REQUIRED()))
            if self.auth is AuthMethod.OAUTH:
                problems.extend(self._oauth_problems())
        if problems:
            raise _problems(problems)
        return self

    def _oauth_problems(self) -> list[tuple[str, Text]]:
        problems: list[tuple[str, Text]] = []
        if self.oauth_provider is None:
            problems.append(("oauth_provider", OAUTH_PROVIDER_REQUIRED()))
        if self.oauth_client_id is None:
            problems.append(("oauth_client_id", OAUTH_CLIENT_REQUIRED()))
        if self.username is None:
            problems.append(("username", OAUTH_USERNAME_REQUIRED()))
        custom_endpoints = self.oauth_token_url is not None and (
            self.oauth_authorization_url is not None or self.oauth_device_url is not None
        )
        if (
            self.oauth_provider is OAuthProvider.CUSTOM
            and self.oauth_issuer is None
            and not custom_endpoints
        ):
            problems.append(("oauth_issuer", OAUTH_ISSUER_REQUIRED()))
        return problems

    # Derived values -------------------------------------------------------------------------

    @property
    def from_address(self) -> str:
        """The address mail is sent from."""
        if self.protocol is Protocol.HTTP:
            assert self.reply_to is not None  # guaranteed by validation
            return self.reply_to
        if self.email_address is not None:
            return self.email_address
        assert self.username is not None  # guaranteed by validation
        return validate_address(self.username, field="username").address

    @property
    def effective_security(self) -> Security:
        """The security mode after ``auto`` is resolved from the port."""
        if self.security is not Security.AUTO:
            return self.security
        if self.port == 465:
            return Security.SSL
        if self.port == 587:
            return Security.STARTTLS
        return Security.STARTTLS_IF_OFFERED

    def public_dict(self) -> dict[str, Any]:
        """The settings as plain values, secrets replaced by whether they are set."""
        data = self.model_dump(mode="json", exclude=set(SECRET_FIELDS))
        for name in SECRET_FIELDS:
            data[f"{name}_set"] = getattr(self, name) is not None
        return data


def _looks_like_address(value: str) -> bool:
    try:
        validate_address(value, field="username")
    except MessageError:
        return False
    return True


def settings_problems(error: ValidationError) -> dict[str, Text]:
    """One message per wrong field, naming the field."""
    problems: dict[str, Text] = {}

    def add(field: str, text: Text) -> None:
        n = 1
        key = field
        while key in problems:  # one field, several problems
            key, n = f"{field}#{n}", n + 1
        problems[key] = text

    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "settings"
        kind, ctx = item["type"], item.get("ctx", {})
        if kind == _ONE:
            add(field, ctx["text"])
        elif kind == _SEVERAL:
            for name, text in ctx["problems"]:
                add(name, text)
        elif kind == "extra_forbidden":
            add(field, UNKNOWN_SETTING(field=field))
        elif kind in {"int_parsing", "int_type", "int_from_float"}:
            add(field, NOT_WHOLE_NUMBER(field=field))
        elif kind in {"float_parsing", "float_type"}:
            add(field, NOT_NUMBER(field=field))
        elif kind in {"bool_parsing", "bool_type"}:
            add(field, NOT_BOOLEAN(field=field))
        elif kind == "enum":
            add(field, NOT_ONE_OF(field=field, choices=ctx.get("expected", "")))
        else:
            add(field, INVALID_VALUE(field=field, reason=item["msg"]))
    return problems


def make_settings(**values: Any) -> Settings:
    """Validate ``values`` into :class:`Settings`, or raise :class:`SettingsError`."""
    try:
        return Settings(**values)
    except ValidationError as exc:
        raise SettingsError(settings_problems(exc)) from None


def update_settings(current: Settings | None, **changes: Any) -> Settings:
    """``current`` with ``changes`` applied and the result validated as a whole."""
    values: dict[str, Any] = {}
    if current is not None:
        values = {name: getattr(current, name) for name in Settings.model_fields}
    values.update(changes)
    return make_settings(**values)
