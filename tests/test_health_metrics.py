"""/healthz, /readyz and /metrics as an operator's tools see them: a real worker delivering to
a real aiosmtpd, the web app behind a proxy, the relay counting its answers."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from barua.outbox import Outbox
from tests.conftest import home_url
from tests.relay_server import request
from tests.smtpd import SmtpServer
from tests.test_outbox_queue import invoice
from tests.test_serving_https import barua, free_port, running
from tests.test_worker_processes import FAST_FLAGS, environment


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    with SmtpServer(mode="plain") as smtp:
        smtp.recorder.refuse_recipients["nobody@example.com"] = "550 5.1.1 no such user"
        yield smtp


def scrape(port: int, **headers: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics, by name and labels."""
    answer = httpx.get(f"http://127.0.0.1:{port}/metrics", headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def until(check: object, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_workers_metrics_count_what_it_delivered(server: SmtpServer, barua_home: Path) -> None:
    with Outbox.open(home_url()) as outbox:
        for number in range(3):
            outbox.enqueue(invoice(number))
        outbox.enqueue(invoice(9, to=("nobody@example.com",)))
    port = free_port()
    env = environment(server)
    worker = subprocess.Popen(
        [str(Path(sys.executable).with_name("barua")), "worker", "--processes", "1",
         "--health-port", str(port), "--log-format", "json", *FAST_FLAGS],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        until(lambda: len(server.messages) == 3)
        until(lambda: scrape(port).get(_entries("failed")) == 1)
        found = scrape(port)
        assert found[_entries("sent")] == 3
        assert _entries("queued") not in found
        accepted = ("barua_delivery_attempts", _labels(cause="", outcome="accepted"))
        refused = ("barua_delivery_attempts", _labels(cause="RecipientRefused", outcome="failed"))
        assert found[accepted] == 3
        assert found.get(refused) == 1, {k: v for k, v in found.items() if "attempts" in k[0]}
        latency = {"business": "default"}
        assert found[("barua_delivery_latency_seconds_count", _labels(**latency))] == 3
        assert found[("barua_delivery_latency_seconds_bucket", _labels(le="+Inf", **latency))] == 3
        assert found[("barua_delivery_latency_seconds_bucket", _labels(le="60.0", **latency))] == 3
        assert 0 < found[("barua_delivery_latency_seconds_sum", _labels(**latency))] < 60
        assert not any(name == "barua_outbox_oldest_waiting_age_seconds" for name, _ in found)
        assert not any(name.startswith("barua_relay") for name, _ in found)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json() == {"status": "alive"}
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz")
        assert ready.status_code == 200
        assert ready.json()["status"] == "ready"
    finally:
        worker.terminate()
        _, errors = worker.communicate(timeout=30)
    assert worker.returncode == 0, errors
    events = [json.loads(line) for line in errors.splitlines()]
    assert events, "the worker said what it did"
    assert {event["event"] for event in events} == {"worker"}
    assert all({"time", "level", "message"} <= event.keys() for event in events)
    assert "Tafadhali pata ankara" not in errors  # a message's body is never logged


def _labels(**labels: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted({"business": "default", **labels}.items()))


def _entries(status: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return ("barua_outbox_entries", _labels(status=status))


def test_a_waiting_entry_shows_its_age_and_a_newer_schema_is_not_ready(barua_home: Path) -> None:
    with Outbox.open(home_url()) as outbox:
        outbox.enqueue(invoice(1))
    port = free_port()
    with running("serve", "--no-worker", port=port):
        time.sleep(1.1)
        found = scrape(port)
        assert found[_entries("queued")] == 1
        age = found[("barua_outbox_oldest_waiting_age_seconds", _labels())]
        assert 1 <= age < 60
        assert httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200
        with sqlite3.connect(barua_home / "barua.db") as db:
            db.execute(
                "INSERT INTO schema_migrations (version, description, applied_at) "
                "VALUES (99, 'from a newer barua', 0)"
            )
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz")
        assert ready.status_code == 503
        assert ready.json() == {
            "status": "not ready",
            "database": True,
            "schema": 99,
            "expected_schema": 6,
            "problem": "the database's schema is version 99, this barua's 6",
        }
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200


def test_metrics_are_for_loopback_and_a_trusted_proxys_headers_are_believed() -> None:
    port = free_port()
    with running("serve", "--no-worker", "--forwarded-allow-ips", "127.0.0.1", port=port):
        assert httpx.get(f"http://127.0.0.1:{port}/metrics").status_code == 200
        # Through the proxy, the client is the one it names: another machine.
        outside = {"X-Forwarded-For": "203.0.113.9"}
        assert httpx.get(f"http://127.0.0.1:{port}/metrics", headers=outside).status_code == 403
        # Health answers whatever the Host (a load balancer's check names no host of ours).
        probe = httpx.get(f"http://127.0.0.1:{port}/healthz", headers={"Host": "10.0.0.7"})
        assert probe.status_code == 200
    port = free_port()
    with running("serve", "--no-worker", "--forwarded-allow-ips", "10.0.0.5", port=port):
        forged = {"X-Forwarded-For": "203.0.113.9"}  # not from the proxy: not believed
        assert httpx.get(f"http://127.0.0.1:{port}/metrics", headers=forged).status_code == 200
    port = free_port()
    with running("serve", "--no-worker", "--forwarded-allow-ips", "127.0.0.1",
                 "--metrics-from", "203.0.113.0/24", port=port):  # fmt: skip
        allowed = {"X-Forwarded-For": "203.0.113.9"}
        assert httpx.get(f"http://127.0.0.1:{port}/metrics", headers=allowed).status_code == 200


def test_the_relay_counts_its_answers_by_code() -> None:
    assert barua("relay", "settings", "--sending-address", "noreply@relay.example").returncode == 0
    made = barua("relay", "keys", "create", "duka", "--sender", "@duka.example")
    assert made.returncode == 0, made.stderr
    key = made.stdout.splitlines()[0]
    port = free_port()
    with running("relay", "serve", "--no-worker", port=port):
        url = f"http://127.0.0.1:{port}/v1/messages"
        headers = {"Content-Type": "application/json", "Idempotency-Key": "one"}
        sent = httpx.post(
            url, content=request(), headers={**headers, "Authorization": f"Bearer {key}"}
        )
        assert sent.status_code == 202, sent.text
        for _ in range(2):
            keyless = httpx.post(url, content=request(), headers=headers)
            assert keyless.status_code == 401
        found = scrape(port)
        assert found[("barua_relay_answers_total", (("code", "202"),))] == 1
        assert found[("barua_relay_answers_total", (("code", "401"),))] == 2
        assert found[("barua_outbox_entries", (("business", "relay"), ("status", "queued")))] == 1
        assert httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200


def test_the_access_log_has_one_line_per_request_and_no_token_or_query() -> None:
    port = free_port()
    with running("serve", "--no-worker", "--access-log", "--log-format", "json",
                 port=port) as web:  # fmt: skip
        assert web.stdout is not None
        link = next(line.strip() for line in web.stdout if "/setup/" in line)
        token = link.rsplit("/", 1)[1]
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(base + f"/setup/{token}").status_code == 200
        assert httpx.get(base + "/login?next=/b/duka/outbox").status_code == 200
        # A path that would start a forged line of its own, were it written decoded.
        forged = httpx.get(base + '/b/x%0A{"event":"forged"}')
        assert forged.status_code in {303, 404}
        assert httpx.get(base + "/healthz").status_code == 200
        web.terminate()
        _, errors = web.communicate(timeout=30)
    events = [json.loads(line) for line in errors.splitlines()]  # every line one JSON object
    requests = [event for event in events if event["event"] == "request"]
    assert [(event["method"], event["path"], event["status"]) for event in requests] == [
        ("GET", "/setup/...", 200),
        ("GET", "/login", 200),
        ("GET", "/b/x%0A%7B%22event%22:%22forged%22%7D", forged.status_code),
    ]
    assert all(event["client"] == "127.0.0.1" and event["ms"] >= 0 for event in requests)
    assert token not in errors and "next=" not in errors and 'forged"' not in errors


def test_the_relay_writes_its_requests_as_text_lines() -> None:
    assert barua("relay", "settings", "--sending-address", "noreply@relay.example").returncode == 0
    port = free_port()
    with running("relay", "serve", "--no-worker", "--access-log", port=port) as relay:
        answer = httpx.post(f"http://127.0.0.1:{port}/v1/messages", content=request())
        assert answer.status_code == 401
        relay.terminate()
        _, errors = relay.communicate(timeout=30)
    assert re.search(r'^127\.0\.0\.1 "POST /v1/messages" 401 \d+\.\d ms$', errors, re.M), errors
