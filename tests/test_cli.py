"""The barua command, run as a user runs it: a real process, real files, real servers."""

from __future__ import annotations

import email
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from email import policy
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.core import TyperGroup
from typer.testing import CliRunner

from barua.cli import app
from tests.certs import CertFiles
from tests.conftest import PASSWORD, USER, saved_document
from tests.smtpd import SmtpServer

BARUA = str(Path(sys.executable).with_name("barua"))


def barua(
    *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SSL_CERT")}
    environ.update(env or {})
    return subprocess.run(
        [BARUA, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
        check=False,
    )


def assert_user_error(proc: subprocess.CompletedProcess[str], code: int, first_line: str) -> None:
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert 1 <= len(lines) <= 2
    assert lines[0] == first_line


def server_flags(server: SmtpServer, security: str) -> list[str]:
    return [
        "--host", "localhost", "--port", str(server.port), "--security", security,
        "--username", USER, "--password-stdin", "--sender-name", "Duka la Amani",
        "--timeout", "5",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("mode", "security", "encryption"),
    [
        ("ssl", "ssl", "encrypt (SSL/TLS)"),  # 465-style
        ("starttls", "starttls", "encrypt (STARTTLS)"),  # 587-style
        # auto on a port other than 465 and 587 (as on 25): STARTTLS because it is offered.
        ("starttls", "auto", "encrypt (STARTTLS)"),
    ],
)
def test_settings_set_then_test_delivers_over_tls_with_auth(
    certs: CertFiles, mode: str, security: str, encryption: str
) -> None:
    with SmtpServer(mode=mode, certs=certs, users={USER: PASSWORD}) as server:  # type: ignore[arg-type]
        saved = barua("settings", "set", *server_flags(server, security), stdin=PASSWORD + "\n")
        assert saved.returncode == 0, saved.stderr
        assert json.loads(barua("settings", "show", "--json").stdout)["security"] == security
        proc = barua("test", "--to", "me@example.com", env={"SSL_CERT_FILE": str(certs.ca)})
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert f"✓ {encryption}" in proc.stdout
        assert "✓ log in" in proc.stdout and "✓ send the message" in proc.stdout
        assert "The server accepted the test email for me@example.com" in proc.stdout
        [arrived] = server.messages
    parsed = email.message_from_bytes(arrived.data, policy=policy.default)
    assert parsed["Subject"] == "barua test email"
    assert parsed["From"] == f"Duka la Amani <{USER}>"
    assert arrived.rcpt_tos == ["me@example.com"]
    assert server.recorder.logins == [(USER, PASSWORD)]


@pytest.mark.usefixtures("trust_ca")
def test_auto_on_port_465_is_implicit_tls_end_to_end(
    ssl_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The test server cannot listen on 465 itself: barua's lookup of localhost port 465 is
    # answered with the server's loopback address and port, so barua really connects to "465".
    real = socket.getaddrinfo

    def lookup(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if (host, port) == ("localhost", 465):
            return real("127.0.0.1", ssl_server.port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    flags = server_flags(ssl_server, "auto")
    flags[flags.index("--port") + 1] = "465"
    runner = CliRunner()
    saved = runner.invoke(app, ["settings", "set", *flags], input=PASSWORD + "\n")
    assert saved.exit_code == 0, saved.output
    proc = runner.invoke(app, ["test", "--to", "me@example.com"])
    assert proc.exit_code == 0, proc.output
    assert "✓ encrypt (SSL/TLS)" in proc.output and "STARTTLS" not in proc.output
    assert "✓ log in" in proc.output
    assert ssl_server.recorder.logins == [(USER, PASSWORD)]
    assert len(ssl_server.messages) == 1


def test_show_never_prints_the_password(barua_home: Path) -> None:
    barua(
        "settings", "set", "--host", "smtp.example.com", "--username", USER, "--password-stdin",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    shown = barua("settings", "show")
    as_json = barua("settings", "show", "--json")
    assert shown.returncode == 0 and as_json.returncode == 0
    assert "password set" in [" ".join(line.split()) for line in shown.stdout.splitlines()]
    assert json.loads(as_json.stdout)["password_set"] is True
    for output in (shown.stdout, shown.stderr, as_json.stdout):
        assert PASSWORD not in output
    for path in barua_home.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes()


def test_one_setting_changes_at_a_time(barua_home: Path) -> None:
    barua("settings", "set", "--host", "smtp.example.com", "--username", USER,
          "--bcc-copy", "archive@example.com", "--password-stdin", stdin="pw\n")  # fmt: skip
    assert barua("settings", "set", "--port", "465").returncode == 0
    assert barua("settings", "set", "--no-bcc-copy").returncode == 0
    data = json.loads(barua("settings", "show", "--json").stdout)
    assert (data["host"], data["port"], data["bcc_copy"]) == ("smtp.example.com", 465, None)
    assert data["password_set"] is True


def test_invalid_setting_is_refused_and_saved_settings_stay(barua_home: Path) -> None:
    barua("settings", "set", "--host", "smtp.example.com", "--username", USER)
    before = saved_document()
    proc = barua("settings", "set", "--port", "70000")
    assert_user_error(proc, 2, "error: port must be between 1 and 65535")
    proc = barua("settings", "set", "--username", "shop")
    assert_user_error(
        proc,
        2,
        'error: email_address is required because username "shop" is not an email address',
    )
    assert saved_document() == before


def test_failed_test_names_the_step_reply_and_fix(certs: CertFiles) -> None:
    with SmtpServer(mode="ssl", certs=certs, users={USER: PASSWORD}) as server:
        proc = barua(
            "test", "--to", "me@example.com", *server_flags(server, "ssl"),
            stdin="not-the-password\n", env={"SSL_CERT_FILE": str(certs.ca)},
        )  # fmt: skip
    assert proc.returncode == 1
    assert "✗ log in" in proc.stdout
    assert_user_error(
        proc,
        1,
        "error (log in): the server refused the username or password "
        "(server replied: 535 5.7.8 Authentication credentials invalid)",
    )
    assert "app password" in proc.stderr
    assert "not-the-password" not in proc.stdout + proc.stderr


def test_untrusted_certificate_fails_until_trusted_or_skipped(
    certs: CertFiles, barua_home: Path
) -> None:
    with SmtpServer(mode="ssl", certs=certs, users={USER: PASSWORD}) as server:
        flags = ["test", "--to", "me@example.com", *server_flags(server, "ssl"), "--save"]
        refused = barua(*flags, stdin=PASSWORD + "\n")
        assert refused.returncode == 1
        assert refused.stderr.startswith(
            "error (check the certificate): the server's certificate was issued by "
            "barua test CA, which this computer does not trust"
        )
        assert not (barua_home / "settings.json").exists(), "a failed test saves nothing"
        skipped = barua(*flags, "--skip-tls-verify", stdin=PASSWORD + "\n")
        assert skipped.returncode == 0, skipped.stderr
        assert len(server.messages) == 1
    data = json.loads(barua("settings", "show", "--json").stdout)
    assert data["skip_tls_verify"] is True and data["password_set"] is True


def test_json_report(certs: CertFiles) -> None:
    with SmtpServer(mode="starttls", certs=certs, users={USER: PASSWORD}) as server:
        proc = barua(
            "test", "--to", "me@example.com", "--json", *server_flags(server, "starttls"),
            stdin=PASSWORD + "\n", env={"SSL_CERT_FILE": str(certs.ca)},
        )  # fmt: skip
    report = json.loads(proc.stdout)
    assert proc.returncode == 0 and report["ok"] is True
    assert [s["step"] for s in report["steps"]][:5] == [
        "resolve", "connect", "greeting", "ehlo", "starttls",
    ]  # fmt: skip
    assert report["result"]["queue_id"] == "TEST00001"
    assert PASSWORD not in proc.stdout


def test_send_with_attachment(certs: CertFiles, tmp_path: Path) -> None:
    pdf = tmp_path / "Ankara INV-0042.pdf"
    pdf.write_bytes(b"%PDF-1.7\n" + os.urandom(50_000) + b"\n%%EOF\n")
    body = tmp_path / "body.txt"
    body.write_text("Habari,\nTafadhali pata ankara.\n", encoding="utf-8")
    with SmtpServer(mode="ssl", certs=certs, users={USER: PASSWORD}) as server:
        barua("settings", "set", *server_flags(server, "ssl"), stdin=PASSWORD + "\n")
        proc = barua(
            "send", "--to", "jane@example.com", "--cc", "bob@example.com",
            "--bcc", "hidden@example.com", "--subject", "Ankara INV-0042",
            "--body-file", str(body), "--attach", str(pdf),
            env={"SSL_CERT_FILE": str(certs.ca)},
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        [arrived] = server.messages
    assert arrived.rcpt_tos == ["jane@example.com", "bob@example.com", "hidden@example.com"]
    parsed = email.message_from_bytes(arrived.data, policy=policy.default)
    [attachment] = list(parsed.iter_attachments())  # type: ignore[attr-defined]
    assert attachment.get_filename() == "Ankara INV-0042.pdf"
    assert attachment.get_content() == pdf.read_bytes()
    assert b"hidden@example.com" not in arrived.data


@pytest.mark.usefixtures("barua_home")
def test_a_worker_without_settings_says_so_in_the_users_language() -> None:
    proc = barua("worker", "--once")
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "error: no email settings are saved yet",
        "hint: Run `barua settings set --help`, or give the BARUA_* environment variables.",
    ]
    proc = barua("--lang", "sw", "worker", "--once")
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[1] == (
        "ushauri: Endesha `barua settings set --help`, au weka vigeu vya mazingira vya BARUA_*."
    )


def test_send_input_errors(barua_home: Path, tmp_path: Path) -> None:
    proc = barua("send", "--to", "a@example.com", "--subject", "x", "--body", "x")
    assert_user_error(proc, 2, "error: no email settings are saved yet")
    barua("settings", "set", "--host", "smtp.example.com", "--email-address", USER)
    proc = barua("send", "--to", "a@example.com", "--subject", "x", "--body", "x",
                 "--attach", str(tmp_path / "missing.pdf"))  # fmt: skip
    assert_user_error(
        proc,
        2,
        f"error: cannot read the attachment {tmp_path / 'missing.pdf'}: No such file or directory",
    )
    proc = barua("send", "--to", "a@example.com", "--subject", "x\nBcc: v@example.com",
                 "--body", "x")  # fmt: skip
    assert_user_error(proc, 2, "error: subject must not contain line breaks")
    proc = barua("send", "--to", "not an address", "--subject", "x", "--body", "x")
    assert proc.returncode == 2 and proc.stderr.startswith('error: to: "not an address"')


def test_environment_overrides_the_saved_password(certs: CertFiles) -> None:
    with SmtpServer(mode="ssl", certs=certs, users={USER: PASSWORD}) as server:
        barua("settings", "set", *server_flags(server, "ssl"), stdin="old-password\n")
        proc = barua(
            "test", "--to", "me@example.com",
            env={"SSL_CERT_FILE": str(certs.ca), "BARUA_SMTP_PASSWORD": PASSWORD},
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert server.recorder.logins == [(USER, PASSWORD)]


def command_paths(command: object, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command and subcommand of the command tree, by the words that call it."""
    yield path
    if isinstance(command, TyperGroup):
        for name, sub in command.commands.items():
            yield from command_paths(sub, (*path, name))


COMMANDS = list(command_paths(typer.main.get_command(app)))


def test_the_command_tree_is_walked() -> None:
    assert {("settings", "set"), ("test",), ("send",), ("worker",)} <= set(COMMANDS)
    assert len(COMMANDS) > 12


@pytest.mark.parametrize("command", COMMANDS, ids=lambda path: " ".join(path) or "barua")
def test_help_everywhere(command: tuple[str, ...]) -> None:
    proc = CliRunner().invoke(app, [*command, "--help"], prog_name="barua")
    assert proc.exit_code == 0, proc.output
    assert proc.output.startswith(f"Usage: {' '.join(('barua', *command))} ")


def test_help_from_the_installed_command() -> None:
    proc = barua("--help")
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.startswith("Usage: barua [OPTIONS] COMMAND [ARGS]...")


def test_password_is_asked_on_a_terminal_when_none_is_saved(barua_home: Path) -> None:
    import pty
    import select

    pid, terminal = pty.fork()
    if pid == 0:  # the child: barua on a real terminal
        os.execv(BARUA, [BARUA, "settings", "set", "--host", "smtp.example.com",
                         "--username", USER])  # fmt: skip
    seen = b""
    try:
        while b"Password for" not in seen:
            ready, _, _ = select.select([terminal], [], [], 30)
            assert ready, f"no password prompt; the terminal showed {seen!r}"
            seen += os.read(terminal, 1024)
        assert seen.rstrip().endswith(f"Password for {USER}:".encode())
        os.write(terminal, (PASSWORD + "\n").encode())
        while True:
            ready, _, _ = select.select([terminal], [], [], 30)
            try:
                chunk = os.read(terminal, 1024) if ready else b""
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
    finally:
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, seen
    assert PASSWORD.encode() not in seen, "the password is not echoed"
    assert json.loads(barua("settings", "show", "--json").stdout)["password_set"] is True
