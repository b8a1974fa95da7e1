"""The relay's OpenAPI document: the one served is the one kept in the repository, and
schemathesis, generating requests from it (valid and not), never makes a running relay
answer 5xx, answer outside the document, or accept what the protocol forbids."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from barua.app import Environment
from barua.app.relay import RelayOptions
from tests.relay_server import Relay, serve_relay

OPENAPI = Path(__file__).resolve().parent.parent / "docs" / "api" / "relay-openapi.json"
schema = schemathesis.openapi.from_path(OPENAPI)


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Relay]:
    home = tmp_path_factory.mktemp("fuzzed-relay")
    with serve_relay(
        environment=Environment(home=home), relay=RelayOptions(max_message_size=200_000)
    ) as served:
        yield served


def test_the_served_document_is_the_one_kept(relay: Relay) -> None:
    served = httpx.get(f"{relay.url}/openapi.json", timeout=10).json()
    assert served == json.loads(OPENAPI.read_text(encoding="utf-8")), (
        "run scripts/update-relay-openapi"
    )


@schema.parametrize()
@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_request_makes_the_relay_fail_or_accept_what_it_must_not(
    case: schemathesis.Case, relay: Relay
) -> None:
    for key in (relay.key, None):
        headers = {"authorization": f"Bearer {key}"} if key else {}
        response = case.call(base_url=relay.url, headers=headers, timeout=10)
        case.validate_response(
            response,
            checks=[
                not_a_server_error,
                status_code_conformance,
                content_type_conformance,
                response_schema_conformance,
            ],
        )
        if response.status_code == 202:
            # Accepted: then it was a message the protocol allows, from a sender the key has.
            body = case.body
            assert isinstance(body, dict) and key is not None
            mime = base64.b64decode(body["mime"], validate=True)
            assert b"From:" in mime and body["envelope"]["mail_from"].endswith("@duka.example")
