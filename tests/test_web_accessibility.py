"""Every screen of the web app, in English and Kiswahili, on a desktop and on a phone: axe-core
finds no serious or critical accessibility problem, and nothing is wider than the screen."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser

from tests.smtpd import SmtpServer
from tests.web_server import Served, serve
from tests.web_tour import DESKTOP, PHONE, prepare, tour

SCREENS = {
    "login", "settings", "settings-test", "documents", "compose", "sending", "outbox",
    "outbox-entry", "api", "people",
}  # fmt: skip


@pytest.fixture(scope="module")
def shop() -> Iterator[Served]:
    with SmtpServer(mode="plain") as smtp, serve(worker=True) as web:
        prepare(web, smtp)
        yield web


@pytest.mark.parametrize(
    ("lang", "viewport"), [("en", DESKTOP), ("sw", PHONE)], ids=["en-desktop", "sw-phone"]
)
def test_every_screen_is_accessible_and_fits(
    browser: Browser,
    shop: Served,
    lang: str,
    viewport: dict[str, int],
) -> None:
    axe = Axe()
    seen: set[str] = set()
    problems: list[str] = []
    for name, page in tour(browser, shop, lang=lang, viewport=viewport):
        seen.add(name)
        assert page.locator("html").get_attribute("lang") == lang, name
        results = axe.run(page)
        for violation in results.response["violations"]:
            if violation["impact"] in {"serious", "critical"}:
                nodes = [node["target"] for node in violation["nodes"]][:3]
                problems.append(f"{name}: {violation['id']} ({violation['impact']}) {nodes}")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > viewport["width"]:
            problems.append(f"{name}: {width} px wide on a {viewport['width']} px screen")
    assert seen == SCREENS
    assert problems == []
