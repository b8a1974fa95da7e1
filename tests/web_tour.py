"""A walk through every screen of the web app with something on it, as a shop owner sees it:
the accessibility test checks each screen, and scripts/screenshots photographs them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.smtpd import SmtpServer
from tests.web_server import Served

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PASSWORD = "kahawa chungu sana"

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}


def prepare(web: Served, smtp: SmtpServer) -> None:
    """Settings, a few documents and emails, as after a week of use."""
    business = web.barua.business()
    web.barua.save_settings(
        business,
        {
            "host": "127.0.0.1",
            "port": smtp.port,
            "security": "none",
            "email_address": "duka@example.com",
            "sender_name": "Duka la Amani",
            "bcc_copy": "hesabu@example.com",
        },
    )
    for name in ("invoice-sw.json", "quote.json", "statement.json"):
        web.barua.add_document(business, (EXAMPLES / name).read_bytes(), name)


def sign_up(page: Page, web: Served) -> None:
    if web.barua.needs_setup():
        page.goto(web.setup_link())
        page.fill("#username", "amina")
        page.fill("#password", PASSWORD)
        page.fill("#password_again", PASSWORD)
        page.click("button.primary")
    else:
        page.goto(f"{web.url}/login")
        page.fill("#username", "amina")
        page.fill("#password", PASSWORD)
        page.click("button.primary")
    expect(page.locator("h1")).to_be_visible()


def tour(
    browser: Browser, web: Served, *, lang: str, viewport: dict[str, int]
) -> Iterator[tuple[str, Page]]:
    """Each screen: its name and the page showing it (valid until the next one)."""
    context = browser.new_context(viewport=viewport, locale="en-GB")  # type: ignore[arg-type]
    page = context.new_page()
    try:
        page.goto(f"{web.url}/login")
        if lang != "en":
            page.locator(f'form.language button[value="{lang}"]').click()
        yield "login", page
        sign_up(page, web)
        # Signed in, the user's own choice counts: make it this tour's language.
        page.locator(f'form.language button[value="{lang}"]').click()
        key = web.barua.business().key
        page.goto(f"{web.url}/b/{key}/settings")
        yield "settings", page
        page.fill("#test_to", "mteja@example.com")
        page.locator("button[data-test-email]").first.click()
        expect(page.locator("#test-outcome .notice").first).to_be_visible(timeout=20_000)
        yield "settings-test", page
        page.goto(f"{web.url}/b/{key}/documents")
        yield "documents", page
        page.locator("a.button.primary").first.click()
        expect(page.locator("img.preview")).to_be_visible()
        image = page.locator("img.preview")
        for _ in range(100):  # the page's policy forbids wait_for_function's eval
            if image.evaluate("img => img.complete && img.naturalWidth > 0"):
                break
            page.wait_for_timeout(100)
        yield "compose", page
        again = page.locator('input[name="again"]')
        if again.count():  # emailed on an earlier tour
            again.check()
        page.locator("form.card button.primary").click()
        expect(page.locator("#sending-progress")).to_be_visible()
        yield "sending", page
        page.goto(f"{web.url}/b/{key}/outbox")
        yield "outbox", page
        page.locator("table.outbox a").first.click()
        yield "outbox-entry", page
        page.goto(f"{web.url}/b/{key}/api")
        yield "api", page
        page.goto(f"{web.url}/people")
        yield "people", page
    finally:
        context.close()
