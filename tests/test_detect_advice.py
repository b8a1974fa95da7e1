"""What a proposal tells the user besides the values: the password to use, the provider's
notes and limits, and what to do when the provider refuses passwords; in the JSON too.

DNS is a DNS server on loopback; the presets need no network at all.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from barua.settings import Security, make_settings
from barua.setup.detect import Proposal, Source, detect
from barua.setup.providers import PRESETS, Preset, get_preset
from tests.dns_server import DnsServer
from tests.test_detect import WebServer, config_xml

GMAIL_PASSWORD = (
    "Gmail needs an app password, not your normal password. Turn on 2-Step Verification for "
    "your Google Account, then open Google Account → Security → App passwords "
    "(myaccount.google.com/apppasswords), create an app password named barua and paste the 16 "
    "letters it shows as the password."
)
GMAIL_NOTE = (
    "Gmail sends at most about 500 emails a day from a personal account, and shows your Gmail "
    'address as the sender unless you added the address under "Send mail as".'
)


@pytest.fixture
def dns() -> Iterator[DnsServer]:
    with DnsServer() as server:
        yield server


def run(dns: DnsServer, address: str) -> Proposal:
    return detect(
        address,
        resolver=dns.resolver(timeout=1.0),
        autoconfig_urls=[],
        probe_hosts={},
        timeout=2.0,
    )


def sign_in(provider: str, command: str) -> list[str]:
    """The two lines that propose signing in instead of a password."""
    return [
        f"{provider} lets barua send with a sign-in instead of a password: register an app for "
        "your business (the README shows how), then sign in once:",
        f"  barua settings oauth {command} --client-id YOUR-APP-ID",
    ]


def test_gmail_proposal_carries_password_advice_notes_and_limit(dns: DnsServer) -> None:
    proposal = run(dns, "duka@gmail.com")
    assert proposal.password_advice() == GMAIL_PASSWORD
    assert proposal.notes() == [GMAIL_NOTE]
    assert proposal.sending_limit() == {"per_day": 500}
    assert proposal.accepts_password
    assert proposal.advice_lines() == [GMAIL_PASSWORD, GMAIL_NOTE, *sign_in("Gmail", "google")]
    data = proposal.to_dict()
    assert data["password_advice"] == GMAIL_PASSWORD
    assert data["notes"] == [GMAIL_NOTE]
    assert data["sending_limit"] == {"per_day": 500}
    assert data["accepts_password"] is True
    assert data["advice"] == [GMAIL_PASSWORD, GMAIL_NOTE, *sign_in("Gmail", "google")]
    assert data["sign_in"] == "google"
    assert data["sign_in_command"] == "barua settings oauth google --client-id YOUR-APP-ID"


def test_microsoft_365_by_mx_gives_all_its_limits(dns: DnsServer) -> None:
    dns.add("duka.example", "MX", "0 duka-example.mail.protection.outlook.com.")
    proposal = run(dns, "duka@duka.example")
    assert proposal.source is Source.MX
    assert proposal.sending_limit() == {"per_day": 10000, "per_minute": 30, "connections": 3}
    lines = proposal.advice_lines()
    assert lines == [
        get_preset("microsoft_365").oauth_note,
        get_preset("microsoft_365").notes,
        *sign_in("Microsoft 365", "microsoft"),
    ]
    assert proposal.accepts_password, "Microsoft 365 still takes a password while allowed"
    assert sum("Authenticated SMTP" in line for line in lines) == 1


@pytest.mark.parametrize(
    ("address", "wanted"),
    [
        ("duka@gmx.com", '"Send and receive email via external program"'),
        ("duka@gmx.net", "access by external programs is allowed"),
        ("duka@zoho.com", "smtp.zoho.eu, smtp.zoho.in, smtp.zoho.com.au or smtp.zoho.jp"),
        ("duka@proton.me", "trust (pin) it after the first test"),
        ("duka@proton.me", "use the password that the Bridge app shows"),
        ("duka@icloud.com", "App-Specific Passwords"),
    ],
)
def test_provider_notes_and_steps_are_shown(dns: DnsServer, address: str, wanted: str) -> None:
    lines = run(dns, address).advice_lines()
    assert any(wanted in line for line in lines), lines


def test_outlook_com_says_what_to_do_instead_of_a_password(dns: DnsServer) -> None:
    proposal = run(dns, "duka@outlook.com")
    assert proposal.explain() == (
        "duka@outlook.com is an address at Outlook.com. Send through smtp-mail.outlook.com "
        "port 587 with STARTTLS."
    )
    assert not proposal.accepts_password
    instead = sign_in("Outlook.com", "microsoft")
    assert proposal.advice_lines() == [get_preset("outlook_com").notes, *instead]
    data = proposal.to_dict()
    assert data["accepts_password"] is False
    assert data["advice"][-2:] == instead
    assert data["sending_limit"] == {"per_day": 300}


@pytest.mark.parametrize("preset", [p for p in PRESETS if p.domains], ids=lambda p: p.id)
def test_preset_explanation_needs_no_article_before_the_name(
    dns: DnsServer, preset: Preset
) -> None:
    # "a Outlook.com address" read wrong: the name now follows "at".
    address = f"duka@{preset.domains[0]}"
    assert run(dns, address).explain().startswith(f"{address} is an address at {preset.name}. ")


def test_icloud_custom_domain_found_by_mx_leaves_the_login_to_the_user(dns: DnsServer) -> None:
    dns.add("duka.example", "MX", "10 mx01.mail.icloud.com.", "10 mx02.mail.icloud.com.")
    proposal = run(dns, "duka@duka.example")
    assert proposal.source is Source.MX
    assert proposal.preset == get_preset("icloud")
    # The custom address is not the login: iCloud wants the ...@icloud.com address.
    assert proposal.values == {
        "host": "smtp.mail.me.com",
        "port": 587,
        "security": Security.STARTTLS,
        "email_address": "duka@duka.example",
    }
    assert any("primary iCloud Mail address (username)" in n for n in proposal.notes())
    settings = make_settings(**proposal.values, username="duka@icloud.com", password="x")
    assert settings.from_address == "duka@duka.example"


@pytest.mark.parametrize(
    ("mx", "preset_id", "host"),
    [
        ("mx.zoho.com", "zoho_workplace", "smtppro.zoho.com"),
        ("mx.zoho.eu", "zoho_workplace_eu", "smtppro.zoho.eu"),
        ("mx.zoho.in", "zoho_workplace_in", "smtppro.zoho.in"),
        ("mx2.zoho.com.au", "zoho_workplace_au", "smtppro.zoho.com.au"),
        ("mx.zoho.jp", "zoho_workplace_jp", "smtppro.zoho.jp"),
    ],
)
def test_zoho_region_found_by_mx(dns: DnsServer, mx: str, preset_id: str, host: str) -> None:
    dns.add("duka.example", "MX", f"10 {mx}.")
    proposal = run(dns, "duka@duka.example")
    assert proposal.source is Source.MX
    assert proposal.preset == get_preset(preset_id)
    assert proposal.values == {
        "host": host,
        "port": 465,
        "security": Security.SSL,
        "username": "duka@duka.example",
    }
    assert host in proposal.explain()
    assert any(host in note for note in proposal.notes())


def test_settings_found_without_a_preset_have_no_advice(dns: DnsServer) -> None:
    dns.add("duka.example", "MX", "10 mx1.hosting.example.")
    document = config_xml(("smtp.duka.example", "465", "SSL", "%EMAILADDRESS%"))
    with WebServer({"/c.xml": (200, {}, document)}) as web:
        proposal = detect(
            "duka@duka.example",
            resolver=dns.resolver(timeout=1.0),
            autoconfig_urls=[web.url("/c.xml")],
            probe_hosts={},
            timeout=2.0,
        )
    assert proposal.source is Source.AUTOCONFIG
    assert proposal.advice_lines() == []
    data = proposal.to_dict()
    assert (data["password_advice"], data["notes"], data["sending_limit"]) == (None, [], None)
    assert data["accepts_password"] is True


def test_advice_lines_are_translated(dns: DnsServer) -> None:
    asked: list[str] = []

    def gettext(text: str) -> str:
        asked.append(text)
        return "[sw] " + text

    lines = run(dns, "duka@outlook.com").advice_lines(gettext)
    assert len(lines) == 3
    assert all(line.startswith("[sw] ") for line in lines[:2])
    assert lines[2] == "  barua settings oauth microsoft --client-id YOUR-APP-ID"
    assert get_preset("outlook_com").notes in asked
