"""Settings that save but likely do not do what the user thinks are said so, when saved and
before the test email connects: a login with an empty password, verification turned off for
a provider whose certificates are valid."""

from __future__ import annotations

from tests.smtpd import SmtpServer
from tests.test_cli import barua

EMPTY_PASSWORD = [
    "warning: no password is set for shop@example.com: barua will log in to {host} with an "
    "empty password",
    "hint: Set it with `barua settings set --password-stdin`; if the server needs no login, "
    'remove the username (`--username ""`) and give the sender with --email-address.',
]


def test_a_username_without_a_password_is_said_when_saving() -> None:
    saved = barua(
        "settings", "set", "--host", "smtp.example.com", "--username", "shop@example.com",
        "--no-password",
    )  # fmt: skip
    assert saved.returncode == 0, saved.stderr
    assert saved.stdout == 'Saved the email settings of "default".\n'
    assert saved.stderr.splitlines() == [
        line.format(host="smtp.example.com") for line in EMPTY_PASSWORD
    ]
    with_password = barua("settings", "set", "--password-stdin", stdin="pw\n")
    assert with_password.stderr == ""


def test_a_username_without_a_password_is_said_before_the_test_connects() -> None:
    with SmtpServer(mode="plain", users={"shop@example.com": "pw"}) as server:
        barua(
            "settings", "set", "--host", "127.0.0.1", "--port", str(server.port),
            "--security", "none", "--username", "shop@example.com", "--no-password",
        )  # fmt: skip
        tested = barua("test", "--to", "me@example.com")
        assert server.messages == []
    assert tested.returncode == 1
    assert tested.stderr.splitlines()[:2] == [
        line.format(host="127.0.0.1") for line in EMPTY_PASSWORD
    ]
    assert tested.stderr.splitlines()[2].startswith("error (log in): ")


def test_turning_verification_off_for_a_known_provider_is_warned() -> None:
    saved = barua(
        "settings", "set", "--host", "smtp.gmail.com", "--port", "465", "--security", "ssl",
        "--username", "duka@gmail.com", "--password-stdin", "--skip-tls-verify",
        stdin="app-password\n",
    )  # fmt: skip
    assert saved.returncode == 0
    assert saved.stderr.splitlines() == [
        "warning: Gmail's server smtp.gmail.com has a valid certificate: with verification "
        "off, anyone on the network can read the password and the mail",
        "hint: Turn verification back on: `barua settings set --verify-tls`. If the test "
        "email fails without it, it says which step failed and what to do.",
    ]
    back_on = barua("settings", "set", "--verify-tls")
    assert back_on.returncode == 0 and back_on.stderr == ""
    own_server = barua("settings", "set", "--host", "mail.duka.example", "--skip-tls-verify")
    assert own_server.returncode == 0 and own_server.stderr == "", "a server of its own: no"
