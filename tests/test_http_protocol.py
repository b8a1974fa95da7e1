"""The HTTP protocol's encoding, from both ends: what the client encodes, a service decodes;
what a service answers, the client reads. No server and no socket: bodies are bytes."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from barua.message import build_message
from barua.settings import make_settings
from barua.transports.http_protocol import (
    Acceptance,
    ErrorCode,
    InvalidRequest,
    MessageRequest,
    ServiceError,
    bearer,
    bearer_key,
    decode_request,
    encode_acceptance,
    encode_error,
    encode_refused,
    encode_request,
    is_json,
    parse_acceptance,
    parse_error,
    parse_refused,
    parse_retry_after,
    request_size_limit,
    retry_after,
)


def invoice_request() -> tuple[Any, bytes]:
    settings = make_settings(
        protocol="http",
        http_service_url="https://mail.example.com",
        reply_to="office@example.com",
        sender_name="Duka la Mama",
        bcc_copy="archive@example.com",
    )
    message = build_message(
        settings,
        to=["Jane Doe <jane@example.com>"],
        cc=["juma@example.org"],
        subject="Ankara INV-0042 — Zürich",
        text="Habari Jane,\n.\nAsante.\n",
    )
    return message, encode_request(message)


def body(**members: Any) -> bytes:
    """A request body: a valid one, with ``members`` replaced (None removes one)."""
    data: dict[str, Any] = {
        "envelope": {"mail_from": "office@example.com", "recipients": ["jane@example.com"]},
        "message_id": "<1.2@example.com>",
        "mime": base64.b64encode(b"From: office@example.com\r\n\r\nHi\r\n").decode(),
    }
    for name, value in members.items():
        target, key = (data["envelope"], name[9:]) if name.startswith("envelope_") else (data, name)
        if value is None:
            del target[key]
        else:
            target[key] = value
    return json.dumps(data).encode()


# The request -------------------------------------------------------------------------------------


def test_a_request_round_trips() -> None:
    message, encoded = invoice_request()
    request = decode_request(encoded)
    assert request == MessageRequest.of(message)
    assert request.mime == message.data  # the exact bytes, the blind copy only in the envelope
    assert request.recipients == ("jane@example.com", "juma@example.org", "archive@example.com")
    assert b"archive@example.com" not in request.mime
    assert request.encode() == encoded


def test_the_body_is_the_one_the_document_shows() -> None:
    message, encoded = invoice_request()
    data = json.loads(encoded)
    assert set(data) == {"envelope", "message_id", "mime"}
    assert data["envelope"] == {
        "mail_from": "office@example.com",
        "recipients": list(message.recipients),
    }
    assert data["message_id"] == message.message_id
    assert (
        "\n" not in data["mime"] and base64.b64decode(data["mime"], validate=True) == message.data
    )


def test_unknown_members_are_ignored() -> None:
    data = json.loads(body())
    data["send_at"] = "tomorrow"
    data["envelope"]["dsn"] = {"notify": ["failure"]}
    assert decode_request(json.dumps(data).encode()).message_id == "<1.2@example.com>"


@pytest.mark.parametrize(
    ("raw", "code", "text"),
    [
        (b"{not json", ErrorCode.INVALID_JSON, "not valid JSON"),
        (b"\xff\xfe{}", ErrorCode.INVALID_JSON, "not valid JSON"),
        (b'["envelope"]', ErrorCode.INVALID_JSON, "not a JSON object"),
        (b'{"mime": NaN}', ErrorCode.INVALID_JSON, "not valid JSON"),
        (b'{"a":' * 40 + b"1" + b"}" * 40, ErrorCode.INVALID_JSON, "nested too deeply"),
        (body(envelope=None), ErrorCode.INVALID_REQUEST, "envelope is missing"),
        (body(envelope=[]), ErrorCode.INVALID_REQUEST, "envelope must be an object"),
        (body(envelope_mail_from=None), ErrorCode.INVALID_REQUEST, "envelope.mail_from is missing"),
        (body(envelope_mail_from=7), ErrorCode.INVALID_REQUEST, "envelope.mail_from must be a"),
        (body(envelope_recipients="a@x.org"), ErrorCode.INVALID_REQUEST, "must be an array"),
        (
            body(envelope_recipients=["a@x.org", 5]),
            ErrorCode.INVALID_REQUEST,
            "envelope.recipients[1] must be a string",
        ),
        (body(message_id=None), ErrorCode.INVALID_REQUEST, "message_id is missing"),
        (body(message_id="<" + "x" * 250 + ">"), ErrorCode.INVALID_REQUEST, "at most 250"),
        (body(mime=None), ErrorCode.INVALID_REQUEST, "mime is missing"),
        (body(mime=["QUJD"]), ErrorCode.INVALID_REQUEST, "mime must be a string"),
        (body(mime="QUJD\nRA=="), ErrorCode.INVALID_BASE64, "without line breaks"),
        (body(mime="QUJDRA"), ErrorCode.INVALID_BASE64, "with padding"),
        (body(mime="QUJD="), ErrorCode.INVALID_BASE64, "with padding"),  # padding too much
        (body(mime="QUJD-_=="), ErrorCode.INVALID_BASE64, "standard base64"),
        (body(mime="QUJDé==="), ErrorCode.INVALID_BASE64, "standard base64"),
        (body(envelope_recipients=[]), ErrorCode.NO_RECIPIENTS, "envelope.recipients is empty"),
        (
            body(envelope_recipients=[f"r{n}@x.org" for n in range(101)]),
            ErrorCode.TOO_MANY_RECIPIENTS,
            "at most 100",
        ),
    ],
)
def test_a_refused_request_names_what_is_wrong(raw: bytes, code: ErrorCode, text: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        decode_request(raw)
    refusal = caught.value
    assert (refusal.code, refusal.status) == (code, 400)
    assert text in str(refusal)
    answer = parse_error(refusal.status, refusal.answer(), content_type="application/json")
    assert (answer.code, answer.text) == (code, refusal.message)


def test_a_message_too_large_is_refused_before_its_shape_is_checked() -> None:
    mime = base64.b64encode(b"x" * 1001).decode()
    with pytest.raises(InvalidRequest) as caught:
        decode_request(body(mime=mime, envelope=[]), max_message_size=1000)
    assert (caught.value.code, caught.value.status) == (ErrorCode.MESSAGE_TOO_LARGE, 413)
    assert caught.value.fields == {"max_size": 1000}
    assert str(caught.value) == "Messages may be at most 1 KB."
    assert decode_request(body(mime=base64.b64encode(b"x" * 1000).decode()), max_message_size=1000)

    with pytest.raises(InvalidRequest) as caught:
        decode_request(b" " * (request_size_limit(1000) + 1), max_message_size=1000)
    assert caught.value.code is ErrorCode.MESSAGE_TOO_LARGE


def test_the_request_limit_leaves_room_for_the_base64_and_the_json() -> None:
    assert request_size_limit(25_000_000) == 4 * 8_333_334 + 65_536
    message, encoded = invoice_request()
    assert len(encoded) < request_size_limit(len(message.data))


def test_the_recipient_limit_is_the_service_s() -> None:
    many = body(envelope_recipients=[f"r{n}@x.org" for n in range(150)])
    assert len(decode_request(many, max_recipients=150).recipients) == 150


# The answers -------------------------------------------------------------------------------------


def test_an_acceptance_round_trips() -> None:
    acceptance = Acceptance(
        id="msg_01HX7Q9V2C8K4M3N5P6R7S8T9V",
        message_id="<171234.5678@duka.example>",
        accepted=("jane@example.com",),
        refused={"archive@duka.example": (550, "5.7.1 address is on the suppression list")},
    )
    encoded = encode_acceptance(acceptance)
    assert json.loads(encoded)["refused"] == {
        "archive@duka.example": {"code": 550, "message": "5.7.1 address is on the suppression list"}
    }
    assert parse_acceptance(encoded) == acceptance


def test_what_is_not_an_acceptance() -> None:
    assert parse_acceptance(b'{"id": "m1", "accepted": ["a@x.org"]}') == Acceptance(
        id="m1", message_id=None, accepted=("a@x.org",)
    )
    assert parse_acceptance(b"queued") is None
    assert parse_acceptance(b'{"id": 5}') is None
    assert parse_acceptance(b'{"id": "m", "accepted": "a@x"}') is None
    assert parse_acceptance(b'{"id": "m", "accepted": [], "refused": {"a@x": 550}}') is None


@pytest.mark.parametrize("code", list(ErrorCode))
def test_every_error_code_round_trips_with_its_status(code: ErrorCode) -> None:
    encoded = encode_error(code, "Something\n  is wrong.")
    answer = parse_error(code.status, encoded, content_type="application/json")
    assert answer == ServiceError(status=code.status, code=code, text="Something is wrong.")
    assert answer.reply == f"{code}: Something is wrong."


def test_an_error_carries_the_members_of_its_status() -> None:
    too_large = encode_error(ErrorCode.MESSAGE_TOO_LARGE, "At most 25 MB.", max_size=25_000_000)
    assert parse_error(413, too_large).fields == {"max_size": 25_000_000}
    refused = {"jane@exmaple.com": (550, "5.1.2 the domain exmaple.com does not accept mail")}
    everyone = encode_error(
        ErrorCode.RECIPIENTS_REFUSED,
        "Every recipient was refused.",
        refused=encode_refused(refused),
    )
    answer = parse_error(ErrorCode.RECIPIENTS_REFUSED.status, everyone)
    assert answer.status == 422
    assert parse_refused(answer.fields["refused"]) == refused


def test_what_a_gateway_answers_is_read_by_status() -> None:
    page = parse_error(
        502, b"<html>Bad Gateway</html>", content_type="text/html", reason="Bad Gateway"
    )
    assert page.reply == "Bad Gateway"
    long = parse_error(500, b"x" * 1000, content_type="text/plain")
    assert len(long.text) == 300 and long.text.endswith("…")
    latin = parse_error(
        503,
        "Dienst nicht verfügbar".encode("latin-1"),
        content_type="text/plain; charset=ISO-8859-1",
    )
    assert latin.text == "Dienst nicht verfügbar"
    unknown = parse_error(503, "café".encode(), content_type="text/plain; charset=x-nothing")
    assert unknown.text == "café"
    empty = parse_error(503, b"", reason="Service Unavailable")
    assert (empty.code, empty.reply) == (None, "Service Unavailable")


def test_parse_refused_rejects_other_shapes() -> None:
    assert parse_refused({"a@x.org": {"code": 550, "message": "no\n such  user"}}) == {
        "a@x.org": (550, "no such user")
    }
    shapes: list[object] = [
        [],
        {"a@x.org": "550"},
        {"a@x.org": {"code": "550", "message": ""}},
        {"a@x.org": {"code": True, "message": ""}},
        {"a@x.org": {"code": 550, "message": None}},
    ]
    for bad in shapes:
        with pytest.raises(ValueError, match="refused"):
            parse_refused(bad)


# Headers -----------------------------------------------------------------------------------------


def test_the_key_round_trips_through_the_authorization_header() -> None:
    key = "brk_" + "A1b2C3d4" * 4
    assert bearer(key) == f"Bearer {key}"
    assert bearer_key(bearer(key)) == key
    assert bearer_key("bearer  " + key + " ") == key  # the scheme is case-insensitive
    for value in (None, "", "Bearer", "Basic dXNlcjpwYXNz", "Bearer a b", "Bearer ключ"):
        assert bearer_key(value) is None
    assert bearer_key("Bearer " + "k" * 256) == "k" * 256
    assert bearer_key("Bearer " + "k" * 257) is None


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("application/json", True),
        ("Application/JSON; charset=UTF-8", True),
        ('application/json; charset="utf-8"', True),
        ("application/json; charset=latin-1", False),
        ("text/plain", False),
        ("application/jsonp", False),
        ("", False),
        (None, False),
    ],
)
def test_the_content_type_must_be_json(value: str | None, accepted: bool) -> None:
    assert is_json(value) is accepted


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Wed, 01 Jan 2031 00:01:30 GMT", 90.0),
        ("Wed, 01 Jan 2031 00:00:00 GMT", 0.0),  # in the past (or now): no wait
        ("soon", None),
        ("-5", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    now = datetime(2031, 1, 1, 0, 0, 0, tzinfo=UTC)
    assert parse_retry_after(value, now=now) == seconds


def test_retry_after_is_whole_seconds_rounded_up() -> None:
    assert [retry_after(s) for s in (30, 0.2, 0, -3)] == ["30", "1", "0", "0"]
    assert parse_retry_after(retry_after(59.5)) == 60.0
