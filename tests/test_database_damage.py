"""A damaged or missing database is said so, and never replaced by an empty one; what is
queued is durable; barua's folders are its owner's alone."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from barua.outbox import Outbox
from tests.conftest import home_url
from tests.test_cli import barua
from tests.test_outbox_queue import invoice


@pytest.fixture
def queued(barua_home: Path) -> Iterator[Path]:
    """A barua.db with 40 messages queued (each with a 20 KB PDF: many pages), checkpointed,
    so the file alone holds them."""
    with Outbox.open(home_url()) as outbox:
        for number in range(40):
            outbox.enqueue(invoice(number, pdf=os.urandom(20_000)))
    database = barua_home / "barua.db"
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    listed = barua("outbox", "list")
    assert listed.returncode == 0 and listed.stdout.count("queued") == 40, listed.stdout
    yield database


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_database_cut_to_nothing_is_named_not_made_anew(queued: Path) -> None:
    queued.write_bytes(b"")
    for command in (("outbox", "list"), ("settings", "show"), ("worker", "--once")):
        proc = barua(*command)
        assert proc.returncode == 2, (command, proc.stdout, proc.stderr)
        assert proc.stderr.splitlines() == [
            f"error: {queued} is empty (0 bytes): the database was cut short or replaced by an "
            "empty file",
            f"hint: Nothing was changed. Restore {queued} from your backup; or, to start again "
            "without its businesses, settings and queued mail, move it away and barua makes a "
            "new one.",
        ], command
        assert queued.stat().st_size == 0, "still empty: no new tables in it"
    queued.unlink()
    assert barua("outbox", "list").stdout == "The outbox is empty.\n", "moved away: a new one"


def test_a_database_cut_in_half_is_damaged_and_left_as_it_is(queued: Path) -> None:
    size = queued.stat().st_size
    with queued.open("r+b") as file:
        file.truncate(size // 2)
    before = digest(queued)
    proc = barua("outbox", "list")
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"error: {queued} is damaged and cannot be read (database disk image is malformed)",
        f"hint: Nothing was changed. Restore {queued} from your backup; or, to start again "
        "without its businesses, settings and queued mail, move it away and barua makes a new "
        "one.",
    ]
    assert "Traceback" not in proc.stderr
    assert digest(queued) == before


def test_a_file_that_is_not_a_database_is_named(queued: Path) -> None:
    queued.write_bytes(b"Habari! This is a letter, not a database." * 100)
    proc = barua("settings", "show")
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[0] == (
        f"error: {queued} is damaged and cannot be read (file is not a database)"
    )


def test_a_folder_where_the_database_goes_is_named(barua_home: Path) -> None:
    (barua_home / "barua.db").mkdir(parents=True)
    proc = barua("outbox", "list")
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"error: {barua_home / 'barua.db'} is not a file barua can keep its data in",
        f"hint: Move {barua_home / 'barua.db'} away, or set BARUA_HOME to another folder; "
        "barua then makes its database there.",
    ]


def test_what_is_queued_is_on_the_disk_when_enqueue_returns(barua_home: Path) -> None:
    """SQLite syncs every commit of an enqueue (synchronous=FULL), as Postfix syncs before it
    answers 250; the worker's own writes are synced at checkpoints (NORMAL), where a lost one
    sends a message twice but never loses it."""
    with Outbox.open(home_url()) as outbox:
        with outbox.engine.connect() as conn:
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        with outbox.worker_engine.connect() as conn:
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
        assert outbox.worker_engine is not outbox.engine


def test_an_engine_in_memory_is_its_own_worker_engine() -> None:
    outbox = Outbox(create_engine("sqlite://"))
    assert outbox.worker_engine is outbox.engine


def test_folders_barua_makes_are_its_owners_alone_whatever_the_umask(tmp_path: Path) -> None:
    home = tmp_path / "a" / "b" / "home"
    proc = subprocess.run(
        ["sh", "-c", 'umask 000 && exec "$0" "$@"', *barua_command(), "outbox", "list"],
        env={**os.environ, "BARUA_HOME": str(home)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    for folder in (tmp_path / "a", tmp_path / "a" / "b", home):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    for name in os.listdir(home):
        assert stat.S_IMODE((home / name).stat().st_mode) & 0o077 == 0, name


def barua_command() -> list[str]:
    from tests.test_cli import BARUA

    return [str(BARUA)]
