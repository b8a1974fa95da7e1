"""`barua send` options end to end: what arrives at a real server, and files it cannot use."""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.certs import CertFiles
from tests.conftest import PASSWORD, USER
from tests.smtpd import SmtpServer
from tests.test_cli import assert_user_error, barua, server_flags

HTML = "<p>Habari <b>Zuhura</b>, ankara ya €1 200 imeambatishwa.</p>\n"


def test_html_repeated_recipients_and_attachments_all_arrive(
    certs: CertFiles, tmp_path: Path
) -> None:
    html = tmp_path / "ankara.html"
    html.write_text(HTML, encoding="utf-8")
    pdf = tmp_path / "Ankara INV-0042.pdf"
    pdf.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n")
    csv = tmp_path / "bidhaa ñ.csv"
    csv.write_bytes("bidhaa,bei\nsukari,3500\nchai ya Zürich,€4\n".encode())
    with SmtpServer(mode="ssl", certs=certs, users={USER: PASSWORD}) as server:
        saved = barua("settings", "set", *server_flags(server, "ssl"), stdin=PASSWORD + "\n")
        assert saved.returncode == 0, saved.stderr
        proc = barua(
            "send", "--to", "jane@example.com", "--to", "zuhura@example.com",
            "--cc", "bob@example.com", "--cc", "amani@example.com",
            "--subject", "Ankara INV-0042", "--body", "Habari,\nAnkara imeambatishwa.\n",
            "--html-file", str(html), "--attach", str(pdf), "--attach", str(csv),
            env={"SSL_CERT_FILE": str(certs.ca)},
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        [arrived] = server.messages
    assert arrived.rcpt_tos == [
        "jane@example.com",
        "zuhura@example.com",
        "bob@example.com",
        "amani@example.com",
    ]
    # Read as a mail program reads it: lines end in LF once stored.
    parsed = email.message_from_bytes(arrived.data.replace(b"\r\n", b"\n"), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed["To"] == "jane@example.com, zuhura@example.com"
    assert parsed["Cc"] == "bob@example.com, amani@example.com"
    text = parsed.get_body(preferencelist=("plain",))
    rich = parsed.get_body(preferencelist=("html",))
    assert text is not None and rich is not None
    assert text.get_content() == "Habari,\nAnkara imeambatishwa.\n"
    assert rich.get_content() == HTML
    attachments = {a.get_filename(): a for a in parsed.iter_attachments()}
    assert list(attachments) == ["Ankara INV-0042.pdf", "bidhaa ñ.csv"]
    assert attachments["Ankara INV-0042.pdf"].get_content_type() == "application/pdf"
    assert attachments["Ankara INV-0042.pdf"].get_content() == pdf.read_bytes()
    assert attachments["bidhaa ñ.csv"].get_content_type() == "text/csv"
    assert attachments["bidhaa ñ.csv"].get_payload(decode=True) == csv.read_bytes()


ONE_TEXT = "error: give the message text with exactly one of --body or --body-file"


@pytest.mark.parametrize("with_body_file", [True, False])
def test_body_and_body_file_are_one_or_the_other(tmp_path: Path, with_body_file: bool) -> None:
    body = tmp_path / "body.txt"
    body.write_text("Habari\n", encoding="utf-8")
    args = ["send", "--to", "a@example.com", "--subject", "x"]
    if with_body_file:
        args += ["--body", "Habari", "--body-file", str(body)]
    assert_user_error(barua(*args), 2, ONE_TEXT)


@pytest.fixture
def unusable(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Files ``barua send`` cannot take as text, with the reason it gives."""
    latin1 = tmp_path / "barua-latin1.txt"
    latin1.write_bytes("Habari, bei ni €5 — asante\n".encode("cp1252"))
    folder = tmp_path / "a-folder.txt"
    folder.mkdir()
    missing = tmp_path / "missing.html"
    return {
        "latin1": (latin1, "is not UTF-8 text"),
        "folder": (folder, "Is a directory"),
        "missing": (missing, "No such file or directory"),
    }


@pytest.mark.parametrize("kind", ["latin1", "folder", "missing"])
@pytest.mark.parametrize(("option", "what"), [("--body-file", "body"), ("--html-file", "HTML")])
def test_a_text_file_that_cannot_be_used_is_named(
    unusable: dict[str, tuple[Path, str]], kind: str, option: str, what: str
) -> None:
    path, reason = unusable[kind]
    args = ["send", "--to", "a@example.com", "--subject", "x"]
    if option == "--html-file":
        args += ["--body", "Habari"]
    proc = barua(*args, option, str(path))
    expected = (
        f"error: the {what} file {path} {reason}"
        if kind == "latin1"
        else f"error: cannot read the {what} file {path}: {reason}"
    )
    assert_user_error(proc, 2, expected)
    assert proc.stdout == ""
