"""The relay's DKIM signature, written out from RFC 6376, as dkimpy verifies it."""

from __future__ import annotations

import dkim
import pytest

from barua.relaying.dkim import dkim_record, generate_key, sign

HEAD = (
    b"From: Duka  la Mama <noreply@relay.example>\r\n"
    b"To: jane@example.com,\r\n\t bob@example.com\r\n"
    b"Subject: Ankara   INV-0042 \r\n"
    b"Date: Mon, 7 Dec 2026 10:00:00 +0000\r\n"
    b"Message-ID: <42@duka.example>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
)


@pytest.fixture(scope="module")
def key() -> bytes:
    return generate_key()


def verified(data: bytes, key: bytes) -> bool:
    record = dkim_record(key, domain="relay.example", selector="s1").value.encode()
    return bool(dkim.verify(data, dnsfunc=lambda _name, timeout=5: record))


@pytest.mark.parametrize(
    "body",
    [b"Habari\r\n", b"Habari\r\n\r\n\r\n", b"", b"no line end", b"x" * 200_000 + b"\r\n"],
    ids=["one line", "trailing empty lines", "empty", "no line end", "200 KB"],
)
def test_dkimpy_verifies_the_signature(key: bytes, body: bytes) -> None:
    signed = sign(HEAD + b"\r\n" + body, key=key, domain="relay.example", selector="s1")
    assert signed.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/simple;")
    assert signed.endswith(HEAD + b"\r\n" + body)
    assert max(len(line) for line in signed.split(b"\r\n")[:8]) <= 100
    assert verified(signed, key)


def test_a_changed_body_or_signed_header_fails(key: bytes) -> None:
    signed = sign(HEAD + b"\r\nHabari\r\n", key=key, domain="relay.example", selector="s1")
    assert not verified(signed.replace(b"Habari", b"Hobari"), key)
    assert not verified(signed.replace(b"INV-0042", b"INV-0043"), key)


def test_a_header_signed_as_absent_cannot_be_added(key: bytes) -> None:
    signed = sign(HEAD + b"\r\nHabari\r\n", key=key, domain="relay.example", selector="s1")
    assert b"h=from:reply-to:to:cc:" in signed
    assert not verified(signed.replace(b"\r\n\r\n", b"\r\nCc: eve@example.net\r\n\r\n", 1), key)
    # A repeated header: the last one is signed, as verifiers read it.
    again = sign(HEAD + b"Subject: second\r\n\r\nHabari\r\n", key=key, domain="relay.example",
                 selector="s1")  # fmt: skip
    assert verified(again, key)
