"""The JSON API a business program uses: a token made in the app (shown once, stored hashed,
one business), push a document, email it once per version, read its status, the outbox; the
OpenAPI document served is the one kept in the repository."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from barua.database.tables import api_tokens
from tests.smtpd import SmtpServer
from tests.test_web_access import client, form_token, set_up
from tests.test_web_outbox import settings_for, web_config
from tests.web_server import Served, serve

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
OPENAPI = ROOT / "docs" / "api" / "openapi.json"


@pytest.fixture
def web() -> Iterator[Served]:
    with serve() as served:
        yield served


@pytest.fixture
def signed_in(web: Served) -> Iterator[httpx.Client]:
    with client(web) as http:
        set_up(web, http)
        yield http


def make_token(http: httpx.Client, business_key: str = "default", name: str = "uhasibu") -> str:
    page = http.get(f"/b/{business_key}/api")
    made = http.post(f"/b/{business_key}/api", data={"csrf_token": form_token(page), "name": name})
    assert made.status_code == 200
    found = re.search(r'<code class="token" id="new-token">(barua_[\w-]+)</code>', made.text)
    assert found, made.text
    assert "it is shown only once" in made.text
    again = http.get(f"/b/{business_key}/api")
    assert found.group(1) not in again.text, "shown once only"
    return found.group(1)


def api(web: Served, token: str | None) -> httpx.Client:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=f"{web.url}/api/v1", headers=headers, timeout=30)


def test_without_a_valid_token_nothing_is_answered(web: Served, signed_in: httpx.Client) -> None:
    with api(web, None) as anonymous:
        answer = anonymous.get("/outbox")
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == "Bearer"
        assert answer.json()["error"]["code"] == "api.token_missing"
    with api(web, "barua_not-a-token") as wrong:
        assert wrong.get("/outbox").json()["error"]["code"] == "api.token_invalid"
    token = make_token(signed_in)
    with web.barua.engine.connect() as conn:
        stored = [tuple(row) for row in conn.execute(select(api_tokens))]
    assert token not in repr(stored), "kept as a hash"
    with api(web, token) as program:
        assert program.get("/outbox").status_code == 200
        page = signed_in.get("/b/default/api")
        [token_id] = re.findall(r"/b/default/api/(\d+)/revoke", page.text)
        signed_in.post(f"/b/default/api/{token_id}/revoke", data={"csrf_token": form_token(page)})
        assert program.get("/outbox").status_code == 401


def test_push_email_once_and_follow_a_document(web: Served, signed_in: httpx.Client) -> None:
    token = make_token(signed_in)
    invoice = (EXAMPLES / "invoice.json").read_bytes()
    with SmtpServer(mode="plain") as server, api(web, token) as program:
        settings_for(web, server)
        pushed = program.post(
            "/documents", content=invoice, headers={"content-type": "application/json"}
        )
        assert pushed.status_code == 201, pushed.text
        document = pushed.json()
        assert (document["kind"], document["number"], document["new"]) == (
            "sales_invoice",
            "INV-0042",
            True,
        )
        assert document["email_status"] is None
        again = program.post("/documents", content=invoice)
        assert (again.json()["id"], again.json()["new"]) == (document["id"], False)

        emailed = program.post(f"/documents/{document['id']}/email", json={})
        assert emailed.status_code == 202, emailed.text
        first = emailed.json()
        assert first["new"] is True and first["email"]["status"] == "queued"
        repeated = program.post(f"/documents/{document['id']}/email", json={})
        assert repeated.json()["new"] is False
        assert repeated.json()["email"]["id"] == first["email"]["id"], "once per version"

        web.barua.workers(web_config(), processes=1).run(once=True)
        status = program.get(f"/documents/{document['id']}").json()["email_status"]
        assert status["status"] == "sent" and status["last_reply"].startswith("250")
        assert len(server.messages) == 1
        assert server.messages[0].rcpt_tos == document["email"].split(", ")

        another = program.post(
            f"/documents/{document['id']}/email",
            json={"again": True, "to": ["mhasibu@example.com"], "subject": "Nakala ya ankara"},
        )
        assert another.json()["new"] is True
        web.barua.workers(web_config(), processes=1).run(once=True)
        assert server.messages[1].rcpt_tos == ["mhasibu@example.com"]
        listed = program.get("/outbox").json()["emails"]
        assert [e["subject"] for e in listed][:1] == ["Nakala ya ankara"]


def test_wrong_input_is_a_json_error_naming_the_field(web: Served, signed_in: httpx.Client) -> None:
    token = make_token(signed_in)
    with api(web, token) as program:
        broken = program.post("/documents", json={"type": "sales_invoice", "number": 7})
        assert broken.status_code == 400
        error = broken.json()["error"]
        assert error["code"] == "document.problems" or error["problems"]
        assert error["problems"]["number"] == "must be text"
        assert program.post("/documents/99/email", json={}).status_code == 404
        bad_body = program.post("/documents/1/email", json={"to": "not a list"})
        assert bad_body.status_code == 400
        assert bad_body.json()["error"]["code"] == "api.invalid_request"
        pdf = program.post(
            "/documents/pdf",
            data={"kind": "sales_invoice", "number": "F-1", "party": "Hoteli"},
            files={"file": ("f.pdf", b"not a pdf", "application/pdf")},
        )
        assert pdf.status_code == 400 and pdf.json()["error"]["message"] == (
            "f.pdf is not a PDF file"
        )


def test_a_token_sees_its_own_business_only(web: Served, signed_in: httpx.Client) -> None:
    other = web.barua.add_business("Duka la Pili")
    mine, theirs = make_token(signed_in), make_token(signed_in, other.key, "pili")
    with api(web, theirs) as program:
        pushed = program.post("/documents", content=(EXAMPLES / "quote.json").read_bytes())
        assert pushed.status_code == 201
    with api(web, mine) as program:
        answer = program.get(f"/documents/{pushed.json()['id']}")
        assert answer.status_code == 404
        assert program.get("/documents").json() == []


def test_the_openapi_document_served_is_the_one_in_the_repository(web: Served) -> None:
    served = httpx.get(f"{web.url}/api/v1/openapi.json").json()
    kept = json.loads(OPENAPI.read_text(encoding="utf-8"))
    assert served == kept, "run scripts/update-openapi and commit docs/api/openapi.json"
    assert set(served["paths"]) == {
        "/api/v1/documents",
        "/api/v1/documents/pdf",
        "/api/v1/documents/{document_id}",
        "/api/v1/documents/{document_id}/email",
        "/api/v1/outbox",
        "/api/v1/outbox/{entry_id}",
    }, "the pages stay out of the API's description"
