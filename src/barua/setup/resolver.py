"""The DNS resolver barua's lookups use (MX, SPF, DMARC, autoconfig).

``BARUA_DNS_SERVER=host[:port]`` sends every lookup to one server instead of the system's,
for networks with a split-horizon DNS and for tests that run a DNS server on loopback.
"""

from __future__ import annotations

import dns.resolver


def make_resolver(server: str | None = None, *, timeout: float = 3.0) -> dns.resolver.Resolver:
    """A resolver with a short overall timeout: advice must never hang the test email.

    ``server`` (``host[:port]``, from ``BARUA_DNS_SERVER``) receives every lookup instead of
    the system's DNS servers."""
    server = (server or "").strip()
    resolver = dns.resolver.Resolver(configure=not server)
    if server:
        host, _, port = server.rpartition(":") if server.count(":") == 1 else (server, "", "")
        resolver.nameservers = [host or server]
        if port:
            resolver.port = int(port)
    resolver.timeout = timeout
    resolver.lifetime = timeout
    return resolver
