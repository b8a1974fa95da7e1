"""Several machines, one database: two web apps, two workers and a relay, each its own
process, port and home folder (as if on five machines), share one PostgreSQL and one
BARUA_SECRET_KEY. Documents pushed and emailed through either web app, and a message through
the relay, reach the SMTP server once each, whichever worker took them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from barua.app import Barua, Environment
from barua.database.engine import create_database_engine
from tests.relay_server import configure, request
from tests.smtpd import SmtpServer
from tests.test_outbox_queue import pg_url, pg_user  # noqa: F401 - fixtures

BARUA = str(Path(sys.executable).with_name("barua"))
INVOICE = Path(__file__).resolve().parent.parent / "examples" / "invoice.json"
DOCUMENTS = 4


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, process: subprocess.Popen[bytes], deadline: float) -> None:
    while True:
        assert process.poll() is None, f"{url} exited with {process.returncode}"
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{url} did not become ready"
        time.sleep(0.1)


@pytest.fixture
def machines(pg_url: str, tmp_path: Path) -> Iterator[dict[str, subprocess.Popen[bytes]]]:  # noqa: F811
    """The five processes, started; stopped with SIGTERM afterwards."""
    started: dict[str, subprocess.Popen[bytes]] = {}
    yield started
    for process in started.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for name, process in started.items():
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            pytest.fail(f"{name} did not stop on SIGTERM")


def test_a_document_emailed_through_either_web_app_is_delivered_once(
    pg_url: str,  # noqa: F811
    tmp_path: Path,
    machines: dict[str, subprocess.Popen[bytes]],
) -> None:
    secret_key = Fernet.generate_key().decode()
    with SmtpServer(mode="plain") as server:
        # What the operator does once, from any machine: the settings, an API token for the
        # business's program, the relay's sending address and a key.
        setup = Environment(home=tmp_path / "setup", database_url=pg_url, secret_key=secret_key)
        with Barua(setup) as admin:
            admin.save_settings(
                admin.business(),
                {"host": "127.0.0.1", "port": server.port, "security": "none",
                 "email_address": "duka@example.com"},
            )  # fmt: skip
            token, _made = admin.create_api_token(admin.business(), "uhasibu", created_by=None)
            relay_key = configure(admin, dkim=False)

        ports = {name: free_port() for name in ("web-1", "web-2", "relay")}
        commands = {
            "web-1": ["serve", "--no-worker", "--port", str(ports["web-1"])],
            "web-2": ["serve", "--no-worker", "--port", str(ports["web-2"])],
            "worker-1": ["worker", "--processes", "1", "--poll-interval", "0.1"],
            "worker-2": ["worker", "--processes", "1", "--poll-interval", "0.1"],
            "relay": ["relay", "serve", "--port", str(ports["relay"]), "--poll-interval", "0.1"],
        }
        for name, args in commands.items():
            env = {k: v for k, v in os.environ.items() if not k.startswith("BARUA_")}
            env.update(
                BARUA_HOME=str(tmp_path / name),  # each "machine" its own, empty, home
                BARUA_DATABASE_URL=pg_url,
                BARUA_SECRET_KEY=secret_key,
                BARUA_LANG="en",
            )
            machines[name] = subprocess.Popen(
                [BARUA, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        deadline = time.monotonic() + 60
        urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        for name, url in urls.items():
            wait_healthy(url, machines[name], deadline)

        webs = [
            httpx.Client(
                base_url=f"{urls[name]}/api/v1",
                headers={"authorization": f"Bearer {token}"},
                timeout=30,
            )
            for name in ("web-1", "web-2")
        ]
        invoice = json.loads(INVOICE.read_text())
        emails: dict[int, str] = {}
        for n in range(DOCUMENTS):
            pushing, emailing = webs[n % 2], webs[(n + 1) % 2]
            invoice["number"] = f"INV-{n + 1:04d}"
            pushed = pushing.post("/documents", json=invoice)
            assert pushed.status_code == 201, pushed.text
            document = pushed.json()["id"]
            emailed = emailing.post(f"/documents/{document}/email", json={})
            assert emailed.status_code == 202 and emailed.json()["new"], emailed.text
            emails[document] = emailed.json()["email"]["id"]
            # Asked again through the other web app: the same email, not a second one.
            again = pushing.post(f"/documents/{document}/email", json={})
            assert (again.json()["new"], again.json()["email"]["id"]) == (False, emails[document])
        for web in webs:
            web.close()
        relayed = httpx.post(
            f"{urls['relay']}/v1/messages",
            content=request(mail_from="office@duka.example", message_id="<r1@duka.example>"),
            headers={"authorization": f"Bearer {relay_key}", "content-type": "application/json"},
            timeout=30,
        )
        assert relayed.status_code == 202, relayed.text

        expected = DOCUMENTS + 1
        deadline = time.monotonic() + 60
        while len(server.messages) < expected:
            assert time.monotonic() < deadline, f"{len(server.messages)} of {expected} arrived"
            time.sleep(0.05)
        time.sleep(1)  # time enough for a second copy to arrive, were one sent
        arrived = [message.data for message in server.messages]

    assert len(arrived) == expected
    subjects = sorted(
        line for data in arrived for line in data.split(b"\r\n") if line.startswith(b"Subject:")
    )
    for n in range(DOCUMENTS):
        assert sum(f"INV-{n + 1:04d}".encode() in subject for subject in subjects) == 1, subjects
    message_ids = {
        line.split(b":", 1)[1].strip()
        for data in arrived
        for line in data.split(b"\r\n")
        if line.lower().startswith(b"message-id:")
    }
    assert len(message_ids) == expected, "no message arrived twice"

    engine = create_database_engine(pg_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT status, attempts FROM outbox_messages ORDER BY id")
            ).all()
            workers = set(
                conn.execute(text("SELECT DISTINCT worker FROM outbox_attempts")).scalars()
            )
    finally:
        engine.dispose()
    assert [tuple(row) for row in rows] == [("sent", 1)] * expected, "each sent in one attempt"
    assert workers, "the attempts name the worker that made them"
