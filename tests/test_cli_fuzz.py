"""The command line fed random input, as a careless hand or a script gone wrong would: every
answer is an exit code barua documents and words on the terminal, never a traceback, never a
hang. Commands that would reach a network are left out (the test email, delivery, detection);
``send --queue`` queues only."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from barua.cli import main

# Text as it comes: control characters, other scripts, surrogates from bytes that were not
# UTF-8, very long values, numbers of any size.
texts = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.sampled_from(["", " ", "-1", "0", "99999999999999999999999", "1e24", "--", "-x", "@"]),
    st.from_regex(r"[a-z]{1,10}@[a-z]{1,10}\.[a-z]{2,4}", fullmatch=True),
    st.text(alphabet="\x00\x1b\x7f\x85\u202e\r\n\t[]{}%$", max_size=20),
    st.integers().map(str),
)

COMMANDS: list[tuple[str, ...]] = [
    ("settings", "set", "--host", "{}", "--port", "{}", "--username", "{}", "--no-password"),
    ("settings", "set", "--email-address", "{}", "--sender-name", "{}"),
    ("settings", "set", "--protocol", "{}", "--security", "{}", "--timeout", "{}"),
    ("settings", "set", "--bcc-copy", "{}", "--reply-to", "{}"),
    ("settings", "show", "--json"),
    ("settings", "show"),
    ("outbox", "show", "{}"),
    ("outbox", "retry", "{}"),
    ("outbox", "cancel", "{}"),
    ("outbox", "list", "--status", "{}"),
    ("outbox", "purge", "--sent-before", "{}"),
    ("business", "add", "{}"),
    ("business", "rename", "{}", "{}"),
    ("business", "remove", "{}"),
    ("--business", "{}", "settings", "show"),
    ("--lang", "{}", "outbox", "list"),
    ("template", "show", "{}", "{}"),
    ("document", "check", "{}"),
    ("send", "--queue", "--to", "{}", "--subject", "{}", "--body", "{}"),
    ("send", "--queue", "--to", "mteja@example.com", "--cc", "{}", "--attach", "{}"),
    ("{}",),
    ("settings", "{}"),
]

ALLOWED_EXITS = {0, 1, 2, 3}


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(command=st.sampled_from(COMMANDS), values=st.lists(texts, min_size=3, max_size=3))
def test_no_input_ends_in_a_traceback(
    command: tuple[str, ...],
    values: list[str],
    barua_home: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    filled = iter(values)
    argv = [next(filled) if part == "{}" else part for part in command]
    monkeypatch.setattr(sys, "argv", ["barua", *argv])
    with pytest.raises(SystemExit) as ended:
        main()
    out, err = capsys.readouterr()
    code = ended.value.code
    assert code in ALLOWED_EXITS or code is None, (argv, code, out, err)
    assert "Traceback" not in out + err, argv
    if code == 2:
        assert err.strip(), f"exit 2 says why: {argv}"
