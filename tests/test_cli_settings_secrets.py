"""The password and the API key on the command line: read unseen on a terminal, never emptied
by accident, checked when saved, and settable again after the key that encrypted them is lost."""

from __future__ import annotations

import json
import os
import pty
import select
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from barua.store import SettingsStore
from tests.certs import CertFiles
from tests.conftest import PASSWORD, USER
from tests.smtpd import SmtpServer
from tests.test_cli import BARUA, assert_user_error, barua

HTTP_FLAGS = [
    "--protocol", "http", "--http-service-url", "https://relay.example.com",
    "--reply-to", "office@example.com",
]  # fmt: skip
UNREADABLE_LINE = "password           set, but cannot be read with this key: set it again"
WARNING = (
    "warning: the saved password cannot be read with this key: set it again with "
    "`barua settings set --password-stdin`, or restore the key it was saved with."
)


def show() -> dict[str, Any]:
    proc = barua("settings", "show", "--json")
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def saved_secret(name: str) -> str | None:
    settings = SettingsStore().load()
    assert settings is not None
    value = getattr(settings, name)
    return None if value is None else str(value.get_secret_value())


@pytest.fixture
def saved(barua_home: Path) -> Path:
    proc = barua(
        "settings", "set", "--host", "smtp.example.com", "--username", USER, "--password-stdin",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return barua_home / "settings.json"


# A lost or different key -----------------------------------------------------------------


def lose_the_key(how: str, barua_home: Path) -> dict[str, str]:
    if how == "deleted key file":
        (barua_home / "secret.key").unlink()
        return {}
    return {"BARUA_SECRET_KEY": Fernet.generate_key().decode()}


@pytest.mark.parametrize("how", ["deleted key file", "another BARUA_SECRET_KEY"])
def test_settings_show_still_works_and_says_the_password_must_be_set_again(
    saved: Path, barua_home: Path, how: str
) -> None:
    env = lose_the_key(how, barua_home)
    shown = barua("settings", "show", env=env)
    assert shown.returncode == 0, shown.stderr
    assert "host               smtp.example.com" in shown.stdout
    assert UNREADABLE_LINE in shown.stdout.splitlines()
    as_json = json.loads(barua("settings", "show", "--json", env=env).stdout)
    assert as_json["password_set"] is True
    assert as_json["unreadable_secrets"] == ["password"]


@pytest.mark.parametrize("how", ["deleted key file", "another BARUA_SECRET_KEY"])
def test_the_password_can_be_set_again_after_the_key_is_lost(
    saved: Path, barua_home: Path, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = lose_the_key(how, barua_home)
    proc = barua("settings", "set", "--password-stdin", stdin="new\n", env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    shown = barua("settings", "show", env=env)
    assert "password           set" in shown.stdout.splitlines()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert saved_secret("password") == "new"


def test_a_change_keeps_an_unreadable_password_and_says_which_to_set_again(
    saved: Path, barua_home: Path
) -> None:
    old_key = (barua_home / "secret.key").read_bytes()
    (barua_home / "secret.key").unlink()
    proc = barua("settings", "set", "--port", "465")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == [WARNING]
    assert show()["port"] == 465
    assert UNREADABLE_LINE in barua("settings", "show").stdout.splitlines()
    # The key found again reads the password that was kept.
    (barua_home / "secret.key").write_bytes(old_key)
    assert saved_secret("password") == PASSWORD
    assert show()["unreadable_secrets"] == []


def test_a_test_email_with_the_password_given_again_works_after_the_key_is_lost(
    certs: CertFiles, barua_home: Path
) -> None:
    with SmtpServer(mode="ssl", certs=certs, users={USER: PASSWORD}) as server:
        flags = ["--host", "localhost", "--port", str(server.port), "--security", "ssl",
                 "--username", USER, "--timeout", "5"]  # fmt: skip
        saved = barua("settings", "set", *flags, "--password-stdin", stdin="old\n")
        assert saved.returncode == 0, saved.stderr
        (barua_home / "secret.key").unlink()
        proc = barua(
            "test", "--to", "me@example.com", "--password-stdin", stdin=PASSWORD + "\n",
            env={"SSL_CERT_FILE": str(certs.ca)},
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
    assert server.recorder.logins == [(USER, PASSWORD)]


# Empty input and explicit removal ---------------------------------------------------------


def test_an_empty_password_on_stdin_is_refused_and_keeps_the_saved_one(saved: Path) -> None:
    before = saved.read_bytes()
    for stdin in ("", "\n"):
        proc = barua("settings", "set", "--password-stdin", stdin=stdin)
        assert_user_error(proc, 2, "error: --password-stdin read no password")
        assert proc.stderr.splitlines()[1] == (
            "hint: To remove the saved one, run `barua settings set --no-password`."
        )
    assert saved.read_bytes() == before
    assert show()["password_set"] is True


def test_no_password_removes_the_saved_password(saved: Path) -> None:
    assert barua("settings", "set", "--no-password").returncode == 0
    assert show()["password_set"] is False
    proc = barua("settings", "set", "--password-stdin", "--no-password", stdin="x\n")
    assert_user_error(proc, 2, "error: --password-stdin and --no-password cannot be used together")


def test_an_empty_api_key_is_refused_and_no_http_api_key_removes_it(barua_home: Path) -> None:
    proc = barua("settings", "set", *HTTP_FLAGS, "--http-api-key-stdin", stdin="bk_live_1\n")
    assert proc.returncode == 0, proc.stderr
    proc = barua("settings", "set", "--http-api-key-stdin", stdin="")
    assert_user_error(proc, 2, "error: --http-api-key-stdin read no API key")
    assert proc.stderr.splitlines()[1] == (
        "hint: To remove the saved one, run `barua settings set --no-http-api-key`."
    )
    assert show()["http_api_key_set"] is True
    assert barua("settings", "set", "--no-http-api-key").returncode == 0
    assert show()["http_api_key_set"] is False


# The API key is checked when saved ---------------------------------------------------------


@pytest.mark.parametrize("key", ["my key with spaces", "kéy"])
def test_an_api_key_that_cannot_be_sent_is_refused_when_saved(barua_home: Path, key: str) -> None:
    proc = barua("settings", "set", *HTTP_FLAGS, "--http-api-key-stdin", stdin=key + "\n")
    assert_user_error(
        proc,
        2,
        "error: http_api_key may contain only ASCII letters, digits and punctuation, "
        "without spaces",
    )
    assert key not in proc.stderr + proc.stdout
    assert not (barua_home / "settings.json").exists()


def test_spaces_around_an_api_key_are_dropped(barua_home: Path) -> None:
    proc = barua("settings", "set", *HTTP_FLAGS, "--http-api-key-stdin", stdin="  bk_live_1 \r\n")
    assert proc.returncode == 0, proc.stderr
    assert saved_secret("http_api_key") == "bk_live_1"


# On a terminal ---------------------------------------------------------------------------


def on_a_terminal(args: list[str], typed: str) -> bytes:
    """Run barua on a pseudo-terminal; type ``typed`` at its first prompt; all it showed."""
    pid, terminal = pty.fork()
    if pid == 0:  # the child: barua on a real terminal
        os.execv(BARUA, [BARUA, *args])
    seen = b""
    try:
        while not seen.rstrip().endswith(b":"):
            ready, _, _ = select.select([terminal], [], [], 30)
            assert ready, f"no prompt; the terminal showed {seen!r}"
            seen += os.read(terminal, 1024)
        os.write(terminal, (typed + "\n").encode())
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
    return seen


def test_password_stdin_on_a_terminal_asks_without_echo(saved: Path) -> None:
    seen = on_a_terminal(["settings", "set", "--password-stdin"], "Terminal-Pässwort")
    assert seen.startswith(b"Password: ")
    assert "Terminal-Pässwort".encode() not in seen, "the password is not echoed"
    assert saved_secret("password") == "Terminal-Pässwort"


def test_api_key_stdin_on_a_terminal_asks_without_echo(barua_home: Path) -> None:
    seen = on_a_terminal([*("settings", "set", *HTTP_FLAGS), "--http-api-key-stdin"], "bk_tty_9")
    assert seen.startswith(b"API key: ")
    assert b"bk_tty_9" not in seen, "the key is not echoed"
    assert saved_secret("http_api_key") == "bk_tty_9"


def test_a_lost_password_is_asked_for_again_on_a_terminal(saved: Path, barua_home: Path) -> None:
    (barua_home / "secret.key").unlink()
    seen = on_a_terminal(["settings", "set", "--port", "465"], "again")
    assert seen.startswith(f"Password for {USER}: ".encode())
    assert b"again" not in seen and b"warning" not in seen
    assert saved_secret("password") == "again"
