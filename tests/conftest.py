"""Shared fixtures: certificates, real SMTP servers on loopback, an isolated BARUA_HOME."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from barua.settings import Settings
from barua.texts import Text
from tests.certs import CertFiles, make_certificates
from tests.dns_server import DnsServer
from tests.postfix_fixtures import postfix  # noqa: F401 - the fixture, for every test module
from tests.smtpd import SmtpServer

USER = "shop@example.com"
PASSWORD = "Pässwörd-ß€"


def words(problems: Mapping[str, Text]) -> dict[str, str]:
    """Problems (field → Text) as the English words a user reads."""
    return {field: problem.render() for field, problem in problems.items()}


def home_url() -> str:
    """The database URL of the test's BARUA_HOME (SQLite), as barua itself would choose it."""
    import os

    from barua.database.engine import database_url

    return database_url(None, home=Path(os.environ["BARUA_HOME"]))


def saved_settings(business: str | None = None) -> Settings | None:
    """What barua has saved for ``business`` (the default one), read as barua reads it."""
    from barua.app import Barua, Environment

    with Barua(Environment.from_environ()) as app:
        return app.store.load(app.business(business))


def saved_document(business: str | None = None) -> str | None:
    """The saved settings of ``business`` as stored, secrets encrypted."""
    from barua.app import Barua, Environment

    with Barua(Environment.from_environ()) as app:
        return app.store.export_settings(app.business(business))


class SavedSettings:
    """The saved settings of the default business, as stored (secrets encrypted): what a
    test compares before and after a command that must change nothing."""

    def read_bytes(self) -> bytes:
        return (saved_document() or "").encode("utf-8")


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> CertFiles:
    return make_certificates(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless chromium for the whole run: Playwright's sync API allows one at a time
    in a thread, and starting it once keeps the browser tests quick."""
    from playwright.sync_api import sync_playwright

    from tests.web_server import CHROMIUM

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def loopback_dns() -> Iterator[DnsServer]:
    """The DNS server every barua lookup in the tests goes to: no query leaves loopback."""
    with DnsServer() as server:
        yield server


@pytest.fixture(autouse=True)
def barua_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loopback_dns: DnsServer
) -> Iterator[Path]:
    """Every test gets its own empty BARUA_HOME, no BARUA_* variables from outside, and
    barua's DNS lookups sent to the loopback DNS server (its zone emptied afterwards)."""
    import os

    for name in list(os.environ):
        if name.startswith("BARUA_"):
            monkeypatch.delenv(name)
    home = tmp_path / "barua-home"
    monkeypatch.setenv("BARUA_HOME", str(home))
    monkeypatch.setenv("BARUA_DNS_SERVER", f"127.0.0.1:{loopback_dns.port}")
    yield home
    loopback_dns.zone.clear()


@pytest.fixture
def trust_ca(certs: CertFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the test CA trusted the standard way, through SSL_CERT_FILE."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certs.ca))


@pytest.fixture
def ssl_server(certs: CertFiles) -> Iterator[SmtpServer]:
    with SmtpServer(mode="ssl", certs=certs, users={USER: PASSWORD}) as server:
        yield server


@pytest.fixture
def starttls_server(certs: CertFiles) -> Iterator[SmtpServer]:
    with SmtpServer(mode="starttls", certs=certs, users={USER: PASSWORD}) as server:
        yield server


@pytest.fixture
def plain_server() -> Iterator[SmtpServer]:
    with SmtpServer(mode="plain", users={USER: PASSWORD}) as server:
        yield server


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word, not even to a TLS handshake:
    what an implicit-TLS port looks like to a client waiting for a greeting, and a dead
    service looks like to everyone."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()
