"""The choices of the email settings, apart so that a face can offer them without loading the
settings' validation (pydantic, email-validator): ``barua --help`` stays fast."""

from __future__ import annotations

from enum import StrEnum


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


class AuthMethod(StrEnum):
    """How barua logs in to the SMTP server."""

    PASSWORD = "password"  # noqa: S105 - a choice, not a password
    """A username and a password (or an app password)."""
    OAUTH = "oauth"
    """A sign-in with the provider (OAuth 2.0): an access token, sent with SASL XOAUTH2."""


class OAuthProvider(StrEnum):
    """Who signs the user in."""

    MICROSOFT = "microsoft"
    """Microsoft 365 and Outlook.com (Microsoft Entra ID)."""
    GOOGLE = "google"
    """Gmail and Google Workspace."""
    CUSTOM = "custom"
    """Any OpenID Connect provider, found from its issuer's discovery document."""
