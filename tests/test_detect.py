"""Detecting settings from an address: presets, MX, autoconfig and probes, all on loopback.

A real DNS server (tests/dns_server.py), a real HTTP server for autoconfig documents and real
aiosmtpd servers with TLS; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from barua.settings import Security, make_settings
from barua.setup.detect import MAX_AUTOCONFIG_BYTES, Proposal, Source, detect, parse_autoconfig
from barua.setup.providers import get_preset, preset_settings
from tests.certs import CertFiles, make_certificates
from tests.dns_server import DnsServer
from tests.smtpd import SmtpServer

ADDRESS = "duka@duka.example"

Route = tuple[int, dict[str, str], bytes]


class WebServer:
    """http.server on 127.0.0.1, port 0, answering each path from ``routes``."""

    def __init__(self, routes: dict[str, Route]) -> None:
        self.routes = routes
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                status, headers, body = server.routes.get(self.path, (404, {}, b"not found"))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if "Content-Length" not in headers and "X-No-Length" not in headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def __enter__(self) -> WebServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def config_xml(*servers: tuple[str, str, str, str]) -> bytes:
    """An autoconfig document with one outgoingServer per (hostname, port, socketType, user)."""
    outgoing = "".join(
        f"""
    <outgoingServer type="smtp">
      <hostname>{host}</hostname>
      <port>{port}</port>
      <socketType>{socket_type}</socketType>
      <authentication>password-cleartext</authentication>
      <username>{username}</username>
    </outgoingServer>"""
        for host, port, socket_type, username in servers
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="duka.example">
    <domain>duka.example</domain>
    <displayName>Duka Hosting</displayName>
    <incomingServer type="imap">
      <hostname>imap.duka.example</hostname>
      <port>993</port>
      <socketType>SSL</socketType>
      <username>%EMAILADDRESS%</username>
    </incomingServer>{outgoing}
  </emailProvider>
</clientConfig>
""".encode()


@pytest.fixture
def dns_server() -> Iterator[DnsServer]:
    with DnsServer() as server:
        yield server


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    # trust_env=False: a proxy configured in the environment must not see test traffic.
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        yield client


def forbidden_http() -> httpx.Client:
    """A client that fails the test if detection tries the web at all."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"unexpected request to {request.url}")

    return httpx.Client(transport=httpx.MockTransport(handler))


def run(dns_server: DnsServer, address: str = ADDRESS, **kwargs: Any) -> Proposal:
    kwargs.setdefault("resolver", dns_server.resolver(timeout=1.0))
    kwargs.setdefault("autoconfig_urls", [])
    kwargs.setdefault("probe_hosts", {})
    kwargs.setdefault("timeout", 2.0)
    return detect(address, **kwargs)


# Presets and MX ------------------------------------------------------------------------------


def test_preset_from_the_address_domain_needs_no_network(dns_server: DnsServer) -> None:
    proposal = run(dns_server, "Duka@Gmail.com", http=forbidden_http())
    assert proposal.source is Source.PRESET
    assert proposal.preset == get_preset("gmail")
    assert proposal.values == {
        "host": "smtp.gmail.com",
        "port": 587,
        "security": Security.STARTTLS,
        "username": "Duka@gmail.com",
    }
    assert proposal.explain() == (
        "Duka@gmail.com is an address at Gmail. Send through smtp.gmail.com port 587 with STARTTLS."
    )
    assert proposal.tried == ["preset for gmail.com: gmail"]
    assert dns_server.queries == []


def test_company_domain_on_google_workspace_found_by_mx(dns_server: DnsServer) -> None:
    dns_server.add("duka.example", "MX", "5 alt1.aspmx.l.google.com.", "1 aspmx.l.google.com.")
    proposal = run(dns_server, http=forbidden_http())
    assert proposal.source is Source.MX
    assert proposal.preset == get_preset("google_workspace")
    assert proposal.values == preset_settings(get_preset("google_workspace"), ADDRESS)
    assert proposal.values["username"] == ADDRESS
    assert proposal.explanation_args == {
        "domain": "duka.example",
        "mx": "aspmx.l.google.com",
        "provider": "Google Workspace",
        "host": "smtp.gmail.com",
        "port": 587,
        "security": "STARTTLS",
    }
    assert proposal.explain() == (
        "Email for duka.example is hosted by Google Workspace (its MX record is "
        "aspmx.l.google.com). Send through smtp.gmail.com port 587 with STARTTLS."
    )
    assert proposal.tried == [
        "preset for duka.example: none",
        "MX of duka.example: aspmx.l.google.com, alt1.aspmx.l.google.com",
        "MX aspmx.l.google.com: google_workspace",
    ]
    assert dns_server.queries == [("duka.example", "MX")]


def test_mx_of_microsoft_365_behind_a_backup_mx(dns_server: DnsServer) -> None:
    dns_server.add(
        "duka.example",
        "MX",
        "20 backup.hosting.example.",
        "0 duka-example.mail.protection.outlook.com.",
    )
    proposal = run(dns_server)
    assert proposal.source is Source.MX
    assert proposal.preset == get_preset("microsoft_365")
    assert proposal.values == {
        "host": "smtp.office365.com",
        "port": 587,
        "security": Security.STARTTLS,
        "username": ADDRESS,
    }
    assert proposal.explanation_args["mx"] == "duka-example.mail.protection.outlook.com"


def test_domain_that_does_not_exist_suggests_the_provider(dns_server: DnsServer) -> None:
    proposal = run(dns_server, "duka@gmial.com", http=forbidden_http())
    assert proposal.source is Source.NONE
    assert proposal.values == {}
    assert proposal.explain() == (
        "The domain gmial.com does not exist. Did you mean gmail.com? Check the address "
        '"duka@gmial.com".'
    )
    assert proposal.tried == [
        "preset for gmial.com: none",
        "gmial.com looks like gmail.com: not confirmed, only its MX is looked up",
        "MX of gmial.com: the domain does not exist",
    ]
    assert proposal.lookalike_of == "gmail.com"
    assert not proposal.needs_confirmation, "a domain that does not exist has nothing to confirm"
    assert proposal.advice_lines() == []


def test_dns_timeout_is_not_fatal(dns_server: DnsServer, http: httpx.Client) -> None:
    dns_server.hang.add("duka.example")
    document = config_xml(("smtp.duka.example", "587", "STARTTLS", "%EMAILADDRESS%"))
    with WebServer({"/config.xml": (200, {}, document)}) as web:
        proposal = run(dns_server, http=http, autoconfig_urls=[web.url("/config.xml")], timeout=0.5)
    assert proposal.source is Source.AUTOCONFIG
    assert proposal.tried[:2] == [
        "preset for duka.example: none",
        "MX of duka.example: no answer from DNS within 0.5 s",
    ]


def test_dns_that_does_not_answer_is_named_without_waiting_for_every_lookup(
    dns_server: DnsServer,
) -> None:
    dns_server.hang.update({"duka.example", "smtp.duka.example", "mail.duka.example"})
    started = time.monotonic()
    proposal = detect(
        ADDRESS,
        resolver=dns_server.resolver(timeout=0.5),
        http=forbidden_http(),
        autoconfig_urls=[],
        timeout=0.5,
    )
    elapsed = time.monotonic() - started
    assert proposal.source is Source.NONE
    assert proposal.explain() == (
        "barua could not find the email settings for duka.example: DNS did not answer within "
        "0.5 seconds. Check this computer's internet connection and DNS server, then try again; "
        "or ask your email provider for the SMTP server name, port and security."
    )
    assert proposal.tried == [
        "preset for duka.example: none",
        "MX of duka.example: no answer from DNS within 0.5 s",
    ]
    assert elapsed < 1.5, "one lookup's wait, not one per server name and address type"


def test_dns_server_failure_then_nothing_found(dns_server: DnsServer) -> None:
    dns_server.servfail.add("duka.example")
    proposal = run(dns_server, http=forbidden_http())
    assert proposal.source is Source.NONE
    assert proposal.explain() == (
        "barua could not find the email settings for duka.example. Ask your email provider "
        "for the SMTP server name, port and security, or choose your provider from the list."
    )
    assert proposal.tried == [
        "preset for duka.example: none",
        "MX of duka.example: DNS server failure",
        "probe smtp.duka.example: no address",
        "probe mail.duka.example: no address",
    ]


# Autoconfig ----------------------------------------------------------------------------------


@pytest.fixture
def hosted(dns_server: DnsServer) -> DnsServer:
    """duka.example exists, with its mail at a hosting company barua does not know."""
    dns_server.add("duka.example", "MX", "10 mx1.hosting.example.")
    return dns_server


def test_autoconfig_after_a_404(hosted: DnsServer, http: httpx.Client) -> None:
    document = config_xml(("smtp.%EMAILDOMAIN%", "465", "SSL", "%EMAILADDRESS%"))
    with WebServer({"/mail/config-v1.1.xml": (200, {}, document)}) as web:
        urls = [web.url("/missing.xml"), web.url("/mail/config-v1.1.xml")]
        proposal = run(hosted, http=http, autoconfig_urls=urls)
    assert proposal.source is Source.AUTOCONFIG
    assert proposal.preset is None
    assert proposal.values == {
        "host": "smtp.duka.example",
        "port": 465,
        "security": Security.SSL,
        "username": ADDRESS,
    }
    assert proposal.explain() == (
        f"duka.example publishes its email settings at {urls[1]}. Send through "
        "smtp.duka.example port 465 with SSL/TLS."
    )
    assert proposal.tried == [
        "preset for duka.example: none",
        "MX of duka.example: mx1.hosting.example",
        "MX of duka.example: no known provider",
        f"autoconfig {urls[0]}: HTTP 404",
        f"autoconfig {urls[1]}: smtp.duka.example port 465 ssl",
    ]
    make_settings(**proposal.values, password="x")


def test_autoconfig_local_part_login_and_plain_server_skipped(
    hosted: DnsServer, http: httpx.Client
) -> None:
    document = config_xml(
        ("smtp.duka.example", "25", "plain", "%EMAILLOCALPART%"),
        ("smtp.duka.example", "587", "STARTTLS", "%EMAILLOCALPART%"),
    )
    with WebServer({"/c.xml": (200, {}, document)}) as web:
        proposal = run(hosted, http=http, autoconfig_urls=[web.url("/c.xml")])
    assert proposal.values == {
        "host": "smtp.duka.example",
        "port": 587,
        "security": Security.STARTTLS,
        "username": "duka",
        "email_address": ADDRESS,
    }
    assert proposal.tried[-2:] == [
        f"autoconfig {web.url('/c.xml')}: smtp.duka.example port 25 none skipped, unencrypted",
        f"autoconfig {web.url('/c.xml')}: smtp.duka.example port 587 starttls",
    ]


def test_autoconfig_redirect_on_the_same_host_is_followed(
    hosted: DnsServer, http: httpx.Client
) -> None:
    document = config_xml(("smtp.duka.example", "587", "STARTTLS", "%EMAILADDRESS%"))
    with WebServer(
        {
            "/old.xml": (301, {"Location": "/new.xml"}, b""),
            "/new.xml": (200, {}, document),
        }
    ) as web:
        proposal = run(hosted, http=http, autoconfig_urls=[web.url("/old.xml")])
    assert proposal.source is Source.AUTOCONFIG
    assert web.requests == ["/old.xml", "/new.xml"]


def test_autoconfig_redirect_to_another_host_is_refused(
    hosted: DnsServer, http: httpx.Client
) -> None:
    document = config_xml(("smtp.evil.example", "587", "STARTTLS", "%EMAILADDRESS%"))
    with WebServer({"/new.xml": (200, {}, document)}) as web:
        elsewhere = web.url("/new.xml", host="localhost")
        web.routes["/old.xml"] = (302, {"Location": elsewhere}, b"")
        proposal = run(hosted, http=http, autoconfig_urls=[web.url("/old.xml")])
    assert proposal.source is Source.NONE
    assert web.requests == ["/old.xml"]
    assert f"autoconfig {web.url('/old.xml')}: redirect to {elsewhere} not followed" in (
        proposal.tried
    )


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "streamed"])
def test_autoconfig_over_1_mb_is_refused(
    hosted: DnsServer, http: httpx.Client, declared: bool
) -> None:
    document = config_xml(("smtp.duka.example", "587", "STARTTLS", "%EMAILADDRESS%"))
    padding = b"<!-- " + b"x" * MAX_AUTOCONFIG_BYTES + b" -->\n"
    big = document.replace(b"<clientConfig", padding + b"<clientConfig")
    headers = {} if declared else {"X-No-Length": "1"}
    with WebServer({"/big.xml": (200, headers, big)}) as web:
        proposal = run(hosted, http=http, autoconfig_urls=[web.url("/big.xml")])
    assert proposal.source is Source.NONE
    assert f"autoconfig {web.url('/big.xml')}: larger than 1 MB, not read" in proposal.tried


def test_autoconfig_with_entities_is_refused(hosted: DnsServer, http: httpx.Client) -> None:
    document = b"""<?xml version="1.0"?>
<!DOCTYPE clientConfig [<!ENTITY host SYSTEM "file:///etc/hostname">]>
<clientConfig><emailProvider id="x"><outgoingServer type="smtp">
<hostname>&host;</hostname><port>587</port><socketType>STARTTLS</socketType>
</outgoingServer></emailProvider></clientConfig>"""
    with WebServer({"/x.xml": (200, {}, document)}) as web:
        proposal = run(hosted, http=http, autoconfig_urls=[web.url("/x.xml")])
    assert proposal.source is Source.NONE
    assert (
        f"autoconfig {web.url('/x.xml')}: refused, the document declares a DTD or entities"
        in proposal.tried
    )


def test_default_autoconfig_urls(hosted: DnsServer) -> None:
    requested: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requested.append(str(request.url))
        return httpx.Response(404)

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        proposal = detect(
            ADDRESS, resolver=hosted.resolver(), http=client, probe_hosts={}, timeout=1.0
        )
    assert proposal.source is Source.NONE
    assert requested == [
        "https://autoconfig.duka.example/mail/config-v1.1.xml",
        "https://duka.example/.well-known/autoconfig/mail/config-v1.1.xml",
    ]


def test_parse_autoconfig_is_strict() -> None:
    laughs = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>
<clientConfig>&lol2;</clientConfig>"""
    with pytest.raises(ValueError, match="DTD or entities"):
        parse_autoconfig(laughs, ADDRESS)
    with pytest.raises(ValueError, match="not well-formed"):
        parse_autoconfig(b"<clientConfig><outgoingServer>", ADDRESS)
    weird = config_xml(
        ("smtp.duka.example", "not-a-port", "SSL", ""),
        ("smtp.duka.example", "2525", "TLS-ish", ""),
        ("smtp.duka.example", "2525", "starttls", ""),
    )
    assert parse_autoconfig(weird, ADDRESS) == [
        {
            "host": "smtp.duka.example",
            "port": 2525,
            "security": Security.STARTTLS,
            "username": ADDRESS,
        }
    ]


# Probing -------------------------------------------------------------------------------------


@pytest.fixture
def duka_certs(tmp_path: Path) -> CertFiles:
    return make_certificates(tmp_path / "duka", hostnames=("smtp.duka.example",))


def test_probe_finds_implicit_tls_with_a_trusted_certificate(
    hosted: DnsServer, duka_certs: CertFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(duka_certs.ca))
    with SmtpServer(mode="ssl", certs=duka_certs) as server:
        proposal = run(
            hosted,
            http=forbidden_http(),
            probe_hosts={"smtp.duka.example": "127.0.0.1"},
            probe_ports={server.port: Security.SSL},
        )
    assert proposal.source is Source.PROBE
    assert proposal.values == {
        "host": "smtp.duka.example",
        "port": server.port,
        "security": Security.SSL,
        "username": ADDRESS,
    }
    assert proposal.explain() == (
        f"A mail server answers at smtp.duka.example port {server.port} with SSL/TLS. Check "
        "with your email provider that it is the server for sending."
    )
    assert proposal.tried[-1] == (
        f"probe smtp.duka.example (127.0.0.1) port {server.port} SSL/TLS: answers, "
        "certificate trusted"
    )


def test_probe_starttls_with_an_untrusted_certificate(hosted: DnsServer, certs: CertFiles) -> None:
    with SmtpServer(mode="starttls", certs=certs) as server:
        proposal = run(
            hosted,
            probe_hosts={"smtp.duka.example": "127.0.0.1"},
            probe_ports={server.port: Security.STARTTLS},
        )
    assert proposal.source is Source.PROBE
    assert proposal.values["security"] is Security.STARTTLS
    assert proposal.explanation_args == {
        "host": "smtp.duka.example",
        "port": server.port,
        "security": "STARTTLS",
        "reason": "unable to get local issuer certificate",
    }
    assert proposal.explain().startswith(
        f"A mail server answers at smtp.duka.example port {server.port} with STARTTLS, but its "
        "certificate is not trusted (unable to get local issuer certificate)."
    )


def test_probe_prefers_a_trusted_server_and_reports_the_rest(
    hosted: DnsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both names point here (through DNS); the TLS server's certificate is for mail.* only.
    mail_certs = make_certificates(tmp_path / "mail", hostnames=("mail.duka.example",))
    monkeypatch.setenv("SSL_CERT_FILE", str(mail_certs.ca))
    hosted.add("smtp.duka.example", "A", "127.0.0.1")
    hosted.add("mail.duka.example", "A", "127.0.0.1")
    closed = _closed_port()
    with SmtpServer(mode="plain") as plain, SmtpServer(mode="ssl", certs=mail_certs) as tls:
        ports = {closed: Security.SSL, plain.port: Security.STARTTLS, tls.port: Security.SSL}
        proposal = run(hosted, probe_hosts=None, probe_ports=ports)
    assert proposal.source is Source.PROBE
    assert proposal.values == {
        "host": "mail.duka.example",
        "port": tls.port,
        "security": Security.SSL,
        "username": ADDRESS,
    }
    assert "reason" not in proposal.explanation_args
    lines = []
    for name, tls_result in (
        (
            "smtp.duka.example",
            "answers, certificate not trusted (Hostname mismatch, certificate is not valid "
            "for 'smtp.duka.example'.)",
        ),
        ("mail.duka.example", "answers, certificate trusted"),
    ):
        where = f"probe {name} (127.0.0.1) port"
        lines += [
            f"{where} {closed} SSL/TLS: connection refused",
            f"{where} {plain.port} STARTTLS: STARTTLS not offered",
            f"{where} {tls.port} SSL/TLS: {tls_result}",
        ]
    assert proposal.tried[3:] == lines


def test_probe_hosts_as_a_function(
    hosted: DnsServer, duka_certs: CertFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(duka_certs.ca))
    asked: list[str] = []

    def where(name: str) -> str | None:
        asked.append(name)
        return "127.0.0.1" if name == "smtp.duka.example" else None

    with SmtpServer(mode="starttls", certs=duka_certs) as server:
        # A plain port number other than 465 means STARTTLS.
        proposal = run(hosted, probe_hosts=where, probe_ports=[server.port])
    assert asked == ["smtp.duka.example"]
    assert proposal.values["security"] is Security.STARTTLS
    assert proposal.explain() == (
        f"A mail server answers at smtp.duka.example port {server.port} with STARTTLS. Check "
        "with your email provider that it is the server for sending."
    )


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_proposal_to_dict(dns_server: DnsServer) -> None:
    proposal = run(dns_server, "duka@yahoo.com")
    password = (
        "Yahoo Mail needs an app password, not your normal password. Open Yahoo Account Info → "
        "Account Security → Generate app password (or Create app password), type a name such "
        "as barua, generate the password and use the password it shows."
    )
    note = (
        "Yahoo limits how many emails one account sends a day and blocks the account for a "
        "while when the limit is passed."
    )
    assert proposal.to_dict() == {
        "source": "preset",
        "values": {
            "host": "smtp.mail.yahoo.com",
            "port": 465,
            "security": "ssl",
            "username": "duka@yahoo.com",
        },
        "explanation": "duka@yahoo.com is an address at Yahoo Mail. Send through "
        "smtp.mail.yahoo.com port 465 with SSL/TLS.",
        "preset": "yahoo",
        "password_advice": password,
        "notes": [note],
        "sending_limit": None,
        "accepts_password": True,
        "sign_in": None,
        "sign_in_command": None,
        "advice": [password, note],
        "lookalike_of": None,
        "needs_confirmation": False,
        "confirm_question": None,
        "tried": ["preset for yahoo.com: yahoo"],
    }
