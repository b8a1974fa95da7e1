"""The relay benchmark still runs end to end with tiny numbers: Postfix's acceptance and the
relay's on SQLite and PostgreSQL in two rounds, with a baseline (this checkout's own source,
so that its ratios are near one), every message accepted and stored (the benchmark stops when
an outbox holds another count), a row per relay, size and clients, and no schema left
behind."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.postfix_server import postfix_installed
from tests.test_bench_outbox_bulk import bench_schemas, run_bench
from tests.test_outbox_queue import PG_ADMIN, pg_user  # noqa: F401 - the fixture

ROOT = Path(__file__).resolve().parent.parent
ROW = re.compile(
    r"^\| (?P<name>[^|]+?) \| (?P<size>20 KB|200 KB) \| (?P<clients>\d+) \| (?P<rate>[\d,]+) "
    r"\| (?P<p50>[\d.]+|-) \| (?P<p99>[\d.]+|-) \| (?P<x>[\d.]+x|-) \| (?P<baseline>[\d.]+x|-) \|$"
)


@pytest.mark.timeout(300)
def test_the_relay_benchmark_runs_every_configuration(pg_user: str) -> None:  # noqa: F811
    if not postfix_installed():
        pytest.skip("Postfix is not installed (tests/postfix/install-deps)")
    admin = PG_ADMIN.format(user=pg_user)
    before = bench_schemas(admin)
    done = run_bench(
        "relay.py", "--messages", "8", "--clients", "1,2", "--processes", "1", "--rounds", "2",
        "--baseline-src", str(ROOT / "src"), "--postgres-url", admin, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr + done.stdout
    assert done.stdout.count("round 2: baseline, SQLite, 1 process, 200 KB, 2 clients") == 1
    rows = [m for m in map(ROW.match, done.stdout.splitlines()) if m]
    names = sorted({row["name"] for row in rows})
    assert names == [
        "Postfix smtpd, queue on disk (smtp-source)",
        "barua relay, PostgreSQL, 1 process",
        "barua relay, SQLite, 1 process",
        "baseline, PostgreSQL, 1 process",
        "baseline, SQLite, 1 process",
    ], done.stdout
    assert len(rows) == 5 * 2 * 2
    for row in rows:
        if row["name"].startswith("barua"):
            assert float(row["p50"]) <= float(row["p99"])
            assert row["x"].endswith("x") and row["baseline"].endswith("x")
        elif row["name"].startswith("baseline"):
            assert row["x"].endswith("x") and row["baseline"] == "-"
        else:
            assert (row["x"], row["baseline"]) == ("1.00x", "-")
    assert bench_schemas(admin) == before
