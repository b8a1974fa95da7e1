"""docs/http-protocol.md describes what the HTTP transport really sends: the version, the path,
the Bearer key, the headers and every member of the JSON body.

A service is built from that document alone, so a difference between the two is a bug. The
request is captured in memory (httpx's mock transport) exactly as it would leave barua.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from barua.message import build_message
from barua.settings import make_settings
from barua.transports.http import HttpTransport
from barua.transports.http_protocol import (
    BEARER_CHALLENGE,
    HEALTH_PATH,
    IDEMPOTENCY_WINDOW,
    IDEMPOTENT_REPLAYED,
    MAX_ADDRESS_LENGTH,
    MAX_MESSAGE_ID_LENGTH,
    MAX_MESSAGE_SIZE,
    MAX_RECIPIENTS,
    MESSAGES_PATH,
    MIN_MAX_MESSAGE_SIZE,
    MIN_MAX_RECIPIENTS,
    PROTOCOL_VERSION,
    RETRY_AFTER,
    ErrorCode,
)

DOC = Path(__file__).resolve().parents[1] / "docs" / "http-protocol.md"
KEY = "brk_test_0123456789abcdef"


@pytest.fixture(scope="module")
def doc() -> str:
    assert DOC.is_file(), "docs/http-protocol.md defines the HTTP protocol"
    return DOC.read_text(encoding="utf-8")


def section(doc: str, title: str) -> str:
    start = doc.index(f"\n### {title}\n")
    end = doc.find("\n#", start + 1)
    return doc[start : end if end >= 0 else None]


def captured_request(base_url: str) -> tuple[httpx.Request, bytes]:
    """The request barua's HTTP transport sends for one message, and that message's bytes."""
    seen: list[httpx.Request] = []

    def service(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = json.loads(request.content)
        recipients = body["envelope"]["recipients"]
        return httpx.Response(
            202, json={"id": "doc-1", "message_id": body["message_id"], "accepted": recipients}
        )

    settings = make_settings(
        protocol="http",
        http_service_url=base_url,
        http_api_key=KEY,
        reply_to="office@example.com",
        sender_name="Duka la Mama",
        bcc_copy="archive@example.com",
    )
    message = build_message(
        settings, to=["jane@example.com"], cc=["juma@example.org"], subject="Ankara", text="Hi\n"
    )
    with (
        httpx.Client(transport=httpx.MockTransport(service)) as client,
        HttpTransport(settings, client=client) as transport,
    ):
        transport.send(message)
    [request] = seen
    return request, message.data


def members(value: dict[str, Any], prefix: str = "") -> set[str]:
    """The dotted names of a JSON object's members that are not objects themselves."""
    names: set[str] = set()
    for key, item in value.items():
        name = prefix + key
        names |= members(item, name + ".") if isinstance(item, dict) else {name}
    return names


def test_the_title_names_the_version_in_the_path(doc: str) -> None:
    assert re.fullmatch(r"v\d+", PROTOCOL_VERSION)
    assert MESSAGES_PATH.startswith(f"/{PROTOCOL_VERSION}/")
    number = PROTOCOL_VERSION.removeprefix("v")
    assert doc.splitlines()[0] == f"# The barua HTTP email service protocol, version {number}"
    assert f"The major version is the first path segment: `/{PROTOCOL_VERSION}/`." in doc


def test_the_path_is_the_one_barua_posts_to(doc: str) -> None:
    request, _ = captured_request("https://mail.example.com")
    assert request.method == "POST"
    assert request.url.path == MESSAGES_PATH
    assert f"| `POST {MESSAGES_PATH}`" in doc
    assert f"## 5. `POST {MESSAGES_PATH}`" in doc
    # The doc's example of a service under a prefix is what barua really calls.
    prefixed, _ = captured_request("https://example.com/mail")
    assert str(prefixed.url) == "https://example.com/mail" + MESSAGES_PATH
    assert f"`https://example.com/mail{MESSAGES_PATH}`" in doc


def test_the_key_goes_as_a_bearer_token(doc: str) -> None:
    request, _ = captured_request("https://mail.example.com")
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert "Authorization: Bearer <api key>" in doc
    assert "| `Authorization` | `Bearer <api key>`" in section(doc, "5.1 Request")


def test_the_headers_and_body_members_are_the_documented_ones(doc: str) -> None:
    request, data = captured_request("https://mail.example.com")
    documented = re.findall(r"^\| `([^`]+)`", section(doc, "5.1 Request"), flags=re.M)
    headers = [name for name in documented if name[0].isupper()]
    fields = {name for name in documented if not name[0].isupper()}
    assert headers == ["Authorization", "Content-Type", "Accept"]
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Accept"] == "application/json"
    body = json.loads(request.content)
    assert members(body) == fields
    assert base64.b64decode(body["mime"], validate=True) == data
    assert "archive@example.com" in body["envelope"]["recipients"]


def test_the_error_codes_and_their_statuses_are_the_documented_ones(doc: str) -> None:
    table = doc[doc.index("\n## 8. Errors\n") : doc.index("\n## 9.")]
    documented: dict[str, int] = {}
    for row in re.findall(r"^\| `\d.*$", table, flags=re.M):
        statuses_cell, _meaning, codes_cell = row.split("|")[1:4]
        statuses = [int(s) for s in re.findall(r"`(\d{3})`", statuses_cell)]
        codes = re.findall(r"`([a-z][a-z0-9_]*)`", codes_cell)
        if len(statuses) == 1:
            documented.update(dict.fromkeys(codes, statuses[0]))
        elif codes:  # "`404`, `405`" with one code each, in the same order
            assert len(codes) == len(statuses), row
            documented.update(zip(codes, statuses, strict=True))
    assert documented == {code.value: code.status for code in ErrorCode}


def test_the_paths_headers_and_limits_are_the_documented_ones(doc: str) -> None:
    assert f"| `GET {HEALTH_PATH}`" in doc and f"## 10. `GET {HEALTH_PATH}`" in doc
    assert f"`WWW-Authenticate: {BEARER_CHALLENGE}`" in doc
    assert f"`{IDEMPOTENT_REPLAYED}: true`" in doc
    assert f"`{RETRY_AFTER}`" in doc
    limits = doc[doc.index("\n## 9. Limits") : doc.index("\n## 10.")]
    assert f"{MIN_MAX_MESSAGE_SIZE:,} bytes; **{MAX_MESSAGE_SIZE:,}** recommended" in limits
    assert f"| {MIN_MAX_RECIPIENTS}; **{MAX_RECIPIENTS}** recommended" in limits
    assert f"| `message_id` length | {MAX_MESSAGE_ID_LENGTH} characters" in limits
    assert f"| Address length | {MAX_ADDRESS_LENGTH} characters" in limits
    assert f"| Idempotency window | {IDEMPOTENCY_WINDOW // 3600} hours" in limits
