"""Documents in the web app: uploaded (JSON several at once, or a PDF), shown, emailed with the
compose view (the bytes that arrive asserted), asked before a second email, several at once."""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from email import policy
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.smtpd import SmtpServer
from tests.test_web_access import PASSWORD, client, form_token, set_up
from tests.test_web_outbox import settings_for, web_config
from tests.web_server import Served, serve

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture
def web() -> Iterator[Served]:
    with serve() as served:
        yield served


@pytest.fixture
def signed_in(web: Served) -> Iterator[httpx.Client]:
    with client(web) as http:
        set_up(web, http)
        yield http


def upload(http: httpx.Client, *names: str) -> httpx.Response:
    page = http.get("/b/default/documents")
    files = [
        ("files", (name, (EXAMPLES / name).read_bytes(), "application/json")) for name in names
    ]
    return http.post(
        "/b/default/documents/upload", data={"csrf_token": form_token(page)}, files=files
    )


def test_several_documents_upload_at_once_and_one_mistake_stops_none(
    web: Served, signed_in: httpx.Client
) -> None:
    page = signed_in.get("/b/default/documents")
    files = [
        ("files", ("invoice.json", (EXAMPLES / "invoice.json").read_bytes(), "application/json")),
        ("files", ("broken.json", b'{"type": "sales_invoice", "number": 7}', "application/json")),
        ("files", ("quote.json", (EXAMPLES / "quote.json").read_bytes(), "application/json")),
    ]
    answer = signed_in.post(
        "/b/default/documents/upload", data={"csrf_token": form_token(page)}, files=files
    )
    assert answer.status_code == 200
    assert "Added Invoice INV-0042." in answer.text
    assert "Added Quote Q-2025-031." in answer.text
    broken = answer.text.split("<strong>broken.json</strong>")[1].split("</div>")[0]
    for line in ("broken.json: issue_date: is required", "broken.json: number: must be text"):
        assert f"<p>{line}</p>" in broken
    listed = signed_in.get("/b/default/documents").text
    assert listed.count('id="document-') == 2
    again = upload(signed_in, "invoice.json")
    assert again.text.count("Added Invoice") == 1
    assert signed_in.get("/b/default/documents").text.count('id="document-') == 2, "kept once"
    uploaded_without_token = signed_in.post(
        "/b/default/documents/upload",
        files=[("files", ("x.json", b"{}", "application/json"))],
    )
    assert uploaded_without_token.status_code == 403


def test_a_pdf_from_elsewhere_is_kept_shown_and_emailed(
    web: Served, signed_in: httpx.Client
) -> None:
    from barua.documents import render_pdf
    from barua.documents.loading import load_document

    pdf = render_pdf(load_document(EXAMPLES / "quote.json"))
    page = signed_in.get("/b/default/documents")
    added = signed_in.post(
        "/b/default/documents/upload-pdf",
        data={
            "csrf_token": form_token(page),
            "kind": "sales_invoice",
            "number": "F-2025-77",
            "party": "Hoteli ya Kilimanjaro View",
            "email": "manunuzi@kilimanjaroview.example",
        },
        files=[("files", ("F-2025-77.pdf", pdf, "application/pdf"))],
    )
    assert "Added Invoice F-2025-77." in added.text
    [number] = re.findall(r'id="document-(\d+)"', added.text)
    shown = signed_in.get(f"/b/default/documents/{number}/pdf")
    assert shown.headers["content-type"] == "application/pdf" and shown.content == pdf
    assert "frame-ancestors 'self'" in shown.headers["content-security-policy"]
    preview = signed_in.get(f"/b/default/documents/{number}/preview.png")
    assert preview.content.startswith(b"\x89PNG")
    not_pdf = signed_in.post(
        "/b/default/documents/upload-pdf",
        data={"csrf_token": form_token(page), "kind": "sales_invoice", "number": "1",
              "party": "X"},
        files=[("files", ("fake.pdf", b"MZ not a pdf", "application/pdf"))],
    )  # fmt: skip
    assert not_pdf.status_code == 400 and "fake.pdf is not a PDF file" in not_pdf.text

    with SmtpServer(mode="plain") as server:
        settings_for(web, server)
        compose = signed_in.get(f"/b/default/documents/{number}/email")
        assert 'value="manunuzi@kilimanjaroview.example"' in compose.text
        sent = signed_in.post(
            f"/b/default/documents/{number}/email",
            data={
                "csrf_token": form_token(compose),
                "to": "manunuzi@kilimanjaroview.example",
                "subject": "Invoice F-2025-77",
                "message": "Hello,\n\nPlease find attached invoice F-2025-77.\n",
            },
        )
        assert sent.status_code == 303
        web.barua.workers(web_config(), processes=1).run(once=True)
    [arrived] = server.messages
    message = email.message_from_bytes(arrived.data, policy=policy.default)
    assert message["Subject"] == "Invoice F-2025-77"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "F-2025-77.pdf"
    assert attachment.get_content() == pdf


def test_email_a_document_from_its_button_and_see_it_sent(browser: Browser) -> None:
    with SmtpServer(mode="plain") as server, serve(worker=True) as web:
        settings_for(web, server, bcc_copy="hesabu@example.com")
        page = browser.new_page()
        page.goto(web.setup_link())
        page.get_by_label("Username").fill("amina")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Password again").fill(PASSWORD)
        page.get_by_role("button", name="Create my account").click()
        page.goto(f"{web.url}/b/default/documents")
        page.get_by_label("Documents (.json)").set_input_files(str(EXAMPLES / "invoice-sw.json"))
        page.get_by_role("button", name="Upload").first.click()
        expect(page.get_by_text("Added Invoice INV-2025-0117.")).to_be_visible()
        row = page.locator("tr", has_text="INV-2025-0117")
        expect(row).to_contain_text("not emailed")
        row.get_by_role("link", name="Email").click()

        expect(page.get_by_label("To")).to_have_value("manunuzi@kilimanjaroview.example")
        expect(page.get_by_label("Subject")).not_to_be_empty()
        expect(page.get_by_text("A copy goes to hesabu@example.com")).to_be_visible()
        expect(page.locator("img.preview")).to_be_visible()
        page.get_by_label("Cc").fill("mhasibu@kilimanjaroview.example")
        subject = page.get_by_label("Subject").input_value()
        page.get_by_role("button", name="Send", exact=True).click()

        expect(page.locator("#sending-count")).to_have_text("1 of 1 done", timeout=20_000)
        expect(page.locator("ul.sending .badge")).to_have_text("sent")
        [arrived] = server.messages
        message = email.message_from_bytes(arrived.data, policy=policy.default)
        assert message["Subject"] == subject
        assert sorted(arrived.rcpt_tos) == [
            "hesabu@example.com",
            "manunuzi@kilimanjaroview.example",
            "mhasibu@kilimanjaroview.example",
        ]
        [attachment] = list(message.iter_attachments())
        assert attachment.get_content().startswith(b"%PDF-")

        page.goto(f"{web.url}/b/default/documents")
        expect(page.locator("tr", has_text="INV-2025-0117")).to_contain_text("sent")
        page.locator("tr", has_text="INV-2025-0117").get_by_role("link", name="Email").click()
        expect(page.get_by_text("This document was emailed already")).to_be_visible()
        page.get_by_role("button", name="Send", exact=True).click()
        expect(page.get_by_text("Tick Send it again below")).to_be_visible()
        assert len(server.messages) == 1, "not sent twice without asking"
        page.get_by_label("Send it again").check()
        page.get_by_role("button", name="Send", exact=True).click()
        expect(page.locator("#sending-count")).to_have_text("1 of 1 done", timeout=20_000)
        assert len(server.messages) == 2
        page.close()


def test_several_selected_documents_are_emailed_with_a_progress_bar(
    web: Served, signed_in: httpx.Client
) -> None:
    with SmtpServer(mode="plain") as server:
        settings_for(web, server)
        listed = upload(signed_in, "invoice.json", "quote.json", "statement.json")
        numbers = re.findall(r'id="document-(\d+)"', listed.text)
        answer = signed_in.post(
            "/b/default/documents/email-selected",
            data={"csrf_token": form_token(listed), "selected": numbers},
        )
        assert answer.status_code == 303
        progress = signed_in.get(answer.headers["location"])
        assert '<progress id="sending-progress" max="3" value="0"' in progress.text
        web.barua.workers(web_config(), processes=1).run(once=True)
        status = signed_in.get(answer.headers["location"].replace("/sent?", "/sent.json?"))
        assert [e["status"] for e in status.json()["emails"]] == ["sent"] * 3
        assert len(server.messages) == 3
