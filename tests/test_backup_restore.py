"""barua backup while a worker writes, and barua restore into a new home: the outbox, the
settings and the templates as they were at the moment of the backup, nothing lost on a bad
file, the secret key kept out."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from barua.outbox import MessageStatus, Outbox
from tests.conftest import home_url
from tests.smtpd import SmtpServer
from tests.test_outbox_queue import invoice
from tests.test_worker_processes import FAST_FLAGS

BARUA = str(Path(sys.executable).with_name("barua"))


def barua(*args: str, home: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BARUA_HOME")}
    env.update(BARUA_HOME=str(home), **extra)
    return subprocess.run(
        [BARUA, *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def counts(home: Path) -> dict[MessageStatus, int]:
    with Outbox.open(f"sqlite:///{home / 'barua.db'}") as outbox:
        return {status: n for status, n in outbox.counts().items() if n}


def test_backups_taken_while_a_worker_sends_restore_whole(barua_home: Path, tmp_path: Path) -> None:
    # 10 ms a message on one connection: the backups are taken while it sends.
    server = SmtpServer(mode="plain", faults={"MAIL": "HANG 0.01"})
    with server:
        set_up = barua("settings", "set", "--host", "127.0.0.1", "--port", str(server.port),
                       "--security", "none", "--email-address", "shop@example.com",
                       home=barua_home)  # fmt: skip
        assert set_up.returncode == 0, set_up.stderr
        # A second business with a password: encrypted with the home's secret key.
        env = {k: v for k, v in os.environ.items() if k != "BARUA_HOME"}
        assert barua("business", "add", "Duka", home=barua_home).returncode == 0
        duka = subprocess.run(
            [BARUA, "--business", "Duka", "settings", "set", "--host", "mail.duka.example",
             "--port", "587", "--username", "duka@duka.example", "--password-stdin"],
            input="siri-ya-duka\n", capture_output=True, text=True, check=False,
            env={**env, "BARUA_HOME": str(barua_home)},
        )  # fmt: skip
        assert duka.returncode == 0, duka.stderr
        body = tmp_path / "body.txt"
        body.write_text("Habari {{ party_name }}, ankara yako imeambatishwa.\n")
        template = barua("template", "set", "sales_invoice", "sw",
                         "--subject", "Ankara {{ document_number }}",
                         "--body-file", str(body), home=barua_home)  # fmt: skip
        assert template.returncode == 0, template.stderr
        with Outbox.open(home_url()) as outbox:
            for number in range(1500):
                outbox.enqueue(invoice(number))
        worker = subprocess.Popen(
            [BARUA, "worker", "--processes", "1", "--connections", "1", *FAST_FLAGS],
            env={**os.environ, "BARUA_HOME": str(barua_home)},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        backups = []
        try:
            deadline = time.monotonic() + 60
            while len(server.messages) < 50:
                assert worker.poll() is None and time.monotonic() < deadline, worker.stderr
                time.sleep(0.02)
            for number in range(3):  # while the worker writes a result every few ms
                target = tmp_path / f"backup-{number}.tar.gz"
                made = barua("backup", str(target), home=barua_home)
                assert made.returncode == 0, made.stderr
                assert "The secret key is not in the backup" in made.stdout
                backups.append((target, len(server.messages)))
        finally:
            worker.terminate()
            _, errors = worker.communicate(timeout=60)
        assert worker.returncode == 0, errors
        assert len(server.messages) > backups[-1][1], "the worker was still sending"

    key = (barua_home / "secret.key").read_bytes()
    for target, _sent_then in backups:
        with tarfile.open(target) as archive:
            assert sorted(archive.getnames()) == ["barua-backup.json", "barua.db"]
            database = archive.extractfile("barua.db").read()  # type: ignore[union-attr]
            assert key.strip() not in database and b"siri-ya-duka" not in database
        new_home = tmp_path / f"restored-{target.stem}"
        restored = barua("restore", str(target), home=new_home)
        assert restored.returncode == 0, restored.stderr
        assert "restored the backup of" in restored.stdout
        assert "this home has no secret key" in restored.stderr
        found = counts(new_home)
        # Every message is there, each in one state: a consistent moment, mid-delivery.
        assert sum(found.values()) == 1500, found
        assert set(found) <= {MessageStatus.SENT, MessageStatus.QUEUED, MessageStatus.SENDING}
        assert 50 <= found.get(MessageStatus.SENT, 0) < 1500
        shutil.copy(barua_home / "secret.key", new_home / "secret.key")
        shown = barua("settings", "show", home=new_home)
        assert shown.returncode == 0, shown.stderr
        assert str(server.port) in shown.stdout and "shop@example.com" in shown.stdout
        other = barua("--business", "Duka", "settings", "show", home=new_home)
        assert other.returncode == 0, other.stderr
        assert "mail.duka.example" in other.stdout and "siri-ya-duka" not in other.stdout
        kept = barua("template", "show", "sales_invoice", "sw", home=new_home)
        assert "Ankara {{ document_number }}" in kept.stdout, kept.stdout + kept.stderr
        # The restored home works: a worker there sees the messages the backup had queued.
        listed = barua("outbox", "list", "--status", "queued", "--limit", "1", home=new_home)
        assert listed.returncode == 0, listed.stderr


def test_a_restore_never_loses_the_current_data(barua_home: Path, tmp_path: Path) -> None:
    with Outbox.open(home_url()) as outbox:
        outbox.enqueue(invoice(1))
    target = tmp_path / "one.tar.gz"
    assert barua("backup", str(target), home=barua_home).returncode == 0
    again = barua("backup", str(target), home=barua_home)
    assert again.returncode == 2
    assert again.stderr.startswith(f"error: {target} exists already\n")
    with Outbox.open(home_url()) as outbox:
        outbox.enqueue(invoice(2))
    refused = barua("restore", str(target), home=barua_home)
    assert refused.returncode == 2
    assert "holds a database already" in refused.stderr and "--force" in refused.stderr
    for bad, reason in (
        (b"not a backup at all", "not a gzip file"),
        (target.read_bytes()[:4000], ""),  # cut short
    ):
        damaged = tmp_path / "damaged.tar.gz"
        damaged.write_bytes(bad)
        failed = barua("restore", str(damaged), "--force", home=barua_home)
        assert failed.returncode == 2
        assert failed.stderr.startswith(f"error: {damaged} is not a barua backup: {reason}")
        assert "Traceback" not in failed.stderr
        assert sum(counts(barua_home).values()) == 2, "the home is as it was"
    forced = barua("restore", str(target), "--force", home=barua_home)
    assert forced.returncode == 0, forced.stderr
    assert sum(counts(barua_home).values()) == 1
    aside = next(barua_home.glob("before-restore-*"))
    assert f"the database it replaced is kept in {aside}" in forced.stdout
    with Outbox.open(f"sqlite:///{aside / 'barua.db'}") as outbox:
        assert sum(outbox.counts().values()) == 2


def test_a_postgresql_barua_is_told_to_use_pg_dump(barua_home: Path, tmp_path: Path) -> None:
    url = "postgresql://barua:hunter2@127.0.0.1:5432/test"
    refused = barua("backup", str(tmp_path / "b.tar.gz"), home=barua_home, BARUA_DATABASE_URL=url)
    assert refused.returncode == 2
    assert "pg_dump" in refused.stderr
    assert "hunter2" not in refused.stderr
    assert not (tmp_path / "b.tar.gz").exists()
