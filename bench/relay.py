"""The relay's durable acceptance, side by side with Postfix's own, in one run.

    bench/outbox-install-deps && tests/postfix/install-deps   # Postfix, smtp-source
    .venv/bin/python bench/relay.py                            # --help for the options

barua: ``barua relay serve --no-worker --processes N`` (1 or 2, SQLite in a fresh home or a
PostgreSQL schema made for the run and dropped after), and clients on loopback, each with one
keep-alive connection (all of them on one event loop, writing requests made before the clock
starts, as light as ``smtp-source`` is for Postfix), posting distinct messages of about 20 KB
and 200 KB (a text and a PDF, built once by barua and each given its own Message-ID) through
``POST /v1/messages``.
Every 202 comes after the message and its idempotency record are committed (SQLite
``synchronous=FULL``, PostgreSQL ``synchronous_commit=on``); the run checks the outbox holds
exactly as many messages as were accepted. Latency is per request, from the client's first
byte to the answer's last.

Postfix: a real Postfix (``tests/postfix/start-postfix``) with its queue on disk and delivery
deferred (``defer_transports``), fed by ``smtp-source`` with as many sessions as barua has
clients and messages of the same size: its durable acceptance (Postfix syncs each queue file
before its 250). On a machine shared with other work the rates drift by a factor of two within
minutes, so Postfix is measured again right before each barua run, with the same size and
sessions: each barua row is compared with that run, and with the median of Postfix's runs of
that size and sessions (the Postfix rows give those medians).
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
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from outbox_bulk import PG_ADMIN, scratch_outbox

from barua.app import Barua, Environment
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
    """Postfix's rate measured right before this run, with the same size and sessions."""

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
         "--processes", str(processes)],
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


def barua_runs(
    args: argparse.Namespace, postgres: str | None, processes: int, postfix: Postfix | None
) -> list[Run]:
    runs = []
    database = "PostgreSQL" if postgres else "SQLite"
    with scratch_outbox(postgres) as (home, url):
        env = {k: v for k, v in os.environ.items() if not k.startswith("BARUA_")}
        env["BARUA_HOME"] = str(home)
        if url:
            env["BARUA_DATABASE_URL"] = url
        with Barua(Environment(home=home, database_url=url)) as app:
            app.update_relay_config(sending_address="noreply@relay.example")
            app.generate_dkim(domain="relay.example", selector="bench")
            key, _made = app.create_relay_key("bench", senders=["@duka.example"])
        relay, port = start_relay(env, processes)
        try:
            for size_name, size in SIZES.items():
                count = args.messages if size < 100_000 else max(args.messages // 4, 1)
                for clients in args.clients:
                    requests = bodies(count, size)
                    post_all(port, key, bodies(min(8, count), size), min(clients, 2))  # warm up
                    anchor = postfix.run(size_name, clients, count) if postfix else None
                    seconds, latencies = post_all(port, key, requests, clients)
                    plural = "es" if processes > 1 else ""
                    name = f"barua relay, {database}, {processes} process{plural}"
                    runs.append(
                        Run(name, size_name, clients, count, seconds, latencies,
                            anchor.rate if anchor else None)
                    )  # fmt: skip
                    print(
                        f"  {name}, {size_name}, {clients} clients: {count / seconds:.0f}/s",
                        flush=True,
                    )
        finally:
            relay.terminate()
            relay.wait(timeout=30)
        with Barua(Environment(home=home, database_url=url)) as app:
            stored = sum(app.outbox.counts().values())
        expected = sum(r.messages for r in runs) + sum(min(8, r.messages) for r in runs)
        if stored != expected:
            raise SystemExit(f"{database}: {stored} messages stored, {expected} accepted")
    return runs


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

    def medians(self) -> list[Run]:
        """A row per size and sessions: the run of median rate."""
        rows = []
        for size_name in SIZES:
            for clients in sorted({r.clients for r in self.runs}):
                same = sorted(
                    (r for r in self.runs if (r.size, r.clients) == (size_name, clients)),
                    key=lambda r: r.rate,
                )
                if same:
                    rows.append(same[len(same) // 2])
        return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--messages", type=int, default=1000, help="20 KB messages a run (200 KB: a quarter)"
    )
    parser.add_argument("--clients", default="1,4,16", help="comma-separated client counts")
    parser.add_argument("--processes", default="1,2", help="comma-separated relay process counts")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-postfix", action="store_true")
    parser.add_argument("--postgres-url", default=PG_ADMIN)
    args = parser.parse_args()
    args.clients = [int(c) for c in args.clients.split(",")]
    processes = [int(p) for p in args.processes.split(",")]
    large = max(args.messages // 4, 1)
    print(f"{os.cpu_count()} CPU cores; {args.messages} messages of 20 KB a run, {large} of 200 KB")
    runs: list[Run] = []
    with contextlib.ExitStack() as stack:
        postfix = None if args.no_postfix else stack.enter_context(Postfix())
        for count in processes:
            runs += barua_runs(args, None, count, postfix)
            if not args.no_postgres:
                runs += barua_runs(args, args.postgres_url, count, postfix)
        anchors = postfix.medians() if postfix else []
    print()
    median = {(r.size, r.clients): r.rate for r in anchors}
    print(
        "| run | size | clients | accepts/s | p50 ms | p99 ms "
        "| x Postfix (run before) | x Postfix (median) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in anchors + runs:
        p50, p99 = r.percentile(0.5), r.percentile(0.99)
        before = 1.0 if r.name == POSTFIX else (r.rate / r.anchor if r.anchor else None)
        typical = median.get((r.size, r.clients))
        ratio = r.rate / typical if typical else None
        print(
            f"| {r.name} | {r.size} | {r.clients} | {r.rate:,.0f} "
            f"| {'-' if p50 is None else f'{p50:.1f}'} | {'-' if p99 is None else f'{p99:.1f}'} "
            f"| {'-' if before is None else f'{before:.2f}x'} "
            f"| {'-' if ratio is None else f'{ratio:.2f}x'} |"
        )


if __name__ == "__main__":
    main()
