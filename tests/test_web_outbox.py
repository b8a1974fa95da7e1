"""The outbox page: every email with its status and what the server said, Retry, Cancel, Resume
for a paused business, and a list that follows the worker by itself."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, expect

from barua.message import build_message
from tests.smtpd import SmtpServer
from tests.test_web_access import PASSWORD, client, form_token, set_up
from tests.web_server import Served, serve

SENDER = "duka@example.com"


def settings_for(web: Served, server: SmtpServer, **extra: object) -> None:
    web.barua.save_settings(
        web.barua.business(),
        {"host": "127.0.0.1", "port": server.port, "security": "none", "email_address": SENDER,
         **extra},
    )  # fmt: skip


def queue(web: Served, subject: str, to: str = "mteja@example.com") -> int:
    business = web.barua.business()
    settings = web.barua.settings_in_effect(business)
    message = build_message(settings, to=[to], subject=subject, text="Habari")
    return web.barua.outbox.enqueue(message, business=business.key).id


@pytest.fixture
def web() -> Iterator[Served]:
    with serve() as served:
        yield served


@pytest.fixture
def signed_in(web: Served) -> Iterator[httpx.Client]:
    with client(web) as http:
        set_up(web, http)
        yield http


def test_each_email_is_listed_with_its_status_and_can_be_cancelled(
    web: Served, signed_in: httpx.Client
) -> None:
    with SmtpServer(mode="plain") as server:
        settings_for(web, server)
        first = queue(web, "Ankara INV-1")
        second = queue(web, "Ankara INV-2", to="mhasibu@example.com")
    page = signed_in.get("/b/default/outbox")
    assert page.status_code == 200
    for number, subject, to in ((first, "INV-1", "mteja"), (second, "INV-2", "mhasibu")):
        row = page.text.split(f'id="entry-{number}"')[1].split("</tr>")[0]
        assert f"Ankara {subject}" in row and f"{to}@example.com" in row
        assert ">queued<" in row
    cancelled = signed_in.post(
        f"/b/default/outbox/{first}/cancel", data={"csrf_token": form_token(page)}
    )
    assert cancelled.status_code == 303
    after = signed_in.get(cancelled.headers["location"])
    assert "The email is cancelled: it will not be sent." in after.text
    assert str(web.barua.outbox.get(first).status) == "cancelled"
    assert str(web.barua.outbox.get(second).status) == "queued"
    only_cancelled = signed_in.get("/b/default/outbox?status=cancelled")
    assert f'id="entry-{first}"' in only_cancelled.text
    assert f'id="entry-{second}"' not in only_cancelled.text
    refused = signed_in.post(f"/b/default/outbox/{first}/cancel", data={"csrf_token": "nope"})
    assert refused.status_code == 403


def test_a_failed_email_shows_the_servers_reply_and_can_be_retried(
    web: Served, signed_in: httpx.Client
) -> None:
    with SmtpServer(mode="plain", faults={"RCPT": "550 5.1.1 No such mailbox"}) as server:
        settings_for(web, server)
        entry = queue(web, "Ankara INV-3")
        web.barua.workers(web_config(), processes=1).run(once=True)
        detail = signed_in.get(f"/b/default/outbox/{entry}")
        assert ">failed<" in detail.text
        assert "550 5.1.1 No such mailbox" in detail.text
        assert "mteja@example.com: refused" in detail.text
        retried = signed_in.post(
            f"/b/default/outbox/{entry}/retry", data={"csrf_token": form_token(detail)}
        )
        assert retried.status_code == 303
        assert str(web.barua.outbox.get(entry).status) == "queued"
        server.recorder.faults.clear()
        web.barua.workers(web_config(), processes=1).run(once=True)
        assert len(server.messages) == 1
    assert ">sent<" in signed_in.get(f"/b/default/outbox/{entry}").text


def test_a_refused_login_pauses_the_business_until_resumed(
    web: Served, signed_in: httpx.Client
) -> None:
    with SmtpServer(mode="plain", users={SENDER: "right"}) as server:
        settings_for(web, server, username=SENDER, password="wrong")
        queue(web, "Ankara INV-4")
        web.barua.workers(web_config(), processes=1).run(once=True)
        page = signed_in.get("/b/default/outbox")
        assert "Sending is paused for default since" in page.text
        assert "535" in page.text
        web.barua.save_settings(web.barua.business(), {"password": "right"})
        resumed = signed_in.post("/b/default/outbox-resume", data={"csrf_token": form_token(page)})
        assert "Sending is resumed" in signed_in.get(resumed.headers["location"]).text
        web.barua.workers(web_config(), processes=1).run(once=True)
        assert len(server.messages) == 1


def test_the_list_follows_the_worker_without_a_reload(browser: Browser) -> None:
    # The server takes 3 s to answer the message: the page shows it on its way, then sent.
    with SmtpServer(mode="plain", faults={"DATA": "HANG 3"}) as server, serve(worker=True) as web:
        context = browser.new_context()
        page = context.new_page()
        page.goto(web.setup_link())
        page.get_by_label("Username").fill("amina")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Password again").fill(PASSWORD)
        page.get_by_role("button", name="Create my account").click()
        settings_for(web, server)
        entry = queue(web, "Ankara INV-5")
        page.goto(f"{web.url}/b/default/outbox")
        row = page.locator(f"#entry-{entry}")
        expect(row.locator(".badge")).to_have_text(re.compile("queued|sending"))
        expect(row.locator(".badge")).to_have_text("sent", timeout=20_000)
        assert len(server.messages) == 1
        context.close()


def web_config() -> object:
    from barua.app.present import WorkerConfig

    return WorkerConfig(poll_interval=0.05)
