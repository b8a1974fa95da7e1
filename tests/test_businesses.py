"""Several businesses in one barua: each sends through its own server with its own settings,
one worker delivers for all, a refused login pauses only its business, and settings changed
anywhere reach a worker that is running."""

from __future__ import annotations

import email
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from email import policy
from pathlib import Path

import pytest

from barua.app import Barua, Environment
from barua.outbox import MessageStatus
from tests.smtpd import SmtpServer

BARUA = str(Path(sys.executable).with_name("barua"))
FAST = ["--poll-interval", "0.05", "--retry-first-delay", "0.05", "--retry-max-delay", "0.2"]


def barua(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BARUA, *args], input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


def use_server(business: str, server: SmtpServer, user: str, password: str) -> None:
    proc = barua(
        "--business", business, "settings", "set", "--host", "127.0.0.1",
        "--port", str(server.port), "--security", "none", "--username", user,
        "--password-stdin", stdin=password + "\n",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr


def send(business: str, to: str, subject: str) -> None:
    proc = barua(
        "--business", business, "send", "--queue", "--to", to, "--subject", subject,
        "--body", "Habari",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr


@pytest.fixture
def servers() -> Iterator[tuple[SmtpServer, SmtpServer]]:
    with (
        SmtpServer(mode="plain", users={"amani@example.com": "pw-amani"}) as amani,
        SmtpServer(mode="plain", users={"baraka@example.com": "pw-baraka"}) as baraka,
    ):
        yield amani, baraka


@pytest.fixture
def two_businesses(servers: tuple[SmtpServer, SmtpServer]) -> tuple[SmtpServer, SmtpServer]:
    amani, baraka = servers
    for name in ("Duka la Amani", "Baraka Traders"):
        proc = barua("business", "add", name)
        assert proc.returncode == 0, proc.stderr
    use_server("Duka la Amani", amani, "amani@example.com", "pw-amani")
    use_server("baraka traders", baraka, "baraka@example.com", "pw-baraka")
    return amani, baraka


def subjects(server: SmtpServer) -> list[str]:
    parsed = (email.message_from_bytes(m.data, policy=policy.default) for m in server.messages)
    return sorted(str(message["Subject"]) for message in parsed)


def test_two_businesses_send_through_their_own_servers_in_one_worker_run(
    two_businesses: tuple[SmtpServer, SmtpServer],
) -> None:
    amani, baraka = two_businesses
    send("Duka la Amani", "mteja@example.com", "Ankara A-1")
    send("Baraka Traders", "client@example.com", "Invoice B-1")
    send("Duka la Amani", "mteja@example.com", "Ankara A-2")

    listed = barua("outbox", "list").stdout
    assert "Duka la Amani" in listed and "Baraka Traders" in listed
    only = json.loads(barua("outbox", "list", "--business", "Baraka Traders", "--json").stdout)
    assert [e["subject"] for e in only["entries"]] == ["Invoice B-1"]

    worker = barua("worker", "--once", *FAST)
    assert worker.returncode == 0, worker.stderr
    assert "3 sent, 0 deferred, 0 failed" in worker.stderr
    assert subjects(amani) == ["Ankara A-1", "Ankara A-2"]
    assert subjects(baraka) == ["Invoice B-1"]
    # Each logged in as itself and sent from its own address.
    assert set(amani.recorder.logins) == {("amani@example.com", "pw-amani")}
    assert set(baraka.recorder.logins) == {("baraka@example.com", "pw-baraka")}
    assert {m.mail_from for m in amani.messages} == {"amani@example.com"}
    assert {m.mail_from for m in baraka.messages} == {"baraka@example.com"}


def test_a_refused_login_pauses_only_its_business(
    two_businesses: tuple[SmtpServer, SmtpServer],
) -> None:
    amani, baraka = two_businesses
    use_server("Duka la Amani", amani, "amani@example.com", "not-the-password")
    send("Duka la Amani", "mteja@example.com", "Ankara A-1")
    send("Baraka Traders", "client@example.com", "Invoice B-1")

    worker = barua("worker", "--once", *FAST)
    assert worker.returncode == 1, "a paused business is reported"
    assert 'delivery for "Duka la Amani" is paused since' in worker.stderr
    assert "Baraka Traders" not in worker.stderr.split("paused", 1)[1]
    assert subjects(baraka) == ["Invoice B-1"], "the other business was delivered"
    assert amani.messages == []
    with Barua(Environment.from_environ()) as app:
        page = app.outbox_page()
        by_subject = {e.subject: e.status for e in page.entries}
        assert by_subject == {
            "Ankara A-1": MessageStatus.DEFERRED,
            "Invoice B-1": MessageStatus.SENT,
        }
        assert set(page.paused) == {app.business("Duka la Amani").key}

    # The right password: the pause lifts by itself and the mail goes.
    use_server("Duka la Amani", amani, "amani@example.com", "pw-amani")
    again = barua("worker", "--once", *FAST)
    assert again.returncode == 0, again.stderr
    assert subjects(amani) == ["Ankara A-1"]


def test_settings_changed_elsewhere_reach_a_running_worker(
    servers: tuple[SmtpServer, SmtpServer],
) -> None:
    first, second = servers
    use_server("default", first, "amani@example.com", "pw-amani")
    worker = subprocess.Popen(
        [BARUA, "worker", *FAST], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        send("default", "mteja@example.com", "Before")
        deadline = time.monotonic() + 30
        while not first.messages and time.monotonic() < deadline:
            time.sleep(0.05)
        assert subjects(first) == ["Before"]
        # Another process points the business at the other server; the worker runs on.
        use_server("default", second, "baraka@example.com", "pw-baraka")
        send("default", "mteja@example.com", "After")
        while not second.messages and time.monotonic() < deadline:
            time.sleep(0.05)
        assert subjects(second) == ["After"], "sent with the new settings, no restart"
        assert subjects(first) == ["Before"]
        assert worker.poll() is None, "the same worker process"
    finally:
        worker.terminate()
        _, stderr = worker.communicate(timeout=30)
    assert worker.returncode == 0, stderr


def test_the_language_flag_changes_nothing_in_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from barua.cli import main

    before = dict(os.environ)
    monkeypatch.setattr(sys, "argv", ["barua", "--lang", "sw", "settings", "show"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    assert capsys.readouterr().err.startswith("hitilafu: ")
    assert dict(os.environ) == before
    assert "BARUA_LANG" not in os.environ


def test_business_commands_say_what_they_did(barua_home: Path) -> None:
    assert (
        barua("business", "add", "Duka la Amani").stdout == 'Added the business "Duka la Amani".\n'
    )
    assert barua("business", "list").stdout.splitlines() == ["default *", "Duka la Amani *"]
    renamed = barua("business", "rename", "duka la amani", "Amani Traders")
    assert renamed.stdout == 'Renamed the business to "Amani Traders".\n'
    taken = barua("business", "add", "AMANI traders")
    assert taken.returncode == 2
    assert (
        taken.stderr.splitlines()[0] == 'error: there is already a business named "AMANI traders"'
    )
    removed = barua("business", "remove", "Amani Traders")
    assert removed.stdout == 'Removed the business "Amani Traders".\n'
    missing = barua("--business", "Amani Traders", "settings", "show")
    assert missing.returncode == 2
    assert missing.stderr.splitlines() == [
        'error: there is no business named "Amani Traders"',
        "hint: `barua business list` shows the businesses: default.",
    ]


def test_a_business_with_queued_mail_cannot_be_removed(
    two_businesses: tuple[SmtpServer, SmtpServer],
) -> None:
    send("Baraka Traders", "client@example.com", "Invoice B-1")
    refused = barua("business", "remove", "Baraka Traders")
    assert refused.returncode == 2
    assert refused.stderr.splitlines()[0] == (
        'error: the business "Baraka Traders" still has 1 email(s) waiting in the outbox'
    )
    assert "Baraka Traders" in barua("business", "list").stdout


def test_settings_are_exported_and_imported_with_secrets_encrypted(
    two_businesses: tuple[SmtpServer, SmtpServer], tmp_path: Path
) -> None:
    backup = tmp_path / "amani.json"
    exported = barua("--business", "Duka la Amani", "settings", "export", str(backup))
    assert exported.returncode == 0, exported.stderr
    assert "pw-amani" not in backup.read_text() and '"fernet"' in backup.read_text()
    assert barua("business", "add", "Amani Two").returncode == 0
    imported = barua("--business", "Amani Two", "settings", "import", str(backup))
    assert imported.returncode == 0, imported.stderr
    shown = json.loads(barua("--business", "Amani Two", "settings", "show", "--json").stdout)
    assert (shown["username"], shown["password_set"], shown["business"]) == (
        "amani@example.com",
        True,
        "Amani Two",
    )
