"""`barua settings set` changes only what its flags name; the rest keeps its saved value."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PASSWORD, USER, SavedSettings
from tests.test_cli import assert_user_error, barua

SAVED = {
    "protocol": "smtp",
    "host": "smtp.duka.example",
    "port": 2525,
    "security": "starttls",
    "username": "duka",
    "email_address": USER,
    "sender_name": "Duka la Amani",
    "reply_to": "office@example.com",
    "bcc_copy": "archive@example.com",
    "skip_tls_verify": True,
    "timeout": 12.0,
    "password_set": True,
}


def shown() -> dict[str, Any]:
    proc = barua("settings", "show", "--json")
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    return {name: data[name] for name in SAVED}


@pytest.fixture
def saved(barua_home: Path) -> SavedSettings:
    proc = barua(
        "settings", "set", "--host", "smtp.duka.example", "--port", "2525",
        "--security", "starttls", "--username", "duka", "--email-address", USER,
        "--sender-name", "Duka la Amani", "--reply-to", "office@example.com",
        "--bcc-copy", "archive@example.com", "--skip-tls-verify", "--timeout", "12",
        "--password-stdin", stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert shown() == SAVED
    return SavedSettings()


def test_an_unrelated_flag_keeps_every_other_setting(saved: SavedSettings) -> None:
    assert barua("settings", "set", "--host", "mail.duka.example").returncode == 0
    assert shown() == {**SAVED, "host": "mail.duka.example"}
    assert barua("settings", "set", "--port", "587").returncode == 0
    assert shown() == {**SAVED, "host": "mail.duka.example", "port": 587}


def test_verify_tls_turns_verification_back_on(saved: SavedSettings) -> None:
    assert barua("settings", "set", "--verify-tls").returncode == 0
    assert shown() == {**SAVED, "skip_tls_verify": False}
    assert barua("settings", "set", "--skip-tls-verify").returncode == 0
    assert shown() == SAVED


def test_no_reply_to_and_no_bcc_copy_clear_only_themselves(saved: SavedSettings) -> None:
    assert barua("settings", "set", "--no-reply-to").returncode == 0
    assert shown() == {**SAVED, "reply_to": None}
    assert barua("settings", "set", "--no-bcc-copy").returncode == 0
    assert shown() == {**SAVED, "reply_to": None, "bcc_copy": None}


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--skip-tls-verify", "--verify-tls"],
            "error: --skip-tls-verify and --verify-tls cannot be used together",
        ),
        (
            ["--verify-tls", "--skip-tls-verify"],
            "error: --skip-tls-verify and --verify-tls cannot be used together",
        ),
        (
            ["--bcc-copy", "other@example.com", "--no-bcc-copy"],
            "error: --bcc-copy and --no-bcc-copy cannot be used together",
        ),
        (
            ["--no-reply-to", "--reply-to", "other@example.com"],
            "error: --reply-to and --no-reply-to cannot be used together",
        ),
    ],
)
def test_contradictory_flags_are_one_clear_error_and_change_nothing(
    saved: SavedSettings, flags: list[str], message: str
) -> None:
    before = saved.read_bytes()
    assert_user_error(barua("settings", "set", "--host", "x.example", *flags), 2, message)
    assert saved.read_bytes() == before


def test_barua_test_refuses_the_same_contradiction(saved: SavedSettings) -> None:
    # Towards a loopback port where nothing listens, should the flags ever get through.
    proc = barua(
        "test", "--to", "me@example.com", "--host", "127.0.0.1", "--port", "9",
        "--skip-tls-verify", "--verify-tls",
    )  # fmt: skip
    assert_user_error(proc, 2, "error: --skip-tls-verify and --verify-tls cannot be used together")


def test_a_flag_given_twice_the_same_way_is_no_contradiction(saved: SavedSettings) -> None:
    assert barua("settings", "set", "--verify-tls", "--verify-tls").returncode == 0
    assert shown() == {**SAVED, "skip_tls_verify": False}
