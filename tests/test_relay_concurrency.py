"""Many requests at once, on SQLite and on PostgreSQL (where several committers run side by
side): every message stored once, every repeat answered as the first, and two relays sharing
one database decide a Message-ID once between them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from barua.app import Barua, Environment
from tests.relay_server import mime, request, serve_relay
from tests.test_outbox_queue import pg_url, pg_user  # noqa: F401 - fixtures

CLIENTS = 12
MESSAGES = 30


@pytest.fixture(params=["sqlite", "postgresql"])
def environment(request: pytest.FixtureRequest, barua_home: Path) -> Iterator[Environment]:
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    yield Environment(home=barua_home, database_url=url)


def body(n: int) -> bytes:
    message_id = f"<many.{n}@duka.example>"
    return request(mime(message_id=message_id), message_id=message_id)


def hammer(urls: list[str], key: str) -> list[tuple[int, int, bool]]:
    """Every client posts every message (a message per client first, then all of them):
    (message, status, replayed) of each answer."""
    answers: list[tuple[int, int, bool]] = []
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS)

    def client(index: int) -> None:
        headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
        order = [(index + n) % MESSAGES for n in range(MESSAGES)]
        with httpx.Client(base_url=urls[index % len(urls)], timeout=30) as http:
            start.wait()
            for n in order:
                answer = http.post("/v1/messages", content=body(n), headers=headers)
                replayed = answer.headers.get("idempotent-replayed") == "true"
                with lock:
                    answers.append((n, answer.status_code, replayed))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def check(answers: list[tuple[int, int, bool]], barua: Barua) -> None:
    assert {status for _n, status, _r in answers} <= {202, 409}, answers
    fresh = sorted(n for n, status, replayed in answers if status == 202 and not replayed)
    assert fresh == list(range(MESSAGES))
    assert sum(barua.outbox.counts().values()) == MESSAGES


def test_many_clients_at_once_store_each_message_once(environment: Environment) -> None:
    with serve_relay(environment=environment) as relay:
        check(hammer([relay.url], relay.key), relay.barua)


def test_two_relays_on_one_database_decide_each_message_once(environment: Environment) -> None:
    with (
        serve_relay(environment=environment) as first,
        serve_relay(environment=environment, configured=False) as second,
    ):
        check(hammer([first.url, second.url], first.key), first.barua)
