"""Hostile servers on loopback, and a way to measure what they cost the client.

:class:`HostileServer` listens on 127.0.0.1, port 0, and runs a script for each connection in a
thread of its own: a mail server that never ends a reply, sends a line without end, trickles
its greeting, or echoes the credentials it refuses; an HTTP service that never ends its answer
or trickles it. A script ends when the client hangs up or the server stops.

:func:`measure` runs one delivery against such a server in a new Python process and reports
how long it took and how much the process's peak resident memory grew: a client that keeps an
endless reply shows it there, whatever allocated the memory (Python, OpenSSL, the kernel's
socket buffers are not counted).
"""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


class Peer:
    """The server's side of one connection."""

    def __init__(self, conn: socket.socket, stopped: threading.Event) -> None:
        self.conn = conn
        self._stopped = stopped
        self._buffer = b""

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def send(self, data: bytes) -> None:
        self.conn.sendall(data)

    def line(self) -> bytes:
        """The client's next line (a command, a request line or a header), CRLF included."""
        while b"\n" not in self._buffer:
            if len(self._buffer) > 65536:
                raise ConnectionError("the client sent a line without end")
            chunk = self.conn.recv(4096)
            if not chunk:
                raise ConnectionError("the client hung up")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line + b"\n"

    def read(self, size: int) -> bytes:
        """Exactly ``size`` bytes from the client."""
        while len(self._buffer) < size:
            chunk = self.conn.recv(65536)
            if not chunk:
                raise ConnectionError("the client hung up")
            self._buffer += chunk
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def wait(self, seconds: float) -> None:
        self._stopped.wait(seconds)


Script = Callable[[Peer], None]


class HostileServer:
    """Runs ``script`` for each connection to ``port`` on 127.0.0.1.

    >>> with HostileServer(flood(b"220-")) as server:        # doctest: +SKIP
    ...     server.port
    """

    def __init__(self, script: Script) -> None:
        self.script = script
        self.connections = 0
        self._listener = socket.socket()
        self._stopped = threading.Event()
        self._threads: list[threading.Thread] = []
        self._conns: list[socket.socket] = []

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    def __enter__(self) -> HostileServer:
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen()
        self._listener.settimeout(0.1)
        accepting = threading.Thread(target=self._accept, daemon=True)
        accepting.start()
        self._threads.append(accepting)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped.set()
        for conn in self._conns:
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=5)
        for conn in self._conns:
            conn.close()
        self._listener.close()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                continue
            self.connections += 1
            self._conns.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(None)
        with suppress(OSError):  # the client hung up: the script is over
            self.script(Peer(conn, self._stopped))


# What a hostile server does when it is its turn to speak ---------------------------------------


def flood(line: bytes) -> Script:
    """Send ``line`` again and again: a reply that never ends, as fast as the client reads."""
    batch = line * max(1, 65536 // len(line))

    def act(peer: Peer) -> None:
        while not peer.stopped:
            peer.send(batch)

    return act


def endless_line(prefix: bytes) -> Script:
    """Send ``prefix``, then a line that never ends."""
    batch = b"x" * 65536

    def act(peer: Peer) -> None:
        peer.send(prefix)
        while not peer.stopped:
            peer.send(batch)

    return act


def trickle(text: bytes, every: float) -> Script:
    """Send ``text`` one byte every ``every`` seconds, and again, never ending the line."""

    def act(peer: Peer) -> None:
        while not peer.stopped:
            for byte in text:
                peer.send(bytes([byte]))
                peer.wait(every)
                if peer.stopped:
                    return

    return act


def said(reply: bytes) -> Script:
    """Send ``reply``, as a server that behaves."""
    return lambda peer: peer.send(reply)


# A mail server that misbehaves at one point of the dialogue -------------------------------------

GREETING = said(b"220 hostile.test ESMTP\r\n")
EHLO = said(b"250-hostile.test\r\n250-8BITMIME\r\n250 AUTH PLAIN LOGIN\r\n")
MAIL = said(b"250 2.1.0 Ok\r\n")


def smtp(
    *,
    greeting: Script = GREETING,
    ehlo: Script = EHLO,
    mail: Script = MAIL,
    auth: Callable[[Peer, bytes], None] | None = None,
) -> Script:
    """A mail server whose greeting, reply to EHLO or to MAIL FROM is the given script; the
    other commands get a plain answer. ``auth`` answers an AUTH command."""

    def dialogue(peer: Peer) -> None:
        greeting(peer)
        while not peer.stopped:
            command = peer.line()
            verb = command.split(b" ", 1)[0].strip().upper()
            if verb in (b"EHLO", b"HELO"):
                ehlo(peer)
            elif verb == b"MAIL":
                mail(peer)
            elif verb == b"AUTH" and auth is not None:
                auth(peer, command)
            elif verb == b"QUIT":
                peer.send(b"221 2.0.0 Bye\r\n")
                return
            elif verb == b"DATA":
                peer.send(b"354 go ahead\r\n")
                while peer.line() != b".\r\n":
                    pass
                peer.send(b"250 2.0.0 Ok: queued as H0STILE\r\n")
            else:
                peer.send(b"250 2.0.0 Ok\r\n")

    return dialogue


def echo_credentials(peer: Peer, command: bytes) -> None:
    """Refuse a login with 535, echoing every form of the credentials the client sent: the
    AUTH PLAIN response, AUTH LOGIN's base64 username and password, and the password decoded,
    in clear."""
    words = command.strip().split()
    if words[1].upper() == b"PLAIN":
        response = words[2] if len(words) > 2 else b""
        clear = base64.b64decode(response).split(b"\0")[-1]
        echoed = [b"AUTH PLAIN " + response, b"decoded: " + base64.b64decode(response)]
    else:
        peer.send(b"334 VXNlcm5hbWU6\r\n")
        user = peer.line().strip()
        peer.send(b"334 UGFzc3dvcmQ6\r\n")
        password = peer.line().strip()
        clear = base64.b64decode(password)
        echoed = [b"AUTH LOGIN " + user + b" " + password]
    lines = [*echoed, b"password " + clear + b" is wrong", b"5.7.8 Authentication failed"]
    peer.send(b"".join(b"535-" + line + b"\r\n" for line in lines[:-1]) + b"535 " + lines[-1])
    peer.send(b"\r\n")


# An HTTP email service that misbehaves in its answer --------------------------------------------


def http(body: Script, *, headers: bytes = b"") -> Script:
    """An HTTP service that reads a request and answers ``202`` with ``headers``, then lets
    ``body`` send the body."""

    def answer(peer: Peer) -> None:
        length = 0
        peer.line()  # the request line
        while (header := peer.line()) not in (b"\r\n", b"\n"):
            name, _, value = header.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        peer.read(length)
        peer.send(b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\n" + headers)
        peer.send(b"\r\n")
        body(peer)

    return answer


# Measuring a delivery in a process of its own ----------------------------------------------------


@dataclass(frozen=True)
class Measurement:
    seconds: float
    """From the first step of the delivery to its end (imports not counted)."""
    rss_growth: int
    """Bytes: the process's peak resident memory at the end, less its resident memory
    before the delivery started (an upper bound of what the delivery held at once)."""
    error: dict[str, Any] | None
    """The delivery's error as the test email reports it, or None when it succeeded."""

    @property
    def rss_growth_mb(self) -> float:
        return self.rss_growth / 1_000_000


def measure(path: str, *, port: int, timeout: float, within: float = 30) -> Measurement:
    """Deliver one message to 127.0.0.1 ``port`` in a new process, by ``path``: ``test-email``
    (the test email, watched step by step), ``send`` (``SmtpTransport.send``), ``worker``
    (the outbox's worker, on a new SQLite database) or ``http``
    (``HttpTransport.send``), the settings' timeout ``timeout`` seconds. The process is
    killed after ``within`` seconds, which fails the test."""
    request = json.dumps({"path": path, "port": port, "timeout": timeout})
    try:
        done = subprocess.run(
            [sys.executable, "-m", "tests.hostile", request],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=within,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"{path}: still running after {within} s") from exc
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    return Measurement(found["seconds"], found["rss_growth"], found["error"])


def _status(field: str) -> int:
    """A field of /proc/self/status in bytes (VmRSS, VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise LookupError(field)


def _prepare(path: str, port: int, timeout: float) -> Callable[[], dict[str, Any] | None]:
    """Everything before the delivery (imports, settings, the database); returns the
    delivery, which returns its error as the test email reports one (None: delivered)."""
    from barua.errors import BaruaError
    from barua.message import build_message
    from barua.settings import make_settings
    from barua.setup.diagnose import error_dict, run_test
    from barua.transports.delivery import open_transport

    if path == "http":
        settings = make_settings(
            protocol="http",
            http_service_url=f"http://127.0.0.1:{port}",
            reply_to="office@example.com",
            timeout=timeout,
        )
    else:
        settings = make_settings(
            host="127.0.0.1",
            port=port,
            security="none",
            email_address="shop@example.com",
            timeout=timeout,
        )
    message = build_message(settings, to=["jane@example.com"], subject="Ankara", text="Habari")

    def test_email() -> dict[str, Any] | None:
        # Watched step by step, as the command line and the web page watch it.
        report = run_test(
            settings, to="jane@example.com", observer=lambda event: None, check_deliverability=False
        )
        return None if report.error is None else error_dict(report.error)

    def send() -> dict[str, Any] | None:
        try:
            with open_transport(settings) as transport:
                transport.send(message)
        except BaruaError as exc:
            return error_dict(exc)
        return None

    if path == "test-email":
        return test_email
    if path != "worker":
        return send

    from barua.database.engine import database_url
    from barua.outbox import Outbox, Worker, WorkerConfig

    # A database of its own: nothing queued before is due again during the measurement.
    folder = tempfile.TemporaryDirectory(prefix="barua-")
    outbox = Outbox.open(database_url(None, home=Path(folder.name)))
    entry = outbox.enqueue(message)
    # Without its pause between failed connections, which is the worker's own choice.
    config = WorkerConfig(connections=1, max_connection_backoff=0.01)

    def work() -> dict[str, Any] | None:
        try:
            Worker(outbox, settings, config=config).run(once=True)
            [attempt] = outbox.attempts(entry.id)
        finally:
            outbox.close()
            folder.cleanup()
        if attempt.error_class is None:
            return None
        # What the outbox keeps of the error (it keeps no cause).
        return {"type": attempt.error_class, "step": attempt.step, "message": attempt.error}

    return work


def _child() -> None:
    request = json.loads(sys.argv[1])
    deliver = _prepare(request["path"], request["port"], request["timeout"])
    with suppress(OSError):  # a kernel without it: the peak so far stays, an upper bound
        Path("/proc/self/clear_refs").write_text("5")  # resets the peak resident memory
    before = _status("VmRSS")
    started = time.monotonic()
    error = deliver()
    seconds = time.monotonic() - started
    growth = _status("VmHWM") - before
    print(json.dumps({"seconds": seconds, "rss_growth": growth, "error": error}))


if __name__ == "__main__":
    _child()
