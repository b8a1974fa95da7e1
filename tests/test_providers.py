"""Provider presets: every one gives valid settings, and lookups by domain, host and MX."""

from __future__ import annotations

import pytest

from barua.errors import SettingsError
from barua.settings import Security, make_settings
from barua.setup.providers import (
    PRESETS,
    PasswordKind,
    Preset,
    UsernameFormat,
    get_preset,
    preset_for_domain,
    preset_for_host,
    preset_for_mx,
    preset_settings,
    suggest_domain,
    suggest_host,
)

# Their login is neither the address nor a fixed word: the user enters it.
LOGIN_LEFT_TO_THE_USER = {"icloud", "amazon_ses", "postmark", "brevo"}


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.id)
def test_every_preset_gives_valid_settings(preset: Preset) -> None:
    values = preset_settings(preset, "shop@example.com")
    assert ("username" not in values) == (preset.id in LOGIN_LEFT_TO_THE_USER)
    settings = make_settings(**{"username": "login", **values}, password="x")
    assert settings.host == preset.host
    assert settings.port == preset.port
    assert settings.effective_security is preset.security
    assert settings.from_address == "shop@example.com"


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.id)
def test_every_preset_is_complete(preset: Preset) -> None:
    assert preset.security in {Security.SSL, Security.STARTTLS}
    assert (preset.port, preset.security) in {
        (465, Security.SSL),
        (587, Security.STARTTLS),
        (1025, Security.STARTTLS),
    }
    needs_steps = {PasswordKind.APP_PASSWORD, PasswordKind.API_KEY, PasswordKind.BRIDGE_PASSWORD}
    if preset.password_kind in needs_steps | {PasswordKind.APP_PASSWORD_IF_2FA}:
        assert preset.password_steps
    if preset.password_kind is PasswordKind.OAUTH_REQUIRED:
        assert preset.oauth_note
    assert (preset.username_format is UsernameFormat.FIXED) == (preset.fixed_username is not None)
    if preset.username_format is UsernameFormat.PROVIDER_ADDRESS:
        assert preset.domains
    assert "{" not in preset.password_steps + preset.notes + (preset.oauth_note or "")
    assert preset_for_host(preset.host, preset.port) is not None


def test_presets_have_unique_ids_and_domains() -> None:
    ids = [p.id for p in PRESETS]
    domains = [d for p in PRESETS for d in p.domains]
    assert len(ids) == len(set(ids))
    assert len(domains) == len(set(domains))
    for wanted in (
        "gmail",
        "google_workspace",
        "yahoo",
        "outlook_com",
        "microsoft_365",
        "icloud",
        "zoho",
        "fastmail",
        "gmx",
        "aol",
        "yandex",
        "proton_bridge",
        "amazon_ses",
        "sendgrid",
        "mailgun",
        "postmark",
        "brevo",
    ):
        assert get_preset(wanted).id == wanted


def test_get_preset_unknown_names_the_choices() -> None:
    with pytest.raises(SettingsError) as caught:
        get_preset("gmial")
    assert {k: str(v) for k, v in caught.value.problems.items()} == {
        "preset": 'there is no provider preset "gmial"'
    }
    assert caught.value.hint is not None and "gmail, google_workspace" in caught.value.hint


def test_username_per_format() -> None:
    assert preset_settings(get_preset("gmail"), "Duka@Gmail.com") == {
        "host": "smtp.gmail.com",
        "port": 587,
        "security": Security.STARTTLS,
        "username": "Duka@gmail.com",
    }
    assert preset_settings(get_preset("sendgrid"), "shop@duka.co.tz") == {
        "host": "smtp.sendgrid.net",
        "port": 587,
        "security": Security.STARTTLS,
        "username": "apikey",
        "email_address": "shop@duka.co.tz",
    }
    mailgun = preset_settings(get_preset("mailgun"), "shop@duka.co.tz")
    assert mailgun["username"] == "postmaster@duka.co.tz"
    assert mailgun["email_address"] == "shop@duka.co.tz"
    # Without the login the provider issued, none is proposed: the address would look right
    # and be refused.
    for login_issued in ("amazon_ses", "postmark", "brevo"):
        values = preset_settings(get_preset(login_issued), "shop@duka.co.tz")
        assert "username" not in values
        assert values["email_address"] == "shop@duka.co.tz"
    ses = preset_settings(get_preset("amazon_ses"), "shop@duka.co.tz", account="AKIAEXAMPLE")
    assert ses["username"] == "AKIAEXAMPLE"
    assert ses["email_address"] == "shop@duka.co.tz"
    assert make_settings(**ses, password="x").from_address == "shop@duka.co.tz"


def test_preset_for_domain() -> None:
    assert preset_for_domain("GoogleMail.com.") == get_preset("gmail")
    assert preset_for_domain("duka@yahoo.co.uk") == get_preset("yahoo")
    assert preset_for_domain("hotmail.com") == get_preset("outlook_com")
    assert preset_for_domain("pm.me") == get_preset("proton_bridge")
    assert preset_for_domain("duka.co.tz") is None


def test_preset_for_host() -> None:
    assert preset_for_host("SMTP.Gmail.com") == get_preset("gmail")
    assert preset_for_host("smtp.office365.com") == get_preset("microsoft_365")
    assert preset_for_host("smtp.eu.mailgun.org") == get_preset("mailgun")
    assert preset_for_host("email-smtp.eu-west-1.amazonaws.com") == get_preset("amazon_ses")
    assert preset_for_host("email-smtp.ap-southeast-2.amazonaws.com") == get_preset("amazon_ses")
    assert preset_for_host("email-smtp-fips.us-gov-west-1.amazonaws.com") == get_preset(
        "amazon_ses"
    )
    assert preset_for_host("email-smtp.evil.com") is None
    assert preset_for_host("smtp.example.com") is None
    # Any local relay listens on 127.0.0.1: only Bridge's port means Proton Mail Bridge.
    assert preset_for_host("127.0.0.1") is None
    assert preset_for_host("127.0.0.1", 25) is None
    assert preset_for_host("127.0.0.1", 1025) == get_preset("proton_bridge")


def test_preset_for_mx() -> None:
    assert preset_for_mx(["aspmx.l.google.com", "alt1.aspmx.l.google.com"]) == get_preset(
        "google_workspace"
    )
    assert preset_for_mx(["smtp.google.com."]) == get_preset("google_workspace")
    assert preset_for_mx(["aspmx2.googlemail.com"]) == get_preset("google_workspace")
    assert preset_for_mx(["duka-co-tz.mail.protection.outlook.com"]) == get_preset("microsoft_365")
    assert preset_for_mx(["mx.zoho.eu"]) == get_preset("zoho_workplace_eu")
    assert preset_for_mx(["in1-smtp.messagingengine.com"]) == get_preset("fastmail")
    assert preset_for_mx(["mail.protonmail.ch"]) == get_preset("proton_bridge")
    # A suffix matches whole labels only.
    assert preset_for_mx(["mx.notgoogle.com"]) is None
    assert preset_for_mx(["mx.duka.co.tz", "mx2.duka.co.tz"]) is None
    assert preset_for_mx([]) is None


@pytest.mark.parametrize(
    ("typed", "suggestion"),
    [
        ("smtp.gmial.com", "smtp.gmail.com"),
        ("smtp.gmail.co", "smtp.gmail.com"),
        ("smtp.offce365.com", "smtp.office365.com"),
        ("smtp.mail.yahooo.com", "smtp.mail.yahoo.com"),
        ("gmail.com", "smtp.gmail.com"),
        ("gmial.com", "smtp.gmail.com"),
        ("yahoo.com", "smtp.mail.yahoo.com"),
        ("outlok.com", "smtp-mail.outlook.com"),
    ],
)
def test_suggest_host_for_typos(typed: str, suggestion: str) -> None:
    assert suggest_host(typed) == suggestion


@pytest.mark.parametrize(
    "host",
    [
        "smtp.gmail.com",
        "smtp.zoho.eu",  # a real regional server, close to smtp.zoho.com
        "smtppro.zoho.in",
        "email-smtp.eu-west-1.amazonaws.com",
        "mail.duka.co.tz",
        "127.0.0.1",
        "pm.me",  # Proton's server is the local Bridge: no host to suggest
        "",
    ],
)
def test_suggest_host_leaves_real_names_alone(host: str) -> None:
    assert suggest_host(host) is None


def test_suggest_domain() -> None:
    assert suggest_domain("gmial.com") == "gmail.com"
    assert suggest_domain("duka@hotmial.com") == "hotmail.com"
    assert suggest_domain("gmail.co") == "gmail.com"
    assert suggest_domain("gmail.com") is None
    assert suggest_domain("duka.co.tz") is None


@pytest.mark.parametrize(
    "domain",
    [
        "mail.com",  # 1&1's, one letter from gmail.com
        "email.com",
        "yahoo.co.jp",  # Yahoo! JAPAN, a company of its own
        "yahoo.ie",  # Yahoo's own country domains
        "yahoo.com.ar",
        "yahoo.in",
    ],
)
def test_real_domains_close_to_a_provider_are_no_typos(domain: str) -> None:
    assert suggest_domain(domain) is None
