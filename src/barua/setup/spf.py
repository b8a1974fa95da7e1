"""SPF, evaluated: a bounded evaluator of a subset of RFC 7208 (``check_host()``).

Receivers decide by SPF whether a server may send for a domain. The policy is often reached
through nested ``include:`` and ``redirect=`` terms, so searching the record's text is not
enough: :func:`evaluate_spf` follows them as a receiver does, within RFC 7208's limits on DNS
lookups, and can also answer "does this policy reach a provider's ``include:``?".
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import quote

import dns.exception
import dns.name
import dns.resolver

from barua.setup.resolver import make_resolver

MAX_DNS_LOOKUPS = 10
"""RFC 7208 §4.6.4: terms that query DNS (include, a, mx, ptr, exists, redirect)."""
MAX_VOID_LOOKUPS = 2
"""RFC 7208 §4.6.4: lookups that find no name or no record."""
_MAX_MX_NAMES = 10
"""RFC 7208 §4.6.4: names an mx mechanism may look up."""
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class SpfResult(StrEnum):
    """The result of an SPF evaluation (RFC 7208 §2.6)."""

    PASS = "pass"  # noqa: S105 - an SPF result, not a secret
    FAIL = "fail"
    SOFTFAIL = "softfail"
    NEUTRAL = "neutral"
    NONE = "none"
    """The domain publishes no SPF record."""
    PERMERROR = "permerror"
    """The record is broken: receivers may treat the mail as unauthenticated or refuse it."""
    TEMPERROR = "temperror"
    """DNS did not answer: nothing can be said now."""


class SpfProblem(StrEnum):
    """Why an SPF evaluation ended in permerror or temperror."""

    MULTIPLE_RECORDS = "multiple_records"
    TOO_MANY_LOOKUPS = "too_many_lookups"
    TOO_MANY_VOID_LOOKUPS = "too_many_void_lookups"
    LOOP = "loop"
    SYNTAX = "syntax"
    INCLUDE_WITHOUT_RECORD = "include_without_record"
    DNS_ERROR = "dns_error"


_QUALIFIERS = {
    "+": SpfResult.PASS,
    "-": SpfResult.FAIL,
    "~": SpfResult.SOFTFAIL,
    "?": SpfResult.NEUTRAL,
}


@dataclass(frozen=True, slots=True)
class SpfEvaluation:
    """The outcome of :func:`evaluate_spf`; ``detail`` names the term or name at fault."""

    result: SpfResult
    problem: SpfProblem | None = None
    detail: str = ""
    lookups: int = 0


# DNS -----------------------------------------------------------------------------------------


class SpfTempError(Exception):
    """DNS did not answer (timeout, server failure)."""


class SpfPermError(Exception):
    def __init__(self, problem: SpfProblem, detail: str) -> None:
        super().__init__(detail)
        self.problem = problem
        self.detail = detail


class NeedsAddress(Exception):
    """A macro needs the client's IP, which a check by provider ``include:`` does not have."""


class DnsLookups:
    """The lookups SPF and DMARC need, each answered once per check."""

    def __init__(self, resolver: dns.resolver.Resolver, timeout: float) -> None:
        self._resolver = resolver
        self._timeout = timeout
        self._cache: dict[tuple[str, str], list[Any]] = {}
        self.missing: set[str] = set()
        """Names DNS said do not exist (NXDOMAIN), in lower case."""

    def query(self, name: str, rdtype: str) -> list[Any]:
        """The records, ``[]`` for a name that does not exist or has none of this type."""
        key = (name.lower(), rdtype)
        if key in self._cache:
            return self._cache[key]
        try:
            qname = dns.name.from_text(name)
        except dns.exception.DNSException as exc:
            raise SpfPermError(SpfProblem.SYNTAX, name) from exc
        try:
            answer = self._resolver.resolve(
                qname, rdtype, lifetime=self._timeout, search=False, raise_on_no_answer=False
            )
            records = list(answer) if answer.rrset is not None else []
        except dns.resolver.NXDOMAIN:
            records = []
            self.missing.add(name.lower().rstrip("."))
        except dns.exception.Timeout as exc:
            raise SpfTempError(f"no answer from DNS within {self._timeout:g} s") from exc
        except dns.exception.DNSException as exc:
            raise SpfTempError(f"DNS error: {type(exc).__name__}") from exc
        self._cache[key] = records
        return records

    def txt(self, name: str) -> list[str]:
        # A TXT record may be split into strings of 255 bytes: they are joined with nothing.
        return [b"".join(r.strings).decode("utf-8", "replace") for r in self.query(name, "TXT")]

    def addresses(self, name: str, *, v6: bool) -> list[IPAddress]:
        return [ipaddress.ip_address(r.address) for r in self.query(name, "AAAA" if v6 else "A")]

    def mx(self, name: str) -> list[str]:
        return [str(r.exchange) for r in self.query(name, "MX") if str(r.exchange) != "."]


def spf_records(texts: Iterable[str]) -> list[str]:
    return [t.strip() for t in texts if re.match(r"(?i)v=spf1(\s|$)", t.strip())]


# SPF evaluation ------------------------------------------------------------------------------

_TERM = re.compile(r"^([+\-~?]?)([a-z][a-z0-9_.\-]*)(.*)$", re.I)
_DUAL_CIDR = re.compile(r"^(?::([^/]+))?(?:/(\d+))?(?://(\d+))?$")
_MACRO = re.compile(r"%(?:\{([a-z])(\d*)(r?)([.\-+,/_=]*)\}|(.))", re.I)


@dataclass(frozen=True, slots=True)
class _Directive:
    qualifier: SpfResult
    mechanism: str
    value: str
    """What follows the name: ``:domain``, ``/cidr``, ``:ip/cidr``, or empty."""


@dataclass(frozen=True, slots=True)
class _Record:
    directives: list[_Directive]
    redirect: str | None


def _parse(record: str) -> _Record:
    directives: list[_Directive] = []
    redirect: str | None = None
    for term in record.split()[1:]:
        match = _TERM.match(term)
        if match is None:
            raise SpfPermError(SpfProblem.SYNTAX, term)
        qualifier, name, rest = match.group(1), match.group(2).lower(), match.group(3)
        if rest.startswith("=") and not qualifier:
            if name == "redirect":
                if redirect is not None:
                    raise SpfPermError(SpfProblem.SYNTAX, term)
                redirect = rest[1:]
            continue  # exp= and unknown modifiers do not change the result
        if name not in {"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"}:
            raise SpfPermError(SpfProblem.SYNTAX, term)
        _check_syntax(name, rest)
        directives.append(_Directive(_QUALIFIERS[qualifier or "+"], name, rest))
    return _Record(directives, redirect)


def _check_syntax(name: str, rest: str) -> None:
    """Refuse a malformed term wherever it stands: RFC 7208 makes the whole record invalid."""
    if name == "all" and rest:
        raise SpfPermError(SpfProblem.SYNTAX, name + rest)
    if name in {"ip4", "ip6"}:
        _network(name, rest)
    elif name in {"include", "exists"}:
        _argument(rest, name)
    elif name in {"a", "mx"}:
        _dual_cidr(name, rest)
    elif name == "ptr" and rest and not rest.startswith(":"):
        raise SpfPermError(SpfProblem.SYNTAX, name + rest)


def _dual_cidr(name: str, rest: str) -> tuple[str | None, int, int]:
    """The domain-spec and the IPv4 and IPv6 prefix lengths of an ``a`` or ``mx`` term."""
    match = _DUAL_CIDR.match(rest)
    if match is None:
        raise SpfPermError(SpfProblem.SYNTAX, name + rest)
    return (
        match.group(1),
        _prefix(match.group(2), 32, name + rest),
        _prefix(match.group(3), 128, name + rest),
    )


class SpfEvaluator:
    """RFC 7208 ``check_host()`` for one client IP, or for a provider's ``include:`` domains.

    Supported: all, include, a, mx, ip4, ip6, exists, ptr (never matches: deprecated), the
    redirect modifier, macros, the limits of 10 DNS-querying terms and 2 void lookups, and loop
    detection. With ``ip`` None, ``include:`` / ``redirect=`` of one of ``includes`` matches
    and the other IP-based mechanisms do not.
    """

    def __init__(
        self, lookup: DnsLookups, *, ip: IPAddress | None, includes: Iterable[str], sender: str
    ) -> None:
        self.dns = lookup
        self.ip = ip
        self.includes = frozenset(clean_name(i) for i in includes)
        self.sender = sender
        self.lookups = 0
        self.void = 0

    def evaluate(self, domain: str) -> SpfEvaluation:
        try:
            result = self.check_host(clean_name(domain), ())
        except SpfPermError as exc:
            return SpfEvaluation(SpfResult.PERMERROR, exc.problem, exc.detail, self.lookups)
        except SpfTempError as exc:
            return SpfEvaluation(SpfResult.TEMPERROR, SpfProblem.DNS_ERROR, str(exc), self.lookups)
        return SpfEvaluation(result, lookups=self.lookups)

    def count(self) -> None:
        self.lookups += 1
        if self.lookups > MAX_DNS_LOOKUPS:
            raise SpfPermError(SpfProblem.TOO_MANY_LOOKUPS, str(self.lookups))

    def void_if_empty(self, found: list[Any], name: str) -> None:
        if not found:
            self.void += 1
            if self.void > MAX_VOID_LOOKUPS:
                raise SpfPermError(SpfProblem.TOO_MANY_VOID_LOOKUPS, name)

    def check_host(self, domain: str, chain: tuple[str, ...]) -> SpfResult:
        if domain in chain:
            raise SpfPermError(SpfProblem.LOOP, " → ".join((*chain, domain)))
        records = spf_records(self.dns.txt(domain))
        if not records:
            return SpfResult.NONE
        if len(records) > 1:
            raise SpfPermError(SpfProblem.MULTIPLE_RECORDS, domain)
        record = _parse(records[0])
        chain = (*chain, domain)
        for directive in record.directives:
            if self.matches(directive, domain, chain):
                return directive.qualifier
        if record.redirect is not None:
            self.count()
            target = self.expand(record.redirect, domain)
            if target in self.includes:
                return SpfResult.PASS
            result = self.nested(target, chain)
            if result is SpfResult.NONE:
                raise SpfPermError(SpfProblem.INCLUDE_WITHOUT_RECORD, target)
            return result
        return SpfResult.NEUTRAL

    def nested(self, target: str, chain: tuple[str, ...]) -> SpfResult:
        try:
            return self.check_host(target, chain)
        except SpfPermError as exc:
            if exc.problem is SpfProblem.MULTIPLE_RECORDS:
                raise SpfPermError(exc.problem, target) from None
            raise

    def matches(self, directive: _Directive, domain: str, chain: tuple[str, ...]) -> bool:
        name, value = directive.mechanism, directive.value
        if name == "all":
            return True
        if name in {"ip4", "ip6"}:
            return self.ip is not None and self.ip in _network(name, value)
        self.count()
        try:
            if name == "include":
                return self.include(self.expand(_argument(value, name), domain), chain)
            if name in {"a", "mx"}:
                return self.match_a_or_mx(name, value, domain)
            if name == "exists":
                target = self.expand(_argument(value, name), domain)
                if self.ip is None:
                    return False
                found = self.dns.addresses(target, v6=False)
                self.void_if_empty(found, target)
                return bool(found)
        except NeedsAddress:
            return False
        return False  # ptr: deprecated (RFC 7208 §5.5), and never needed by a shop

    def include(self, target: str, chain: tuple[str, ...]) -> bool:
        if target in self.includes:
            return True
        result = self.nested(target, chain)
        if result is SpfResult.NONE:
            raise SpfPermError(SpfProblem.INCLUDE_WITHOUT_RECORD, target)
        return result is SpfResult.PASS

    def match_a_or_mx(self, name: str, value: str, domain: str) -> bool:
        spec, prefix4, prefix6 = _dual_cidr(name, value)
        target = self.expand(spec, domain) if spec else domain
        if self.ip is None:
            return False
        v6 = self.ip.version == 6
        prefix = prefix6 if v6 else prefix4
        if name == "a":
            hosts = [target]
        else:
            hosts = self.dns.mx(target)
            self.void_if_empty(hosts, target)
            if len(hosts) > _MAX_MX_NAMES:
                raise SpfPermError(SpfProblem.TOO_MANY_LOOKUPS, f"mx:{target}")
        for host in hosts:
            found = self.dns.addresses(host, v6=v6)
            if name == "a":
                self.void_if_empty(found, host)
            for address in found:
                if self.ip in ipaddress.ip_network(f"{address}/{prefix}", strict=False):
                    return True
        return False

    def expand(self, spec: str, domain: str) -> str:
        """A domain-spec with its macros (RFC 7208 §7) expanded."""

        def replace(match: re.Match[str]) -> str:
            if match.group(5) is not None:
                literal = {"%": "%", "_": " ", "-": "%20"}.get(match.group(5))
                if literal is None:
                    raise SpfPermError(SpfProblem.SYNTAX, spec)
                return literal
            letter, digits, reverse, delimiters = match.group(1, 2, 3, 4)
            value = self.macro_value(letter.lower(), domain)
            parts = re.split("[" + re.escape(delimiters or ".") + "]", value)
            if reverse:
                parts.reverse()
            if digits:
                if int(digits) == 0:
                    raise SpfPermError(SpfProblem.SYNTAX, spec)
                parts = parts[-int(digits) :]
            expanded = ".".join(parts)
            return quote(expanded, safe="") if letter.isupper() else expanded

        if "%" not in spec:
            return clean_name(spec)
        expanded = _MACRO.sub(replace, spec)
        while len(expanded) > 253 and "." in expanded:
            expanded = expanded.split(".", 1)[1]
        return clean_name(expanded)

    def macro_value(self, letter: str, domain: str) -> str:
        local, _, sender_domain = self.sender.rpartition("@")
        if letter in {"i", "c", "v"} and self.ip is None:
            raise NeedsAddress
        values = {
            "s": self.sender,
            "l": local or "postmaster",
            "o": sender_domain,
            "d": domain,
            "h": sender_domain,
            "p": "unknown",
        }
        if letter in values:
            return values[letter]
        assert self.ip is not None
        if letter == "v":
            return "in-addr" if self.ip.version == 4 else "ip6"
        if letter == "i" and self.ip.version == 6:
            return ".".join(self.ip.exploded.replace(":", ""))
        if letter in {"i", "c"}:
            return str(self.ip)
        raise SpfPermError(SpfProblem.SYNTAX, f"%{{{letter}}}")


def clean_name(name: str) -> str:
    return name.strip().lower().rstrip(".")


def _argument(value: str, mechanism: str) -> str:
    if not value.startswith(":") or len(value) < 2:
        raise SpfPermError(SpfProblem.SYNTAX, mechanism + value)
    return value[1:]


def _prefix(digits: str | None, maximum: int, term: str) -> int:
    if digits is None:
        return maximum
    if int(digits) > maximum:
        raise SpfPermError(SpfProblem.SYNTAX, term)
    return int(digits)


def _network(name: str, value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    text = _argument(value, name)
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise SpfPermError(SpfProblem.SYNTAX, name + value) from None
    if network.version != (4 if name == "ip4" else 6):
        raise SpfPermError(SpfProblem.SYNTAX, name + value)
    return network


def evaluate_spf(
    domain: str,
    *,
    ip: str | None = None,
    includes: Iterable[str] = (),
    sender: str | None = None,
    resolver: dns.resolver.Resolver | None = None,
    timeout: float = 3.0,
) -> SpfEvaluation:
    """Evaluate ``domain``'s SPF policy for client ``ip``, or for a provider's ``includes``.

    With ``ip``, this is RFC 7208's ``check_host()``. With ``includes`` (``_spf.google.com``),
    the result is ``pass`` when the policy reaches one of those ``include:`` or ``redirect=``
    domains before an ``all``: the provider may send for the domain.

    >>> evaluate_spf("example.com", ip="192.0.2.1").result        # doctest: +SKIP
    <SpfResult.PASS: 'pass'>
    """
    client = ipaddress.ip_address(ip) if ip is not None else None
    lookup = DnsLookups(resolver or make_resolver(timeout=timeout), timeout)
    evaluator = SpfEvaluator(
        lookup, ip=client, includes=includes, sender=sender or f"postmaster@{domain}"
    )
    return evaluator.evaluate(domain)
