"""A mistake on the command line is one line naming the option, one line saying where to read
more, and exit code 2: never typer's usage block, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_cli import barua

SECURITY_CHOICES = "'auto', 'ssl', 'starttls', 'starttls_if_offered', 'none'"


@pytest.mark.parametrize(
    ("args", "first_line", "second_line"),
    [
        (
            ["send", "--subject", "x", "--body", "x"],
            "error: --to is required",
            "Try 'barua send --help'.",
        ),
        (
            ["settings", "set", "--port", "abc"],
            "error: --port: 'abc' is not a whole number",
            "Try 'barua settings set --help'.",
        ),
        (
            ["settings", "set", "--security", "tls"],
            f"error: --security: 'tls' is not one of {SECURITY_CHOICES}",
            "Try 'barua settings set --help'.",
        ),
        (
            ["settings", "set", "--protocol", "ftp"],
            "error: --protocol: 'ftp' is not one of 'smtp', 'http'",
            "Try 'barua settings set --help'.",
        ),
        (
            ["settings", "set", "--timeout", "soon"],
            "error: --timeout: 'soon' is not a number",
            "Try 'barua settings set --help'.",
        ),
        (
            ["test", "--to", "me@example.com", "--port", "25x"],
            "error: --port: '25x' is not a whole number",
            "Try 'barua test --help'.",
        ),
        (
            ["test", "--port", "25"],
            "error: --to is required",
            "Try 'barua test --help'.",
        ),
        (
            ["settings", "detect"],
            "error: ADDRESS is required",
            "Try 'barua settings detect --help'.",
        ),
        (
            ["outbox", "show", "first"],
            "error: ENTRY_ID: 'first' is not a whole number",
            "Try 'barua outbox show --help'.",
        ),
        (
            ["settings", "show", "extra"],
            "error: got unexpected extra argument(s) (extra)",
            "Try 'barua settings show --help'.",
        ),
        (
            ["frobnicate"],
            "error: no such command 'frobnicate'",
            "Try 'barua --help'.",
        ),
    ],
)
def test_usage_errors_are_two_lines_and_exit_2(
    args: list[str], first_line: str, second_line: str, barua_home: Path
) -> None:
    proc = barua(*args)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == [first_line, second_line]
    assert proc.stdout == ""
    assert not (barua_home / "settings.json").exists()


def test_an_unknown_option_is_named_with_the_likely_ones() -> None:
    proc = barua("settings", "set", "--hots", "smtp.example.com")
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "error: there is no option --hots (did you mean --host or --port?)",
        "Try 'barua settings set --help'.",
    ]


def test_an_option_without_its_value_is_one_line() -> None:
    proc = barua("send", "--to", "a@example.com", "--subject")
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "error: option '--subject' requires an argument",
        "Try 'barua --help'.",
    ]


def test_usage_errors_speak_the_chosen_language() -> None:
    proc = barua("--lang", "sw", "settings", "set", "--port", "abc")
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "hitilafu: --port: 'abc' si namba kamili",
        "Jaribu 'barua settings set --help'.",
    ]
    missing = barua("--lang", "sw", "send", "--subject", "x", "--body", "y")
    assert missing.returncode == 2
    assert missing.stderr.splitlines() == [
        "hitilafu: --to inahitajika",
        "Jaribu 'barua send --help'.",
    ]
    unknown = barua("--lang", "sw", "send", "--subjet", "x")
    assert unknown.returncode == 2
    assert unknown.stderr.splitlines()[0] == (
        "hitilafu: hakuna chaguo --subjet (ulimaanisha --subject?)"
    )


def test_help_and_version_still_exit_0() -> None:
    helped = barua("settings", "set", "--help")
    version = barua("--version")
    assert (helped.returncode, version.returncode) == (0, 0)
    assert helped.stdout.startswith("Usage: barua settings set")
    assert version.stdout.startswith("barua ")
    assert helped.stderr == version.stderr == ""
