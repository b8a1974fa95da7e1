"""Emailing documents through the outbox: the PDF arrives intact, once per version.

The SMTP server is a real aiosmtpd on loopback with TLS and AUTH; the worker is barua's own.
ReportLab writes a random file identifier into every PDF unless it runs "invariant", so the
tests turn that on (in this process and, through ``RL_invariant``, in rendering processes)
and compare the PDF that arrived with a fresh rendering byte for byte.
"""

from __future__ import annotations

import email
import json
import multiprocessing
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from reportlab import rl_config  # type: ignore[import-untyped]

from barua.documents import (
    DocumentError,
    EmailStatus,
    email_document,
    email_documents,
    load_document,
    render_email,
    render_pdf,
)
from barua.errors import BaruaError, MessageError
from barua.outbox import MessageStatus, Outbox, Worker, WorkerConfig
from barua.settings import Settings, make_settings
from tests.certs import CertFiles
from tests.conftest import PASSWORD, USER, home_url
from tests.smtpd import Received, SmtpServer

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CREATED = datetime(2025, 3, 3, 9, 30, tzinfo=UTC)
FAST = WorkerConfig(connections=2, lease=5, poll_interval=0.05)


@pytest.fixture(autouse=True)
def deterministic_pdf(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rl_config, "invariant", 1)
    monkeypatch.setenv("RL_invariant", "1")  # for the rendering processes


@pytest.fixture
def server(certs: CertFiles, trust_ca: None) -> Iterator[SmtpServer]:
    with SmtpServer(mode="ssl", certs=certs, users={USER: PASSWORD}) as running:
        yield running


@pytest.fixture
def settings(server: SmtpServer) -> Settings:
    return make_settings(
        host="localhost",
        port=server.port,
        security="ssl",
        username=USER,
        password=PASSWORD,
        sender_name="Baobab Studio Ltd",
        timeout=5,
    )


@pytest.fixture
def outbox(barua_home: Path) -> Iterator[Outbox]:
    with Outbox.open(home_url()) as opened:
        yield opened


def deliver(outbox: Outbox, settings: Settings) -> None:
    report = Worker(outbox, settings, config=FAST).run(once=True)
    assert report.failed == report.deferred == 0, report


def parsed(received: Received) -> EmailMessage:
    message = email.message_from_bytes(received.data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    content = body.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")  # as it traveled: CRLF line ends


def attachment_of(message: EmailMessage) -> tuple[str | None, bytes]:
    [attachment] = list(message.iter_attachments())
    assert isinstance(attachment, EmailMessage)
    assert attachment.get_content_type() == "application/pdf"
    content = attachment.get_content()
    assert isinstance(content, bytes)
    return attachment.get_filename(), content


def write_document(folder: Path, name: str, data: dict[str, Any]) -> Path:
    """``data`` as the JSON file ``name`` in ``folder``, with the example logo beside it."""
    (folder / "logo.png").write_bytes((EXAMPLES / "logo.png").read_bytes())
    path = folder / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def invoice_data(number: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / "invoice.json").read_text(encoding="utf-8"))
    data["number"] = number
    data["business"]["logo"] = "logo.png"  # beside the file: write_document puts it there
    return data


# One document -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("example", "filename", "subject", "greeting"),
    [
        (
            "invoice.json",
            "Invoice INV-0042.pdf",
            "Invoice INV-0042 from Baobab Studio Ltd",
            "Dear Anna Müller,\n",
        ),
        (
            "invoice-sw.json",
            "Ankara INV-2025-0117.pdf",
            "Ankara namba INV-2025-0117 kutoka Baobab Studio Ltd",
            "Habari Bi. Neema Mushi,\n",
        ),
    ],
)
def test_the_pdf_arrives_intact_with_the_templates_subject_and_body(
    server: SmtpServer,
    settings: Settings,
    outbox: Outbox,
    example: str,
    filename: str,
    subject: str,
    greeting: str,
) -> None:
    document = load_document(EXAMPLES / example)
    assert document.party is not None
    outcome = email_document(document, outbox, settings, created=CREATED)
    assert outcome.status is EmailStatus.QUEUED
    assert outcome.entry is not None and outcome.entry.status is MessageStatus.QUEUED
    deliver(outbox, settings)

    [arrived] = server.messages
    assert arrived.rcpt_tos == document.party.emails
    message = parsed(arrived)
    assert message["Subject"] == subject
    assert message["From"] == f"Baobab Studio Ltd <{USER}>"
    assert [a.addr_spec for a in message["To"].addresses] == document.party.emails
    assert message["Cc"] is None
    expected_subject, expected_body = render_email(document)
    assert message["Subject"] == expected_subject
    assert text_of(message) == expected_body
    assert expected_body.startswith(greeting)
    name, pdf = attachment_of(message)
    assert name == filename
    assert pdf == render_pdf(document, created=CREATED)
    assert outbox.get(outcome.entry.id).status is MessageStatus.SENT


def test_to_replaces_the_party_and_cc_adds_a_copy(
    server: SmtpServer, settings: Settings, outbox: Outbox
) -> None:
    document = load_document(EXAMPLES / "invoice.json")
    email_document(
        document,
        outbox,
        settings,
        to=["Boss <boss@example.com>"],
        cc=["books@example.com", "audit@example.com"],
        subject="{{ document_title }} {{ document_number }}: {{ balance_due }} due",
        message="Hello,\n\nhere it is.\n",
    )
    deliver(outbox, settings)
    [arrived] = server.messages
    assert arrived.rcpt_tos == ["boss@example.com", "books@example.com", "audit@example.com"]
    message = parsed(arrived)
    assert str(message["To"]) == "Boss <boss@example.com>"
    assert str(message["Cc"]) == "books@example.com, audit@example.com"
    assert message["Subject"] == "Invoice INV-0042: $5,447.76 due"
    assert text_of(message) == "Hello,\n\nhere it is.\n"


def test_a_party_without_an_address_and_no_to_is_refused(outbox: Outbox, tmp_path: Path) -> None:
    data = invoice_data("INV-0001")
    data["party"]["emails"] = []
    path = write_document(tmp_path, "no-email.json", data)
    settings = make_settings(host="127.0.0.1", port=2525, security="none", email_address=USER)
    with pytest.raises(DocumentError) as caught:
        email_document(load_document(path), outbox, settings, source=str(path))
    assert caught.value.lines() == [
        f"{path}: party.emails: has no address to email the document to"
    ]
    assert caught.value.hint is not None and "--to" in caught.value.hint
    outcome = email_document(load_document(path), outbox, settings, to=["x@example.com"])
    assert outcome.status is EmailStatus.QUEUED


def test_a_report_without_a_party_asks_for_recipients_not_a_customer(
    outbox: Outbox, tmp_path: Path
) -> None:
    report = load_document(EXAMPLES / "report-aged-receivables.json")
    assert report.party is None
    settings = make_settings(host="127.0.0.1", port=2525, security="none", email_address=USER)
    with pytest.raises(DocumentError) as caught:
        email_document(report, outbox, settings, source="report.json")
    assert caught.value.lines() == [
        "report.json: party: is not given, so the report has no address to email it to"
    ]
    assert caught.value.hint == (
        "Give the recipients with --to (e.g. --to accountant@example.com), or add a party "
        "with emails to the report."
    )
    outcome = email_document(report, outbox, settings, to=["accountant@example.com"])
    assert outcome.status is EmailStatus.QUEUED


def test_a_wrong_to_address_is_refused_before_anything_is_rendered(outbox: Outbox) -> None:
    settings = make_settings(host="127.0.0.1", port=2525, security="none", email_address=USER)
    document = load_document(EXAMPLES / "invoice.json")
    with pytest.raises(MessageError, match='cc: "not-an-address" is not a valid email address'):
        email_document(document, outbox, settings, cc=["not-an-address"])
    with pytest.raises(MessageError, match="to:"):
        list(email_documents([EXAMPLES / "invoice.json"], outbox, settings, to=["a@@b"]))
    assert sum(outbox.counts().values()) == 0


def test_the_same_version_is_queued_once_and_again_queues_another(
    server: SmtpServer, settings: Settings, outbox: Outbox
) -> None:
    document = load_document(EXAMPLES / "invoice.json")
    first = email_document(document, outbox, settings)
    twice = email_document(load_document(EXAMPLES / "invoice.json"), outbox, settings)
    assert (first.status, twice.status) == (EmailStatus.QUEUED, EmailStatus.ALREADY_QUEUED)
    assert first.entry is not None and twice.entry is not None
    assert twice.entry.id == first.entry.id
    deliver(outbox, settings)
    sent = email_document(document, outbox, settings)
    assert sent.status is EmailStatus.ALREADY_QUEUED
    assert sent.entry is not None and sent.entry.status is MessageStatus.SENT

    again = email_document(document, outbox, settings, again=True)
    assert again.status is EmailStatus.QUEUED
    assert again.entry is not None and again.entry.id != first.entry.id
    changed = document.model_copy(update={"notes": "Paid in part, thank you."})
    new_version = email_document(changed, outbox, settings)
    assert new_version.status is EmailStatus.QUEUED
    deliver(outbox, settings)
    assert len(server.messages) == 3
    assert outbox.counts()[MessageStatus.SENT] == 3


# Many documents ---------------------------------------------------------------------------------


def bulk_folder(folder: Path) -> tuple[list[Path], dict[str, list[str]]]:
    """Ten invoices, three of them wrong; the problems each wrong one must report."""
    folder.mkdir()
    paths = [
        write_document(folder, f"inv-{n:02d}.json", invoice_data(f"INV-{n:04d}")) for n in range(7)
    ]
    bad_quantity = invoice_data("INV-0100")
    bad_quantity["lines"][3]["quantity"] = "many"
    bad_quantity["lines"][1]["unit_prize"] = 3
    no_email = invoice_data("INV-0101")
    del no_email["party"]["emails"]
    broken = folder / "inv-broken.json"
    broken.write_text('{"type": "sales_invoice",}', encoding="utf-8")
    paths += [
        write_document(folder, "inv-bad-quantity.json", bad_quantity),
        write_document(folder, "inv-no-email.json", no_email),
        broken,
    ]
    problems = {
        str(paths[7]): [
            f"{paths[7]}: lines[1].unit_prize: is not a field of this document "
            "(check the spelling)",
            f"{paths[7]}: lines[3].quantity: must be a number",
        ],
        str(paths[8]): [f"{paths[8]}: party.emails: has no address to email the document to"],
        str(broken): [f"{broken}: not valid JSON: a field name in double quotes is expected "
                      "at line 1, column 26"],
    }  # fmt: skip
    return paths, problems


def test_bulk_queues_the_valid_reports_the_invalid_and_is_idempotent(
    server: SmtpServer, settings: Settings, outbox: Outbox, tmp_path: Path
) -> None:
    paths, problems = bulk_folder(tmp_path / "docs")
    outcomes = list(email_documents(paths, outbox, settings, processes=2, created=CREATED))
    assert [o.source for o in outcomes] == [str(p) for p in paths], "in the order given"
    assert [o.status for o in outcomes] == [EmailStatus.QUEUED] * 7 + [EmailStatus.INVALID] * 3
    assert [o.label for o in outcomes[:7]] == [f"Invoice INV-{n:04d}" for n in range(7)]
    for outcome in outcomes[7:]:
        assert outcome.error is not None and outcome.source is not None
        assert outcome.error.lines() == problems[outcome.source]
    ids = [o.entry.id for o in outcomes[:7] if o.entry is not None]

    rerun = list(email_documents(paths, outbox, settings, processes=2))
    assert [o.status for o in rerun] == [EmailStatus.ALREADY_QUEUED] * 7 + [EmailStatus.INVALID] * 3
    assert [o.entry.id for o in rerun[:7] if o.entry is not None] == ids
    deliver(outbox, settings)
    assert len(server.messages) == 7
    first = parsed(next(m for m in server.messages if b"INV-0000" in m.data))
    assert attachment_of(first)[1] == render_pdf(load_document(paths[0]), created=CREATED)

    again = list(email_documents([*paths[:2], paths[0]], outbox, settings, again=True))
    assert [o.status for o in again] == [
        EmailStatus.QUEUED,
        EmailStatus.QUEUED,
        EmailStatus.ALREADY_QUEUED,  # one --again run emails a document once
    ]
    assert outbox.counts()[MessageStatus.QUEUED] == 2


def test_bulk_in_this_process_gives_the_same_outcomes(outbox: Outbox, tmp_path: Path) -> None:
    paths, problems = bulk_folder(tmp_path / "docs")
    settings = make_settings(host="127.0.0.1", port=2525, security="none", email_address=USER)
    outcomes = list(email_documents(iter(paths), outbox, settings, processes=1))
    assert [o.status for o in outcomes] == [EmailStatus.QUEUED] * 7 + [EmailStatus.INVALID] * 3
    for outcome in outcomes[7:]:
        assert outcome.error is not None and outcome.source is not None
        assert outcome.error.lines() == problems[outcome.source]


def test_a_rendering_process_that_dies_ends_the_run_with_a_clear_error(
    outbox: Outbox, tmp_path: Path
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    paths = [write_document(folder, f"{n}.json", invoice_data(f"INV-{n:04d}")) for n in range(40)]
    settings = make_settings(host="127.0.0.1", port=2525, security="none", email_address=USER)
    outcomes = email_documents(paths, outbox, settings, processes=2)
    assert next(outcomes).status is EmailStatus.QUEUED
    for child in multiprocessing.active_children():
        os.kill(child.pid or 0, signal.SIGKILL)
    with pytest.raises(BaruaError, match="a rendering process stopped unexpectedly") as caught:
        list(outcomes)
    assert caught.value.hint is not None and "Run the same command again" in caught.value.hint
    assert multiprocessing.active_children() == []
    queued = outbox.counts()[MessageStatus.QUEUED]
    rerun = list(email_documents(paths, outbox, settings, processes=1))
    assert sum(o.status is EmailStatus.ALREADY_QUEUED for o in rerun) == queued
    assert outbox.counts()[MessageStatus.QUEUED] == 40


_MEASURE = """
import resource, sys
from pathlib import Path
from barua.documents import EmailStatus, email_documents
from barua.outbox import Outbox
from barua.settings import make_settings
from barua.database.engine import database_url
import os

def home_url():
    return database_url(None, home=Path(os.environ["BARUA_HOME"]))

if __name__ == "__main__":
    files = (path for path in sorted(Path(sys.argv[1]).iterdir()))
    settings = make_settings(host="127.0.0.1", port=2525, security="none",
                             email_address="shop@example.com")
    with Outbox.open(home_url()) as outbox:
        queued = sum(o.status is EmailStatus.QUEUED
                     for o in email_documents(files, outbox, settings, processes=2))
    self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(queued, self, children)
"""


def test_memory_does_not_grow_with_the_number_of_documents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "measure.py"
    script.write_text(_MEASURE, encoding="utf-8")
    peaks = []
    for count in (40, 160):
        folder = tmp_path / f"docs-{count}"
        folder.mkdir()
        for n in range(count):
            write_document(folder, f"inv-{n:04d}.json", invoice_data(f"INV-{n:05d}"))
        monkeypatch.setenv("BARUA_HOME", str(tmp_path / f"home-{count}"))
        run = subprocess.run(
            [sys.executable, str(script), str(folder)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert run.returncode == 0, run.stderr
        queued, parent_kb, child_kb = map(int, run.stdout.split())
        assert queued == count
        peaks.append((parent_kb, child_kb))
    (parent_small, child_small), (parent_big, child_big) = peaks
    # Keeping each message would add ~85 KB a document: 10 MB for the 120 more.
    assert parent_big - parent_small < 4 * 1024, peaks
    assert child_big - child_small < 4 * 1024, peaks
