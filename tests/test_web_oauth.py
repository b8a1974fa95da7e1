"""Sign in with Microsoft or Google from the settings page: the browser goes to the provider and
comes back (authorization code with PKCE and state), the tokens are kept, mail goes with them;
an answer meant for another sign-in is refused."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.oauth_server import CLIENT_ID, CLIENT_SECRET, OAuthServer
from tests.smtpd import SmtpServer
from tests.test_web_access import PASSWORD, client, form_token, set_up
from tests.web_server import serve

ACCOUNT = "duka@example.com"


@pytest.fixture
def provider() -> Iterator[OAuthServer]:
    with OAuthServer(account=ACCOUNT) as server:
        yield server


def endpoints(provider: OAuthServer) -> dict[str, str]:
    return {
        "oauth_authorization_url": provider.endpoint("/authorize"),
        "oauth_token_url": provider.endpoint("/token"),
        "oauth_device_url": provider.endpoint("/devicecode"),
    }


def test_sign_in_with_microsoft_in_the_browser_then_test_with_the_token(
    browser: Browser,
    provider: OAuthServer,
) -> None:
    with SmtpServer(mode="plain", tokens=provider.check) as smtp, serve() as web:
        web.barua.save_settings(
            web.barua.business(),
            {"host": "127.0.0.1", "port": smtp.port, "security": "none", "username": ACCOUNT,
             **endpoints(provider)},
        )  # fmt: skip
        page = browser.new_page()
        page.goto(web.setup_link())
        page.get_by_label("Username").fill("amina")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Password again").fill(PASSWORD)
        page.get_by_role("button", name="Create my account").click()

        page.get_by_text("Sign in with Microsoft or Google instead of a password").click()
        page.get_by_label("Client ID").fill(CLIENT_ID)
        page.get_by_label("Client secret").fill(CLIENT_SECRET)
        page.get_by_role("button", name="Sign in with Microsoft").click()
        expect(page.get_by_text(f"Signed in as {ACCOUNT} with Microsoft.").first).to_be_visible()
        settings = web.barua.settings_in_effect(web.barua.business())
        assert (str(settings.auth), settings.username) == ("oauth", ACCOUNT)
        assert settings.password is None
        assert web.barua.store.sign_in(web.barua.business()) is not None
        tokens = list(provider.every_token())
        assert tokens and not any(token in page.content() for token in tokens)
        names = [cookie["name"] for cookie in page.context.cookies()]
        assert "barua_oauth" not in names, "the sign-in in progress is forgotten"

        # The provider's settings point at smtp.office365.com: the test's server instead.
        web.barua.save_settings(
            web.barua.business(), {"host": "127.0.0.1", "port": smtp.port, "security": "none"}
        )
        page.reload()
        page.get_by_label("Send the test email to").fill("mteja@example.com")
        page.get_by_role("button", name="Send test email").click()
        expect(page.locator("#test-outcome")).to_contain_text("The test email was sent.")
        assert smtp.recorder.token_logins == [("XOAUTH2", ACCOUNT)]
        page.close()


def test_an_answer_for_another_sign_in_is_refused(provider: OAuthServer) -> None:
    with serve() as web, client(web) as http:
        set_up(web, http)
        web.barua.save_settings(
            web.barua.business(),
            {"host": "smtp.example.com", "username": ACCOUNT, **endpoints(provider)},
        )
        page = http.get("/b/default/settings")
        started = http.post(
            "/b/default/settings/oauth",
            data={
                "csrf_token": form_token(page),
                "provider": "microsoft",
                "oauth_client_id": CLIENT_ID,
                "oauth_client_secret": CLIENT_SECRET,
            },
        )
        assert started.status_code == 200
        [link] = re.findall(r'id="continue-sign-in" href="([^"]+)"', started.text)
        link = html.unescape(link)
        assert link.startswith(provider.endpoint("/authorize"))
        back = httpx.get(link, follow_redirects=False)
        callback = back.headers["location"].removeprefix(web.url)
        forged = http.get(callback.replace("state=", "state=x"))
        assert forged.status_code == 400
        assert "Press the sign-in button again" in forged.text
        assert web.barua.store.sign_in(web.barua.business()) is None
        # Another browser (another person signed in) with the same answer: no sealed cookie.
        web.barua.add_user("mgeni", PASSWORD)
        with client(web) as stranger:
            login = stranger.get("/login")
            stranger.post(
                "/login",
                data={"csrf_token": form_token(login), "username": "mgeni", "password": PASSWORD},
            )
            stolen = stranger.get(callback)
        assert stolen.status_code == 400
        assert web.barua.store.sign_in(web.barua.business()) is None
