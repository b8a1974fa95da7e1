"""Text that is not UTF-8 (a Latin-1 terminal, an old file name) on the command line or on
standard input: one clear error naming the option, never a traceback; a file whose name is
not UTF-8 is still sent."""

from __future__ import annotations

import email
import os
import subprocess
from collections.abc import Callable
from email import policy
from pathlib import Path

import pytest

from tests.certs import CertFiles
from tests.conftest import PASSWORD, USER, SavedSettings
from tests.smtpd import SmtpServer
from tests.test_cli import BARUA, barua, server_flags

HINT = "hint: Set the terminal to UTF-8 (for example LANG=C.UTF-8) and give it again."


def barua_bytes(*args: str | bytes, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """barua with arguments passed as raw bytes, as a Latin-1 terminal passes them."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SSL_CERT")}
    return subprocess.run(
        [BARUA, *args], input=stdin, capture_output=True, env=environ, timeout=60, check=False
    )


def error_lines(proc: subprocess.CompletedProcess[bytes]) -> list[str]:
    assert b"Traceback" not in proc.stderr
    return proc.stderr.decode("utf-8").splitlines()


@pytest.fixture
def saved(barua_home: Path) -> SavedSettings:
    proc = barua("settings", "set", "--host", "smtp.example.com", "--username", USER)
    assert proc.returncode == 0, proc.stderr
    return SavedSettings()


@pytest.mark.parametrize(
    ("option", "value", "shown"),
    [
        ("--sender-name", b"M\xfcller GmbH", "M\ufffdller GmbH"),
        ("--username", b"m\xfcller", "m\ufffdller"),
        ("--reply-to", b"b\xfcro@example.com", "b\ufffdro@example.com"),
    ],
)
def test_a_setting_that_is_not_utf8_is_named_and_nothing_changes(
    saved: SavedSettings, option: str, value: bytes, shown: str
) -> None:
    before = saved.read_bytes()
    proc = barua_bytes("settings", "set", option, value)
    assert proc.returncode == 2
    assert error_lines(proc) == [f"error: {option} is not valid UTF-8 text: {shown}", HINT]
    assert saved.read_bytes() == before


def test_a_password_on_stdin_that_is_not_utf8_is_refused_without_showing_it(
    saved: SavedSettings,
) -> None:
    before = saved.read_bytes()
    proc = barua_bytes("settings", "set", "--password-stdin", stdin=b"P\xe4ss-geheim\n")
    assert proc.returncode == 2
    assert error_lines(proc) == [
        "error: the text read by --password-stdin is not valid UTF-8",
        HINT,
    ]
    assert b"geheim" not in proc.stderr + proc.stdout
    assert saved.read_bytes() == before


@pytest.mark.parametrize(
    ("args", "first_line"),
    [
        (
            ["--subject", b"Rechnung M\xfcller", "--body", "Hallo"],
            "error: --subject is not valid UTF-8 text: Rechnung M\ufffdller",
        ),
        (
            ["--subject", "Rechnung", "--body", b"caf\xe9"],
            "error: --body is not valid UTF-8 text: caf\ufffd",
        ),
        (
            ["--subject", "Rechnung", "--body", "x", "--cc", b"b\xfcro@example.com"],
            "error: --cc is not valid UTF-8 text: b\ufffdro@example.com",
        ),
    ],
)
def test_send_names_the_option_that_is_not_utf8(
    saved: SavedSettings, args: list[str | bytes], first_line: str
) -> None:
    proc = barua_bytes("send", "--to", "jane@example.com", *args)
    assert proc.returncode == 2
    assert error_lines(proc) == [first_line, HINT]


def test_an_attachment_whose_name_is_not_utf8_is_sent_with_the_name_readable(
    certs: CertFiles, tmp_path: Path
) -> None:
    raw_name = b"Rechnung_M\xfcller.pdf"
    pdf = os.fsdecode(bytes(tmp_path) + b"/" + raw_name)
    content = b"%PDF-1.7\n" + bytes(range(256)) * 20 + b"\n%%EOF\n"
    Path(pdf).write_bytes(content)
    with SmtpServer(mode="ssl", certs=certs, users={USER: PASSWORD}) as server:
        saved = barua("settings", "set", *server_flags(server, "ssl"), stdin=PASSWORD + "\n")
        assert saved.returncode == 0, saved.stderr
        environ = {**os.environ, "SSL_CERT_FILE": str(certs.ca)}
        proc = subprocess.run(
            [BARUA, "send", "--to", "jane@example.com", "--subject", "Rechnung",
             "--body", "Anbei.", "--attach", os.fsencode(pdf)],
            capture_output=True, env=environ, timeout=60, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        [arrived] = server.messages
    parsed = email.message_from_bytes(arrived.data, policy=policy.default)
    [attachment] = list(parsed.iter_attachments())  # type: ignore[attr-defined]
    assert attachment.get_filename() == "Rechnung_M\ufffdller.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == content


def test_any_stray_text_that_is_not_utf8_ends_as_one_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import barua.cli

    def command(**_: object) -> None:
        "M\udcfcller".encode()

    monkeypatch.setattr(barua.cli, "app", command)
    with pytest.raises(SystemExit) as exited:
        barua.cli.main()
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        "error: some of the text given to barua is not valid UTF-8",
        HINT,
    ]
    assert captured.out == ""


@pytest.mark.parametrize(
    "fault",
    [
        lambda: ("a" * 64 + ".example.com").encode("idna"),  # label too long
        lambda: "Müller".encode("ascii"),
        lambda: b"M\xfcller".decode("utf-8"),
    ],
    ids=["idna", "encoding", "decoding"],
)
def test_other_unicode_errors_are_not_reported_as_text_that_is_not_utf8(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fault: Callable[[], object],
) -> None:
    # A fault of barua itself: blaming the user's text would send them the wrong way.
    import barua.cli

    def command(**_: object) -> None:
        fault()

    monkeypatch.setattr(barua.cli, "app", command)
    with pytest.raises(UnicodeError):
        barua.cli.main()
    assert "UTF-8" not in capsys.readouterr().err


def test_a_host_with_a_label_too_long_is_named_as_such(saved: SavedSettings) -> None:
    host = "a" * 64 + ".example.com"
    proc = barua_bytes("settings", "set", "--host", host)
    assert proc.returncode == 2
    assert error_lines(proc)[0] == f'error: host "{host}" is not a valid server name'


def test_an_environment_variable_that_is_not_utf8_is_named(saved: SavedSettings) -> None:
    environ = {key.encode(): value.encode() for key, value in os.environ.items()}
    environ[b"BARUA_SENDER_NAME"] = b"M\xfcller GmbH"  # as a Latin-1 shell exports it
    proc = subprocess.run(
        [BARUA, "settings", "show"], capture_output=True, env=environ, timeout=60, check=False
    )
    assert proc.returncode == 2
    assert error_lines(proc) == [
        "error: BARUA_SENDER_NAME: sender_name is not valid UTF-8 text",
        "hint: Correct the environment variable BARUA_SENDER_NAME.",
    ]
