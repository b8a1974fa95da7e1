"""The relay benchmark still runs end to end with tiny numbers: Postfix's acceptance and the
relay's on SQLite and PostgreSQL, every message accepted and stored (the benchmark stops
when the outbox holds another count), a row per run, and no schema left behind."""

from __future__ import annotations

import re

import pytest

from tests.postfix_server import postfix_installed
from tests.test_bench_outbox_bulk import bench_schemas, run_bench
from tests.test_outbox_queue import PG_ADMIN, pg_user  # noqa: F401 - the fixture

ROW = re.compile(
    r"^\| (?P<name>[^|]+?) \| (?P<size>20 KB|200 KB) \| (?P<clients>\d+) \| (?P<rate>[\d,]+) "
    r"\| (?P<p50>[\d.]+|-) \| (?P<p99>[\d.]+|-) \| (?P<x>[\d.]+x|-) \| (?P<median>[\d.]+x|-) \|$"
)


@pytest.mark.timeout(300)
def test_the_relay_benchmark_runs_every_configuration(pg_user: str) -> None:  # noqa: F811
    if not postfix_installed():
        pytest.skip("Postfix is not installed (tests/postfix/install-deps)")
    admin = PG_ADMIN.format(user=pg_user)
    before = bench_schemas(admin)
    done = run_bench(
        "relay.py", "--messages", "8", "--clients", "1,2", "--processes", "1",
        "--postgres-url", admin, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr + done.stdout
    rows = [m for m in map(ROW.match, done.stdout.splitlines()) if m]
    names = sorted({row["name"] for row in rows})
    assert names == [
        "Postfix smtpd, queue on disk (smtp-source)",
        "barua relay, PostgreSQL, 1 process",
        "barua relay, SQLite, 1 process",
    ], done.stdout
    assert len(rows) == 3 * 2 * 2
    for row in rows:
        if row["name"].startswith("barua"):
            assert float(row["p50"]) <= float(row["p99"])
            assert row["x"].endswith("x") and row["median"].endswith("x")
        else:
            assert row["x"] == row["median"] == "1.00x"
    assert bench_schemas(admin) == before
