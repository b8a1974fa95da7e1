"""``barua document email`` as a user runs it: real processes, a real SMTP server, the worker."""

from __future__ import annotations

import email
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from reportlab import rl_config  # type: ignore[import-untyped]

from barua.documents import load_document, render_pdf
from tests.smtpd import Received, SmtpServer
from tests.terminal import run_on_a_terminal

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
BARUA = str(Path(sys.executable).with_name("barua"))
PARTY = "accounts@cafe-zuerich.example, anna.mueller@cafe-zuerich.example"


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    with SmtpServer(mode="plain") as running:
        yield running


@pytest.fixture
def env(server: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setattr(rl_config, "invariant", 1)  # no random file identifier in the PDF
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SSL_CERT")}
    environ.update(
        BARUA_SMTP_HOST="127.0.0.1",
        BARUA_SMTP_PORT=str(server.port),
        BARUA_SMTP_SECURITY="none",
        BARUA_EMAIL_ADDRESS="billing@baobab-studio.example",
        BARUA_SENDER_NAME="Baobab Studio Ltd",
        BARUA_TIMEOUT="5",
        RL_invariant="1",
    )
    return environ


def barua(*args: str | Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BARUA, *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def email_(*args: str | Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return barua("document", "email", *args, env=env)


def parsed(received: Received) -> EmailMessage:
    message = email.message_from_bytes(received.data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def pdf_of(message: EmailMessage) -> tuple[str | None, bytes]:
    [attachment] = list(message.iter_attachments())
    assert isinstance(attachment, EmailMessage)
    content = attachment.get_content()
    assert isinstance(content, bytes)
    return attachment.get_filename(), content


def write_invoice(folder: Path, number: str, **changes: Any) -> Path:
    data = json.loads((EXAMPLES / "invoice.json").read_text(encoding="utf-8"))
    data.update(number=number, **changes)
    data["business"]["logo"] = "logo.png"
    (folder / "logo.png").write_bytes((EXAMPLES / "logo.png").read_bytes())
    path = folder / f"{number}.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_email_queues_the_worker_delivers_the_pdf_intact(
    server: SmtpServer, env: dict[str, str]
) -> None:
    english = email_(EXAMPLES / "invoice.json", env=env)
    assert english.returncode == 0, english.stderr
    assert english.stdout == f"Queued Invoice INV-0042 for {PARTY} as outbox entry 1.\n"
    swahili = email_(EXAMPLES / "invoice-sw.json", env=env)
    assert swahili.stdout == (
        "Queued Ankara INV-2025-0117 for manunuzi@kilimanjaroview.example as outbox entry 2.\n"
    )
    assert server.messages == [], "queued only: `barua worker` delivers"
    worker = barua("worker", "--once", env=env)
    assert worker.returncode == 0, worker.stderr

    en, sw = sorted(server.messages, key=lambda m: b"INV-0042" not in m.data)
    assert en.rcpt_tos == PARTY.split(", ")
    assert sw.rcpt_tos == ["manunuzi@kilimanjaroview.example"]
    for arrived, example, filename, subject, greeting in (
        (en, "invoice.json", "Invoice INV-0042.pdf", "Invoice INV-0042 from Baobab Studio Ltd",
         "Dear Anna Müller,"),
        (sw, "invoice-sw.json", "Ankara INV-2025-0117.pdf",
         "Ankara namba INV-2025-0117 kutoka Baobab Studio Ltd", "Habari Bi. Neema Mushi,"),
    ):  # fmt: skip
        message = parsed(arrived)
        assert message["Subject"] == subject
        assert message["From"] == "Baobab Studio Ltd <billing@baobab-studio.example>"
        body = message.get_body(("plain",))
        assert body is not None and str(body.get_content()).startswith(greeting)
        name, pdf = pdf_of(message)
        assert name == filename
        # Rendered again with the creation date the PDF carries: the same bytes.
        created = PdfReader(BytesIO(pdf)).metadata.creation_date  # type: ignore[union-attr]
        assert pdf == render_pdf(load_document(EXAMPLES / example), created=created)


def test_the_same_version_is_queued_once_unless_again(
    server: SmtpServer, env: dict[str, str]
) -> None:
    assert email_(EXAMPLES / "invoice.json", env=env).stdout.endswith("as outbox entry 1.\n")
    twice = email_(EXAMPLES / "invoice.json", env=env)
    assert twice.returncode == 0, twice.stderr
    assert twice.stdout == (
        "Invoice INV-0042 is already in the outbox as entry 1 (queued); nothing new is queued "
        "(--again emails it again).\n"
    )
    again = email_(EXAMPLES / "invoice.json", "--again", env=env)
    assert again.stdout == f"Queued Invoice INV-0042 for {PARTY} as outbox entry 2.\n"
    assert barua("worker", "--once", env=env).returncode == 0
    assert len(server.messages) == 2
    after = email_(EXAMPLES / "invoice.json", env=env)
    assert "already in the outbox as entry 1 (sent)" in after.stdout
    assert len(server.messages) == 2


def test_the_same_document_exported_to_two_folders_is_queued_once(
    server: SmtpServer, env: dict[str, str], tmp_path: Path
) -> None:
    text = (EXAMPLES / "invoice.json").read_text(encoding="utf-8")
    copies = []
    for night in ("2025-03-01", "2025-03-02"):
        folder = tmp_path / night
        folder.mkdir()
        (folder / "logo.png").write_bytes((EXAMPLES / "logo.png").read_bytes())
        (folder / "invoice.json").write_text(text, encoding="utf-8")
        copies.append(folder / "invoice.json")
    first = email_(copies[0], env=env)
    assert first.stdout == f"Queued Invoice INV-0042 for {PARTY} as outbox entry 1.\n"
    second = email_(copies[1], env=env)
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("Invoice INV-0042 is already in the outbox as entry 1 ")
    assert barua("worker", "--once", env=env).returncode == 0
    assert len(server.messages) == 1


def test_to_cc_subject_and_message_then_wait_for_delivery(
    server: SmtpServer, env: dict[str, str]
) -> None:
    proc = email_(
        EXAMPLES / "invoice.json", "--to", "boss@example.com", "--cc", "books@example.com",
        "--subject", "Invoice {{ document_number }}, due {{ due_date }}",
        "--message", "Hello,\n\nthe invoice is attached.\n", "--wait",
        env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "Queued Invoice INV-0042 for boss@example.com, books@example.com as outbox entry 1.",
        "Sent to boss@example.com, books@example.com (250 2.0.0 Ok: queued as TEST00001).",
    ]
    [arrived] = server.messages
    assert arrived.rcpt_tos == ["boss@example.com", "books@example.com"]
    message = parsed(arrived)
    assert (message["To"], message["Cc"]) == ("boss@example.com", "books@example.com")
    assert message["Subject"] == "Invoice INV-0042, due April 2, 2025"
    body = message.get_body(("plain",))
    assert body is not None
    assert str(body.get_content()).replace("\r\n", "\n") == "Hello,\n\nthe invoice is attached.\n"


def test_wait_reports_a_refused_delivery_with_exit_1(
    server: SmtpServer, env: dict[str, str]
) -> None:
    server.recorder.faults["MAIL"] = "554 5.7.1 Sender rejected"
    proc = email_(EXAMPLES / "invoice.json", "--wait", env=env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stdout == f"Queued Invoice INV-0042 for {PARTY} as outbox entry 1.\n"
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 2 and "Traceback" not in proc.stderr
    assert lines[0].startswith("error") and "554 5.7.1 Sender rejected" in lines[0]
    assert lines[1].startswith("hint: ")
    again = email_(EXAMPLES / "invoice.json", env=env)
    assert again.returncode == 0
    assert again.stdout.splitlines() == [
        "Invoice INV-0042 is already in the outbox as entry 1 (failed); nothing new is queued "
        "(--again emails it again).",
        "`barua outbox show 1` tells why it is failed.",
    ]


def test_a_wrong_document_is_named_line_by_line_with_exit_2(
    tmp_path: Path, env: dict[str, str]
) -> None:
    data = json.loads((EXAMPLES / "invoice.json").read_text(encoding="utf-8"))
    data["lines"][3]["quantity"] = "three"
    bad = tmp_path / "invoice.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    proc = email_(bad, env=env)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [
        f"error: {bad}: business.logo: must name a PNG or JPEG file of at most 2 MB and 8 "
        f"million pixels in the document's folder or in {Path(env['BARUA_HOME']) / 'logos'}",
        f"error: {bad}: lines[3].quantity: must be a number",
        "hint: Fix the fields named above; `barua document schema` prints every field and its "
        "type.",
    ]
    nobody = write_invoice(tmp_path, "INV-0077", party={"name": "Walk-in customer"})
    proc = email_(nobody, env=env)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"error: {nobody}: party.emails: has no address to email the document to",
        "hint: Add the customer's address to party.emails in the document, or give recipients "
        "with --to.",
    ]
    assert email_(nobody, "--to", "walk-in@example.com", env=env).returncode == 0
    proc = email_(nobody, "--to", "walk-in(at)example.com", "--again", env=env)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith('error: to: "walk-in(at)example.com" is not a valid email')
    listed = json.loads(barua("outbox", "list", "--json", env=env).stdout)
    assert [e["status"] for e in listed["entries"]] == ["queued"]


def test_bulk_over_a_folder_reports_a_summary_and_is_idempotent(
    server: SmtpServer, env: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "invoices"
    folder.mkdir()
    for n in range(9):
        write_invoice(folder, f"INV-{n:04d}")
    bad = write_invoice(folder, "INV-0100", due_date="2025-01-01")
    nobody = write_invoice(folder, "INV-0101", party={"name": "Walk-in customer"})
    (folder / "notes.txt").write_text("not a document", encoding="utf-8")
    extra = write_invoice(tmp_path, "INV-0200")

    first = email_(folder, extra, "--processes", "2", env=env)
    assert first.returncode == 2
    assert (
        first.stdout == "12 documents: 10 queued, 0 skipped (already queued or sent), 2 invalid.\n"
    )
    # Each hint stands under its own error.
    assert first.stderr.splitlines() == [
        f"error: {bad}: due_date: must not be before issue_date",
        "hint: Fix the fields named above; `barua document schema` prints every field and its "
        "type.",
        f"error: {nobody}: party.emails: has no address to email the document to",
        "hint: Add the customer's address to party.emails in the document, or give recipients "
        "with --to.",
    ]
    again = email_(folder, extra, env=env)
    assert again.returncode == 2
    assert (
        again.stdout == "12 documents: 0 queued, 10 skipped (already queued or sent), 2 invalid.\n"
    )
    worker = barua("worker", "--once", env=env)
    assert worker.returncode == 0, worker.stderr
    assert len(server.messages) == 10
    subjects = sorted(str(parsed(m)["Subject"]) for m in server.messages)
    assert subjects[0] == "Invoice INV-0000 from Baobab Studio Ltd"
    assert subjects[-1] == "Invoice INV-0200 from Baobab Studio Ltd"

    good = email_(*sorted(folder.glob("INV-000*.json")), env=env)
    assert good.returncode == 0
    assert good.stdout == "9 documents: 0 queued, 9 skipped (already queued or sent), 0 invalid.\n"


def test_wait_needs_one_document_and_settings_are_required(
    tmp_path: Path, env: dict[str, str]
) -> None:
    proc = email_(EXAMPLES / "invoice.json", EXAMPLES / "quote.json", "--wait", env=env)
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[0] == "error: --wait delivers one document; give a single file"
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = email_(empty, env=env)
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[0] == f"error: the folder {empty} holds no .json documents"
    bare = {k: v for k, v in env.items() if not k.startswith("BARUA_") or k == "BARUA_HOME"}
    proc = email_(EXAMPLES / "invoice.json", env=bare)
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[0] == "error: no email settings are saved yet"


def test_bulk_on_a_terminal_draws_a_progress_bar(env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "invoices"
    folder.mkdir()
    for n in range(3):
        write_invoice(folder, f"INV-{n:04d}")
    ran = run_on_a_terminal("document", "email", folder, stream="stderr", env=env)
    code, stdout, shown = ran.code, ran.piped, ran.shown
    assert code == 0, shown
    assert stdout == "3 documents: 3 queued, 0 skipped (already queued or sent), 0 invalid.\n"
    assert "Emailing" in shown
    assert "3/3" in shown  # the count when the bar is full
    assert "\N{BOX DRAWINGS HEAVY HORIZONTAL}" in shown  # the bar itself
    assert "\x1b[" in shown  # drawn in place with terminal control sequences
    assert "Traceback" not in shown and "error" not in shown


def test_bulk_without_a_terminal_prints_the_summary_only(
    env: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "invoices"
    folder.mkdir()
    for n in range(3):
        write_invoice(folder, f"INV-{n:04d}")
    proc = email_(folder, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "3 documents: 3 queued, 0 skipped (already queued or sent), 0 invalid.\n"
    assert proc.stderr == ""  # no bar, no control sequences in a log file
