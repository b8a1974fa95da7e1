"""barua against an earlier version of itself, side by side in one run.

    bench/outbox-install-deps                                  # smtp-sink
    .venv/bin/python bench/versions.py --baseline REF          # REF: a commit, tag or branch

The earlier version is checked out from git into a temporary work tree and run from there with
the same Python and libraries, through the same launcher as this checkout (``python -c`` that
puts the version's ``src`` first on the path and calls ``barua.cli.main``), so start-up costs
the same for both. Each round measures both versions back to back, in alternating order:

- ``barua --help``: median wall time of ``--startups`` runs (and, for this checkout, of the
  ``barua`` console script itself, the figure a user meets);
- bulk delivery: ``--messages`` messages of ~62 KB (each with its own PDF) queued in a fresh
  SQLite home, then ``barua worker --once --connections 2`` to ``smtp-sink``; the rate over the
  delivery window read from the outbox's log, as bench/outbox_bulk.py counts it;
- documents: ``--invoices`` one-page invoices emailed with ``barua document email FOLDER``
  (rendered, written from the templates, queued), then delivered by ``barua worker --once``.

Both versions get the same settings from ``BARUA_SMTP_*`` variables, as a server would give
them. The table shows the median of the rounds and the range, and the ratio new/old of each
round's pair, its median.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from barua.database.engine import database_url
from barua.outbox import MessageStatus, Outbox

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
LAUNCH = (
    "import sys; sys.path.insert(0, sys.argv.pop(1)); sys.argv[0] = 'barua'; "
    "from barua.cli import main; main()"
)
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from documents_email import write_invoices  # noqa: E402 - beside this file
from outbox_bulk import delivery_window, free_port, messages, start_sink  # noqa: E402


@dataclass
class Version:
    name: str
    src: Path

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-c", LAUNCH, str(self.src), *args]


@contextmanager
def baseline(ref: str) -> Iterator[Path]:
    """A work tree of ``ref``, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="barua-baseline-"))
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(folder), ref],
        check=True,
    )
    try:
        yield folder
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(folder)], check=False
        )
        shutil.rmtree(folder, ignore_errors=True)


def environment(home: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BARUA_")}
    env.update(
        BARUA_HOME=str(home),
        BARUA_SMTP_HOST="127.0.0.1",
        BARUA_SMTP_PORT=str(port),
        BARUA_SMTP_SECURITY="none",
        BARUA_EMAIL_ADDRESS="billing@baobab-studio.example",
        BARUA_SENDER_NAME="Baobab Studio Ltd",
    )
    return env


def run(command: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command[-4:])} failed:\n{proc.stderr}")
    return seconds


def startup(command: list[str], count: int) -> float:
    """Median milliseconds of ``count`` runs of ``command`` (after one to warm the disk cache)."""
    run(command)
    return statistics.median(run(command) for _ in range(count)) * 1000


def outbox_url(home: Path) -> str:
    return database_url(None, home=home)


def bulk(version: Version, count: int, port: int) -> float:
    """Messages a second ``barua worker --once`` of ``version`` delivers (delivery window)."""
    home = Path(tempfile.mkdtemp(prefix="barua-bench-"))
    try:
        with Outbox.open(outbox_url(home)) as outbox:
            for message in messages(count, port):
                outbox.enqueue(message)
        run(version.command("worker", "--once", "--connections", "2"), environment(home, port))
        with Outbox.open(outbox_url(home)) as outbox:
            sent = outbox.counts()[MessageStatus.SENT]
            window = delivery_window(outbox)
        if sent != count:
            raise SystemExit(f"{version.name}: only {sent} of {count} sent")
        return count / window
    finally:
        shutil.rmtree(home, ignore_errors=True)


def documents(version: Version, folder: Path, count: int, port: int) -> tuple[float, float]:
    """Seconds of ``barua document email FOLDER``, and of that and ``barua worker --once``."""
    home = Path(tempfile.mkdtemp(prefix="barua-bench-"))
    try:
        env = environment(home, port)
        queued = run(version.command("document", "email", str(folder)), env)
        delivered = run(version.command("worker", "--once", "--connections", "2"), env)
        with Outbox.open(outbox_url(home)) as outbox:
            sent = outbox.counts()[MessageStatus.SENT]
        if sent != count:
            raise SystemExit(f"{version.name}: only {sent} of {count} invoices sent")
        return queued, queued + delivered
    finally:
        shutil.rmtree(home, ignore_errors=True)


@dataclass
class Measures:
    values: dict[str, dict[str, list[float]]] = field(default_factory=dict)

    def add(self, measure: str, version: str, value: float) -> None:
        self.values.setdefault(measure, {}).setdefault(version, []).append(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", required=True, help="the earlier version: a git ref")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--startups", type=int, default=20)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--invoices", type=int, default=1000)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    port = free_port()
    sink = start_sink(port)
    measures = Measures()
    console = str(Path(sys.executable).with_name("barua"))
    try:
        with baseline(args.baseline) as old_tree, tempfile.TemporaryDirectory() as scratch:
            versions = [Version("old", old_tree / "src"), Version("new", ROOT / "src")]
            folder = Path(scratch) / "invoices"
            write_invoices(folder, args.invoices)
            for number in range(args.rounds):
                order = versions if number % 2 == 0 else versions[::-1]
                for version in order:
                    measures.add(
                        "barua --help, ms",
                        version.name,
                        startup(version.command("--help"), args.startups),
                    )
                measures.add(
                    "barua --help (console script), ms",
                    "new",
                    startup([console, "--help"], args.startups),
                )
                for version in order:
                    measures.add(
                        f"bulk delivery, {args.messages} messages, msg/s",
                        version.name,
                        bulk(version, args.messages, port),
                    )
                for version in order:
                    queued, total = documents(version, folder, args.invoices, port)
                    measures.add(
                        f"document email, {args.invoices} invoices, invoices/s",
                        version.name,
                        args.invoices / queued,
                    )
                    measures.add(
                        f"documents emailed and delivered, {args.invoices}, invoices/s",
                        version.name,
                        args.invoices / total,
                    )
                print(f"round {number + 1} of {args.rounds} done", file=sys.stderr)
    finally:
        sink.terminate()
        sink.wait()
    print(
        f"barua at {args.baseline} (old) and this checkout (new), {args.rounds} rounds; "
        f"{os.cpu_count()} CPU cores"
    )
    print()
    print(f"| {'measure':58} | {'old':>17} | {'new':>17} | new/old |")
    print(f"|{'-' * 60}|{'-' * 19}|{'-' * 19}|---------|")
    for measure, by_version in measures.values.items():
        cells = []
        for name in ("old", "new"):
            found = by_version.get(name)
            cells.append(
                f"{statistics.median(found):7.1f} ({min(found):.0f}-{max(found):.0f})"
                if found
                else "-"
            )
        ratio = "-"
        if "old" in by_version and "new" in by_version:
            pairs = zip(by_version["new"], by_version["old"], strict=True)
            ratio = f"{statistics.median(n / o for n, o in pairs):6.2f}x"
        print(f"| {measure:58} | {cells[0]:>17} | {cells[1]:>17} | {ratio:>7} |")
    if args.json:
        args.json.write_text(json.dumps(measures.values, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
