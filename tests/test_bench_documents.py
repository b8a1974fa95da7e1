"""The documents benchmark still runs end to end, as a user runs it, in its quick form.

Two renderings per renderer and 20 invoices emailed mean nothing as numbers; what is checked is
that every renderer printed both documents (each rendering is checked by the benchmark to
contain the document's number and balance, and it exits otherwise), that both pipelines
delivered every invoice to the sink, and that the verdict lines are there.
"""

from __future__ import annotations

import re

import pytest

from tests.test_bench_outbox_bulk import run_bench

RENDER_ROW = re.compile(
    r"^\| (?P<name>[^|]+?) +\| +(?P<invoice>[\d.]+) \| +[\d.]+ \| +(?P<statement>[\d.]+) "
    r"\| +(?P<pages>\d+) \| +(?P<x_invoice>[\d.]+)x \| +(?P<x_statement>[\d.]+)x \|$"
)
EMAIL_ROW = re.compile(
    r"^\| (?P<name>[^|]+?) +\| +(?P<invoices>[\d,]+) \| +(?P<seconds>[\d.]+) \| +"
    r"(?P<rate>[\d.]+) \|"
)


@pytest.mark.timeout(300)
def test_the_documents_benchmark_renders_with_every_library_and_emails_every_invoice() -> None:
    done = run_bench(
        "documents_email.py", "--quick", "--invoices", "20", "--full", "0", timeout=300
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    rendered = {m["name"]: m for m in map(RENDER_ROW.match, out.splitlines()) if m}
    assert list(rendered) == [
        "barua (ReportLab canvas, layout first)",
        "ReportLab platypus, straightforward",
        "fpdf2, straightforward",
        "WeasyPrint (HTML + CSS)",
    ], out
    assert rendered["barua (ReportLab canvas, layout first)"]["pages"] == "20"
    for row in rendered.values():
        assert float(row["invoice"]) > 0 and float(row["statement"]) > 0
        assert int(row["pages"]) >= 15, row.string  # the same lines, on any layout
    emailed = [m for m in map(EMAIL_ROW.match, out.splitlines()) if m]
    assert [m["name"] for m in emailed] == [
        "straightforward: one by one, smtplib",
        "barua document email + barua worker",
    ], out
    assert all(m["invoices"] == "20" for m in emailed)
    assert re.search(
        r"^Target \(one-page invoice <= 15 ms median, .*\): (met|NOT met), ", out, re.M
    )
    assert re.search(
        r"^Target \(10,000 invoices .*\): (met|NOT met), \d+ s extrapolated;", out, re.M
    )
