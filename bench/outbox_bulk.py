"""Bulk delivery through the outbox, side by side with the naive way and the machine's limit.

    bench/outbox-install-deps                      # postfix: smtp-sink and smtp-source
    .venv/bin/python bench/outbox_bulk.py          # 10,000 messages; --help for the options

Every run sends the same kind of message (a short text and its own ~45 KB PDF, ~62 KB in all) to
one ``smtp-sink`` on loopback:

(a) naive: stdlib smtplib, a new connection per message (``SMTP()``, ``sendmail``, ``quit``),
    the message bytes already built;
(b) barua: every message enqueued first, then ``barua worker --once --connections N`` (real
    processes: with N connections it runs one process per CPU core, at most N, sharing the N
    connections; peak memory is measured per process), with SQLite and with PostgreSQL;
(c) ``smtp-source`` (Postfix's C load generator) with the same number of sessions N.

Beside the rates, the table shows where the CPU went, per message: the sender (barua's
worker processes, start-up excluded; smtp-source), PostgreSQL's processes and the sink.
PostgreSQL is the one on loopback unless ``--postgres-url`` names another (the benchmark
makes a schema of its own there and drops it after).

Everything runs ``--rounds`` times (3), one round after the other, each round in the table's
order; the table shows each run's median rate and its range, and the ratios are the medians of
the ratios within each round (a run next to its own baseline), so a machine whose speed swings
while the benchmark runs shows as a wide range instead of a wrong ratio.

barua's rate is counted over its delivery window, from the start of the first attempt to the
end of the last, both read from the outbox's delivery log (not from anything the worker says
about itself); the column "incl. start" counts the whole ``barua worker`` process instead,
with Python starting and importing barua (~0.9 s here, most of it front-end modules the worker
does not use). The ratios use the delivery window: smtp-source has no start-up to speak of, and
a worker is started once and then delivers for hours.

Making 100,000 distinct invoices with the email package would take ten minutes, so one message
is built with :func:`barua.message.build_message` and each copy gets its own Message-ID and its
own random PDF bytes spliced into the built bytes; enqueueing then takes the real path.
"""

from __future__ import annotations

import argparse
import base64
import os
import resource
import secrets
import shutil
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import psycopg
from sqlalchemy import func, make_url, select

from barua.database.engine import database_url
from barua.message import Attachment, OutgoingMessage, build_message
from barua.outbox import MessageStatus, Outbox, SendingLimits, content
from barua.outbox.schema import attempts
from barua.outbox.sharing import default_processes, share
from barua.settings import make_settings

ROOT = Path(__file__).resolve().parent.parent
BARUA = str(Path(sys.executable).with_name("barua"))
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


def home_url() -> str:
    """The database of ``$BARUA_HOME``, as barua chooses it when BARUA_DATABASE_URL is unset."""
    return database_url(None, home=Path(os.environ["BARUA_HOME"]))


@dataclass
class Row:
    name: str
    sessions: int
    messages: int
    seconds: float
    peak_mb: float | None = None
    process_seconds: float | None = None
    """barua: the whole worker process, start-up included."""
    cpu: dict[str, float | None] | None = None
    """CPU seconds of the sender ("client"; barua: start-up excluded), of PostgreSQL and of
    the sink, over the run."""

    @property
    def rate(self) -> float:
        return self.messages / self.seconds


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_sink(port: int) -> subprocess.Popen[bytes]:
    sink = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    proc = subprocess.Popen([sink, *user, f"127.0.0.1:{port}", "1000"])
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.05)
    raise SystemExit("smtp-sink did not start; run bench/outbox-install-deps")


def cpu_seconds(pid: int) -> float:
    """CPU seconds of process ``pid``, and of its children that ended (a PostgreSQL server's
    backends are its children: theirs count once they exit)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def postgres_cpu() -> float:
    """CPU seconds of the PostgreSQL processes of this machine (the benchmark's database is
    on loopback), so far."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().strip() == "postgres":
                total += cpu_seconds(int(entry.name))
        except OSError:
            continue  # ended meanwhile
    return total


def messages(count: int, port: int) -> Iterator[OutgoingMessage]:
    """``count`` distinct invoices: own Message-ID, own PDF bytes."""
    settings = make_settings(
        host="127.0.0.1", port=port, security="none", email_address="shop@example.com"
    )
    pdf = b"%PDF-1.7\n" + os.urandom(45_000) + b"\n%%EOF\n"
    template = build_message(
        settings,
        to=["jane@example.com"],
        subject="Ankara INV-0042",
        text="Habari Jane,\n\nTafadhali pata ankara yako.\n\nAsante,\nDuka la Amani\n",
        attachments=[Attachment("INV-0042.pdf", pdf)],
    )
    pieces = content.split(template.data)
    [attachment_at] = [i for i, p in enumerate(pieces) if len(p) > 40_000]
    for n in range(count):
        fresh = b"%PDF-1.7\n" + os.urandom(45_000) + b"\n%%EOF\n"
        body = base64.encodebytes(fresh).replace(b"\n", b"\r\n")
        message_id = f"<bench.{n}.{secrets.token_hex(6)}@example.com>"
        parts = list(pieces)
        parts[attachment_at] = body
        data = content.join(parts).replace(template.message_id.encode(), message_id.encode(), 1)
        yield replace(template, message_id=message_id, data=data)


def naive(count: int, port: int) -> Row:
    started = time.perf_counter()
    for message in messages(count, port):
        smtp = smtplib.SMTP("127.0.0.1", port)
        smtp.sendmail(message.sender, list(message.recipients), message.data)
        smtp.quit()
    return Row("(a) naive smtplib, new connection each", 1, count, time.perf_counter() - started)


def enqueue(url: str | None, count: int, port: int) -> float:
    started = time.perf_counter()
    with Outbox.open(url or home_url()) as outbox:
        for message in messages(count, port):
            outbox.enqueue(message)
    return count / (time.perf_counter() - started)


def run_worker(env: dict[str, str], sessions: int) -> tuple[float, float, float]:
    """Seconds, peak memory (MB, of the largest of its processes) and CPU seconds (of all of
    them) of ``barua worker --once``."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [BARUA, "worker", "--once", "--connections", str(sessions)],
        env=env,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"barua worker failed:\n{stderr}")
    return seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def barua_env(home: Path, port: int, url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BARUA_")}
    env.update(
        BARUA_HOME=str(home),
        BARUA_SMTP_HOST="127.0.0.1",
        BARUA_SMTP_PORT=str(port),
        BARUA_SMTP_SECURITY="none",
        BARUA_EMAIL_ADDRESS="shop@example.com",
    )
    if url:
        env["BARUA_DATABASE_URL"] = url
    return env


def delivery_window(outbox: Outbox) -> float:
    """Seconds from the start of the first attempt to the end of the last, from the log."""
    with outbox.engine.connect() as conn:
        first, last = conn.execute(
            select(
                func.min(attempts.c.started_at),
                func.max(attempts.c.started_at + attempts.c.duration),
            )
        ).one()
    return float(last - first)


def on_this_machine(url: str) -> bool:
    """Whether the database of ``url`` runs here (its CPU can be measured)."""
    host = make_url(url).host
    return host in {None, "", "localhost", "127.0.0.1", "::1"} or str(host).startswith("/")


def database_cpu_since(postgres: str | None, before: float) -> float | None:
    """CPU seconds of the outbox's database since ``before`` (a :func:`postgres_cpu` reading),
    ``postgres`` being its server's URL: 0 for SQLite (its work is the worker's own), None for a
    PostgreSQL on another machine (not this machine's CPU to count)."""
    if postgres is None:
        return 0.0
    if not on_this_machine(postgres):
        return None
    return postgres_cpu() - before


@contextmanager
def scratch_outbox(postgres: str | None) -> Iterator[tuple[Path, str | None]]:
    """A new ``BARUA_HOME`` and, with ``postgres`` (the URL of a PostgreSQL database), a schema
    of its own there: the home and the outbox's URL (None: SQLite in the home). Both go after."""
    home = Path(tempfile.mkdtemp(prefix="barua-bench-"))
    schema = f"barua_bench_{secrets.token_hex(4)}"
    joiner = "&" if postgres and "?" in postgres else "?"
    url = f"{postgres}{joiner}options=-csearch_path%3D{schema}" if postgres else None
    if postgres:
        try:
            with psycopg.connect(postgres, autocommit=True) as conn:
                conn.execute(f'CREATE SCHEMA "{schema}"')
        except psycopg.Error as exc:
            shutil.rmtree(home, ignore_errors=True)
            where = make_url(postgres).render_as_string(hide_password=True)
            raise SystemExit(
                f"PostgreSQL at {where}: {str(exc).strip().splitlines()[0]}\n"
                "Start it, name another with --postgres-url, or leave it out with --no-postgres."
            ) from None
    try:
        yield home, url
    finally:
        shutil.rmtree(home, ignore_errors=True)
        if postgres:
            with psycopg.connect(postgres, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def barua(
    count: int,
    port: int,
    sessions: int,
    *,
    postgres: str | None,
    sink: int,
    start_cpu: float,
) -> tuple[Row, float]:
    """``postgres``: the URL of a PostgreSQL database to make a schema in; None for SQLite."""
    with scratch_outbox(postgres) as (home, url):
        env = barua_env(home, port, url)
        os.environ["BARUA_HOME"] = str(home)
        rate = enqueue(url, count, port)
        database, sunk = postgres_cpu(), cpu_seconds(sink)
        seconds, peak, worker = run_worker(env, sessions)
        cpu = {
            "client": max(worker - start_cpu, 0.0),
            "database": database_cpu_since(postgres, database),
            "sink": cpu_seconds(sink) - sunk,
        }
        with Outbox.open(url or home_url()) as outbox:
            sent = outbox.counts()[MessageStatus.SENT]
            window = delivery_window(outbox)
        if sent != count:
            raise SystemExit(f"only {sent} of {count} sent")
    processes = share(sessions, default_processes(sessions, SendingLimits()))
    shape = (
        f"{len(processes)}x{processes[0]}"
        if len(set(processes)) == 1
        else "+".join(map(str, processes))
    )
    name = f"(b) barua worker --once, {'PostgreSQL' if postgres else 'SQLite'} ({shape})"
    return Row(name, sessions, count, window, peak, seconds, cpu), rate


def smtp_source(count: int, port: int, sessions: int, size: int, *, sink: int) -> Row:
    source = shutil.which("smtp-source") or "/usr/sbin/smtp-source"
    sunk = cpu_seconds(sink)
    started = time.perf_counter()
    proc = subprocess.Popen(
        [source, "-d", "-s", str(sessions), "-m", str(count), "-l", str(size),
         "-f", "shop@example.com", "-t", "jane@example.com", f"127.0.0.1:{port}"],
    )  # fmt: skip
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("smtp-source failed")
    cpu: dict[str, float | None] = {
        "client": usage.ru_utime + usage.ru_stime,
        "database": 0.0,
        "sink": cpu_seconds(sink) - sunk,
    }
    return Row("(c) smtp-source (C)", sessions, count, seconds, cpu=cpu)


def worker_start_cpu(port: int, sessions: int) -> float:
    """CPU seconds of a ``barua worker --once`` with nothing to do: Python starting, imports
    (in each process it starts)."""
    home = Path(tempfile.mkdtemp(prefix="barua-bench-"))
    try:
        return min(run_worker(barua_env(home, port, None), sessions)[2] for _ in range(3))
    finally:
        shutil.rmtree(home, ignore_errors=True)


@dataclass
class Round:
    """One round: its runs in the table's order (naive first), and its enqueue rates."""

    rows: list[Row]
    enqueue_rates: dict[str, float]

    def ratios(self, row: Row) -> tuple[float, float | None]:
        """``row``'s rate over naive's and over smtp-source's with as many sessions, both of
        this round."""
        naive_rate = self.rows[0].rate
        source = [
            r.rate for r in self.rows if r.name.startswith("(c)") and r.sessions == row.sessions
        ]
        return row.rate / naive_rate, row.rate / source[0] if source else None


def one_round(
    args: argparse.Namespace, sessions: list[int], port: int, sink: int, size: int
) -> Round:
    """Every run once, in the table's order: naive, then per session count barua on SQLite,
    on PostgreSQL and smtp-source (``size``: of a message, for smtp-source)."""
    found = Round([naive(args.messages, port)], {})
    for n in sessions:
        run = partial(barua, args.messages, port, n, sink=sink)
        start_cpu = worker_start_cpu(port, n)
        row, found.enqueue_rates["SQLite"] = run(postgres=None, start_cpu=start_cpu)
        found.rows.append(row)
        if not args.no_postgres:
            row, found.enqueue_rates["PostgreSQL"] = run(
                postgres=args.postgres_url, start_cpu=start_cpu
            )
            found.rows.append(row)
        found.rows.append(smtp_source(args.messages, port, n, size, sink=sink))
    return found


def median_run(runs: list[Row]) -> Row:
    """The run whose rate is the median (of an even number, the lower of the middle two)."""
    ordered = sorted(runs, key=lambda run: run.rate)
    return ordered[(len(ordered) - 1) // 2]


def add_database_options(parser: argparse.ArgumentParser) -> None:
    """``--no-postgres`` and ``--postgres-url``: whether and where PostgreSQL is measured."""
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--postgres-url",
        default=PG_ADMIN,
        help="a PostgreSQL database where the benchmark may create and drop a schema (on "
        "another machine, its CPU is not counted)",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--sessions", default="1,2", help="comma-separated session counts")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="run everything this many times, one round after the other; the table shows the "
        "median of each",
    )
    parser.add_argument(
        "--memory-at", type=int, default=100_000, help="also measure memory at this queue length"
    )
    add_database_options(parser)
    args = parser.parse_args()
    sessions = [int(s) for s in args.sessions.split(",")]
    port = free_port()
    sink = start_sink(port)
    try:
        size = next(messages(1, port)).size
        print(
            f"{args.messages} messages of {size} bytes to smtp-sink on 127.0.0.1:{port}, "
            f"{args.rounds} round(s)"
        )
        rounds = []
        for number in range(1, args.rounds + 1):
            rounds.append(one_round(args, sessions, port, sink.pid, size))
            print(f"round {number}: " + ", ".join(f"{r.rate:.0f}" for r in rounds[-1].rows))
        big = None
        if args.memory_at:
            big, _ = barua(
                args.memory_at, port, max(sessions), postgres=None, sink=sink.pid, start_cpu=0
            )
    finally:
        sink.terminate()
        sink.wait()
    print()
    print(
        f"| {'run (processes x connections)':50} | sessions | {'msg/s':>6} | {'range':>11} "
        "| incl. start | x naive | x smtp-source | peak MB | CPU µs/msg: sender + database + sink |"
    )
    print(
        f"|{'-' * 52}|----------|--------|-------------|-------------|---------|--------------|"
        f"---------|{'-' * 39}|"
    )
    for position in range(len(rounds[0].rows)):
        runs = [(found, found.rows[position]) for found in rounds]
        r = median_run([row for _, row in runs])
        rates = [row.rate for _, row in runs]
        spread = f"{min(rates):5.0f}-{max(rates):<5.0f}"
        ratios = [found.ratios(row) for found, row in runs]
        over_naive = statistics.median(n for n, _ in ratios)
        over_source = [s for _, s in ratios if s is not None]
        source = f"{statistics.median(over_source):11.2f}x" if over_source else "           -"
        peak = f"{r.peak_mb:7.0f}" if r.peak_mb is not None else "      -"
        whole = f"{r.messages / r.process_seconds:11.0f}" if r.process_seconds else "          -"
        cpu = "-"
        if r.cpu:
            per = {k: None if v is None else v / r.messages * 1e6 for k, v in r.cpu.items()}
            shown = [
                "   -" if per[k] is None else f"{per[k]:4.0f}"
                for k in ("client", "database", "sink")
            ]
            total = sum(v for v in per.values() if v is not None)
            cpu = " + ".join(shown) + f" = {total:4.0f}" + ("+" if None in per.values() else "")
        print(
            f"| {r.name:50} | {r.sessions:8} | {r.rate:6.0f} | {spread:>11} | {whole} "
            f"| {over_naive:6.2f}x | {source} | {peak} | {cpu:37} |"
        )
    print()
    print(
        "msg/s: the median of the rounds (range: slowest-fastest); barua's over its delivery "
        "window (first attempt to last, from the delivery log); incl. start: over the whole "
        "`barua worker` process. x naive, x smtp-source: the median of the ratios within each "
        "round. CPU, peak MB, incl. start: of the median round. CPU: of every process "
        "of the sender (barua: start-up excluded), of PostgreSQL (all its processes) and of "
        f"smtp-sink, per message; {os.cpu_count()} CPU cores in all (a database on another "
        "machine: -, not counted)."
    )
    for name in rounds[0].enqueue_rates:
        rate = statistics.median(found.enqueue_rates[name] for found in rounds)
        print(f"enqueue ({name}): {rate:.0f} messages/s")
    if big is not None:
        peaks = [row.peak_mb or 0 for found in rounds for row in found.rows]
        print(
            f"worker peak memory: {max(peaks):.0f} MB at "
            f"{args.messages} queued, {big.peak_mb:.0f} MB at {args.memory_at} queued "
            f"({big.rate:.0f} msg/s)"
        )
    print(f"(bench: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB peak)")


if __name__ == "__main__":
    main()
