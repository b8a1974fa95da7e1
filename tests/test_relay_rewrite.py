"""Where a message's header ends, whatever its line endings, as section 6 reads it (pure)."""

from __future__ import annotations

import pytest

from barua.relaying.rewrite import InvalidMime, inspect_mime, needs_smtputf8

HEAD = b"From: a@duka.example{eol}Date: Mon, 7 Dec 2026 10:00:00 +0000{eol}Message-ID: <1@x>"


@pytest.mark.parametrize(
    ("eol", "separator"),
    [(b"\r\n", b"\r\n\r\n"), (b"\n", b"\n\n"), (b"\r\n", b"\r\n\n"), (b"\n", b"\n\r\n")],
)
def test_the_first_empty_line_ends_the_header(eol: bytes, separator: bytes) -> None:
    head = HEAD.replace(b"{eol}", eol)
    # A later empty line of another kind, deep in the body, changes nothing.
    parsed = inspect_mime(head + separator + b"Habari\r\n\r\n" + b"x" * 100_000 + b"\n\n.\n")
    assert [h.key for h in parsed.headers] == [b"from", b"date", b"message-id"]
    assert parsed.body.startswith(b"Habari\r\n\r\n") and b"\n\n" not in parsed.body


def test_no_empty_line_is_invalid() -> None:
    with pytest.raises(InvalidMime):
        inspect_mime(HEAD.replace(b"{eol}", b"\r\n") + b"\r\nHabari")


def test_utf8_in_the_header_needs_smtputf8_but_not_in_the_body() -> None:
    assert needs_smtputf8("Subject: Jåne\r\n\r\nx".encode())
    assert not needs_smtputf8("Subject: Jane\r\n\r\nJåne".encode())


def test_a_cr_and_an_lf_apart_in_the_body_reach_no_one_bare() -> None:
    # In order and equal in number, but not a pair: each is a line break of its own.
    from barua.relaying.rewrite import rewrite

    head = HEAD.replace(b"{eol}", b"\r\n") + b"\r\n\r\n"
    data = rewrite(inspect_mime(head + b"Habari\r\nJane\rx\nAsante\r\n"), sending_address="n@x.org")
    assert data.endswith(b"\r\n\r\nHabari\r\nJane\r\nx\r\nAsante\r\n")


@pytest.mark.parametrize("eol", [b"\r\n", b"\n"])
def test_what_the_relay_stores_ends_every_line_in_crlf(eol: bytes) -> None:
    # The outbox is told so (cut_message(crlf=True)) instead of counting the endings again.
    from barua.relaying.dkim import generate_key, sign
    from barua.relaying.rewrite import rewrite
    from barua.wire import is_wire_ready

    head = HEAD.replace(b"{eol}", eol) + eol + b"Subject: a long\r\n subject" + eol + eol
    body = b"Habari" + eol + b"\r\rx\n\n.\r" + eol.join([b"y" * 76] * 80) + b"\rz\n\r"
    data = rewrite(inspect_mime(head + body), sending_address="noreply@mail.example")
    signed = sign(data, key=generate_key(), domain="mail.example", selector="s")
    for each in (data, signed):
        lines = each.count(b"\n")
        assert each.count(b"\r\n") == lines == each.count(b"\r") and each.endswith(b"\r\n")
        assert is_wire_ready(each) == is_wire_ready(each, crlf=True)
