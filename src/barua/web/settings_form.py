"""The email settings form: what its fields hold, and the changes a posted form asks for.

The form is the one users know from their business software: the protocol first (SMTP or an
HTTP email service), then only that protocol's fields; the password is never sent back to
the browser (empty means unchanged); copy and reply-to addresses behind their checkboxes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SECURITIES = ("auto", "ssl", "starttls", "none")

PORTS = (
    (465, "SSL/TLS", True),
    (587, "STARTTLS", True),
    (25, "", False),
)
"""The usual ports: number, encryption, and whether it is secure (25 is unencrypted)."""


def form_values(saved: Mapping[str, Any]) -> dict[str, Any]:
    """The form's fields from the settings in effect (secrets only as set or not)."""

    def text(name: str) -> str:
        value = saved.get(name)
        return "" if value is None else str(value)

    protocol = text("protocol") or "smtp"
    reply_to = text("reply_to")
    return {
        "protocol": protocol,
        "host": text("host"),
        "port": text("port") or "587",
        "security": text("security") or "auto",
        "username": text("username"),
        "email_address": text("email_address"),
        "password_set": bool(saved.get("password_set")),
        "sender_name": text("sender_name"),
        "copy_enabled": bool(saved.get("bcc_copy")),
        "bcc_copy": text("bcc_copy"),
        "replies_enabled": protocol == "smtp" and bool(reply_to),
        "smtp_reply_to": reply_to if protocol == "smtp" else "",
        "http_reply_to": reply_to if protocol == "http" else "",
        "skip_tls_verify": bool(saved.get("skip_tls_verify")),
        "http_service_url": text("http_service_url"),
        "http_api_key_set": bool(saved.get("http_api_key_set")),
        "timeout": _number(saved.get("timeout"), "30"),
        "auth": text("auth") or "password",
        "oauth_provider": text("oauth_provider"),
        "oauth_client_id": text("oauth_client_id"),
        "oauth_tenant": text("oauth_tenant"),
        "oauth_client_secret_set": bool(saved.get("oauth_client_secret_set")),
    }


def posted_values(form: Mapping[str, str], saved: Mapping[str, Any]) -> dict[str, Any]:
    """The form's fields as the user typed them (shown again beside the errors); secrets
    stay out."""
    values = form_values(saved)
    for name in (
        "protocol",
        "host",
        "port",
        "security",
        "username",
        "email_address",
        "sender_name",
        "bcc_copy",
        "smtp_reply_to",
        "http_reply_to",
        "http_service_url",
        "timeout",
    ):
        if name in form:
            values[name] = form[name]
    for flag in ("copy_enabled", "replies_enabled", "skip_tls_verify"):
        values[flag] = flag in form
    return values


def settings_changes(form: Mapping[str, str]) -> dict[str, Any]:
    """The changes a posted form asks for: the chosen protocol's fields and the common ones.
    An empty password or API key keeps the saved one; its "remove" box removes it."""
    protocol = form.get("protocol", "smtp")
    changes: dict[str, Any] = {
        "protocol": protocol,
        "sender_name": form.get("sender_name", ""),
        "bcc_copy": form.get("bcc_copy", "") if "copy_enabled" in form else None,
    }
    if "timeout" in form and form["timeout"].strip():
        changes["timeout"] = form["timeout"].strip()
    if protocol == "http":
        changes["http_service_url"] = form.get("http_service_url", "")
        changes["reply_to"] = form.get("http_reply_to", "")
        _secret(changes, form, "http_api_key")
        return changes
    username = form.get("username", "")
    changes.update(
        host=form.get("host", ""),
        port=form.get("port", "").strip() or "587",
        security=form.get("security", "auto") or "auto",
        username=username,
        # The address field shows only while the username is not an address.
        email_address=form.get("email_address", "") if "@" not in username else None,
        reply_to=form.get("smtp_reply_to", "") if "replies_enabled" in form else None,
        skip_tls_verify="skip_tls_verify" in form,
    )
    _secret(changes, form, "password")
    if form.get("pinned_certificate", "").strip():
        # Trusted during a test on this page: saved with the rest.
        changes["pinned_certificate"] = form["pinned_certificate"].strip()
    return changes


def _secret(changes: dict[str, Any], form: Mapping[str, str], name: str) -> None:
    if f"remove_{name}" in form:
        changes[name] = None
    elif form.get(name):
        changes[name] = form[name]


def _number(value: Any, default: str) -> str:
    if value is None:
        return default
    number = float(value)
    return f"{number:g}"
