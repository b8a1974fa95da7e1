"""Each preset's server, port, security and login as the provider documents them, and notes
and steps that say what the provider's pages say today."""

from __future__ import annotations

import pytest

from barua.settings import Security
from barua.setup.providers import PRESETS, get_preset, preset_for_host, preset_settings

SSL, STARTTLS = Security.SSL, Security.STARTTLS
OWN = "shop@duka.co.tz"
"""An address at the shop's own domain, sent through the provider."""

# id: (host, port, security, username for an address at the provider's domain, for OWN).
# None: no username is proposed, the user enters the login the provider issued.
DOCUMENTED = {
    "gmail": ("smtp.gmail.com", 587, STARTTLS, "shop@gmail.com", OWN),
    "google_workspace": ("smtp.gmail.com", 587, STARTTLS, None, OWN),
    "yahoo": ("smtp.mail.yahoo.com", 465, SSL, "shop@yahoo.com", OWN),
    "outlook_com": ("smtp-mail.outlook.com", 587, STARTTLS, "shop@outlook.com", OWN),
    "microsoft_365": ("smtp.office365.com", 587, STARTTLS, None, OWN),
    "icloud": ("smtp.mail.me.com", 587, STARTTLS, "shop@icloud.com", None),
    "zoho": ("smtp.zoho.com", 465, SSL, "shop@zoho.com", OWN),
    "zoho_workplace": ("smtppro.zoho.com", 465, SSL, None, OWN),
    "zoho_workplace_eu": ("smtppro.zoho.eu", 465, SSL, None, OWN),
    "zoho_workplace_in": ("smtppro.zoho.in", 465, SSL, None, OWN),
    "zoho_workplace_au": ("smtppro.zoho.com.au", 465, SSL, None, OWN),
    "zoho_workplace_jp": ("smtppro.zoho.jp", 465, SSL, None, OWN),
    "fastmail": ("smtp.fastmail.com", 465, SSL, "shop@fastmail.com", OWN),
    "gmx": ("mail.gmx.com", 587, STARTTLS, "shop@gmx.com", OWN),
    "gmx_de": ("mail.gmx.net", 587, STARTTLS, "shop@gmx.net", OWN),
    "aol": ("smtp.aol.com", 465, SSL, "shop@aol.com", OWN),
    "yandex": ("smtp.yandex.com", 465, SSL, "shop@yandex.com", OWN),
    "proton_bridge": ("127.0.0.1", 1025, STARTTLS, "shop@proton.me", OWN),
    "amazon_ses": ("email-smtp.us-east-1.amazonaws.com", 587, STARTTLS, None, None),
    "sendgrid": ("smtp.sendgrid.net", 587, STARTTLS, None, "apikey"),
    "mailgun": ("smtp.mailgun.org", 587, STARTTLS, None, "postmaster@duka.co.tz"),
    "postmark": ("smtp.postmarkapp.com", 587, STARTTLS, None, None),
    "brevo": ("smtp-relay.brevo.com", 587, STARTTLS, None, None),
}


def test_every_preset_is_in_the_table() -> None:
    assert sorted(p.id for p in PRESETS) == sorted(DOCUMENTED)


@pytest.mark.parametrize("preset_id", DOCUMENTED)
def test_server_and_login_as_documented(preset_id: str) -> None:
    host, port, security, own_login, custom_login = DOCUMENTED[preset_id]
    preset = get_preset(preset_id)
    assert (preset.host, preset.port, preset.security) == (host, port, security)
    values = preset_settings(preset, OWN)
    assert (values["host"], values["port"], values["security"]) == (host, port, security)
    assert values.get("username") == custom_login
    assert values.get("email_address", values.get("username")) == OWN
    if own_login is not None:
        address = own_login
        assert preset_settings(preset, address) == {
            "host": host,
            "port": port,
            "security": security,
            "username": address,
        }


def test_icloud_at_a_custom_domain_logs_in_with_the_icloud_address() -> None:
    icloud = get_preset("icloud")
    assert preset_settings(icloud, OWN) == {
        "host": "smtp.mail.me.com",
        "port": 587,
        "security": STARTTLS,
        "email_address": OWN,
    }
    assert preset_settings(icloud, OWN, account="duka@icloud.com")["username"] == (
        "duka@icloud.com"
    )
    assert "primary iCloud Mail address (username)" in icloud.notes


@pytest.mark.parametrize(
    ("host", "preset_id"),
    [
        ("smtp.zoho.in", "zoho"),
        ("smtp.zoho.com.au", "zoho"),
        ("smtp.zoho.jp", "zoho"),
        ("smtp.zoho.eu", "zoho"),
        ("smtppro.zoho.in", "zoho_workplace_in"),
        ("smtppro.zoho.com.au", "zoho_workplace_au"),
        ("smtppro.zoho.jp", "zoho_workplace_jp"),
        ("smtppro.zoho.eu", "zoho_workplace_eu"),
        ("smtp.eu.mailgun.org", "mailgun"),
        ("email-smtp.eu-central-1.amazonaws.com", "amazon_ses"),
    ],
)
def test_regional_servers_belong_to_their_provider(host: str, preset_id: str) -> None:
    assert preset_for_host(host) == get_preset(preset_id)


def test_zoho_names_every_regional_server() -> None:
    for host in ("smtp.zoho.eu", "smtp.zoho.in", "smtp.zoho.com.au", "smtp.zoho.jp"):
        assert host in get_preset("zoho").notes


def test_sendgrid_has_no_free_plan_any_more() -> None:
    notes = get_preset("sendgrid").notes
    assert "no longer has a free plan" in notes and "trial" in notes
    assert "100 emails a day" not in notes


@pytest.mark.parametrize("preset_id", ["yahoo", "aol"])
def test_yahoo_and_aol_app_password_steps_have_no_other_app_choice(preset_id: str) -> None:
    steps = get_preset(preset_id).password_steps
    assert "Other app" not in steps
    assert "Account Security → Generate app password (or Create app password)" in steps
    assert "type a name such as barua" in steps


def test_microsoft_365_notes_do_not_repeat_the_oauth_note() -> None:
    microsoft = get_preset("microsoft_365")
    assert microsoft.oauth_note is not None and "Authenticated SMTP" in microsoft.oauth_note
    assert "Authenticated SMTP" not in microsoft.notes
