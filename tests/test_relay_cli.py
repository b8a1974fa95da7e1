"""``barua relay`` as a person runs it: keys shown once and refused once disabled or revoked,
DKIM records generated and checked against a loopback DNS, --open only on loopback, and a
relay killed with SIGKILL right after its 202 that delivers the message once after restart."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from barua.app import Barua, Environment
from tests.dns_server import DnsServer
from tests.relay_server import mime, request
from tests.smtpd import SmtpServer


def barua(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "barua", *args],
        input=stdin.decode() if stdin else None,
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_a_key_is_printed_once_and_kept_hashed(barua_home: Path) -> None:
    made = barua("relay", "keys", "create", "duka", "--sender", "@duka.example",
                 "--rate", "60/min", "--daily-quota", "500")  # fmt: skip
    assert made.returncode == 0, made.stderr
    key = made.stdout.splitlines()[0]
    assert key.startswith("brk_") and len(key) == 36
    listed = barua("relay", "keys", "list")
    assert key not in listed.stdout and key[:8] in listed.stdout
    assert "@duka.example" in listed.stdout and "60/min 500/day" in listed.stdout
    database = (barua_home / "barua.db").read_bytes()
    assert key.encode() not in database
    for args, status in (("disable", "disabled"), ("revoke", "revoked")):
        assert barua("relay", "keys", args, "duka").returncode == 0
        assert status in barua("relay", "keys", "list").stdout
    again = barua("relay", "keys", "enable", "duka")
    assert again.returncode == 2 and "revoked for good" in again.stderr


def test_a_sender_that_is_neither_an_address_nor_a_domain_is_refused(barua_home: Path) -> None:
    done = barua("relay", "keys", "create", "x", "--sender", "duka.example")
    assert done.returncode == 2 and '"duka.example" is neither' in done.stderr
    rate = barua("relay", "keys", "create", "x", "--sender", "@duka.example", "--rate", "fast")
    assert rate.returncode == 2 and "--rate" in rate.stderr


def test_dkim_records_are_generated_and_checked(barua_home: Path, loopback_dns: DnsServer) -> None:
    assert barua("relay", "settings", "--sending-address", "noreply@relay.example").returncode == 0
    made = barua("relay", "dkim", "generate", "--domain", "relay.example", "--selector", "s1")
    assert made.returncode == 0, made.stderr
    lines = [line for line in made.stdout.splitlines() if " TXT " in line]
    assert lines[0].startswith('s1._domainkey.relay.example. TXT "v=DKIM1; k=rsa; p=')
    assert lines[1].startswith('relay.example. TXT "v=spf1 ')
    assert lines[2].startswith('_dmarc.relay.example. TXT "v=DMARC1; p=quarantine')
    missing = barua("relay", "dkim", "check")
    assert missing.returncode == 1 and missing.stdout.count("missing:") == 3
    with Barua(Environment.from_environ()) as app:
        for record in app.dns_records():
            loopback_dns.add(record.name, record.type, record.value)
    found = barua("relay", "dkim", "check")
    assert found.returncode == 0, found.stdout
    assert found.stdout.count("ok:") == 3
    assert b"PRIVATE KEY" not in (barua_home / "barua.db").read_bytes()


def test_open_mode_is_refused_off_loopback(barua_home: Path) -> None:
    done = barua("relay", "serve", "--open", "--host", "0.0.0.0")
    assert done.returncode == 2 and "loopback" in done.stderr


def test_open_mode_takes_one_process(barua_home: Path) -> None:
    # Its rate per client address is counted in one process: two would let twice as much by.
    done = barua("relay", "serve", "--open", "--processes", "2")
    assert done.returncode == 2 and "--open" in done.stderr and "--processes" in done.stderr


def test_serve_on_a_port_taken_says_so_once(barua_home: Path) -> None:
    with Barua(Environment.from_environ()) as app:
        app.update_relay_config(sending_address="noreply@relay.example")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = barua("relay", "serve", "--processes", "2", "--port", str(port))
    assert done.returncode == 2, done.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr and "Traceback" not in done.stderr


def test_serve_without_a_sending_address_says_what_to_do(barua_home: Path) -> None:
    done = barua("relay", "serve", "--port", "1")
    assert done.returncode == 2
    assert "barua relay settings --sending-address" in done.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_relay(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "barua", "relay", "serve", "--port", str(port),
         "--poll-interval", "0.05", "--lease", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "the relay did not start"
            time.sleep(0.05)


def test_killed_right_after_its_202_the_relay_delivers_once_after_restart(
    barua_home: Path,
) -> None:
    with SmtpServer(mode="plain") as smarthost, Barua(Environment.from_environ()) as app:
        app.save_settings(
            app.business(),
            {"host": "127.0.0.1", "port": smarthost.port, "security": "none",
             "email_address": "smarthost@relay.example"},
        )  # fmt: skip
        app.update_relay_config(sending_address="noreply@relay.example")
        key, _made = app.create_relay_key("duka", senders=["@duka.example"])
        # The SMTP server holds its answer, so the message is surely still queued when the
        # relay dies: it was accepted, and not yet delivered.
        smarthost.recorder.faults["MAIL"] = "HANG 1.5"
        smarthost.recorder.fault_counts["MAIL"] = 1
        port = free_port()
        relay = start_relay(port)
        headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
        body = request(mime())
        first = httpx.post(f"http://127.0.0.1:{port}/v1/messages", content=body, headers=headers)
        assert first.status_code == 202
        os.kill(relay.pid, signal.SIGKILL)
        relay.wait(timeout=10)
        relay = start_relay(port)
        try:
            # The client never read the first answer: it sends the same request again.
            again = httpx.post(
                f"http://127.0.0.1:{port}/v1/messages", content=body, headers=headers
            )
            assert again.status_code == 202 and again.headers["idempotent-replayed"] == "true"
            assert again.json()["id"] == first.json()["id"]
            deadline = time.monotonic() + 30
            while not smarthost.messages:
                assert time.monotonic() < deadline, "never delivered"
                time.sleep(0.05)
            time.sleep(1.0)
            assert len(smarthost.messages) == 1
        finally:
            relay.send_signal(signal.SIGTERM)
            relay.wait(timeout=30)


def test_the_next_hops_smtputf8_is_a_setting_shown_once_set(barua_home: Path) -> None:
    assert "smtputf8" not in barua("relay", "settings").stdout
    done = barua("relay", "settings", "--no-smtputf8")
    assert done.returncode == 0 and "smtputf8: no" in done.stdout
    assert "smtputf8: no" in barua("relay", "settings").stdout
    assert "smtputf8: yes" in barua("relay", "settings", "--smtputf8").stdout


def test_a_bad_open_rate_is_named(barua_home: Path) -> None:
    barua("relay", "settings", "--sending-address", "noreply@relay.example")
    done = barua("relay", "serve", "--open", "--open-rate", "fast", "--port", "1")
    assert done.returncode == 2
    assert '--open-rate "fast" is not a number of messages a minute' in done.stderr


def test_the_bounce_listener_names_a_port_it_cannot_take(barua_home: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = barua("relay", "bounce-listen", "--port", str(port))
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr and "--port" in done.stderr
