"""Who gets into the web app: the one-time setup link, signing in (slowed down after wrong
passwords), sessions, CSRF, the Host allow-list, the security headers, and no secret in a page."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import update

from barua.database.tables import setup_links
from tests.web_server import Served, serve

PASSWORD = "kahawa chungu sana"


@pytest.fixture
def web() -> Iterator[Served]:
    with serve() as served:
        yield served


def client(web: Served, **kwargs: object) -> httpx.Client:
    return httpx.Client(base_url=web.url, follow_redirects=False, timeout=10, **kwargs)  # type: ignore[arg-type]


def form_token(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def set_up(web: Served, http: httpx.Client, username: str = "amina") -> httpx.Response:
    link = web.setup_link().removeprefix(web.url)
    page = http.get(link)
    assert page.status_code == 200
    return http.post(
        link,
        data={
            "csrf_token": form_token(page),
            "username": username,
            "password": PASSWORD,
            "password_again": PASSWORD,
        },
    )


def test_the_setup_link_lets_the_first_user_in_once(web: Served) -> None:
    with client(web) as http:
        assert "Nobody can sign in yet" in http.get("/").text
        link = web.setup_link().removeprefix(web.url)
        page = http.get(link)
        done = http.post(
            link,
            data={
                "csrf_token": form_token(page),
                "username": "amina",
                "password": PASSWORD,
                "password_again": PASSWORD,
            },
        )
        assert done.status_code == 303 and done.headers["location"] == "/"
        cookie = done.headers["set-cookie"]
        assert "barua_session=" in cookie
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie
        settings = http.get("/b/default/settings")
        assert settings.status_code == 200 and "Email settings" in settings.text

    with client(web) as stranger:
        again = stranger.get(link)
        assert again.status_code == 404
        assert "This setup link does not work" in again.text
        used = stranger.post(
            link,
            data={
                "csrf_token": form_token(again),
                "username": "mgeni",
                "password": PASSWORD,
                "password_again": PASSWORD,
            },
        )
        assert used.status_code == 404
    assert [user.username for user in web.barua.user_list()] == ["amina"]


def test_an_expired_setup_link_is_refused(web: Served) -> None:
    link = web.setup_link()
    with web.barua.engine.begin() as conn:
        conn.execute(update(setup_links).values(expires_at=time.time() - 1))
    with client(web) as http:
        assert http.get(link.removeprefix(web.url)).status_code == 404


def test_a_weak_password_is_refused_beside_its_field(web: Served) -> None:
    with client(web) as http:
        link = web.setup_link().removeprefix(web.url)
        page = http.get(link)
        short = http.post(
            link,
            data={
                "csrf_token": form_token(page),
                "username": "amina",
                "password": "short",
                "password_again": "short",
            },
        )
    assert short.status_code == 400
    assert 'id="password-error">the password must be at least 10 characters long<' in short.text
    assert web.barua.needs_setup()


def test_every_page_needs_a_sign_in(web: Served) -> None:
    with client(web) as http:
        set_up(web, http)
    with client(web) as stranger:
        for path in ("/b/default/settings", "/"):
            answer = stranger.get(path)
            assert answer.status_code == 303
            assert answer.headers["location"].startswith("/login")
        assert stranger.get("/b/default/settings").headers["location"] == (
            "/login?next=/b/default/settings"
        )


def test_signing_in_and_out(web: Served) -> None:
    with client(web) as http:
        set_up(web, http)
    with client(web) as http:
        page = http.get("/login")
        wrong = http.post(
            "/login",
            data={"csrf_token": form_token(page), "username": "amina", "password": "not it!!!!"},
        )
        assert wrong.status_code == 401 and "wrong username or password" in wrong.text
        right = http.post(
            "/login",
            data={
                "csrf_token": form_token(page),
                "username": "Amina",
                "password": PASSWORD,
                "next": "/b/default/settings",
            },
        )
        assert right.status_code == 303 and right.headers["location"] == "/b/default/settings"
        settings = http.get("/b/default/settings")
        assert settings.status_code == 200
        session = http.cookies["barua_session"]
        out = http.post("/logout", data={"csrf_token": form_token(settings)})
        assert out.status_code == 303
    with client(web, cookies={"barua_session": session}) as old:
        assert old.get("/b/default/settings").status_code == 303, "the session ended"


def test_after_five_wrong_passwords_even_the_right_one_waits(web: Served) -> None:
    with client(web) as http:
        set_up(web, http)
    with client(web) as http:
        token = form_token(http.get("/login"))
        for _ in range(5):
            http.post("/login", data={"csrf_token": token, "username": "amina", "password": "x"})
        locked = http.post(
            "/login", data={"csrf_token": token, "username": "amina", "password": PASSWORD}
        )
    assert locked.status_code == 401
    assert "too many wrong passwords: try again in 15 minutes" in locked.text


def test_an_open_redirect_after_signing_in_is_not_followed(web: Served) -> None:
    with client(web) as http:
        set_up(web, http)
    with client(web) as http:
        page = http.get("/login")
        answer = http.post(
            "/login",
            data={
                "csrf_token": form_token(page),
                "username": "amina",
                "password": PASSWORD,
                "next": "//evil.example/phish",
            },
        )
    assert answer.headers["location"] == "/"


def test_forms_without_the_pages_token_or_from_another_site_are_refused(web: Served) -> None:
    with client(web) as http:
        set_up(web, http)
        page = http.get("/b/default/settings")
        token = form_token(page)
        fields = {"protocol": "smtp", "host": "smtp.example.com", "username": "duka@example.com"}
        assert http.post("/b/default/settings", data=fields).status_code == 403
        assert http.post("/b/default/settings", data={**fields, "csrf_token": "x"}).status_code == (
            403
        )
        foreign = http.post(
            "/b/default/settings",
            data={**fields, "csrf_token": token},
            headers={"origin": "http://evil.example"},
        )
        assert foreign.status_code == 403
        assert "This form was refused" in foreign.text
        assert not web.barua.business().has_settings, "nothing refused was saved"
        saved = http.post("/b/default/settings", data={**fields, "csrf_token": token})
        assert saved.status_code == 303
    assert web.barua.settings_view(web.barua.business()).values["host"] == "smtp.example.com"


def test_a_foreign_host_header_is_refused(web: Served) -> None:
    with client(web) as http:
        answer = http.get("/", headers={"host": "rebound.evil.example"})
        assert answer.status_code == 421
        assert http.get("/", headers={"host": f"localhost:{web.port}"}).status_code == 200


def test_every_page_carries_the_security_headers(web: Served) -> None:
    with client(web) as http:
        page = http.get("/login")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text and "onclick" not in page.text


def test_no_secret_is_ever_sent_back_to_the_browser(web: Served) -> None:
    secret = "siri-ya-duka-2026"
    with client(web) as http:
        set_up(web, http)
        token = form_token(http.get("/b/default/settings"))
        http.post(
            "/b/default/settings",
            data={
                "csrf_token": token,
                "protocol": "smtp",
                "host": "smtp.example.com",
                "username": "duka@example.com",
                "password": secret,
            },
        )
        page = http.get("/b/default/settings")
        assert secret not in page.text
        assert "A password is saved. Leave this empty to keep it." in page.text
        # Saving again with the password left empty keeps it.
        http.post(
            "/b/default/settings",
            data={
                "csrf_token": token,
                "protocol": "smtp",
                "host": "smtp.example.com",
                "username": "duka@example.com",
                "password": "",
            },
        )
    settings = web.barua.settings_in_effect(web.barua.business())
    assert settings.password is not None and settings.password.get_secret_value() == secret
