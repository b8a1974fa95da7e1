"""The email settings a business chooses, and their validation (pure: no I/O).

>>> s = make_settings(host="smtp.example.com", port=587, username="shop@example.com",
...                   password="secret")
>>> s.from_address, s.effective_security
('shop@example.com', <Security.STARTTLS: 'starttls'>)
"""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum
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
from barua.errors import MessageError, SettingsError


class Protocol(StrEnum):
    """How mail leaves the business."""

    SMTP = "smtp"
    """Through an SMTP server (the business's mail provider)."""
    HTTP = "http"
    """Through an HTTP email service (a barua relay or compatible)."""


class Security(StrEnum):
    """How the SMTP connection is encrypted."""

    AUTO = "auto"
    """From the port: 465 implicit TLS, 587 STARTTLS required, others STARTTLS if offered."""
    SSL = "ssl"
    """Implicit TLS from the first byte (usually port 465)."""
    STARTTLS = "starttls"
    """Plain connection upgraded with STARTTLS, which the server must offer (usually 587)."""
    STARTTLS_IF_OFFERED = "starttls_if_offered"
    """STARTTLS when the server offers it, plain otherwise; never used for a password."""
    NONE = "none"
    """No encryption at all; only for a server on this machine."""


SECRET_FIELDS = ("password", "http_api_key")

# What an Authorization header can carry: printable ASCII, no spaces.
_API_KEY = re.compile(r"[\x21-\x7e]+")
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*\.?$"
)


def _problem(message: str) -> PydanticCustomError:
    return PydanticCustomError("barua", message)


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
                        raise _problem(exc.message) from None
        return data

    @field_validator(
        "host",
        "username",
        "email_address",
        "sender_name",
        "http_service_url",
        "bcc_copy",
        "reply_to",
        mode="before",
    )
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            return value or None
        return value

    @field_validator("password", "http_api_key", mode="before")
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
            raise _problem(
                "http_api_key may contain only ASCII letters, digits and punctuation, "
                "without spaces"
            )
        return value

    @field_validator("host")
    @classmethod
    def _check_host(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if "://" in value:
            raise _problem(
                f'host must be a server name such as smtp.example.com, without "{value.split("://")[0]}://"'
            )
        try:
            ipaddress.ip_address(value.strip("[]"))
            return value.strip("[]")
        except ValueError:
            pass
        if ":" in value or "/" in value:
            raise _problem("host must not contain a port or path: put the port in the port field")
        try:
            ascii_host = value.encode("idna").decode("ascii")
        except UnicodeError:
            ascii_host = ""
        if not _HOSTNAME.match(ascii_host):
            raise _problem(f'host "{value}" is not a valid server name')
        return value

    @field_validator("pinned_certificate", mode="before")
    @classmethod
    def _check_pin(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        normalised = normalise_fingerprint(str(value))
        if normalised is None:
            raise _problem(
                "pinned_certificate must be a SHA-256 fingerprint (64 hexadecimal digits)"
            )
        return normalised

    @field_validator("port")
    @classmethod
    def _check_port(cls, value: int) -> int:
        if not 1 <= value <= 65535:
            raise _problem("port must be between 1 and 65535")
        return value

    @field_validator("timeout")
    @classmethod
    def _check_timeout(cls, value: float) -> float:
        if not 0 < value <= 600:
            raise _problem("timeout must be more than 0 and at most 600 seconds")
        return value

    @field_validator("email_address", "bcc_copy", "reply_to")
    @classmethod
    def _check_address(cls, value: str | None, info: Any) -> str | None:
        if value is None:
            return None
        try:
            return validate_address(value, field=info.field_name).address
        except MessageError as exc:
            raise _problem(exc.message) from None

    @field_validator("http_service_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"https", "http"} or not parts.hostname:
            raise _problem(
                "http_service_url must be a full address such as https://mail.example.com"
            )
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            raise _problem(
                "http_service_url must use https:// (plain http:// is allowed only for localhost)"
            )
        return value.rstrip("/")

    @model_validator(mode="after")
    def _check_combination(self) -> Settings:
        problems: list[str] = []
        if self.protocol is Protocol.HTTP:
            if self.http_service_url is None:
                problems.append("http_service_url is required with the HTTP protocol")
            if self.reply_to is None:
                problems.append(
                    "reply_to is required with the HTTP protocol: the service sends from its "
                    "own address, so replies must go to yours"
                )
        else:
            if self.host is None:
                problems.append("host is required with the SMTP protocol")
            if self.password is not None and self.username is None:
                problems.append("username is required when a password is given")
            if (
                self.username is not None
                and self.email_address is None
                and not _looks_like_address(self.username)
            ):
                problems.append(
                    f'email_address is required because username "{self.username}" '
                    "is not an email address"
                )
            if self.username is None and self.email_address is None:
                problems.append(
                    "email_address is required when there is no username: "
                    "it is the address mail is sent from"
                )
        if problems:
            raise _problem("\n".join(problems))
        return self

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


_FIELD_ALIASES = {"__root__": "settings"}


def settings_problems(error: ValidationError) -> dict[str, str]:
    """One plain message per wrong field, naming the field."""
    problems: dict[str, str] = {}
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "settings"
        field = _FIELD_ALIASES.get(field, field)
        if item["type"] == "barua":
            for n, line in enumerate(item["msg"].split("\n")):
                key = line.split(" ", 1)[0] if field == "settings" else field
                problems[key if key not in problems else f"{key}#{n}"] = line
        elif item["type"] == "extra_forbidden":
            problems[field] = f"{field} is not a setting barua knows"
        elif item["type"] in {"int_parsing", "int_type", "int_from_float"}:
            problems[field] = f"{field} must be a whole number"
        elif item["type"] in {"float_parsing", "float_type"}:
            problems[field] = f"{field} must be a number"
        elif item["type"] in {"bool_parsing", "bool_type"}:
            problems[field] = f"{field} must be true or false"
        elif item["type"] == "enum":
            expected = item.get("ctx", {}).get("expected", "")
            problems[field] = f"{field} must be one of {expected}"
        else:
            problems[field] = f"{field}: {item['msg']}"
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
