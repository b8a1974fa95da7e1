"""The password and the API key on the command line: read unseen on a terminal, never emptied
by accident, checked when saved, and settable again after the key that encrypted them is lost,
without ever leaving secrets that no single key reads."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from tests.certs import CertFiles
from tests.conftest import PASSWORD, USER, SavedSettings, saved_settings
from tests.smtpd import SmtpServer
from tests.terminal import type_at_a_prompt
from tests.test_cli import assert_user_error, barua

HTTP_FLAGS = [
    "--protocol", "http", "--http-service-url", "https://relay.example.com",
    "--reply-to", "office@example.com",
]  # fmt: skip
UNREADABLE_LINE = "password set, but cannot be read with this key: set it again"


def lines(output: str) -> list[str]:
    """Each line with its spaces run together: the columns' width depends on the labels."""
    return [" ".join(line.split()) for line in output.splitlines()]


WARNING = (
    "warning: the saved password cannot be read with this key: set it again with "
    "`barua settings set --password-stdin`, or restore the key it was saved with."
)
API_KEY_REMOVED = (
    "warning: the saved http_api_key was removed: it was encrypted with a key that is not at "
    "hand and could never be read together with what was just saved. Set it again with "
    "`barua settings set --http-api-key-stdin`."
)


def show() -> dict[str, Any]:
    proc = barua("settings", "show", "--json")
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def saved_secret(name: str) -> str | None:
    settings = saved_settings()
    assert settings is not None
    value = getattr(settings, name)
    return None if value is None else str(value.get_secret_value())


@pytest.fixture
def saved(barua_home: Path) -> SavedSettings:
    proc = barua(
        "settings", "set", "--host", "smtp.example.com", "--username", USER, "--password-stdin",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return SavedSettings()


# A lost or different key -----------------------------------------------------------------


def lose_the_key(how: str, barua_home: Path) -> dict[str, str]:
    if how == "deleted key file":
        (barua_home / "secret.key").unlink()
        return {}
    return {"BARUA_SECRET_KEY": Fernet.generate_key().decode()}


@pytest.mark.parametrize("how", ["deleted key file", "another BARUA_SECRET_KEY"])
def test_settings_show_still_works_and_says_the_password_must_be_set_again(
    saved: SavedSettings, barua_home: Path, how: str
) -> None:
    env = lose_the_key(how, barua_home)
    shown = barua("settings", "show", env=env)
    assert shown.returncode == 0, shown.stderr
    assert "host smtp.example.com" in lines(shown.stdout)
    assert UNREADABLE_LINE in lines(shown.stdout)
    as_json = json.loads(barua("settings", "show", "--json", env=env).stdout)
    assert as_json["password_set"] is True
    assert as_json["unreadable_secrets"] == ["password"]


@pytest.mark.parametrize("how", ["deleted key file", "another BARUA_SECRET_KEY"])
def test_the_password_can_be_set_again_after_the_key_is_lost(
    saved: SavedSettings, barua_home: Path, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = lose_the_key(how, barua_home)
    proc = barua("settings", "set", "--password-stdin", stdin="new\n", env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    shown = barua("settings", "show", env=env)
    assert "password set" in [" ".join(line.split()) for line in shown.stdout.splitlines()]
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert saved_secret("password") == "new"


def test_a_change_keeps_an_unreadable_password_and_says_which_to_set_again(
    saved: SavedSettings, barua_home: Path
) -> None:
    old_key = (barua_home / "secret.key").read_bytes()
    (barua_home / "secret.key").unlink()
    proc = barua("settings", "set", "--port", "465")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == [WARNING]
    assert show()["port"] == 465
    assert UNREADABLE_LINE in lines(barua("settings", "show").stdout)
    # The key found again reads the password that was kept.
    (barua_home / "secret.key").write_bytes(old_key)
    assert saved_secret("password") == PASSWORD
    assert show()["unreadable_secrets"] == []


@pytest.mark.parametrize("how", ["deleted key file", "another BARUA_SECRET_KEY"])
def test_setting_the_password_after_the_key_is_lost_removes_the_api_key_it_cannot_read(
    saved: SavedSettings, barua_home: Path, how: str
) -> None:
    added = barua("settings", "set", "--http-api-key-stdin", stdin="bk_live_1\n")
    assert added.returncode == 0, added.stderr
    old_key = (barua_home / "secret.key").read_bytes()
    env = lose_the_key(how, barua_home)
    proc = barua("settings", "set", "--password-stdin", stdin="new\n", env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == [API_KEY_REMOVED]
    now = json.loads(barua("settings", "show", "--json", env=env).stdout)
    assert (now["password_set"], now["http_api_key_set"], now["unreadable_secrets"]) == (
        True,
        False,
        [],
    )
    # The old key found again reads neither: the API key is gone, the new password is not its.
    (barua_home / "secret.key").write_bytes(old_key)
    shown = barua("settings", "show")
    assert shown.returncode == 0, shown.stderr
    assert UNREADABLE_LINE in lines(shown.stdout)
    assert "http_api_key not set" in lines(shown.stdout)
    again = barua("settings", "set", "--port", "465")
    assert again.returncode == 0, again.stderr
    assert again.stderr.splitlines() == [WARNING]


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


def test_an_empty_password_on_stdin_is_refused_and_keeps_the_saved_one(
    saved: SavedSettings,
) -> None:
    before = saved.read_bytes()
    for stdin in ("", "\n"):
        proc = barua("settings", "set", "--password-stdin", stdin=stdin)
        assert_user_error(proc, 2, "error: --password-stdin read no password")
        assert proc.stderr.splitlines()[1] == (
            "hint: To remove the saved one, run `barua settings set --no-password`."
        )
    assert saved.read_bytes() == before
    assert show()["password_set"] is True


@pytest.mark.parametrize(
    ("flag", "error"),
    [
        ("--password-stdin", "error: --password-stdin read no password"),
        ("--http-api-key-stdin", "error: --http-api-key-stdin read no API key"),
    ],
    ids=["password", "API key"],
)
def test_an_empty_secret_for_a_test_email_asks_for_it_not_to_remove_the_saved_one(
    saved: SavedSettings, flag: str, error: str
) -> None:
    # `barua test` has no --no-password: removing the saved secret is not what was meant.
    proc = barua("test", "--to", "me@example.com", flag, stdin="\n")
    assert_user_error(proc, 2, error)
    assert proc.stderr.splitlines()[1] == (
        f"hint: Give it on standard input, or leave out {flag} to use the saved one."
    )
    assert show()["password_set"] is True


def test_no_password_removes_the_saved_password(saved: SavedSettings) -> None:
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


def test_a_program_that_never_prompts_fails_the_test_instead_of_hanging() -> None:
    waits = ["-c", "import sys; sys.stdin.read()"]  # silent, waiting for input that never comes
    with pytest.raises(AssertionError, match="the terminal stayed silent"):
        type_at_a_prompt(waits, "x", program=sys.executable, timeout=0.5)


def test_a_program_that_cannot_start_fails_the_test_in_the_test_process_only(
    tmp_path: Path,
) -> None:
    with pytest.raises(AssertionError, match=r"^no prompt; the terminal showed b''"):
        type_at_a_prompt([], "x", program=str(tmp_path / "no-such-barua"))


def test_password_stdin_on_a_terminal_asks_without_echo(saved: SavedSettings) -> None:
    seen = type_at_a_prompt(["settings", "set", "--password-stdin"], "Terminal-Pässwort")
    assert seen.startswith(b"Password: ")
    assert "Terminal-Pässwort".encode() not in seen, "the password is not echoed"
    assert saved_secret("password") == "Terminal-Pässwort"


def test_api_key_stdin_on_a_terminal_asks_without_echo(barua_home: Path) -> None:
    seen = type_at_a_prompt([*("settings", "set", *HTTP_FLAGS), "--http-api-key-stdin"], "bk_tty_9")
    assert seen.startswith(b"API key: ")
    assert b"bk_tty_9" not in seen, "the key is not echoed"
    assert saved_secret("http_api_key") == "bk_tty_9"


def test_a_lost_password_is_asked_for_again_type_at_a_prompt(
    saved: SavedSettings, barua_home: Path
) -> None:
    (barua_home / "secret.key").unlink()
    seen = type_at_a_prompt(["settings", "set", "--port", "465"], "again")
    assert seen.startswith(f"Password for {USER}: ".encode())
    assert b"again" not in seen and b"warning" not in seen
    assert saved_secret("password") == "again"
