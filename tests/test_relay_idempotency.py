"""Section 7 (idempotency) and the rate and quota of a key (section 9), from a running relay:
a replay sends nothing again and counts against no limit, another message with the same
Message-ID is a conflict, a repeated request waits for the first or answers 409 in_progress,
and a record is forgotten after 24 hours."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import update

from barua.app.relay import RelayOptions
from barua.database.tables import relay_idempotency
from tests.relay_server import Relay, mime, request, serve_relay


def post(relay: Relay, body: bytes, key: str | None = None) -> httpx.Response:
    headers = {
        "content-type": "application/json",
        "authorization": f"Bearer {key or relay.key}",
    }
    return httpx.post(f"{relay.url}/v1/messages", content=body, headers=headers, timeout=30)


def entries(relay: Relay) -> int:
    return sum(relay.barua.outbox.counts().values())


def test_a_replay_answers_the_recorded_answer_and_queues_nothing(barua_home: Path) -> None:
    with serve_relay() as relay:
        first = post(relay, request())
        assert first.status_code == 202 and "idempotent-replayed" not in first.headers
        again = post(relay, request())
        assert again.status_code == 202 and again.headers["idempotent-replayed"] == "true"
        assert again.content == first.content
        assert entries(relay) == 1


def test_the_same_message_id_under_another_key_is_another_message(barua_home: Path) -> None:
    with serve_relay() as relay:
        other, _made = relay.barua.create_relay_key("second", senders=["@duka.example"])
        one, two = post(relay, request()).json(), post(relay, request(), key=other).json()
        assert one["id"] != two["id"]
        assert entries(relay) == 2


def test_a_record_is_forgotten_after_24_hours(barua_home: Path) -> None:
    with serve_relay() as relay:
        first = post(relay, request()).json()
        day_ago = time.time() - 24 * 3600 - 1
        with relay.barua.engine.begin() as conn:
            conn.execute(update(relay_idempotency).values(created_at=day_ago))
        again = post(relay, request())
        assert again.status_code == 202 and "idempotent-replayed" not in again.headers
        assert again.json()["id"] != first["id"]
        assert entries(relay) == 2


def test_a_repeated_request_during_the_first_answers_409_in_progress(barua_home: Path) -> None:
    relay_options = RelayOptions(wait_in_progress=0.3)
    with serve_relay(relay=relay_options) as relay:
        # Another writer holds the database: the first request waits for it, holding its
        # Message-ID; the second one, the same request, waits 0.3 s for it, then answers 409.
        database = relay.barua.database_url.removeprefix("sqlite:///")
        blocker = sqlite3.connect(database, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        answers: dict[str, httpx.Response] = {}
        first = threading.Thread(target=lambda: answers.setdefault("first", post(relay, request())))
        first.start()
        time.sleep(0.2)
        second = post(relay, request())
        blocker.execute("ROLLBACK")
        blocker.close()
        first.join(timeout=30)
        assert second.status_code == 409, second.text
        assert second.json()["error"]["code"] == "in_progress"
        assert int(second.headers["retry-after"]) >= 1
        assert answers["first"].status_code == 202
        third = post(relay, request())
        assert third.status_code == 202 and third.headers["idempotent-replayed"] == "true"
        assert entries(relay) == 1


def test_a_repeated_request_waits_for_the_first_and_replays_it(barua_home: Path) -> None:
    with serve_relay(relay=RelayOptions(wait_in_progress=10)) as relay:
        database = relay.barua.database_url.removeprefix("sqlite:///")
        blocker = sqlite3.connect(database, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        answers: list[httpx.Response] = []
        threads = [
            threading.Thread(target=lambda: answers.append(post(relay, request())))
            for _ in range(2)
        ]
        for thread in threads:
            thread.start()
        time.sleep(0.3)
        blocker.execute("ROLLBACK")
        blocker.close()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(a.status_code for a in answers) == [202, 202]
        assert sorted(a.headers.get("idempotent-replayed", "") for a in answers) == ["", "true"]
        assert answers[0].json()["id"] == answers[1].json()["id"]
        assert entries(relay) == 1


# Rate and quota ------------------------------------------------------------------------------


def test_429_rate_limited_with_retry_after_and_replays_still_answered(barua_home: Path) -> None:
    with serve_relay() as relay:
        key, _made = relay.barua.create_relay_key(
            "slow", senders=["@duka.example"], rate_per_minute=2
        )
        sent = [
            post(
                relay,
                request(mime(message_id=f"<r{n}@duka.example>"), message_id=f"<r{n}@duka.example>"),
                key=key,
            )
            for n in range(3)
        ]
        assert [a.status_code for a in sent] == [202, 202, 429]
        assert sent[2].json()["error"]["code"] == "rate_limited"
        assert "2 messages a minute" in sent[2].json()["error"]["message"]
        assert 20 <= int(sent[2].headers["retry-after"]) <= 31
        replay = post(
            relay,
            request(mime(message_id="<r0@duka.example>"), message_id="<r0@duka.example>"),
            key=key,
        )
        assert replay.status_code == 202 and replay.headers["idempotent-replayed"] == "true"
        assert entries(relay) == 2


def test_429_quota_exceeded_until_the_day_ends(barua_home: Path) -> None:
    with serve_relay() as relay:
        key, _made = relay.barua.create_relay_key("daily", senders=["@duka.example"], daily_quota=1)
        first = post(relay, request(), key=key)
        assert first.status_code == 202
        other = request(mime(message_id="<q2@duka.example>"), message_id="<q2@duka.example>")
        refused = post(relay, other, key=key)
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "quota_exceeded"
        now = datetime.now(UTC)
        midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        assert abs(int(refused.headers["retry-after"]) - (midnight - now).total_seconds()) < 5
        assert entries(relay) == 1
