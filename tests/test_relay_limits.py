"""The relay's open mode limited per client address, its refusal of what needs SMTPUTF8 when
the next hop does not offer it (section 6.8), and its periodic deletion of idempotency
records past their 24 hours (section 7)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
from sqlalchemy import func, select

from barua.app import Barua, Environment
from barua.app.relay import Prepared, RelayKey, RelayOptions
from barua.database.tables import relay_idempotency
from barua.store import relay as stored
from tests.relay_server import Relay, configure, mime, request, serve_relay


def post(
    relay: Relay, body: bytes, *, key: str | None = None, source: str = "127.0.0.1"
) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if key is not None:
        headers["authorization"] = f"Bearer {key}"
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(transport=transport, timeout=10) as client:
        return client.post(f"{relay.url}/v1/messages", content=body, headers=headers)


def numbered(n: int) -> bytes:
    message_id = f"<open.{n}@duka.example>"
    return request(mime(message_id=message_id), message_id=message_id)


def test_open_mode_limits_each_client_address_and_replays_past_the_limit(
    barua_home: Path,
) -> None:
    options = RelayOptions(open=True, open_rate_per_minute=2)
    with serve_relay(relay=options) as relay:
        assert [post(relay, numbered(n)).status_code for n in (1, 2)] == [202, 202]
        limited = post(relay, numbered(3))
        assert limited.status_code == 429, limited.text
        assert limited.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(limited.headers["retry-after"]) <= 30
        replay = post(relay, numbered(1))
        assert replay.status_code == 202 and replay.headers["idempotent-replayed"] == "true"
        # Another address on this machine has its own allowance; a key is not limited by it.
        assert post(relay, numbered(3), source="127.0.0.2").status_code == 202
        assert post(relay, numbered(4), key=relay.key).status_code == 202
        assert sum(relay.barua.outbox.counts().values()) == 4


def test_open_mode_without_a_limit_takes_everything(barua_home: Path) -> None:
    options = RelayOptions(open=True, open_rate_per_minute=None)
    with serve_relay(relay=options) as relay:
        assert {post(relay, numbered(n)).status_code for n in range(5)} == {202}


def test_a_decision_run_again_after_its_group_failed_takes_the_address_rate_once(
    barua_home: Path,
) -> None:
    # The committer runs a group's decisions again when one of them failed (its transaction
    # rolled back): a request that had taken the address's last message of the minute is
    # still accepted the second time, and the minute's allowance is still spent.
    with Barua(Environment.from_environ()) as barua:
        configure(barua)
        service = barua.relay_service(RelayOptions(open=True, open_rate_per_minute=1))
        try:
            key = service.authenticate(None)
            assert isinstance(key, RelayKey)
            first = service.prepare(key, numbered(1), client="127.0.0.1")
            assert isinstance(first, Prepared)
            with barua.outbox.engine.connect() as conn:
                assert first.decide(conn).status == 202
                conn.rollback()
                again = first.decide(conn)
                assert again.status == 202, again.body
                conn.commit()
            second = service.prepare(key, numbered(2), client="127.0.0.1")
            assert isinstance(second, Prepared)
            assert asyncio.run(service.accept(second)).status == 429
        finally:
            service.close()
        assert sum(barua.outbox.counts().values()) == 1


def test_what_needs_smtputf8_is_refused_with_553_when_the_next_hop_lacks_it(
    barua_home: Path,
) -> None:
    with Barua(Environment.from_environ()) as barua:
        barua.update_relay_config(smtputf8=False)
    with serve_relay() as relay:
        both = request(recipients=["jane@example.com", "jåne@example.com"])
        answer = post(relay, both, key=relay.key)
        assert answer.status_code == 202, answer.text
        assert answer.json()["accepted"] == ["jane@example.com"]
        refusal = answer.json()["refused"]["jåne@example.com"]
        assert refusal["code"] == 553 and refusal["message"].startswith("5.6.7")
        # UTF-8 in a header (RFC 6532): the message itself needs SMTPUTF8.
        utf8 = mime(message_id="<2@duka.example>", extra="X-Mteja: Jåne\r\n".encode())
        whole = post(relay, request(utf8, message_id="<2@duka.example>"), key=relay.key)
        assert whole.status_code == 422, whole.text
        error = whole.json()["error"]
        assert error["code"] == "recipients_refused"
        assert error["refused"]["jane@example.com"]["code"] == 553
        assert sum(relay.barua.outbox.counts().values()) == 1


def test_what_needs_smtputf8_is_taken_when_the_next_hop_may_offer_it(barua_home: Path) -> None:
    with serve_relay() as relay:
        both = request(recipients=["jane@example.com", "jåne@example.com"])
        answer = post(relay, both, key=relay.key)
        assert answer.status_code == 202, answer.text
        assert answer.json()["accepted"] == ["jane@example.com", "jåne@example.com"]


def decisions(relay: Relay) -> int:
    with relay.barua.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(relay_idempotency)).scalar_one())


def test_idempotency_records_past_24_hours_are_deleted_periodically(barua_home: Path) -> None:
    with serve_relay(purge_every=0.2) as relay:
        old = time.time() - stored.IDEMPOTENCY_WINDOW - 60
        with relay.barua.engine.begin() as conn:
            for n in range(3):
                stored.record(
                    conn, 1, f"<old.{n}@duka.example>", fingerprint="f", status=202,
                    answer=b"{}", now=old,
                )  # fmt: skip
        assert post(relay, numbered(1), key=relay.key).status_code == 202
        deadline = time.monotonic() + 10
        while decisions(relay) != 1:
            assert time.monotonic() < deadline, "the old records were not deleted"
            time.sleep(0.05)
        # The fresh one is kept: its replay still answers as the first time.
        replay = post(relay, numbered(1), key=relay.key)
        assert replay.headers["idempotent-replayed"] == "true"
