"""What a shop owner reads: help without Python types, hints that fit the command, addresses
shown as they were typed, and one address per --to."""

from __future__ import annotations

import email
import json
import re
from email import policy
from pathlib import Path

import pytest
from typer.testing import CliRunner

from barua.cli import app
from barua.message import build_message
from tests.certs import CertFiles
from tests.conftest import PASSWORD, USER, saved_settings
from tests.smtpd import SmtpServer
from tests.test_cli import COMMANDS, assert_user_error, barua, server_flags

EXAMPLES = Path(__file__).parents[1] / "examples"

# A value's kind as typer names it from the Python type: <str>, <float>, <list[Path]>,
# <int range>... Choices such as <smtp|http> name the values themselves and may stay.
PYTHON_TYPE = re.compile(r"<(?:str|int|float|bool|path|Path|list\[[^\]]*\]|[a-z]+ range)>")


@pytest.mark.parametrize("command", COMMANDS, ids=lambda path: " ".join(path) or "barua")
def test_help_names_values_in_plain_words(command: tuple[str, ...]) -> None:
    proc = CliRunner().invoke(app, [*command, "--help"], prog_name="barua")
    assert proc.exit_code == 0, proc.output
    assert PYTHON_TYPE.findall(proc.output) == []


def test_help_of_send_and_settings_names_what_each_value_is() -> None:
    send = CliRunner().invoke(app, ["send", "--help"], prog_name="barua").output
    for shown in ("--to ADDRESS", "--attach FILE", "--body-file FILE", "--subject TEXT"):
        assert shown in send
    settings = CliRunner().invoke(app, ["settings", "set", "--help"], prog_name="barua").output
    assert "--timeout SECONDS" in settings and "--port PORT" in settings
    assert "usually 465, 587 or 25" in settings
    assert "starttls_if_offered (STARTTLS when the" in settings


def test_several_addresses_in_one_to_say_to_repeat_to(barua_home: Path) -> None:
    barua("settings", "set", "--host", "smtp.example.com", "--email-address", USER)
    for value in ("a@b.com, c@d.com", "a@b.com;c@d.com"):
        proc = barua("send", "--to", value, "--subject", "x", "--body", "x")
        assert_user_error(proc, 2, f'error: --to "{value}" holds several addresses')
        assert proc.stderr.splitlines()[1] == (
            "hint: Give one address per --to (repeat --to for several)."
        )
    proc = barua("send", "--to", "jane@example.com", "--cc", "a@b.com c@d.com",
                 "--subject", "x", "--body", "x")  # fmt: skip
    assert_user_error(proc, 2, 'error: --cc "a@b.com c@d.com" holds several addresses')


def test_several_addresses_behind_one_name_are_named_by_the_option_too(barua_home: Path) -> None:
    barua("settings", "set", "--host", "smtp.example.com", "--email-address", USER)
    proc = barua("send", "--bcc", "Jane <a@b.com, c@d.com>", "--to", "jane@example.com",
                 "--subject", "x", "--body", "x")  # fmt: skip
    assert_user_error(proc, 2, 'error: --bcc "a@b.com, c@d.com" holds several addresses')
    assert proc.stderr.splitlines()[1] == (
        "hint: Give one address per --bcc (repeat --bcc for several)."
    )


def test_a_display_name_with_a_comma_is_still_one_address(
    certs: CertFiles, barua_home: Path
) -> None:
    with SmtpServer(mode="ssl", certs=certs, users={USER: PASSWORD}) as server:
        barua("settings", "set", *server_flags(server, "ssl"), stdin=PASSWORD + "\n")
        proc = barua(
            "send", "--to", '"Müller, Hans" <hans@example.com>', "--subject", "x",
            "--body", "x", env={"SSL_CERT_FILE": str(certs.ca)},
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        [arrived] = server.messages
    assert arrived.rcpt_tos == ["hans@example.com"]


# Hints that fit the command ---------------------------------------------------------------

SETTINGS_SET_HINT = (
    "hint: Run `barua settings set --help`, or give the BARUA_* environment variables."
)


@pytest.mark.usefixtures("barua_home")
@pytest.mark.parametrize(
    "args",
    [
        ["send", "--to", "jane@example.com", "--subject", "x", "--body", "x"],
        ["document", "email", str(EXAMPLES / "invoice.json")],
    ],
    ids=["send", "document email"],
)
def test_commands_without_settings_flags_point_to_settings_set(args: list[str]) -> None:
    proc = barua(*args)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "error: no email settings are saved yet",
        SETTINGS_SET_HINT,
    ]


@pytest.mark.usefixtures("barua_home")
def test_the_test_email_points_to_its_own_settings_flags() -> None:
    proc = barua("test", "--to", "me@example.com")
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[1].endswith("or give the settings on this command.")


# International addresses -------------------------------------------------------------------


def test_an_international_address_is_shown_as_typed_and_sent_in_ascii(barua_home: Path) -> None:
    proc = barua(
        "settings", "set", "--host", "smtp.example.com", "--username", "duka",
        "--email-address", "duka@exämple.com", "--reply-to", "ofisi@bücher.de",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    shown = barua("settings", "show").stdout.splitlines()
    assert "email_address duka@exämple.com" in [" ".join(line.split()) for line in shown]
    assert "reply_to ofisi@bücher.de" in [" ".join(line.split()) for line in shown]
    data = json.loads(barua("settings", "show", "--json").stdout)
    assert (data["email_address"], data["reply_to"]) == ("duka@exämple.com", "ofisi@bücher.de")
    settings = saved_settings()
    assert settings is not None
    message = build_message(settings, to=["jane@example.com"], subject="x", text="x")
    assert message.sender == "duka@xn--exmple-cua.com"
    parsed = email.message_from_bytes(message.data, policy=policy.default)
    assert parsed["From"] == "duka@xn--exmple-cua.com"
    assert parsed["Reply-To"] == "ofisi@xn--bcher-kva.de"
