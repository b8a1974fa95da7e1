"""Every status and code of section 8 of docs/http-protocol.md, each from a running relay, and
the order of section 5.1: the first failure is the one answered, and nothing is queued for
any refused request."""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from barua.app import Environment
from barua.app.relay import RelayOptions
from tests.relay_server import BUSINESS, Relay, mime, request, serve_relay

MAX_SIZE = 100_000


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Relay]:
    home = tmp_path_factory.mktemp("relay-home")
    options = RelayOptions(max_message_size=MAX_SIZE, max_recipients=3)
    with serve_relay(environment=Environment(home=home), relay=options) as served:
        yield served


def post(
    relay: Relay,
    body: bytes,
    *,
    key: str | None = "default",
    content_type: str = "application/json",
) -> httpx.Response:
    headers = {"content-type": content_type}
    if key is not None:
        headers["authorization"] = f"Bearer {relay.key if key == 'default' else key}"
    return httpx.post(f"{relay.url}/v1/messages", content=body, headers=headers, timeout=10)


def queued(relay: Relay) -> int:
    return sum(relay.barua.outbox.counts().values())


def error_of(answer: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    error = answer.json()["error"]
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and "\n" not in error["message"]
    return dict(error)


def answer_of(sock: socket.socket) -> bytes:
    """An answer read off a raw connection: its head and its whole JSON body."""
    data = b""
    while not data.endswith(b"}}"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def unique() -> str:
    return f"<{time.monotonic_ns()}@duka.example>"


def refused_nothing_queued(relay: Relay, body: bytes, status: int, code: str, **kw: str) -> None:
    before = queued(relay)
    error_of(post(relay, body, **kw), status, code)  # type: ignore[arg-type]
    assert queued(relay) == before


# 202 ------------------------------------------------------------------------------------------


def test_202_a_message_is_stored_before_the_answer(relay: Relay) -> None:
    message_id = unique()
    answer = post(relay, request(mime(message_id=message_id), message_id=message_id))
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["id"].startswith("msg_") and body["message_id"] == message_id
    assert body["accepted"] == ["jane@example.com"] and body["refused"] == {}
    [entry] = relay.barua.outbox.list_entries(limit=1)
    assert entry.message_id == message_id and entry.sender == f"bounces+{body['id']}@relay.example"


def test_202_a_subject_of_bytes_that_are_not_utf8_is_taken(relay: Relay) -> None:
    # Latin-1 in a header (no encoded word) was answered 500 for good: the outbox shows U+FFFD.
    message_id = unique()
    data = mime(message_id=message_id).replace(b"Subject: Ankara", b"Subject: Caf\xe9 ankara")
    answer = post(relay, request(data, message_id=message_id))
    assert answer.status_code == 202, answer.text
    [entry] = relay.barua.outbox.list_entries(limit=1)
    assert entry.subject == "Caf\ufffd ankara"


# 400 ------------------------------------------------------------------------------------------


def test_400_invalid_json(relay: Relay) -> None:
    refused_nothing_queued(relay, b"{not json", 400, "invalid_json")
    refused_nothing_queued(relay, b"[1, 2]", 400, "invalid_json")


def test_400_invalid_request_names_the_member(relay: Relay) -> None:
    body = json.loads(request())
    del body["envelope"]["mail_from"]
    error = error_of(post(relay, json.dumps(body).encode()), 400, "invalid_request")
    assert "envelope.mail_from" in str(error["message"])


@pytest.mark.parametrize("member", ["message_id", "mail_from", "recipient"])
def test_400_a_lone_surrogate_is_refused_as_the_shape(relay: Relay, member: str) -> None:
    # JSON lets "\\udce9" stand alone; no UTF-8 (and no database) can hold it.
    body = json.loads(request())
    if member == "message_id":
        body["message_id"] = "<\udce9@duka.example>"
    elif member == "mail_from":
        body["envelope"]["mail_from"] = "caf\udce9@duka.example"
    else:
        body["envelope"]["recipients"] = ["jane\udce9@example.com"]
    encoded = json.dumps(body).encode()
    assert b"\\udce9" in encoded
    error = error_of(post(relay, encoded), 400, "invalid_request")
    assert "surrogate" in str(error["message"])


def test_400_invalid_base64(relay: Relay) -> None:
    body = json.loads(request())
    body["mime"] = "not base64!"
    refused_nothing_queued(relay, json.dumps(body).encode(), 400, "invalid_base64")


def test_400_no_recipients(relay: Relay) -> None:
    body = json.loads(request())
    body["envelope"]["recipients"] = []
    refused_nothing_queued(relay, json.dumps(body).encode(), 400, "no_recipients")


def test_400_too_many_recipients(relay: Relay) -> None:
    many = [f"r{n}@example.com" for n in range(4)]
    refused_nothing_queued(relay, request(recipients=many), 400, "too_many_recipients")


def test_400_invalid_mime(relay: Relay) -> None:
    no_date = mime().replace(b"Date: Mon, 07 Dec 2026 10:00:00 +0000\r\n", b"")
    refused_nothing_queued(relay, request(no_date), 400, "invalid_mime")
    refused_nothing_queued(relay, request(b"From: a@duka.example"), 400, "invalid_mime")


def test_400_message_id_mismatch(relay: Relay) -> None:
    body = request(mime(message_id="<other@duka.example>"), message_id="<1@duka.example>")
    refused_nothing_queued(relay, body, 400, "message_id_mismatch")


def test_400_sender_mismatch(relay: Relay) -> None:
    body = request(mail_from="someone@duka.example")
    refused_nothing_queued(relay, body, 400, "sender_mismatch")


def test_a_sender_differing_only_in_the_case_of_its_domain_matches(relay: Relay) -> None:
    message_id = unique()
    data = mime(sender="Duka <office@DUKA.example>", message_id=message_id)
    assert post(relay, request(data, message_id=message_id)).status_code == 202


# 401 and 403 ----------------------------------------------------------------------------------


def test_401_missing_api_key(relay: Relay) -> None:
    answer = post(relay, request(), key=None)
    error_of(answer, 401, "missing_api_key")
    assert answer.headers["www-authenticate"] == 'Bearer realm="barua"'


def test_401_invalid_api_key_is_never_echoed(relay: Relay) -> None:
    wrong = "brk_" + "x" * 32
    answer = post(relay, request(), key=wrong)
    error_of(answer, 401, "invalid_api_key")
    assert wrong not in answer.text and wrong not in str(answer.headers)
    assert answer.headers["www-authenticate"] == 'Bearer realm="barua"'


def test_401_a_revoked_key(relay: Relay) -> None:
    key, _made = relay.barua.create_relay_key("revoked", senders=["@duka.example"])
    relay.barua.set_relay_key_status("revoked", "revoked")
    refused_nothing_queued(relay, request(), 401, "invalid_api_key", key=key)


def test_403_key_disabled(relay: Relay) -> None:
    key, _made = relay.barua.create_relay_key("disabled", senders=["@duka.example"])
    relay.barua.set_relay_key_status("disabled", "disabled")
    refused_nothing_queued(relay, request(), 403, "key_disabled", key=key)


@pytest.mark.parametrize(("status", "answer", "code"), [
    ("disabled", 403, "key_disabled"), ("revoked", 401, "invalid_api_key"),
])  # fmt: skip
def test_a_key_changed_while_the_relay_remembers_it_sends_nothing_more(
    relay: Relay, status: str, answer: int, code: str
) -> None:
    # The relay remembers a key it found for a second; the decision reads it again.
    name = f"changed {status}"
    key, _made = relay.barua.create_relay_key(name, senders=["@duka.example"])
    first = unique()
    assert (
        post(relay, request(mime(message_id=first), message_id=first), key=key).status_code == 202
    )
    relay.barua.set_relay_key_status(name, status)
    second = unique()
    refused_nothing_queued(
        relay, request(mime(message_id=second), message_id=second), answer, code, key=key
    )


def test_403_sender_not_allowed(relay: Relay) -> None:
    key, _made = relay.barua.create_relay_key("other shop", senders=["shop@other.example"])
    refused_nothing_queued(relay, request(), 403, "sender_not_allowed", key=key)


# 404, 405 -------------------------------------------------------------------------------------


def test_404_not_found_and_no_redirect(relay: Relay) -> None:
    for path in ("/v1/nothing", "/v1/messages/", "/v2/messages"):
        answer = httpx.post(f"{relay.url}{path}", content=request(), timeout=10)
        error_of(answer, 404, "not_found")


def test_405_method_not_allowed(relay: Relay) -> None:
    error_of(httpx.get(f"{relay.url}/v1/messages", timeout=10), 405, "method_not_allowed")
    error_of(httpx.delete(f"{relay.url}/v1/health", timeout=10), 405, "method_not_allowed")


# 409 ------------------------------------------------------------------------------------------


def test_409_idempotency_conflict(relay: Relay) -> None:
    message_id = unique()
    assert (
        post(relay, request(mime(message_id=message_id), message_id=message_id)).status_code == 202
    )
    other = mime(message_id=message_id, body=b"Another text\r\n")
    refused_nothing_queued(
        relay, request(other, message_id=message_id), 409, "idempotency_conflict"
    )


# 413 ------------------------------------------------------------------------------------------


def test_413_a_decoded_mime_larger_than_the_limit(relay: Relay) -> None:
    big = mime(body=(b"x" * 998 + b"\r\n") * 101)
    error = error_of(post(relay, request(big)), 413, "message_too_large")
    assert error["max_size"] == MAX_SIZE


def test_413_is_answered_from_content_length_before_the_body_is_read(relay: Relay) -> None:
    declared = 4 * (MAX_SIZE // 3 + 1) + 65_536 + 1
    with socket.create_connection(("127.0.0.1", relay.port), timeout=5) as sock:
        sock.sendall(
            b"POST /v1/messages HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {relay.key}\r\nContent-Length: {declared}\r\n\r\n".encode()
        )
        answer = answer_of(sock)  # no body sent: the answer comes anyway
    assert answer.startswith(b"HTTP/1.1 413"), answer
    assert b'"message_too_large"' in answer and f'"max_size":{MAX_SIZE}'.encode() in answer


# 415 ------------------------------------------------------------------------------------------


def test_415_unsupported_media_type(relay: Relay) -> None:
    refused_nothing_queued(
        relay, request(), 415, "unsupported_media_type", content_type="text/plain"
    )
    refused_nothing_queued(
        relay, request(), 415, "unsupported_media_type",
        content_type="application/json; charset=latin-1",
    )  # fmt: skip


def test_a_json_charset_of_utf8_is_json(relay: Relay) -> None:
    message_id = unique()
    body = request(mime(message_id=message_id), message_id=message_id)
    answer = post(relay, body, content_type="application/json; charset=UTF-8")
    assert answer.status_code == 202


# 422 ------------------------------------------------------------------------------------------


def test_422_recipients_refused_is_recorded_and_replayed(relay: Relay) -> None:
    message_id = unique()
    body = request(
        mime(message_id=message_id),
        message_id=message_id,
        recipients=["not an address", "<a@b.example>"],
    )
    before = queued(relay)
    first = post(relay, body)
    error = error_of(first, 422, "recipients_refused")
    assert {address: r["code"] for address, r in error["refused"].items()} == {  # type: ignore[attr-defined]
        "not an address": 553,
        "<a@b.example>": 553,
    }
    again = post(relay, body)
    assert again.status_code == 422 and again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert queued(relay) == before


def test_duplicates_are_delivered_once_under_the_first_spelling(relay: Relay) -> None:
    message_id = unique()
    body = request(
        mime(message_id=message_id),
        message_id=message_id,
        recipients=["jane@Example.com", "jane@example.COM", "bad address"],
    )
    answer = post(relay, body).json()
    assert answer["accepted"] == ["jane@Example.com"]
    assert list(answer["refused"]) == ["bad address"]


# The order of section 5.1 ---------------------------------------------------------------------


def test_the_first_failure_in_the_protocols_order_is_answered(relay: Relay) -> None:
    # A bad key before a bad content type, which comes before a bad body.
    error_of(post(relay, b"{", key="brk_wrong", content_type="text/plain"), 401, "invalid_api_key")
    error_of(post(relay, b"{", content_type="text/plain"), 415, "unsupported_media_type")
    # The shape before idempotency: a bad body with a known Message-ID is a 400.
    body = json.loads(request())
    body["mime"] = "@@@"
    error_of(post(relay, json.dumps(body).encode()), 400, "invalid_base64")


def test_health_without_a_key_with_one_and_with_a_wrong_one(relay: Relay) -> None:
    anonymous = httpx.get(f"{relay.url}/v1/health", timeout=10)
    assert anonymous.status_code == 200 and anonymous.headers["cache-control"] == "no-store"
    assert anonymous.json() == {
        "status": "ok",
        "versions": ["v1"],
        "max_message_size": MAX_SIZE,
        "max_recipients": 3,
        "features": [],
        "authenticated": False,
    }
    keyed = httpx.get(
        f"{relay.url}/v1/health", headers={"authorization": f"Bearer {relay.key}"}, timeout=10
    )
    assert keyed.json()["authenticated"] is True
    wrong = httpx.get(
        f"{relay.url}/v1/health", headers={"authorization": "Bearer brk_nope"}, timeout=10
    )
    error_of(wrong, 401, "invalid_api_key")


# Statuses that need a relay of their own ------------------------------------------------------


def test_408_request_timeout_when_the_body_stalls(barua_home: Path) -> None:
    with serve_relay(body_timeout=0.3) as relay:
        with socket.create_connection(("127.0.0.1", relay.port), timeout=5) as sock:
            sock.sendall(
                b"POST /v1/messages HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\n"
                + f"Authorization: Bearer {relay.key}\r\nContent-Length: 500\r\n\r\n{{".encode()
            )
            answer = answer_of(sock)
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert b'"request_timeout"' in answer
        assert queued(relay) == 0


def test_503_unavailable_beyond_the_requests_taken_at_once(barua_home: Path) -> None:
    with serve_relay(concurrency=1, body_timeout=5) as relay:
        with socket.create_connection(("127.0.0.1", relay.port), timeout=5) as sock:
            sock.sendall(
                b"POST /v1/messages HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\n"
                + f"Authorization: Bearer {relay.key}\r\nContent-Length: 500\r\n\r\n{{".encode()
            )
            time.sleep(0.3)  # the first request holds the only place, reading its body
            answer = post(relay, request())
            error_of(answer, 503, "unavailable")
            assert int(answer.headers["retry-after"]) > 0
        assert queued(relay) == 0


def test_a_mime_in_base64_with_line_breaks_is_invalid(relay: Relay) -> None:
    body = json.loads(request())
    body["mime"] = base64.encodebytes(mime()).decode()
    error_of(post(relay, json.dumps(body).encode()), 400, "invalid_base64")


def test_a_message_from_a_business_address_not_matching_the_from_header(relay: Relay) -> None:
    data = mime(sender="Duka <office@elsewhere.example>")
    refused_nothing_queued(relay, request(data, mail_from=BUSINESS), 400, "sender_mismatch")
