"""``barua relay serve --processes N``: several processes answering on one port, the first one
delivering; one that dies started again, all stopped by one SIGTERM or by their parent's
death, and the counters of /metrics added up over all of them."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client import Counter

from barua.app import Barua, Environment
from barua.app.errors import AppError
from barua.outbox.status import MessageStatus
from barua.relay.processes import QUICK_ENDS, serve_processes
from tests.relay_server import mime, request, send_through
from tests.smtpd import SmtpServer
from tests.test_relay_cli import free_port


def children(pid: int) -> list[int]:
    """The processes ``pid`` started (Linux's /proc)."""
    found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return sorted(int(child) for child in found)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def wait_until(check: object, what: str, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


class RelayProcesses:
    """``barua relay serve --processes 2`` on a free port, with its temporary files in
    ``scratch`` (where its shared counters are)."""

    def __init__(self, scratch: Path, *, worker: bool = True) -> None:
        self.port = free_port()
        self.scratch = scratch
        args = ["--poll-interval", "0.05", "--lease", "2"] if worker else ["--no-worker"]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "barua", "relay", "serve", "--port", str(self.port),
             "--processes", "2", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**os.environ, "TMPDIR": str(scratch)},
        )  # fmt: skip
        self.url = f"http://127.0.0.1:{self.port}"
        wait_until(self._answering, "the relay did not start")
        wait_until(lambda: len(children(self.proc.pid)) == 2, "two processes did not start")

    def _answering(self) -> bool:
        assert self.proc.poll() is None, self.proc.stderr.read() if self.proc.stderr else ""
        try:
            return httpx.get(f"{self.url}/v1/health").status_code == 200
        except httpx.TransportError:
            return False

    def counter_files(self) -> list[Path]:
        """One file per process that has counted an answer."""
        return sorted(self.scratch.glob("barua-relay-metrics-*/counter_*.db"))

    def answers(self, code: str) -> float:
        text = httpx.get(f"{self.url}/metrics").text
        found = re.search(rf'^barua_relay_answers_total{{code="{code}"}} (\S+)$', text, re.M)
        return float(found[1]) if found else 0.0

    def stop(self) -> tuple[int, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        assert self.proc.stderr is not None
        return self.proc.returncode, self.proc.stderr.read().decode()


def configure(app: Barua, smarthost: SmtpServer) -> str:
    send_through(app, smarthost.port)
    app.update_relay_config(sending_address="noreply@relay.example")
    key, _made = app.create_relay_key("duka", senders=["@duka.example"])
    return key


def post_many(url: str, key: str, first: int, count: int, *, clients: int = 8) -> list[int]:
    """``count`` distinct messages from ``clients`` keep-alive connections at once."""
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}

    def client(numbers: range) -> list[int]:
        with httpx.Client(base_url=url, headers=headers) as http:
            return [
                http.post("/v1/messages", content=request(message_id=f"<{n}@duka.example>",
                          data=mime(message_id=f"<{n}@duka.example>"))).status_code
                for n in numbers
            ]  # fmt: skip

    shares = [range(first + i, first + count, clients) for i in range(clients)]
    with ThreadPoolExecutor(clients) as pool:
        return [status for answers in pool.map(client, shares) for status in answers]


def test_two_processes_answer_on_one_port_and_the_first_delivers_what_both_accepted(
    barua_home: Path, tmp_path: Path
) -> None:
    with SmtpServer(mode="plain") as smarthost, Barua(Environment.from_environ()) as app:
        key = configure(app, smarthost)
        relay = RelayProcesses(tmp_path)
        try:
            # Sixteen connections at once, spread by the kernel: all on one process would
            # happen once in 30,000 runs (each process keeps a file of its counters once it
            # has answered).
            posted = 32
            assert post_many(relay.url, key, 0, posted, clients=16) == [202] * posted
            assert len(relay.counter_files()) == 2, "one process answered every request"
            # Whichever process answers the scrape counts the answers of both.
            for _ in range(4):
                assert relay.answers("202") == posted
            wait_until(lambda: len(smarthost.messages) >= posted, "not everything was delivered")
            time.sleep(0.5)
            ids = sorted(
                re.search(rb"^Message-ID: (\S+)", m.data, re.M | re.I)[1].decode()  # type: ignore[index]
                for m in smarthost.messages
            )
            assert ids == sorted(f"<{n}@duka.example>" for n in range(posted))
            assert app.outbox.counts()[MessageStatus.SENT] == posted
        finally:
            code, said = relay.stop()
        assert code == 0, said
        assert "SIGTERM: answering the requests in flight, then stopping" in said
        assert not list(tmp_path.glob("barua-relay-metrics-*")), "the counters' files stayed"


def test_a_process_that_dies_is_started_again_and_one_sigterm_stops_them_all(
    barua_home: Path, tmp_path: Path
) -> None:
    with SmtpServer(mode="plain") as smarthost, Barua(Environment.from_environ()) as app:
        key = configure(app, smarthost)
    relay = RelayProcesses(tmp_path, worker=False)
    try:
        before = children(relay.proc.pid)
        os.kill(before[1], signal.SIGKILL)
        wait_until(
            lambda: len(children(relay.proc.pid)) == 2 and children(relay.proc.pid) != before,
            "the dead process was not started again",
        )
        assert post_many(relay.url, key, 0, 8, clients=4) == [202] * 8
        now = children(relay.proc.pid)
    finally:
        code, said = relay.stop()
    assert code == 0, said
    assert "relay process 2 ended with exit code -9; starting it again" in said
    assert not any(alive(pid) for pid in now), "a process outlived the relay"
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", relay.port), timeout=1).close()


def test_the_processes_stop_by_themselves_when_their_parent_is_killed(
    barua_home: Path, tmp_path: Path
) -> None:
    with Barua(Environment.from_environ()) as app:
        app.update_relay_config(sending_address="noreply@relay.example")
    relay = RelayProcesses(tmp_path, worker=False)
    orphans = children(relay.proc.pid)
    os.kill(relay.proc.pid, signal.SIGKILL)
    relay.proc.wait(timeout=10)
    wait_until(lambda: not any(alive(pid) for pid in orphans), "the processes went on alone")


def test_a_process_that_keeps_failing_at_its_start_stops_the_relay_with_an_error() -> None:
    def failing(_number: int) -> None:
        sys.exit(3)

    said: list[str] = []
    with pytest.raises(AppError) as caught:
        serve_processes(failing, processes=2, log=lambda t: said.append(t.render()))
    assert f"ended {QUICK_ENDS} times within seconds of its start (exit code 3)" in str(
        caught.value
    )
    assert caught.value.hint is not None and "printed above" in caught.value.hint
    assert "ended with exit code 3; starting it again" in said[0]
    # The children's way of counting stayed theirs: this process still counts in memory.
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    Counter("barua_test_answers", "A counter made after the relay stopped.", ["code"],
            registry=None).labels(code="202").inc()  # fmt: skip
