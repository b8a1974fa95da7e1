"""The schema's versions (Alembic): a home of the last release before Alembic upgraded with
its data intact, on SQLite and PostgreSQL; `barua db upgrade` run twice, and by two processes
at once; a database newer than this barua refused by every face with the release to install.

The release's databases are in tests/fixtures/release_0_1_0 (made by that release's own code,
see make_release_home.py there): schema version 2, saved settings in settings.json, one
queued entry."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from barua.app import Barua, Environment
from barua.database.engine import create_database_engine, database_url
from barua.database.errors import DatabaseError
from barua.database.migrations import (
    HEAD_REVISION,
    SCHEMA_VERSION,
    migrate,
    schema_state,
    script_directory,
)
from barua.outbox.status import MessageStatus
from tests.test_outbox_queue import db_url, pg_url, pg_user  # noqa: F401 - fixtures

BARUA = str(Path(sys.executable).with_name("barua"))
RELEASE = Path(__file__).parent / "fixtures" / "release_0_1_0"
RELEASE_KEY = "y1dc2K3X2ZkQ9r4sM4yEu0aZyKc2mC6Oq0gQmQ2n8lI="  # the fixture's test key


def run_env(home: Path, url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BARUA_")}
    env.update(BARUA_HOME=str(home), BARUA_SECRET_KEY=RELEASE_KEY, BARUA_LANG="en")
    if url:
        env["BARUA_DATABASE_URL"] = url
    return env


def barua(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BARUA, *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def release_home(home: Path, pg: str | None) -> str:
    """``home`` as the last release left it, its database in SQLite or in ``pg``; the URL."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(RELEASE / "settings.json", home / "settings.json")
    if pg is None:
        with sqlite3.connect(home / "barua.db") as db:
            db.executescript((RELEASE / "barua-sqlite.sql").read_text())
            db.execute("PRAGMA journal_mode=WAL")
        db.close()
        return database_url(None, home=home)
    import psycopg

    with psycopg.connect(pg.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute((RELEASE / "barua-postgresql.sql").read_text())  # type: ignore[arg-type]
    return pg


@pytest.fixture(params=["sqlite", "postgresql"])
def old_home(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, str, str | None]:
    """A home of the last release: its folder, its database URL, and BARUA_DATABASE_URL."""
    pg = str(request.getfixturevalue("pg_url")) if request.param == "postgresql" else None
    home = tmp_path / "old-home"
    return home, release_home(home, pg), pg


def test_the_newest_revision_is_the_schema_version() -> None:
    scripts = script_directory()
    assert scripts.get_heads() == [HEAD_REVISION]
    revisions = sorted(scripts.walk_revisions(), key=lambda s: s.revision)
    assert [s.revision for s in revisions] == [f"{n:04d}" for n in range(6, SCHEMA_VERSION + 1)]
    for script in revisions:
        assert isinstance(script.module.barua_version, str), script.revision
        assert script.module.barua_version[0].isdigit(), script.revision


def test_a_home_of_the_last_release_upgrades_with_its_data(
    old_home: tuple[Path, str, str | None],
) -> None:
    home, url, pg = old_home
    env = run_env(home, pg)
    before = barua("db", "version", env=env)
    assert before.returncode == 0, before.stderr
    assert "database schema: version 2" in before.stdout
    assert f"knows: version {SCHEMA_VERSION}" in before.stdout

    if pg is not None:
        # PostgreSQL is shared: an ordinary command refuses, and changes nothing.
        refused = barua("outbox", "list", env=env)
        assert refused.returncode != 0
        assert "schema version 2; this barua needs version 6" in refused.stderr
        assert "barua db upgrade" in refused.stderr
        assert schema_state(create_database_engine(url)).version == 2
        upgraded = barua("db", "upgrade", env=env)
        assert upgraded.returncode == 0, upgraded.stderr
        assert upgraded.stdout.strip() == (
            f"upgraded the database's schema from version 2 to {SCHEMA_VERSION}"
        )
    # SQLite: the first ordinary command upgrades; PostgreSQL: `barua db upgrade` did.
    listed = barua("outbox", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "Ankara 17" in listed.stdout
    again = barua("db", "upgrade", env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == (
        f"the database's schema is up to date (version {SCHEMA_VERSION})"
    )

    engine = create_database_engine(url)
    try:
        state = schema_state(engine)
        assert state.current and state.version == SCHEMA_VERSION
        with engine.connect() as conn:
            versions = conn.execute(text("SELECT version FROM schema_migrations")).scalars()
            assert sorted(versions) == list(range(1, SCHEMA_VERSION + 1))
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    finally:
        engine.dispose()

    environment = Environment.from_environ(run_env(home, pg))
    with Barua(environment) as app:
        settings = app.store.load(app.business())
        assert settings is not None
        assert settings.host == "smtp.example.com" and settings.sender_name == "Duka la Mama"
        assert settings.password is not None
        assert settings.password.get_secret_value() == "nenosiri-la-zamani"
        entry = app.outbox.get(1)
        assert entry.status is MessageStatus.QUEUED and entry.subject == "Ankara 17"
        [claimed] = app.outbox.claim(worker="w", limit=5, lease=60)
        assert claimed.id == 1
        assert b"Habari, ankara yako." in bytes(claimed.message.data)


def test_two_processes_upgrade_at_once_and_one_does_it(
    old_home: tuple[Path, str, str | None],
) -> None:
    home, url, pg = old_home
    env = run_env(home, pg)
    started = [
        subprocess.Popen(
            [BARUA, "db", "upgrade"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        for _ in range(2)
    ]
    said = sorted(process.communicate(timeout=120)[0].strip() for process in started)
    assert [process.returncode for process in started] == [0, 0], said
    assert said == [
        f"the database's schema is up to date (version {SCHEMA_VERSION})",
        f"upgraded the database's schema from version 2 to {SCHEMA_VERSION}",
    ]
    engine = create_database_engine(url)
    try:
        with engine.connect() as conn:
            versions = conn.execute(text("SELECT version FROM schema_migrations")).scalars()
            assert sorted(versions) == list(range(1, SCHEMA_VERSION + 1)), "each ran once"
    finally:
        engine.dispose()


def newer_schema(url: str) -> None:
    """Make the database at ``url`` look upgraded by a future barua 0.9.0 (version 7)."""
    engine = create_database_engine(url)
    try:
        migrate(engine, upgrade=True)
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '0007'"))
            conn.execute(
                text(
                    "INSERT INTO schema_migrations (version, description, applied_at, "
                    "barua_version) VALUES (7, 'from the future', 0, '0.9.0')"
                )
            )
    finally:
        engine.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_every_face_refuses_a_newer_schema_and_names_the_release(
    barua_home: Path,
) -> None:
    newer_schema(database_url(None, home=barua_home))
    env = run_env(barua_home, None)
    faces = {
        "cli": ["outbox", "list"],
        "web": ["serve", "--port", str(free_port()), "--no-worker"],
        "worker": ["worker"],
        "relay": ["relay", "serve", "--port", str(free_port())],
    }
    started = {
        face: subprocess.Popen(
            [BARUA, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True
        )
        for face, args in faces.items()
    }
    deadline = time.monotonic() + 60
    for face, process in started.items():
        try:
            _out, errors = process.communicate(timeout=max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            pytest.fail(f"{face} started against a newer schema")
        assert process.returncode != 0, face
        assert "is at schema version 7, newer than this barua (0.1.0) knows" in errors, face
        assert "Install barua 0.9.0 or newer" in errors, (face, errors)
        assert "Traceback" not in errors, face

    version = barua("db", "version", env=env)
    assert version.returncode == 0
    assert "install barua 0.9.0 or newer" in version.stdout
    upgrade = barua("db", "upgrade", env=env)
    assert upgrade.returncode != 0 and "Install barua 0.9.0 or newer" in upgrade.stderr


def test_postgresql_refuses_a_newer_schema_too(pg_url: str) -> None:  # noqa: F811
    newer_schema(pg_url)
    engine = create_database_engine(pg_url)
    try:
        with pytest.raises(DatabaseError) as caught:
            migrate(engine)
    finally:
        engine.dispose()
    assert caught.value.text.code == "database.schema_too_new"
    assert "Install barua 0.9.0 or newer" in str(caught.value.hint)


NEXT_REVISION = '''"""a note beside each of the installation's values

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None
barua_version = "0.2.0"


def upgrade() -> None:
    with op.batch_alter_table("outbox_meta") as batch:
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))
'''


def test_a_next_version_runs_through_alembic_and_an_older_barua_then_refuses(
    db_url: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What the next release will do: a revision 0007 on a database at 6 with an entry in
    its outbox, by a barua that knows 7; then this barua (6) meeting that database."""
    from barua.database import migrations
    from barua.outbox.queue import Outbox
    from tests.test_outbox_queue import invoice

    with Outbox.open(db_url) as outbox:
        entry = outbox.enqueue(invoice())
    scripts = tmp_path / "alembic"
    shutil.copytree(migrations.ALEMBIC_DIRECTORY, scripts, ignore=shutil.ignore_patterns("__py*"))
    (scripts / "versions" / "0007_meta_note.py").write_text(NEXT_REVISION)
    with monkeypatch.context() as newer_barua:
        newer_barua.setattr(migrations, "ALEMBIC_DIRECTORY", scripts)
        newer_barua.setattr(migrations, "SCHEMA_VERSION", 7)
        newer_barua.setattr(migrations, "HEAD_REVISION", "0007")
        engine = create_database_engine(db_url)
        try:
            if db_url.startswith("postgresql"):
                with pytest.raises(DatabaseError):
                    migrate(engine)  # PostgreSQL: only on purpose
                assert migrations.upgrade_schema(engine) == 6
            else:
                migrate(engine)  # SQLite: on first use
            assert migrations.upgrade_schema(engine) == 7, "once"
            with engine.connect() as conn:
                columns = conn.execute(text("SELECT * FROM outbox_meta")).keys()
                recorded = conn.execute(
                    text("SELECT barua_version FROM schema_migrations WHERE version = 7")
                ).scalar_one()
        finally:
            engine.dispose()
        assert "note" in columns and recorded == "0.2.0"
    engine = create_database_engine(db_url)
    try:
        with pytest.raises(DatabaseError) as caught:
            migrate(engine)
        assert "Install barua 0.2.0 or newer" in str(caught.value.hint)
        state = schema_state(engine)
        assert (state.version, state.revision, state.newer) == (7, "0007", True)
    finally:
        engine.dispose()
    with monkeypatch.context() as newer_barua:
        newer_barua.setattr(migrations, "SCHEMA_VERSION", 7)
        newer_barua.setattr(migrations, "HEAD_REVISION", "0007")
        with Outbox.open(db_url) as outbox:
            assert outbox.get(entry.id).status is MessageStatus.QUEUED
