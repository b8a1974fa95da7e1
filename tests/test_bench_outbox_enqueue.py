"""The enqueue benchmark still runs end to end and compares what it says it compares."""

from __future__ import annotations

import re

import pytest

from tests.test_bench_outbox_bulk import bench_schemas, run_bench
from tests.test_outbox_queue import PG_ADMIN, pg_user  # noqa: F401 - the fixture

ROW = re.compile(
    r"^\| (?P<name>[^|]+?) \| (?P<ms>\d+\.\d\d) \([\d.]+-[\d.]+\) \| [\d,]+ \| (?P<x>[\d.]+)x \|$"
)


@pytest.mark.timeout(120)
def test_the_enqueue_benchmark_measures_normal_full_and_postgresql(pg_user: str) -> None:  # noqa: F811
    admin = PG_ADMIN.format(user=pg_user)
    before = bench_schemas(admin)
    done = run_bench(
        "outbox_enqueue.py", "--messages", "20", "--rounds", "2", "--postgres-url", admin,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = {m["name"]: m for m in map(ROW.match, done.stdout.splitlines()) if m}
    assert list(rows) == [
        "SQLite, synchronous=NORMAL (before)",
        "SQLite, synchronous=FULL (now)",
        "PostgreSQL, synchronous_commit=on",
    ], done.stdout
    assert rows["SQLite, synchronous=NORMAL (before)"]["x"] == "1.00"
    assert bench_schemas(admin) == before, "the benchmark's schema is dropped"
