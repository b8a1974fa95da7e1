"""The ``postfix`` fixture: one real Postfix on loopback for the whole test session.

Import it into a conftest (``from tests.postfix_fixtures import postfix``). Postfix presents a
self-signed certificate made for the session (``postfix.certificate``): no test CA vouches for
it, so a client trusts it only when given that certificate itself, or its fingerprint to pin.

Without Postfix installed the tests that use it are skipped, except under CI (``CI`` set), where
a missing Postfix is an error: CI installs it with tests/postfix/install-deps.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.certs import make_self_signed_certificate
from tests.postfix_server import PostfixServer, postfix_installed


@pytest.fixture(scope="session")
def postfix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostfixServer]:
    """A started Postfix shared by the session: use a marker unique to the test (a subject, a
    recipient) with ``wait_for_messages(..., containing=...)`` rather than counting all mail."""
    if not postfix_installed():
        reason = "postfix is not installed (run tests/postfix/install-deps as root)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must install it", pytrace=False)
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("postfix")
    with PostfixServer(folder, make_self_signed_certificate(folder)) as server:
        yield server
