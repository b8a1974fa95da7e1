"""A tiny real DNS server for the tests: UDP on 127.0.0.1, port 0, answers from a dict zone.

Names not in the zone, and with no name under them in it, get NXDOMAIN; another name without
the asked type gets an empty answer (NODATA). Names in ``hang`` are never answered, to test
timeouts, and names in ``servfail`` get SERVFAIL. Every question is recorded in ``queries``.

    with DnsServer({"example.com": {"MX": ["10 mx.example.net."]}}) as server:
        resolver = server.resolver()
"""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import Iterable, Mapping

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.resolver
import dns.rrset

Zone = Mapping[str, Mapping[str, Iterable[str]]]


def txt(value: str) -> str:
    """``value`` as TXT presentation format, split into strings of at most 255 bytes."""
    chunks = [value[i : i + 255] for i in range(0, len(value), 255)] or [""]
    escaped = (c.replace("\\", "\\\\").replace('"', '\\"') for c in chunks)
    return " ".join(f'"{c}"' for c in escaped)


def _key(name: str) -> str:
    return name.lower().rstrip(".")


class DnsServer:
    """A running DNS server; add records with :meth:`add` at any time."""

    def __init__(
        self,
        zone: Zone | None = None,
        *,
        hang: Iterable[str] = (),
        servfail: Iterable[str] = (),
    ) -> None:
        self.zone: dict[str, dict[str, list[str]]] = {}
        for name, records in (zone or {}).items():
            for rdtype, values in records.items():
                self.add(name, rdtype, *values)
        self.hang = {_key(n) for n in hang}
        self.servfail = {_key(n) for n in servfail}
        self.queries: list[tuple[str, str]] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="dns-server", daemon=True)

    def add(self, name: str, rdtype: str, *values: str) -> None:
        """Add records; TXT values are plain text (quoted and split here)."""
        rdtype = rdtype.upper()
        if rdtype == "TXT":
            values = tuple(txt(v) for v in values)
        self.zone.setdefault(_key(name), {}).setdefault(rdtype, []).extend(values)

    def resolver(self, *, timeout: float = 2.0) -> dns.resolver.Resolver:
        """A dnspython resolver that asks this server only."""
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = ["127.0.0.1"]
        resolver.port = self.port
        resolver.timeout = timeout
        resolver.lifetime = timeout
        return resolver

    def _answer(self, wire: bytes) -> bytes | None:
        query = dns.message.from_wire(wire)
        question = query.question[0]
        name = _key(question.name.to_text())
        rdtype = dns.rdatatype.to_text(question.rdtype)
        self.queries.append((name, rdtype))
        if name in self.hang:
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if name in self.servfail:
            response.set_rcode(dns.rcode.SERVFAIL)
        elif name not in self.zone and not any(n.endswith(f".{name}") for n in self.zone):
            # A name with names under it exists (an empty non-terminal: no records, NODATA).
            response.set_rcode(dns.rcode.NXDOMAIN)
        else:
            values = self.zone.get(name, {}).get(rdtype, [])
            if values:
                response.answer.append(
                    dns.rrset.from_text(question.name, 300, "IN", rdtype, *values)
                )
        return response.to_wire()

    def _serve(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._sock], [], [], 0.05)
            if not ready:
                continue
            wire, client = self._sock.recvfrom(65535)
            reply = self._answer(wire)
            if reply is not None:
                self._sock.sendto(reply, client)

    def __enter__(self) -> DnsServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()
