"""The relay's durable acceptance, side by side with Postfix's own, in one run.

    bench/outbox-install-deps && tests/postfix/install-deps   # Postfix, smtp-source
    .venv/bin/python bench/relay.py                            # --help for the options

barua: ``barua relay serve --no-worker`` (``--processes 2`` for the two-process rows; SQLite
in a fresh home or a PostgreSQL schema made for the run and dropped after), and clients on
loopback, each with one keep-alive connection (all of them on one event loop, writing
requests made before the clock starts, as light as ``smtp-source`` is for Postfix), posting
distinct messages of about 20 KB and 200 KB (a text and a PDF, built once by barua and each
given its own Message-ID) through ``POST /v1/messages``.
Every 202 comes after the message and its idempotency record are committed (SQLite
``synchronous=FULL``, PostgreSQL ``synchronous_commit=on``); the run checks each outbox holds
exactly as many messages as were accepted. Latency is per request, from the client's first
byte to the answer's last.

Postfix: a real Postfix (``tests/postfix/start-postfix``) with its queue on disk and delivery
deferred (``defer_transports``), fed by ``smtp-source`` with as many sessions as barua has
clients and messages of the same size: its durable acceptance (Postfix syncs each queue file
before its 250).

On a machine shared with other work the rates drift by a factor of two within minutes, so
every relay is started first, and the run is made of rounds: in each, for every size and
number of clients, Postfix is measured and then each relay, in an order that turns from one
round to the next. A row shows the median rate of its rounds, the latencies of all its
requests, and the median of its rounds' ratios to Postfix's run of the same round. With
``--baseline-src DIR`` (the ``src`` of another checkout, for example a ``git worktree`` of an
earlier commit), that barua's relay is measured in every round too, one process per
database, and each row of this one's gets the median ratio to it.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from outbox_bulk import PG_ADMIN, scratch_outbox
from sqlalchemy import create_engine

from barua.database.engine import database_url
from barua.message import Attachment, build_message
from barua.settings import make_settings

ROOT = Path(__file__).resolve().parent.parent
BARUA = str(Path(sys.executable).with_name("barua"))
START_POSTFIX = ROOT / "tests" / "postfix" / "start-postfix"
SIZES = {"20 KB": 20_000, "200 KB": 200_000}


@dataclass
class Run:
    name: str
    size: str
    clients: int
    messages: int
    seconds: float
    latencies: list[float] | None = None
    anchor: float | None = None
    """Postfix's rate measured in the same round, with the same size and sessions."""
    round: int = 0

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    def percentile(self, p: float) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bodies(count: int, size: int) -> list[bytes]:
    """``count`` requests of about ``size`` bytes of MIME, each its own Message-ID."""
    settings = make_settings(
        protocol="http", http_service_url="http://127.0.0.1:1", reply_to="office@duka.example",
        sender_name="Duka la Mama",
    )  # fmt: skip
    pdf = b"%PDF-1.7\n" + os.urandom(max(0, size * 3 // 4 - 1500)) + b"\n%%EOF\n"
    template = build_message(
        settings, to=["jane@example.com"], subject="Ankara INV-0042",
        text="Habari Jane,\n\nTafadhali pata ankara yako.\n",
        attachments=[Attachment("INV-0042.pdf", pdf)],
    )  # fmt: skip
    made = []
    for n in range(count):
        message_id = f"<bench.{n}.{secrets.token_hex(6)}@duka.example>"
        data = template.data.replace(template.message_id.encode(), message_id.encode(), 1)
        message = replace(template, message_id=message_id, data=data)
        made.append(
            json.dumps(
                {
                    "envelope": {
                        "mail_from": message.sender,
                        "recipients": list(message.recipients),
                    },
                    "message_id": message_id,
                    "mime": base64.b64encode(message.data).decode(),
                }
            ).encode()
        )
    return made


def start_relay(env: dict[str, str], processes: int) -> tuple[subprocess.Popen[bytes], int]:
    """``barua relay serve --processes N`` on a free port, answering."""
    port = free_port()
    proc = subprocess.Popen(
        [BARUA, "relay", "serve", "--no-worker", "--port", str(port),
         *(["--processes", str(processes)] if processes > 1 else [])],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                said = proc.stderr.read().decode() if proc.stderr else ""
                raise SystemExit(f"the relay did not start: {said}") from None
            time.sleep(0.05)


def post_all(port: int, key: str, requests: list[bytes], clients: int) -> tuple[float, list[float]]:
    """Seconds for every request, and each request's latency; every answer must be 202.

    The clients are as light as ``smtp-source`` is for Postfix: one event loop, each client
    a keep-alive connection writing requests made before the clock starts and reading the
    answer's head and body, so the machine's cores go to the relay, not to the clients."""
    head = (
        "POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
    )
    made = [f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body for body in requests]
    shares = [made[i::clients] for i in range(clients)]
    latencies: list[float] = []
    failures: list[str] = []

    async def client(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, share: list[bytes]
    ) -> None:
        for request in share:
            began = time.perf_counter()
            writer.write(request)
            answer = await reader.readuntil(b"\r\n\r\n")
            length = int(answer.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - began)
            if answer[9:12] != b"202":
                failures.append(answer[9:12].decode())
        writer.close()

    async def everyone() -> float:
        # Every connection open before the clock starts.
        connections = await asyncio.gather(
            *(asyncio.open_connection("127.0.0.1", port) for _ in range(clients))
        )
        for _reader, writer in connections:
            writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        began = time.perf_counter()
        pairs = zip(connections, shares, strict=True)
        await asyncio.gather(*(client(reader, writer, share) for (reader, writer), share in pairs))
        return time.perf_counter() - began

    seconds = asyncio.run(everyone())
    if failures:
        raise SystemExit(f"{len(failures)} requests were not accepted: {failures[:5]}")
    return seconds, latencies


@dataclass
class Subject:
    """A relay under test: ``barua relay serve`` on a free port with its own outbox, from this
    checkout or, for a baseline, from another barua's source tree."""

    name: str
    env: dict[str, str]
    home: Path
    url: str | None
    processes: int
    key: str = ""
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    posted: int = 0

    def barua(self, *args: str) -> str:
        done = subprocess.run(
            [BARUA, *args], env=self.env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise SystemExit(f"{self.name}: barua {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def start(self) -> None:
        """Configured through the command line (a baseline's own schema), then serving."""
        self.barua("relay", "settings", "--sending-address", "noreply@relay.example")
        self.barua("relay", "dkim", "generate", "--domain", "relay.example", "--selector", "b")
        made = self.barua("relay", "keys", "create", "bench", "--sender", "@duka.example")
        self.key = made.splitlines()[0].strip()
        self.proc, self.port = start_relay(self.env, self.processes)

    def post(self, requests: list[bytes], clients: int) -> tuple[float, list[float]]:
        self.posted += len(requests)
        return post_all(self.port, self.key, requests, clients)

    def stop_and_count(self) -> None:
        """Stopped; the run fails unless its outbox holds every message it accepted."""
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        engine = create_engine(database_url(self.url, home=self.home))
        try:
            with engine.connect() as conn:
                stored = conn.exec_driver_sql("SELECT count(*) FROM outbox_messages").scalar()
        finally:
            engine.dispose()
        if stored != self.posted:
            raise SystemExit(f"{self.name}: {stored} messages stored, {self.posted} accepted")


def subjects(
    stack: contextlib.ExitStack, args: argparse.Namespace, processes: list[int]
) -> list[Subject]:
    """Every relay the run measures, each started (one after the other: two starting at once
    on a new PostgreSQL schema would both look at its version)."""
    made = []
    databases = [None] if args.no_postgres else [None, args.postgres_url]
    trees = [("barua relay", None)]
    if args.baseline_src:
        trees.append(("baseline", str(Path(args.baseline_src).resolve())))
    for label, source in trees:
        for count in [1] if source else processes:
            for postgres in databases:
                home, url = stack.enter_context(scratch_outbox(postgres))
                env = {k: v for k, v in os.environ.items() if not k.startswith("BARUA_")}
                env["BARUA_HOME"] = str(home)
                if url:
                    env["BARUA_DATABASE_URL"] = url
                if source:
                    env["PYTHONPATH"] = source
                database = "PostgreSQL" if postgres else "SQLite"
                plural = "es" if count > 1 else ""
                name = f"{label}, {database}, {count} process{plural}"
                subject = Subject(name, env, home, url, count)
                stack.callback(subject.stop_and_count)
                subject.start()
                made.append(subject)
    return made


POSTFIX = "Postfix smtpd, queue on disk (smtp-source)"


class Postfix:
    """A real Postfix on loopback, its queue on disk and delivery deferred, for as long as the
    ``with`` block lasts; :meth:`run` measures its acceptance once."""

    def __init__(self) -> None:
        self.runs: list[Run] = []
        self._folder = Path(tempfile.mkdtemp(prefix="postfix.", dir="/tmp"))
        self._instance = self._folder / "instance"
        self._port = 0

    def __enter__(self) -> Postfix:
        folder = self._folder
        os.chmod(folder, 0o755)
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
             "-subj", "/CN=localhost", "-keyout", str(folder / "key.pem"),
             "-out", str(folder / "cert.pem")],
            check=True, capture_output=True,
        )  # fmt: skip
        ports = [free_port() for _ in range(3)]
        subprocess.run(
            [str(START_POSTFIX), "start", str(self._instance), "--cert", str(folder / "cert.pem"),
             "--key", str(folder / "key.pem"), "--smtps-port", str(ports[0]),
             "--submission-port", str(ports[1]), "--plain-port", str(ports[2]),
             "--message-size-limit", "50000000"],
            check=True, capture_output=True,
        )  # fmt: skip
        self._port = ports[2]
        conf = self._instance / "etc"
        # Queue on disk, delivery deferred: what is measured is the acceptance alone.
        subprocess.run(
            ["postconf", "-c", str(conf), "-e", "defer_transports = virtual"], check=True
        )
        subprocess.run(["postfix", "-c", str(conf), "reload"], check=True, capture_output=True)
        time.sleep(1)
        return self

    def __exit__(self, *exc: object) -> None:
        subprocess.run(
            [str(START_POSTFIX), "stop", str(self._instance)], capture_output=True, check=False
        )
        shutil.rmtree(self._folder, ignore_errors=True)

    def run(self, size_name: str, clients: int, count: int) -> Run:
        """``count`` messages of ``size_name`` over ``clients`` sessions of ``smtp-source``."""
        source = shutil.which("smtp-source") or "/usr/sbin/smtp-source"
        began = time.perf_counter()
        subprocess.run(
            [source, "-s", str(clients), "-m", str(count), "-l", str(SIZES[size_name]),
             "-f", "office@duka.example", "-t", "jane@example.com", f"127.0.0.1:{self._port}"],
            check=True,
        )  # fmt: skip
        run = Run(POSTFIX, size_name, clients, count, time.perf_counter() - began)
        self.runs.append(run)
        print(f"  Postfix, {size_name}, {clients} sessions: {run.rate:.0f}/s", flush=True)
        return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--messages", type=int, default=1000, help="20 KB messages a run (200 KB: a quarter)"
    )
    parser.add_argument("--clients", default="1,4,16", help="comma-separated client counts")
    parser.add_argument("--processes", default="1,2", help="comma-separated relay process counts")
    parser.add_argument("--rounds", type=int, default=3, help="every run this many times")
    parser.add_argument(
        "--baseline-src",
        metavar="DIR",
        help="also measure the relay of another barua's source tree (its src/, one process)",
    )
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-postfix", action="store_true")
    parser.add_argument("--postgres-url", default=PG_ADMIN)
    args = parser.parse_args()
    args.clients = [int(c) for c in args.clients.split(",")]
    processes = [int(p) for p in args.processes.split(",")]
    large = max(args.messages // 4, 1)
    print(
        f"{os.cpu_count()} CPU cores; {args.messages} messages of 20 KB a run, {large} of "
        f"200 KB; {args.rounds} rounds"
    )
    runs: list[Run] = []
    with contextlib.ExitStack() as stack:
        postfix = None if args.no_postfix else stack.enter_context(Postfix())
        relays = subjects(stack, args, processes)
        for number in range(args.rounds):
            # Each round in another order: none is always the first after Postfix.
            turn = relays[number % len(relays) :] + relays[: number % len(relays)]
            for size_name, size in SIZES.items():
                count = args.messages if size < 100_000 else large
                for clients in args.clients:
                    requests = bodies(count, size)  # new Message-IDs for every round
                    warm = bodies(min(8, count), size)
                    anchor = postfix.run(size_name, clients, count) if postfix else None
                    for relay in turn:
                        relay.post(warm, min(clients, 2))
                        seconds, latencies = relay.post(requests, clients)
                        runs.append(
                            Run(relay.name, size_name, clients, count, seconds, latencies,
                                anchor.rate if anchor else None, number)
                        )  # fmt: skip
                        print(
                            f"  round {number + 1}: {relay.name}, {size_name}, {clients} "
                            f"clients: {count / seconds:.0f}/s",
                            flush=True,
                        )
    print()
    print_table((postfix.runs if postfix else []) + runs)


def print_table(runs: list[Run]) -> None:
    """A row per relay, size and clients: the median rate of its rounds, the latencies of all
    its requests, and the medians of its rounds' ratios (each to the Postfix run and the
    baseline run of the same round)."""
    print("| run | size | clients | accepts/s | p50 ms | p99 ms | x Postfix | x baseline |")
    print("|---|---|---|---|---|---|---|---|")
    names = list(dict.fromkeys(r.name for r in runs))
    for name in names:
        for size_name in SIZES:
            for clients in sorted({r.clients for r in runs}):
                same = [
                    r for r in runs if (r.name, r.size, r.clients) == (name, size_name, clients)
                ]
                if not same:
                    continue
                rate = statistics.median(r.rate for r in same)
                latencies = [t for r in same for t in r.latencies or []]
                pooled = Run(name, size_name, clients, 1, 1.0, latencies)
                p50, p99 = pooled.percentile(0.5), pooled.percentile(0.99)
                postfix = [r.rate / r.anchor for r in same if r.anchor]
                if name == POSTFIX:
                    postfix = [1.0]
                baseline_name = name.replace("barua relay,", "baseline,", 1)
                baseline = {
                    r.round: r.rate for r in runs
                    if (r.name, r.size, r.clients) == (baseline_name, size_name, clients)
                }  # fmt: skip
                versus = [r.rate / baseline[r.round] for r in same if r.round in baseline]
                print(
                    f"| {name} | {size_name} | {clients} | {rate:,.0f} "
                    f"| {_ms(p50)} | {_ms(p99)} | {_times(postfix)} "
                    f"| {_times(versus if name != baseline_name else [])} |"
                )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _times(ratios: list[float]) -> str:
    return f"{statistics.median(ratios):.2f}x" if ratios else "-"


if __name__ == "__main__":
    main()
