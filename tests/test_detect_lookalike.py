"""A domain one typo away from a provider's may belong to anyone: detection proposes nothing
for it, and contacts none of its servers, until the user confirms the address.

DNS is the loopback DNS server; the autoconfig document is served on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from barua.setup.detect import Proposal, Source, detect
from tests.dns_server import DnsServer
from tests.test_detect import WebServer, config_xml

ADDRESS = "duka@gmial.com"
WARNING = (
    "Did you mean gmail.com? gmial.com is another domain that only looks like it, and a "
    "password sent to its servers goes to whoever owns it. barua proposes nothing for "
    'gmial.com until you confirm that "duka@gmial.com" is right.'
)


@pytest.fixture
def dns() -> Iterator[DnsServer]:
    with DnsServer() as server:
        yield server


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        yield client


@pytest.fixture
def web() -> Iterator[WebServer]:
    """gmial.com's autoconfig document, naming gmial.com's own server."""
    document = config_xml(("smtp.gmial.com", "587", "STARTTLS", "%EMAILADDRESS%"))
    with WebServer({"/config.xml": (200, {}, document)}) as server:
        yield server


class Probes:
    """Stands in for DNS of the probed names, and records that a probe was about to start."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, name: str) -> str | None:
        self.asked.append(name)
        return "127.0.0.1"


def run(
    dns: DnsServer, http: httpx.Client, web: WebServer, probes: Probes, **kwargs: Any
) -> Proposal:
    return detect(
        ADDRESS,
        resolver=dns.resolver(timeout=1.0),
        http=http,
        autoconfig_urls=[web.url("/config.xml")],
        probe_hosts=probes,
        probe_ports=[],
        timeout=2.0,
        **kwargs,
    )


@pytest.mark.parametrize(
    "mx",
    ["10 mx.gmial.com.", "1 aspmx.l.google.com."],
    ids=["own-mx", "mx-at-a-known-provider"],
)
def test_registered_lookalike_gets_a_warning_and_no_settings(
    dns: DnsServer, http: httpx.Client, web: WebServer, mx: str
) -> None:
    dns.add("gmial.com", "MX", mx)
    probes = Probes()
    proposal = run(dns, http, web, probes)
    assert proposal.source is Source.LOOKALIKE
    assert proposal.values == {}
    assert proposal.preset is None
    assert proposal.explain() == WARNING
    assert proposal.needs_confirmation
    assert proposal.lookalike_of == "gmail.com"
    assert proposal.confirm_question() == 'Is "duka@gmial.com" right, not an address at gmail.com?'
    assert proposal.advice_lines() == []
    # Only DNS was asked whether the domain exists: no web server, no mail server.
    assert dns.queries == [("gmial.com", "MX")]
    assert web.requests == []
    assert probes.asked == []
    assert (
        proposal.tried[1]
        == "gmial.com looks like gmail.com: not confirmed, only its MX is looked up"
    )
    data = proposal.to_dict()
    assert data["source"] == "lookalike"
    assert data["values"] == {}
    assert data["explanation"] == WARNING
    assert data["needs_confirmation"] is True
    assert data["lookalike_of"] == "gmail.com"
    assert data["confirm_question"] == proposal.confirm_question()


def test_confirmed_lookalike_is_searched_and_keeps_the_warning_in_sight(
    dns: DnsServer, http: httpx.Client, web: WebServer
) -> None:
    dns.add("gmial.com", "MX", "10 mx.gmial.com.")
    proposal = run(dns, http, web, Probes(), confirm_lookalike=True)
    assert proposal.source is Source.AUTOCONFIG
    assert proposal.values["host"] == "smtp.gmial.com"
    assert web.requests == ["/config.xml"]
    assert not proposal.needs_confirmation
    assert proposal.confirm_question() is None
    assert proposal.lookalike_of == "gmail.com"
    assert proposal.to_dict()["lookalike_of"] == "gmail.com"
    assert proposal.tried[1] == "gmial.com looks like gmail.com: confirmed"


def test_unregistered_lookalike_says_it_does_not_exist(
    dns: DnsServer, http: httpx.Client, web: WebServer
) -> None:
    probes = Probes()
    for confirm in (False, True):
        proposal = run(dns, http, web, probes, confirm_lookalike=confirm)
        assert proposal.source is Source.NONE
        assert proposal.values == {}
        assert proposal.explain() == (
            "The domain gmial.com does not exist. Did you mean gmail.com? Check the address "
            '"duka@gmial.com".'
        )
        assert not proposal.needs_confirmation, "nothing to confirm: nothing can be found"
    assert web.requests == []
    assert probes.asked == []


def test_lookalike_whose_dns_does_not_answer_still_needs_confirmation(
    dns: DnsServer, http: httpx.Client, web: WebServer
) -> None:
    dns.servfail.add("gmial.com")
    probes = Probes()
    proposal = run(dns, http, web, probes)
    assert proposal.source is Source.LOOKALIKE
    assert proposal.explain() == WARNING
    assert web.requests == []
    assert probes.asked == []


def test_a_real_domain_close_to_a_provider_is_searched_without_asking(
    dns: DnsServer, http: httpx.Client, web: WebServer
) -> None:
    dns.add("mail.com", "MX", "10 mx00.mail.com.")
    proposal = detect(
        "duka@mail.com",
        resolver=dns.resolver(timeout=1.0),
        http=http,
        autoconfig_urls=[web.url("/config.xml")],
        probe_hosts={},
        timeout=2.0,
    )
    assert proposal.source is Source.AUTOCONFIG
    assert proposal.lookalike_of is None
    assert not proposal.needs_confirmation
