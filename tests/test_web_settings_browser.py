"""The email settings page in a real browser, as a shop owner uses it: the first sign-in through
the setup link, the fields that appear and hide, Send test email against a real SMTP server
with TLS and a login, a certificate trusted with the button, Update, and the page again."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.certs import CertFiles
from tests.smtpd import SmtpServer
from tests.web_server import Served, serve

USER, SMTP_PASSWORD = "duka@example.com", "siri-ya-duka"
PASSWORD = "kahawa chungu sana"


@pytest.fixture
def web() -> Iterator[Served]:
    with serve() as served:
        yield served


@pytest.fixture
def page(browser: Browser, web: Served) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    opened = context.new_page()
    errors: list[Any] = []
    opened.on("pageerror", lambda error: errors.append(error))  # noqa: PLW0108 - a bound method is refused
    yield opened
    context.close()
    assert errors == [], "the page's script failed"


def sign_up(page: Page, web: Served) -> None:
    page.goto(web.setup_link())
    page.get_by_label("Username").fill("amina")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_role("heading", name="Email settings")).to_be_visible()


def test_the_form_shows_the_fields_of_what_is_chosen(page: Page, web: Served) -> None:
    sign_up(page, web)
    smtp_server = page.get_by_label("SMTP server")
    service = page.get_by_label("HTTP service")
    expect(smtp_server).to_be_visible()
    expect(service).to_be_hidden()
    page.get_by_label("HTTP", exact=False).first.check()
    expect(service).to_be_visible()
    expect(page.get_by_label("Reply to")).to_be_visible()
    expect(smtp_server).to_be_hidden()
    page.get_by_role("radio", name="SMTP").check()
    expect(smtp_server).to_be_visible()

    address = page.get_by_label("Email address")
    expect(address).to_be_hidden()
    page.get_by_label("Username").fill("duka")
    expect(address).to_be_visible()
    page.get_by_label("Username").fill("duka@example.com")
    expect(address).to_be_hidden()

    password = page.get_by_label("Password", exact=True)
    password.fill("siri")
    expect(password).to_have_attribute("type", "password")
    page.get_by_role("button", name="Show password").click()
    expect(password).to_have_attribute("type", "text")
    page.get_by_role("button", name="Hide password").click()
    expect(password).to_have_attribute("type", "password")

    copy_to = page.get_by_label("Copy to")
    expect(copy_to).to_be_hidden()
    page.get_by_label("Send a copy of every email to this address").check()
    expect(copy_to).to_be_visible()
    replies = page.get_by_label("Replies go to")
    expect(replies).to_be_hidden()
    page.get_by_label("Receive replies at a different address").check()
    expect(replies).to_be_visible()


def test_test_email_trust_update_and_back(page: Page, web: Served, certs: CertFiles) -> None:
    sign_up(page, web)
    with SmtpServer(mode="starttls", certs=certs, users={USER: SMTP_PASSWORD}) as server:
        page.get_by_label("SMTP server").fill("localhost")
        page.get_by_label("Port").fill(str(server.port))
        page.get_by_label("Username").fill(USER)
        page.get_by_label("Password", exact=True).fill("not the password")
        page.get_by_label("Send a copy of every email to this address").check()
        page.get_by_label("Copy to").fill("hesabu@example.com")
        page.get_by_label("Send the test email to").fill("mteja@example.com")
        page.get_by_role("button", name="Send test email").click()

        outcome = page.locator("#test-outcome")
        expect(outcome).to_contain_text("The test email was not sent.")
        failed = page.locator("#test-steps li.bad")
        expect(failed).to_contain_text("check the certificate")
        expect(page.get_by_role("heading", name="Trust this certificate?")).to_be_visible()
        fingerprint = page.locator(".fingerprint").inner_text()
        assert server.recorder.logins == [], "no password before the certificate is trusted"

        page.get_by_role("button", name="Trust this certificate").click()
        expect(page.locator("#test-steps li.bad").last).to_contain_text("log in")
        expect(outcome).to_contain_text("the server refused the username or password")
        assert page.locator("#pinned_certificate").input_value() == fingerprint

        page.get_by_label("Password", exact=True).fill(SMTP_PASSWORD)
        page.get_by_role("button", name="Send test email").click()
        expect(outcome).to_contain_text("The test email was sent.")
        expect(page.locator("#test-steps li.bad")).to_have_count(0)
        labels = page.locator("#test-steps li .label").all_inner_texts()
        assert labels[:4] == [
            "find the server",
            "connect",
            "server greeting",
            "introduce ourselves",
        ]
        assert "log in" in labels
        assert len(server.messages) == 1
        assert sorted(server.messages[0].rcpt_tos) == ["hesabu@example.com", "mteja@example.com"]

    page.get_by_role("button", name="Update").click()
    expect(page.get_by_text("The email settings are saved.")).to_be_visible()
    page.reload()
    expect(page.get_by_label("SMTP server")).to_have_value("localhost")
    expect(page.get_by_label("Password", exact=True)).to_have_value("")
    expect(page.get_by_text("A password is saved. Leave this empty to keep it.")).to_be_visible()
    expect(page.get_by_label("Copy to")).to_have_value("hesabu@example.com")
    saved = web.barua.settings_in_effect(web.barua.business())
    assert saved.pinned_certificate == fingerprint
    assert saved.password is not None and saved.password.get_secret_value() == SMTP_PASSWORD
    assert SMTP_PASSWORD not in page.content()


def test_a_wrong_value_is_shown_beside_its_field(page: Page, web: Served) -> None:
    sign_up(page, web)
    page.get_by_label("SMTP server").fill("smtp.example.com")
    page.get_by_label("Port").fill("not a port")
    page.get_by_label("Username").fill(USER)
    page.get_by_label("Send a copy of every email to this address").check()
    page.get_by_label("Copy to").fill("not an address")
    page.get_by_role("button", name="Update").click()
    expect(page.get_by_text("Some settings need to be corrected")).to_be_visible()
    expect(page.locator("#port-error")).to_be_visible()
    expect(page.locator("#bcc_copy-error")).to_contain_text("not a valid email address")
    expect(page.get_by_label("Port")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("SMTP server")).to_have_value("smtp.example.com")
    assert not web.barua.business().has_settings


def test_kiswahili_is_chosen_once_and_remembered(page: Page, web: Served, browser: Browser) -> None:
    sign_up(page, web)
    page.get_by_role("button", name="Kiswahili").click()
    expect(page.get_by_role("heading", name="Mipangilio ya barua pepe")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "sw")
    expect(page.get_by_role("button", name="Tuma barua pepe ya majaribio")).to_be_visible()
    expect(page.get_by_role("button", name="Hifadhi")).to_be_visible()
    expect(page.get_by_role("link", name="Kikasha toezi")).to_be_visible()
    page.reload()
    expect(page.get_by_role("heading", name="Mipangilio ya barua pepe")).to_be_visible()
    # Another browser, an English one: once signed in, the user's own choice counts.
    other = browser.new_context(locale="en-GB", extra_http_headers={"accept-language": "en"})
    elsewhere = other.new_page()
    elsewhere.goto(f"{web.url}/login")
    expect(elsewhere.get_by_role("heading", name="Sign in")).to_be_visible()
    elsewhere.get_by_label("Username").fill("amina")
    elsewhere.get_by_label("Password").fill(PASSWORD)
    elsewhere.get_by_role("button", name="Sign in").click()
    expect(elsewhere.get_by_role("heading", name="Mipangilio ya barua pepe")).to_be_visible()
    other.close()


def test_an_address_offers_its_providers_settings_and_app_password_steps(
    page: Page, web: Served
) -> None:
    sign_up(page, web)
    page.get_by_label("Username").fill("duka@gmail.com")
    page.get_by_label("Username").press("Tab")
    offer = page.locator("#detected")
    expect(offer).to_contain_text("smtp.gmail.com")
    expect(offer).to_contain_text("app password")
    offer.get_by_role("button", name="Use these settings").click()
    expect(page.get_by_label("SMTP server")).to_have_value("smtp.gmail.com")
    expect(page.get_by_label("Port")).to_have_value("587")
    expect(page.get_by_label("Security")).to_have_value("starttls")
    expect(page.get_by_label("Password", exact=True)).to_be_focused()
