"""The bulk benchmark still runs end to end: a few messages, two rounds, both databases.

The numbers of so short a run mean nothing; what is checked is that every run delivered (the
benchmark stops when a message is missing at the sink's side of the outbox), that the table
has a row per run with its median inside its range, and that the benchmark leaves no schema
behind in the PostgreSQL it borrowed.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.test_outbox_queue import PG_ADMIN, pg_user  # noqa: F401 - the fixture

ROOT = Path(__file__).resolve().parent.parent
ROW = re.compile(
    r"^\| (?P<name>\([abc]\)[^|]*?) +\| +(?P<sessions>\d+) \| +(?P<rate>\d+) \| +"
    r"(?P<low>\d+)-(?P<high>\d+) +\|.*?\| +(?P<naive>[\d.]+)x \| +(?P<source>[\d.]+)x \|"
)


def run_bench(script: str, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """``bench/script`` run with ``args`` as a user runs it, its output captured."""
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def bench_schemas(admin: str) -> set[str]:
    with psycopg.connect(admin, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'barua\\_bench\\_%'"
        ).fetchall()
    return {row[0] for row in rows}


@pytest.mark.timeout(600)
def test_the_bulk_benchmark_runs_every_round_and_prints_its_table(pg_user: str) -> None:  # noqa: F811
    admin = PG_ADMIN.format(user=pg_user)
    before = bench_schemas(admin)
    done = run_bench(
        "outbox_bulk.py", "--messages", "40", "--sessions", "1", "--rounds", "2",
        "--memory-at", "0", "--postgres-url", admin, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "2 round(s)" in out
    assert re.search(r"^round 1: \d+(, \d+){3}$", out, re.M), out
    assert re.search(r"^round 2: \d+(, \d+){3}$", out, re.M), out
    rows = {m["name"].strip(): m for m in map(ROW.match, out.splitlines()) if m}
    assert [name[:3] for name in rows] == ["(a)", "(b)", "(b)", "(c)"], out
    assert any("SQLite" in name for name in rows) and any("PostgreSQL" in name for name in rows)
    for row in rows.values():
        assert row["sessions"] == "1"
        assert int(row["low"]) <= int(row["rate"]) <= int(row["high"]), row.string
    naive = next(row for name, row in rows.items() if name.startswith("(a)"))
    source = next(row for name, row in rows.items() if name.startswith("(c)"))
    assert naive["naive"] == "1.00" and source["source"] == "1.00"
    assert re.search(r"^enqueue \(PostgreSQL\): \d+ messages/s$", out, re.M), out
    assert bench_schemas(admin) == before
