"""Input that would hurt: files that never end or hang, huge headers, control characters in
what barua stores and prints, a server refusing some recipients. Each is met with one clear
error or shown harmless, measured as a user would see it: exit codes, what reached a real
server, what the terminal got, time and memory."""

from __future__ import annotations

import email
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from pathlib import Path

import pytest

from barua.app import Barua, Environment
from barua.errors import MessageError
from barua.message import Attachment, OutgoingMessage
from tests.smtpd import SmtpServer

BARUA = str(Path(sys.executable).with_name("barua"))
SHOP = "shop@example.com"


@dataclass
class Ran:
    code: int
    stdout: str
    stderr: str
    seconds: float
    peak_mb: float
    """The largest resident memory of the barua process. Linux counts the memory of the test
    process that started it in too (the child shares it until exec), so compare it with another
    barua command started the same way, never with a fixed number."""


def run(*args: str | Path, env: dict[str, str], timeout: float = 30) -> Ran:
    """``barua ARGS`` as a user runs it, with its own time and peak memory (not the tests')."""
    started = time.monotonic()
    process = subprocess.Popen(
        [BARUA, *map(str, args)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    killer = threading.Timer(timeout, process.kill)
    killer.start()
    try:
        assert process.stdout is not None and process.stderr is not None
        out, err = process.stdout.read(), process.stderr.read()
        _, status, usage = os.wait4(process.pid, 0)
    finally:
        killer.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - started
    assert seconds < timeout, f"barua {args} hung: killed after {timeout} s"
    return Ran(process.returncode, out.decode(), err.decode(), seconds, usage.ru_maxrss / 1024)


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    with SmtpServer(mode="plain") as running:
        yield running


@pytest.fixture
def env(server: SmtpServer, barua_home: Path) -> dict[str, str]:
    """The environment of a shop whose settings come from BARUA_* variables (a server on
    this machine, no encryption)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SSL_CERT")}
    environ.update(
        BARUA_SMTP_HOST="127.0.0.1",
        BARUA_SMTP_PORT=str(server.port),
        BARUA_SMTP_SECURITY="none",
        BARUA_EMAIL_ADDRESS=SHOP,
        BARUA_TIMEOUT="5",
    )
    return environ


def outbox_entries(env: dict[str, str]) -> list[dict[str, object]]:
    listed = run("outbox", "list", "--json", env=env)
    assert listed.code == 0, listed.stderr
    entries: list[dict[str, object]] = json.loads(listed.stdout)["entries"]
    return entries


def send(*args: str | Path, env: dict[str, str]) -> Ran:
    return run("send", "--to", "jane@example.com", "--subject", "Ankara", *args, env=env)


def assert_refused(ran: Ran, first_line: str) -> None:
    assert ran.code == 2, ran.stderr
    assert "Traceback" not in ran.stderr
    lines = ran.stderr.strip().splitlines()
    assert 1 <= len(lines) <= 2, ran.stderr
    assert lines[0] == first_line


# Files that never end, hang or are too large ---------------------------------------------------


def test_a_sparse_file_larger_than_the_limit_is_refused_unread(
    env: dict[str, str], tmp_path: Path, server: SmtpServer
) -> None:
    huge = tmp_path / "backup.tar"
    with huge.open("wb") as sparse:
        sparse.truncate(2 * 1024**3)  # 2 GiB that take no disk, and no time to stat
    ran = send("--body", "Habari", "--attach", huge, env=env)
    assert_refused(
        ran,
        "error: the attachments (backup.tar) are 2147.5 MB: encoded for email they make a "
        "message larger than 25 MB, the most barua sends",
    )
    assert "BARUA_MAX_MESSAGE_SIZE" in ran.stderr.splitlines()[1]
    # Unread: no more memory than barua needs to refuse a mistyped address, and no waiting.
    itself = run("send", "--to", "not an address", "--subject", "x", "--body", "x", env=env)
    assert itself.code == 2
    assert ran.peak_mb < itself.peak_mb + 30, (ran.peak_mb, itself.peak_mb)
    assert ran.seconds < itself.seconds + 3
    assert outbox_entries(env) == []
    assert server.messages == []
    home = Path(env["BARUA_HOME"])
    assert sum(f.stat().st_size for f in home.glob("barua.db*")) < 2_000_000


@pytest.mark.parametrize("option", ["--attach", "--body-file"])
def test_a_device_or_a_fifo_is_refused_at_once(
    env: dict[str, str], tmp_path: Path, option: str
) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    what = "attachment" if option == "--attach" else "body file"
    itself = run("send", "--to", "not an address", "--subject", "x", "--body", "x", env=env)
    for path, kind in ((Path("/dev/zero"), "a device"), (fifo, "a named pipe (FIFO)")):
        args = [option, str(path)] if option == "--body-file" else ["--body", "x", option, path]
        ran = send(*args, env=env)
        assert_refused(
            ran, f"error: cannot read the {what} {path}: it is {kind}, not a regular file"
        )
        assert ran.seconds < 10, (path, ran.seconds)
        assert ran.peak_mb < itself.peak_mb + 30, (path, ran.peak_mb, itself.peak_mb)
    assert outbox_entries(env) == []


def test_a_folder_as_an_attachment_is_named(env: dict[str, str], tmp_path: Path) -> None:
    ran = send("--body", "x", "--attach", tmp_path, env=env)
    assert_refused(ran, f"error: cannot read the attachment {tmp_path}: Is a directory")


def test_the_limit_is_set_by_barua_max_message_size(
    tmp_path: Path, server: SmtpServer, barua_home: Path
) -> None:
    report = tmp_path / "report.pdf"
    report.write_bytes(os.urandom(60_000))
    half = tmp_path / "half.pdf"
    half.write_bytes(os.urandom(20_000))

    def refusal(limit: str, **email: object) -> str:
        with shop(server, barua_home, BARUA_MAX_MESSAGE_SIZE=limit) as app:
            with pytest.raises(MessageError) as caught:
                app.send(app.business(), to=["jane@example.com"], subject="x", **email)  # type: ignore[arg-type]
            assert app.outbox_page().entries == []
        return caught.value.message

    assert refusal("50KB", text="x", attachments=[report]) == (
        "the attachments (report.pdf) are 0.06 MB: encoded for email they make a message "
        "larger than 0.05 MB, the most barua sends"
    )
    # Each fits, not both; then a text that makes the email too large once built.
    assert "(half.pdf, report.pdf) are 0.08 MB" in refusal(
        "70KB", text="x", attachments=[half, report]
    )
    assert refusal("50KB", text="Habari yako. " * 3000, attachments=[half]) == (
        "the email is 0.07 MB with its attachments encoded: larger than 0.05 MB, the most "
        "barua sends"
    )
    assert server.messages == []
    # Within the limit, it goes.
    with shop(server, barua_home, BARUA_MAX_MESSAGE_SIZE="50KB") as app:
        sent = app.send(app.business(), to=["jane@example.com"], subject="x", text="x",
                        attachments=[half])  # fmt: skip
    assert sent.error is None and len(server.messages) == 1


def test_a_server_announcing_a_smaller_size_refuses_before_the_data_naming_its_limit(
    env: dict[str, str], tmp_path: Path, barua_home: Path
) -> None:
    report = tmp_path / "report.pdf"
    report.write_bytes(os.urandom(150_000))
    with SmtpServer(mode="plain", size_limit=100_000) as small:
        ran = send(
            "--body", "x", "--attach", report, env={**env, "BARUA_SMTP_PORT": str(small.port)}
        )
        assert small.messages == []
    assert ran.code == 1
    assert ran.stderr.splitlines()[0] == (
        "error (sender): the message is 205.9 KB; the server accepts at most 100 KB"
    )


def test_a_body_file_larger_than_the_limit_is_refused(env: dict[str, str], tmp_path: Path) -> None:
    body = tmp_path / "body.txt"
    body.write_text("a" * 2000, encoding="utf-8")
    ran = send("--body-file", body, env={**env, "BARUA_MAX_MESSAGE_SIZE": "1000"})
    assert_refused(ran, f"error: {body} is 0.002 MB: larger than 0.001 MB, the most barua sends")


def test_a_limit_that_is_not_a_size_is_named(env: dict[str, str]) -> None:
    ran = send("--body", "x", env={**env, "BARUA_MAX_MESSAGE_SIZE": "big"})
    assert_refused(ran, 'error: BARUA_MAX_MESSAGE_SIZE "big" is not a size (such as 25MB or 500KB)')


# Headers: every line within RFC 5322, control characters refused --------------------------------


def shop(server: SmtpServer, home: Path, **variables: str) -> Barua:
    """barua in this process, as a program embedding it opens it."""
    environ = {
        "BARUA_HOME": str(home),
        "BARUA_SMTP_HOST": "127.0.0.1",
        "BARUA_SMTP_PORT": str(server.port),
        "BARUA_SMTP_SECURITY": "none",
        "BARUA_EMAIL_ADDRESS": SHOP,
        "BARUA_TIMEOUT": "5",
        **variables,
    }
    return Barua(Environment.from_environ(environ))


def decoded(raw: str) -> str:
    """A header as a mail program shows it (RFC 2047: the space between two encoded words
    is not part of the text)."""
    return str(make_header(decode_header(raw)))


LONG = {
    "ascii": "A" * 3000,
    "kiswahili": "Duka la Bidhaa za Nyumbani " + "ñ" * 3000,
    "emoji": "📦" * 1000 + "Amani",
}


@pytest.mark.parametrize("kind", list(LONG))
def test_long_names_subjects_and_file_names_fold_within_rfc_5322(
    server: SmtpServer, barua_home: Path, tmp_path: Path, kind: str
) -> None:
    long = LONG[kind]
    file_name = long[:900] + ".pdf"
    with shop(server, barua_home, BARUA_SENDER_NAME=long) as app:
        sent = app.send(
            app.business(),
            to=[f'"{long}" <jane@example.com>', "amani@example.com"],
            cc=[f"{long} <bob@example.com>"],
            subject=long,
            text="Habari",
            attachments=[Attachment(file_name, b"%PDF-1.7\n")],
        )
    assert sent.error is None
    [arrived] = server.messages
    lines = arrived.data.split(b"\r\n")
    assert max(len(line) for line in lines) <= 78
    headers = email.message_from_bytes(arrived.data, policy=policy.compat32)
    assert decoded(headers["From"]) == f"{long} <{SHOP}>"
    assert decoded(headers["To"]) == f"{long} <jane@example.com>, amani@example.com"
    assert decoded(headers["Cc"]) == f"{long} <bob@example.com>"
    assert decoded(headers["Subject"]) == long
    parsed = email.message_from_bytes(arrived.data, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    assert [a.get_filename() for a in parsed.iter_attachments()] == [file_name]


def test_a_long_name_costs_milliseconds_to_fold() -> None:
    from barua.addresses import Mailbox
    from barua.message import compose

    name = "📦" * 3000  # the email package alone takes seconds to fold this
    started = time.perf_counter()
    message = compose(
        sender=Mailbox(SHOP, name),
        to=[f"{name} <jane@example.com>"],
        cc=[f"{name} <bob@example.com>"],
        subject=name,
        text="x",
    )
    assert time.perf_counter() - started < 0.5
    assert max(len(line) for line in message.data.split(b"\r\n")) <= 78


@pytest.mark.parametrize(
    ("field", "changes"),
    [
        ("subject", {"subject": "Ankara \x1b[2J"}),
        ("subject", {"subject": "Ankara \x9b31m"}),
        ("to", {"to": ["Jane \x1b[8m <jane@example.com>"]}),
        ("cc", {"cc": ["\x07Bob <bob@example.com>"]}),
        ("attachment file name", {"attachments": [("a\x1b[2J.pdf", b"x")]}),
    ],
)
def test_control_characters_in_header_values_are_refused_by_name(
    server: SmtpServer, barua_home: Path, field: str, changes: dict[str, object]
) -> None:
    args: dict[str, object] = {"to": ["jane@example.com"], "subject": "Ankara", "text": "x"}
    args.update(changes)
    with shop(server, barua_home) as app, pytest.raises(MessageError) as caught:
        if "attachments" in args:
            args["attachments"] = [Attachment(*a) for a in args["attachments"]]  # type: ignore[attr-defined]
        app.send(app.business(), **args)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert caught.value.message.startswith(f"{field} must not contain control characters")
    assert server.messages == []


def test_a_sender_name_with_escapes_is_refused_when_saved(env: dict[str, str]) -> None:
    ran = run("settings", "set", "--host", "smtp.example.com", "--email-address", SHOP,
              "--sender-name", "Duka\x1b[2J", env=env)  # fmt: skip
    assert ran.code == 2
    assert "sender_name must not contain control characters (it holds \\x1b)" in ran.stderr
    assert "\x1b" not in ran.stderr


def test_a_tab_in_a_subject_still_goes(server: SmtpServer, barua_home: Path) -> None:
    with shop(server, barua_home) as app:
        assert app.send(app.business(), to=["a@example.com"], subject="a\tb", text="x").tried
    parsed = email.message_from_bytes(server.messages[0].data, policy=policy.default)
    assert parsed["Subject"] == "a\tb"


def test_a_body_with_nul_arrives_whole_and_never_raw(server: SmtpServer, barua_home: Path) -> None:
    text = "Habari\x00 ya leo\n"
    with shop(server, barua_home) as app:
        app.send(app.business(), to=["a@example.com"], subject="x", text=text, html="<p>\x00</p>")
    [arrived] = server.messages
    assert b"\x00" not in arrived.data
    # Read as a mail program reads it: lines end in LF once stored.
    parsed = email.message_from_bytes(arrived.data.replace(b"\r\n", b"\n"), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    plain, html = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert plain is not None and html is not None
    assert plain["Content-Transfer-Encoding"] == "quoted-printable"
    assert plain.get_content() == text
    assert html.get_content() == "<p>\x00</p>\n"


# What reaches the terminal -----------------------------------------------------------------------

HOSTILE = "Ankara \x1b[2J\x1b[8m [red]siri[/red] \x9b31m \u202etxt.exe 📦 ñ"
"""A subject an older barua, another program sharing the database or a server could leave:
ESC sequences that clear the screen and hide text, a C1 CSI, rich markup, a mark that reads
backwards, and what must stay as it is (emoji, Kiswahili's ñ)."""
SHOWN = "Ankara \\x1b[2J\\x1b[8m [red]siri[/red] \\x9b31m \\u202etxt.exe 📦 ñ"


def assert_harmless(output: str) -> None:
    for unsafe in ("\x1b", "\x9b", "\u202e", "\x07", "\r"):
        assert unsafe not in output


def test_a_partly_refused_email_exits_3_naming_each_refused_recipient(
    env: dict[str, str], server: SmtpServer
) -> None:
    server.recorder.refuse_recipients["gone@example.com"] = "550 5.1.1 User unknown"
    server.recorder.refuse_recipients["trap@example.com"] = "550 5.1.1 \x1b[2J\x1b]0;owned\x07 no"
    ran = run("send", "--to", "jane@example.com", "--to", "gone@example.com",
              "--cc", "trap@example.com", "--subject", "Ankara", "--body", "Habari",
              env=env)  # fmt: skip
    assert ran.code == 3, ran.stderr
    assert ran.stdout.startswith("Sent to jane@example.com (250 ")
    assert ran.stderr.splitlines() == [
        "refused: gone@example.com (550 5.1.1 User unknown)",
        "refused: trap@example.com (550 5.1.1 \\x1b[2J\\x1b]0;owned\\x07 no)",
    ]
    [arrived] = server.messages
    assert arrived.rcpt_tos == ["jane@example.com"]
    shown = run("outbox", "show", "1", env=env)
    assert shown.code == 0, shown.stderr
    assert "refused   trap@example.com (550 5.1.1 \\x1b[2J\\x1b]0;owned\\x07 no)" in shown.stdout
    assert_harmless(shown.stdout)
    help_text = run("send", "--help", env=env).stdout
    assert "3 when it refused some of them" in " ".join(help_text.split())


def test_stored_text_reaches_the_terminal_escaped(
    env: dict[str, str], server: SmtpServer, barua_home: Path
) -> None:
    from sqlalchemy import insert

    from barua.database.tables import businesses

    with shop(server, barua_home) as app:
        message = OutgoingMessage(
            message_id="<1@example.com>",
            sender=SHOP,
            recipients=("jane@example.com",),
            data=b"Subject: x\r\n\r\nx\r\n",
            subject=HOSTILE,
        )
        settings = app.settings_in_effect(app.business())
        app.outbox.enqueue(message, settings=settings, business=app.business().key)
        with app.engine.begin() as conn:
            conn.execute(
                insert(businesses).values(
                    key="old", name=HOSTILE, folded_name="old", created_at=time.time(),
                    settings_version=0,
                )
            )  # fmt: skip
    listed = run("outbox", "list", env=env)
    assert listed.code == 0, listed.stderr
    assert_harmless(listed.stdout)
    assert SHOWN in listed.stdout
    shown = run("outbox", "show", "1", env=env)
    assert_harmless(shown.stdout)
    assert f"subject       {SHOWN}\n" in shown.stdout
    names = run("business", "list", env=env)
    assert_harmless(names.stdout)
    assert SHOWN + " *" in names.stdout.splitlines()
    # JSON keeps the exact text for programs, escaped the JSON way.
    as_json = run("outbox", "list", "--json", env=env)
    assert_harmless(as_json.stdout)
    assert json.loads(as_json.stdout)["entries"][0]["subject"] == HOSTILE


def test_settings_show_escapes_what_it_prints(env: dict[str, str]) -> None:
    saved = run("settings", "set", "--host", "smtp.example.com", "--email-address", SHOP,
                "--sender-name", "Duka la Amani 📦 [bold]ñ[/bold]", env=env)  # fmt: skip
    assert saved.code == 0, saved.stderr
    shown = run("settings", "show", env={**env, "BARUA_SMTP_HOST": "smtp.example.com\x1b[2J"})
    # The variable's value is refused, and the refusal shows it escaped.
    assert shown.code == 2
    assert_harmless(shown.stderr)
    shown = run("settings", "show", env=env)
    assert shown.code == 0, shown.stderr
    assert "Duka la Amani 📦 [bold]ñ[/bold]" in shown.stdout


def test_an_error_quoting_a_value_escapes_it(env: dict[str, str]) -> None:
    ran = run("send", "--to", "jane@exa\x1b[2Jmple.com", "--subject", "x", "--body", "x", env=env)
    assert_refused(ran, "error: to must not contain control characters (it holds \\x1b)")
    ran = run("send", "--to", "[red]jane[/red]", "--subject", "x", "--body", "x", env=env)
    assert ran.code == 2 and '"[red]jane[/red]" is not a valid email address' in ran.stderr


# Outbox ids --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "entry_id"),
    [
        ("show", "99999999999999999999999"),  # past 64 bits: the database cannot look
        ("retry", "99999999999999999999999"),
        ("cancel", "9223372036854775808"),
        ("show", "-1"),
    ],
)
def test_an_outbox_id_no_entry_can_have_is_one_clear_error(
    env: dict[str, str], command: str, entry_id: str
) -> None:
    ran = run("outbox", command, "--", entry_id, env=env)
    assert_refused(ran, f"error: there is no outbox entry {entry_id}")


@pytest.mark.parametrize(
    "command",
    [
        ("business", "logo"),
        ("template", "set", "sales_invoice", "en", "--body-file"),
        ("settings", "import"),
    ],
)
def test_a_fifo_given_as_a_logo_a_template_or_settings_is_refused_at_once(
    env: dict[str, str], tmp_path: Path, command: tuple[str, ...]
) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    ran = run(*command, fifo, env=env, timeout=20)
    assert_refused(ran, f"error: cannot read {fifo}: it is a named pipe (FIFO), not a regular file")
    assert ran.seconds < 10, ran.seconds
