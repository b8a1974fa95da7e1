"""Building messages: headers, blind copies, encodings, attachments and header injection."""

from __future__ import annotations

import email
import os
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from barua.errors import MessageError
from barua.message import Attachment, build_message
from barua.settings import make_settings

SETTINGS = make_settings(
    host="smtp.example.com",
    username="shop@example.com",
    sender_name="Duka la Zürich",
    bcc_copy="archive@example.com",
    reply_to="office@example.com",
)
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


def parse(data: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(data, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_headers_envelope_and_blind_copy() -> None:
    msg = build_message(
        SETTINGS,
        to=["Jane Doe <jane@example.com>", "bob@example.org"],
        cc=["carol@example.net"],
        bcc=["hidden@example.com"],
        subject="Invoice INV-0042",
        text="Please find the invoice attached.",
    )
    parsed = parse(msg.data)
    assert parsed["From"] == "Duka la Zürich <shop@example.com>"
    assert parsed["To"] == "Jane Doe <jane@example.com>, bob@example.org"
    assert parsed["Cc"] == "carol@example.net"
    assert parsed["Reply-To"] == "office@example.com"
    assert parsed["Message-ID"] == msg.message_id
    assert msg.message_id.endswith("@example.com>")
    assert parsed["Date"]
    assert msg.sender == "shop@example.com"
    assert msg.recipients == (
        "jane@example.com",
        "bob@example.org",
        "carol@example.net",
        "hidden@example.com",
        "archive@example.com",
    )
    assert b"hidden@example.com" not in msg.data
    assert b"archive@example.com" not in msg.data
    assert "Bcc" not in parsed


def test_non_ascii_subject_body_names_and_file_names_round_trip() -> None:
    subject = "Ankara № 42 — Zürich, Ołówek, Δέλτα, Москва"
    body = "Habari Jane,\nKiasi: TSh 1,234,567.00 — €5\n.\nA line that starts with a dot\n"
    attachment = Attachment("Ankara ñ Москва 42.pdf", PDF)
    msg = build_message(
        SETTINGS,
        to=["Jöhn Dœ <john@example.com>"],
        subject=subject,
        text=body,
        html="<p>Habari <b>Jane</b> — €5</p>",
        attachments=[attachment],
    )
    assert msg.data.isascii(), "headers and bodies are encoded for any server"
    parsed = parse(msg.data)
    assert parsed["Subject"] == subject
    assert parsed["To"] == "Jöhn Dœ <john@example.com>"
    text_part = parsed.get_body(preferencelist=("plain",))
    html_part = parsed.get_body(preferencelist=("html",))
    assert text_part is not None and html_part is not None
    assert text_part.get_content().replace("\r\n", "\n") == body
    assert "€5" in html_part.get_content()
    [found] = list(parsed.iter_attachments())
    assert found.get_filename() == "Ankara ñ Москва 42.pdf"
    assert found.get_content_type() == "application/pdf"
    assert found.get_content() == PDF


def test_international_domain_is_sent_in_ascii() -> None:
    msg = build_message(SETTINGS, to=["kunde@bücher.de"], subject="x", text="x")
    assert msg.recipients[0] == "kunde@xn--bcher-kva.de"
    assert not msg.smtputf8


def test_international_local_part_needs_smtputf8() -> None:
    msg = build_message(SETTINGS, to=["jürgen@example.de"], subject="x", text="x")
    assert msg.smtputf8
    assert "jürgen@example.de" in msg.recipients
    assert parse(msg.data)["To"] == "jürgen@example.de"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"subject": "Hello\r\nBcc: victim@example.com"}, "subject"),
        ({"subject": "Hello\nX-Evil: 1"}, "subject"),
        ({"to": ["Jane\r\nBcc: v@example.com <jane@example.com>"]}, "to"),
        ({"to": ["jane@example.com\r\nBcc: v@example.com"]}, "to"),
        ({"cc": ["a@example.com\n"]}, "cc"),
        ({"reply_to": "r@example.com\rX: y"}, "reply_to"),
    ],
)
def test_header_injection_is_refused(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {"to": ["jane@example.com"], "subject": "Hello", "text": "Hi"}
    args.update(kwargs)
    with pytest.raises(MessageError) as caught:
        build_message(SETTINGS, **args)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert str(caught.value) == f"{field} must not contain line breaks"


def test_attachment_file_name_injection_is_refused() -> None:
    with pytest.raises(MessageError, match="attachment file name must not contain line breaks"):
        Attachment('a.pdf"\r\nContent-Type: text/html', PDF)


def test_malformed_addresses_are_refused_not_misread() -> None:
    # CVE-2023-27043: parseaddr reads this as a different address; barua refuses it.
    with pytest.raises(MessageError, match="is not a valid email address"):
        build_message(SETTINGS, to=["alice@example.org)<bob@example.org"], subject="x", text="x")
    with pytest.raises(MessageError, match="at least one recipient is required"):
        build_message(SETTINGS, to=[], subject="x", text="x")


def test_attachment_types_are_guessed_and_read_from_disk(tmp_path: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    (folder / "report.csv").write_text("a,b\n1,2\n")
    attachment = Attachment.from_path(folder / "report.csv")
    assert (attachment.filename, attachment.content_type) == ("report.csv", "text/csv")
    assert Attachment("blob", b"x").content_type == "application/octet-stream"
    with pytest.raises(MessageError, match="cannot read the attachment"):
        Attachment.from_path(folder / "missing.pdf")


def test_a_file_whose_name_is_not_utf8_is_attached_with_a_readable_name(tmp_path: Path) -> None:
    path = Path(os.fsdecode(bytes(tmp_path) + b"/Rechnung_M\xfcller.pdf"))
    path.write_bytes(PDF)
    attachment = Attachment.from_path(path)
    assert attachment.filename == "Rechnung_M\ufffdller.pdf"
    assert attachment.content_type == "application/pdf"
    msg = build_message(
        SETTINGS, to=["jane@example.com"], subject="x", text="x", attachments=[attachment]
    )
    [part] = list(parse(msg.data).iter_attachments())
    assert part.get_filename() == "Rechnung_M\ufffdller.pdf"
    assert part.get_content() == PDF


@pytest.mark.parametrize("field", ["subject", "text"])
def test_text_that_was_not_utf8_is_refused_by_name(field: str) -> None:
    values = {"subject": "Rechnung", "text": "Hallo"}
    values[field] = "M\udcfcller"
    with pytest.raises(MessageError, match=f"^{field} is not valid UTF-8 text$"):
        build_message(SETTINGS, to=["jane@example.com"], **values)  # type: ignore[arg-type]


def test_a_list_of_addresses_in_one_value_is_named_as_such() -> None:
    with pytest.raises(MessageError) as caught:
        build_message(SETTINGS, to=["a@example.com, b@example.com"], subject="x", text="x")
    assert str(caught.value) == (
        'to: "a@example.com, b@example.com" holds several addresses: give them one at a time'
    )
