"""The database benchmark still runs end to end: 1,000 messages, one round, both databases.

The numbers of so short a run mean nothing; what is checked is that it ran (it stops when a
message it recorded is not ``sent`` in the outbox), that the table has its three steps per
database with the difference row computed from the other two, and that it leaves no schema
behind in the PostgreSQL it borrowed. (With fewer messages, PostgreSQL's CPU would be too few
clock ticks to measure, and the last line would say so instead of the server's capacity.)
"""

from __future__ import annotations

import re

import pytest

from tests.test_bench_outbox_bulk import bench_schemas, run_bench
from tests.test_outbox_queue import PG_ADMIN, pg_user  # noqa: F401 - the fixture

ROW = re.compile(
    r"^\| (?P<database>SQLite|PostgreSQL) +\| (?P<step>[a-z ,()]+?) +\| +(?P<wall>-?\d+) \| +"
    r"(?P<worker>-?\d+) \| +(?P<db>-?\d+|-) \| +(?P<wal>-?\d+|-) \|$"
)


@pytest.mark.timeout(300)
def test_the_database_benchmark_prints_each_step_for_both_databases(pg_user: str) -> None:  # noqa: F811
    admin = PG_ADMIN.format(user=pg_user)
    before = bench_schemas(admin)
    done = run_bench(
        "outbox_database.py", "--messages", "1000", "--rounds", "1", "--postgres-url", admin,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert re.search(r"^round 1: SQLite \d+ µs, PostgreSQL \d+ µs$", out, re.M), out
    rows = {(m["database"], m["step"]): m for m in map(ROW.match, out.splitlines()) if m}
    steps = ["claim and read", "claim, read and record", "record (the difference)"]
    assert list(rows) == [(db, step) for db in ("SQLite", "PostgreSQL") for step in steps], out
    for database in ("SQLite", "PostgreSQL"):
        read, recorded, record = (rows[database, step] for step in steps)
        for column in ("wall", "worker"):
            expected = int(recorded[column]) - int(read[column])
            assert abs(int(record[column]) - expected) <= 1, (column, record.string)
    assert rows["SQLite", "claim and read"]["db"] == "0"
    assert rows["SQLite", "claim and read"]["wal"] == "-"
    # PostgreSQL on this machine: its CPU is counted, and recording writes to its log.
    assert rows["PostgreSQL", "claim, read and record"]["db"] != "-"
    assert int(rows["PostgreSQL", "record (the difference)"]["wal"]) > 0
    capacity = r"^One core of this PostgreSQL server .* about \d+ messages a second\.$"
    assert re.search(capacity, out, re.M), out
    assert bench_schemas(admin) == before


def test_an_unreachable_postgresql_is_named_without_its_password_and_without_a_traceback() -> None:
    done = run_bench(
        "outbox_database.py", "--messages", "5", "--rounds", "1",
        "--postgres-url", "postgresql://shop:s3cret@127.0.0.1:1/outbox", timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    assert "PostgreSQL at postgresql://shop:***@127.0.0.1:1/outbox:" in done.stderr
    assert "--no-postgres" in done.stderr
    assert "s3cret" not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
