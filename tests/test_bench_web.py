"""The web app's benchmark still runs end to end (tiny numbers: they mean nothing here)."""

from __future__ import annotations

import re

import pytest

from tests.test_bench_outbox_bulk import run_bench


@pytest.mark.timeout(300)
def test_the_web_benchmark_measures_pages_and_delivery() -> None:
    done = run_bench(
        "web.py", "--entries", "200", "--deliveries", "100", "--requests", "5", "--rounds", "2",
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = dict(re.findall(r"^\| (.+?) \| ([\d,.]+) \| [\d,.]+-[\d,.]+ \|$", done.stdout, re.M))
    assert set(rows) == {
        "settings page, median ms",
        "settings page, p95 ms",
        "outbox page (200 entries), median ms",
        "outbox page (200 entries), p95 ms",
        "outbox page during delivery, median ms",
        "outbox page during delivery, p95 ms",
        "worker inside barua serve, msg/s",
        "barua worker alone, msg/s",
        "inside / alone",
        "worker inside barua serve, page loaded meanwhile, msg/s",
    }, done.stdout
    assert all(float(value.replace(",", "")) > 0 for value in rows.values())
