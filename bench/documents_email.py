"""Documents, rendered and emailed: barua side by side with the other PDF libraries and with
the straightforward pipeline, in one run.

    bench/install-deps && bench/outbox-install-deps     # fpdf2, WeasyPrint, postfix's smtp-sink
    .venv/bin/python bench/documents_email.py           # --help for the options

1. Rendering, one core, median ms: the one-page example invoice (20 lines, a logo) and a
   20-page statement, by barua, ReportLab platypus, fpdf2 and WeasyPrint: the table of
   bench/documents_render.py, with its renderers and checks.
2. Emailing N distinct one-page invoices end to end (JSON file → PDF → message → SMTP server
   accepted it), to Postfix's ``smtp-sink`` on loopback:

   * straightforward: in one process, one invoice after the other: ``load_document``,
     ``compose_document_email``, ``build_message``, then ``sendmail`` on one smtplib
     connection kept open for the whole run (a new connection per email would be slower);
   * barua: ``barua document email FOLDER`` (rendering in one process per core, queueing in
     the outbox) while ``barua worker`` delivers, both real processes started by this script;
     the clock stops when the outbox holds N sent entries. Peak memory is each command's
     largest process (the rendering processes included).

The machine's load average is printed first: other work on the machine slows every row.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import smtplib
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from barua.database.engine import database_url
from barua.documents import (
    compose_document_email,
    load_document,
)
from barua.message import build_message
from barua.outbox import MessageStatus, Outbox
from barua.settings import make_settings

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
EXAMPLES = ROOT / "examples"
BARUA = str(Path(sys.executable).with_name("barua"))
TARGET_INVOICES = 10_000
TARGET_SECONDS = 120.0

# Runs a command and writes to a file the peak memory (KB) of its largest process and the CPU
# seconds of all its processes (those it waited for included). A process
# started straight from this one would report at least this one's memory (Linux counts the
# memory before exec), so a small Python forks it instead.
_PEAK = """
import os, signal, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
signal.signal(signal.SIGTERM, lambda signum, frame: os.kill(pid, signum))
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as file:
    file.write(f"{usage.ru_maxrss} {usage.ru_utime + usage.ru_stime}")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def home_url() -> str:
    """The database of ``$BARUA_HOME``, as barua chooses it when BARUA_DATABASE_URL is unset."""
    return database_url(None, home=Path(os.environ["BARUA_HOME"]))


def _import_helpers() -> None:
    """Make bench/documents_render.py and bench/outbox_bulk.py importable, to reuse them.

    They are imported where they are used, not at the top: the straightforward pipeline runs
    this file in a process of its own, whose memory must not include WeasyPrint's.
    """
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))


# 1. Rendering ---------------------------------------------------------------------------------


def rendering(quick: bool) -> Callable[[], None]:
    """bench/documents_render.py's table, measured now on one core; printed by the returned
    function, with the emailing table."""
    _import_helpers()
    import documents_render as render_bench  # noqa: PLC0415 - see _import_helpers

    allowed = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(allowed)})
    try:
        rows = render_bench.measure_all(quick=quick)
    finally:
        os.sched_setaffinity(0, allowed)

    def show() -> None:
        print("Rendering, one core: a one-page invoice (20 lines, logo), a 20-page statement")
        render_bench.print_table(rows)

    return show


# 2. Emailing ----------------------------------------------------------------------------------


@dataclass
class EmailRow:
    name: str
    invoices: int
    seconds: float
    peak_mb: float
    cpu: float
    """CPU seconds of every process of the pipeline."""
    note: str = ""

    @property
    def rate(self) -> float:
        return self.invoices / self.seconds


def write_invoices(folder: Path, count: int) -> None:
    """``count`` distinct copies of the example invoice (20 lines, a logo, one page)."""
    data = json.loads((EXAMPLES / "invoice.json").read_text(encoding="utf-8"))
    folder.mkdir(parents=True, exist_ok=True)
    # The logo beside the documents, as an export writes it: a logo elsewhere is refused.
    (folder / "logo.png").write_bytes((EXAMPLES / "logo.png").read_bytes())
    data["business"]["logo"] = "logo.png"
    for n in range(count):
        data["number"] = f"INV-{n:06d}"
        data["lines"][0]["quantity"] = 1 + n % 7
        (folder / f"invoice-{n:06d}.json").write_text(json.dumps(data), encoding="utf-8")


class Measured:
    """A command run through :data:`_PEAK`: its process, and its peak memory once it ended."""

    def __init__(self, args: list[str], *, env: dict[str, str] | None = None) -> None:
        handle, self._peak = tempfile.mkstemp(prefix="barua-bench-peak-")
        os.close(handle)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _PEAK, self._peak, *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    def finish(self) -> tuple[int, str, str, float]:
        """Exit code, stdout, stderr and peak MB; :attr:`cpu` holds the CPU seconds."""
        stdout, stderr = self.proc.communicate()
        peak_path = Path(self._peak)
        text = peak_path.read_text().split()
        peak_path.unlink()
        peak = int(text[0]) / 1024 if text else float("nan")
        self.cpu = float(text[1]) if text else float("nan")
        return self.proc.returncode, stdout.decode(), stderr.decode(), peak


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


def straightforward_run(folder: Path, port: int) -> None:
    """The straightforward pipeline itself (run in its own process by :func:`straightforward`)."""
    settings = make_settings(
        host="127.0.0.1", port=port, security="none", email_address="billing@baobab-studio.example"
    )
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for path in sorted(folder.glob("*.json")):
            document = load_document(path)
            subject, body, attachment = compose_document_email(document)
            assert document.party is not None
            message = build_message(
                settings, to=document.party.emails, subject=subject, text=body,
                attachments=[attachment],
            )  # fmt: skip
            smtp.sendmail(message.sender, list(message.recipients), message.data)


def straightforward(folder: Path, count: int, port: int) -> EmailRow:
    """One invoice after the other in one process, over one smtplib connection."""
    started = time.perf_counter()
    run = Measured([sys.executable, __file__, "--straightforward", str(folder), str(port)])
    code, _, stderr, peak = run.finish()
    seconds = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"the straightforward pipeline failed:\n{stderr}")
    return EmailRow("straightforward: one by one, smtplib", count, seconds, peak, run.cpu)


def barua_pipeline(folder: Path, count: int, port: int) -> EmailRow:
    """``barua document email FOLDER`` while ``barua worker`` delivers, until all are sent."""
    with tempfile.TemporaryDirectory(prefix="barua-bench-home-") as home:
        env = environment(Path(home), port)
        os.environ["BARUA_HOME"] = home
        with Outbox.open(home_url()):
            pass  # the tables exist before two processes race to create them
        started = time.perf_counter()
        worker = Measured([BARUA, "worker", "--poll-interval", "0.05"], env=env)
        emailer = Measured([BARUA, "document", "email", str(folder)], env=env)
        code, summary, stderr, emailer_mb = emailer.finish()
        queued = time.perf_counter() - started
        if code != 0:
            worker.proc.kill()
            raise SystemExit(f"barua document email failed:\n{stderr}")
        with Outbox.open(home_url()) as outbox:
            while (sent := outbox.counts()[MessageStatus.SENT]) < count:
                if worker.proc.poll() is not None:
                    raise SystemExit(f"barua worker stopped after {sent} of {count} sent")
                time.sleep(0.05)
        seconds = time.perf_counter() - started
        worker.proc.send_signal(signal.SIGTERM)
        _, _, _, worker_mb = worker.finish()
    if not summary.startswith(f"{count:,} documents: {count:,} queued"):
        raise SystemExit(f"unexpected summary: {summary}")
    return EmailRow(
        "barua document email + barua worker",
        count,
        seconds,
        max(emailer_mb, worker_mb),
        emailer.cpu + worker.cpu,
        note=f"all queued after {queued:.1f} s; peak MB: barua document email {emailer_mb:.0f} "
        f"(largest of its processes), barua worker {worker_mb:.0f}",
    )


# Running --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--invoices", type=int, default=2000, help="invoices per e2e run")
    parser.add_argument(
        "--full",
        type=int,
        default=TARGET_INVOICES,
        help="also run the barua pipeline on this many (0: skip)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="render each document twice only (a check)"
    )
    parser.add_argument("--no-render", action="store_true", help="skip the rendering table")
    parser.add_argument("--straightforward", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.straightforward:
        straightforward_run(Path(args.straightforward[0]), int(args.straightforward[1]))
        return

    load = ", ".join(f"{n:.2f}" for n in os.getloadavg())
    print(
        f"barua documents benchmark: Python {sys.version.split()[0]}, "
        f"{len(os.sched_getaffinity(0))} cores, load average {load} (1, 5, 15 min)",
        flush=True,
    )
    show_rendering = None if args.no_render else rendering(args.quick)

    _import_helpers()
    from outbox_bulk import free_port, start_sink  # noqa: PLC0415 - see _import_helpers

    port = free_port()
    sink = start_sink(port)
    email_rows: list[EmailRow] = []
    try:
        with tempfile.TemporaryDirectory(prefix="barua-bench-docs-") as tmp:
            small = Path(tmp) / "small"
            write_invoices(small, args.invoices)
            email_rows.append(straightforward(small, args.invoices, port))
            email_rows.append(barua_pipeline(small, args.invoices, port))
            if args.full:
                big = Path(tmp) / "full"
                write_invoices(big, args.full)
                email_rows.append(barua_pipeline(big, args.full, port))
    finally:
        sink.terminate()
        sink.wait()

    if show_rendering:
        print()
        show_rendering()

    print()
    print("Emailing one-page invoices end to end (render + queue + deliver to smtp-sink)")
    print(
        f"| {'pipeline':38} | invoices | seconds | invoices/s | x straightforward "
        f"| CPU ms/invoice | peak MB |"
    )
    print(
        f"|{'-' * 40}|----------|---------|------------|-------------------|{'-' * 16}|---------|"
    )
    base = email_rows[0].rate
    for e in email_rows:
        print(
            f"| {e.name:38} | {e.invoices:8,} | {e.seconds:7.1f} | {e.rate:10.1f} | "
            f"{e.rate / base:16.2f}x | {e.cpu / e.invoices * 1000:14.1f} | {e.peak_mb:7.0f} |"
        )
    for e in email_rows:
        if e.note:
            print(f"  {e.invoices:,} with barua: {e.note}")

    cores = len(os.sched_getaffinity(0))
    print()
    for e, usable in ((email_rows[0], 1), (email_rows[1], cores)):
        print(
            f"{e.name}: {TARGET_INVOICES:,} invoices would take {TARGET_INVOICES / e.rate:.0f} s "
            f"at the rate of {e.invoices:,}; its CPU alone needs "
            f"{e.cpu / e.invoices * TARGET_INVOICES / usable:.0f} s on {usable} idle core(s)"
        )
    full = [e for e in email_rows[1:] if e.invoices >= TARGET_INVOICES]
    measured = full[0] if full else email_rows[1]
    seconds = measured.seconds * TARGET_INVOICES / measured.invoices
    how = "measured" if full else "extrapolated"
    verdict = "met" if seconds <= TARGET_SECONDS else "NOT met"
    print(
        f"Target ({TARGET_INVOICES:,} invoices rendered, queued and delivered in <= "
        f"{TARGET_SECONDS:.0f} s): {verdict}, {seconds:.0f} s {how}; load average now "
        + ", ".join(f"{n:.2f}" for n in os.getloadavg())
    )


if __name__ == "__main__":
    main()
