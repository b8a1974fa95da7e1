"""Will receivers trust mail from this domain? SPF and DMARC advice for the sending address.

A test email that arrives proves the settings work, not that Gmail or Yahoo will keep the
invoices out of the spam folder. This module reads the sender domain's SPF and DMARC records
and says, with the exact record to add, what is missing. SPF is evaluated by a real, bounded
evaluator (a subset of RFC 7208, see :func:`evaluate_spf`) rather than by searching the text,
because the provider is often reached through nested ``include:`` or ``redirect=`` terms.

With a known provider, the question is "does the policy reach the provider's ``include:``
before an ``all``?" (the provider's sending servers are not the one barua connects to).
Without one, the IPs of the SMTP server barua used are checked.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import dns.exception
import dns.name
import dns.resolver

from barua.addresses import validate_address
from barua.i18n import N_
from barua.setup.providers import Preset, preset_for_domain
from barua.setup.resolver import make_resolver
from barua.setup.spf import (
    DnsLookups,
    IPAddress,
    SpfEvaluation,
    SpfEvaluator,
    SpfPermError,
    SpfProblem,
    SpfResult,
    SpfTempError,
    clean_name,
    spf_records,
)

# Addresses that say nothing about where mail leaves for the internet: the SMTP server is on
# this machine or the office network, and relays through a public address barua cannot see.
_LOCAL_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "::1/128",
        "::/128",
        "fc00::/7",
        "fe80::/10",
    )
)


class WarningCode(StrEnum):
    """What a :class:`DomainWarning` is about, for programs that act on it."""

    DOMAIN_MISSING = "domain_missing"
    SPF_MISSING = "spf_missing"
    SPF_NOT_AUTHORISED = "spf_not_authorised"
    SPF_MULTIPLE = "spf_multiple"
    SPF_BROKEN = "spf_broken"
    SPF_UNCHECKED = "spf_unchecked"
    DMARC_MISSING = "dmarc_missing"
    DMARC_NONE = "dmarc_none"
    DMARC_MULTIPLE = "dmarc_multiple"
    DMARC_INVALID = "dmarc_invalid"
    DMARC_UNCHECKED = "dmarc_unchecked"
    FREE_MAIL_ELSEWHERE = "free_mail_elsewhere"


_DOMAIN_MISSING = N_(
    "The domain {domain} does not exist, so receiving servers refuse or bin email from "
    "{address}. Check the sender address, or register {domain} and add its DNS records."
)
_SPF_MISSING = N_(
    "{domain} has no SPF record, so receiving servers cannot tell that {server} may send its "
    "email. Add this TXT record to {domain}:"
)
_SPF_MISSING_UNKNOWN = N_(
    "{domain} has no SPF record. Ask your email provider which SPF record to add to {domain}."
)
_SPF_NOT_AUTHORISED = N_(
    "The SPF record of {domain} does not allow {server} to send its email, so receiving "
    "servers may mark it as spam or refuse it. Change the TXT record of {domain} to:"
)
_SPF_MULTIPLE = N_(
    "{domain} has {count} SPF records; receiving servers treat that as an error. Merge them "
    "into one TXT record:"
)
_SPF_MULTIPLE_MANUAL = N_(
    "{domain} has {count} SPF records; receiving servers treat that as an error. Merge them "
    "into one TXT record."
)
_SPF_UNCHECKED = N_(
    "barua could not read the SPF record of {domain} ({detail}); check again later."
)
_SPF_PROBLEMS: dict[SpfProblem, str] = {
    SpfProblem.TOO_MANY_LOOKUPS: N_(
        "The SPF record of {domain} needs more than 10 DNS lookups, so receiving servers treat "
        "it as an error. Remove includes you no longer use, or replace them with ip4: and ip6: "
        "ranges."
    ),
    SpfProblem.TOO_MANY_VOID_LOOKUPS: N_(
        "The SPF record of {domain} points at names that do not exist ({detail}); receiving "
        "servers treat it as an error. Remove those entries."
    ),
    SpfProblem.LOOP: N_(
        "The SPF record of {domain} includes itself ({detail}); receiving servers treat it as "
        "an error."
    ),
    SpfProblem.SYNTAX: N_(
        'The SPF record of {domain} has a mistake ("{detail}"); receiving servers treat it as '
        "an error. Correct the record."
    ),
    SpfProblem.INCLUDE_WITHOUT_RECORD: N_(
        "The SPF record of {domain} includes {detail}, which has no SPF record; receiving "
        "servers treat that as an error. Remove or correct that include."
    ),
    SpfProblem.MULTIPLE_RECORDS: N_(
        "The SPF record of {domain} includes {detail}, which has more than one SPF record; "
        "receiving servers treat that as an error."
    ),
}
_DMARC_MISSING = N_(
    "{domain} has no DMARC record. Gmail, Yahoo and others expect one from businesses that "
    "send email. Add this TXT record at {name}, and once your email passes SPF or DKIM, "
    "change p=none to p=quarantine:"
)
_DMARC_NONE = N_(
    "The DMARC policy of {domain} is p=none: receiving servers do nothing with email that "
    "pretends to come from {domain}. Once your own email passes SPF or DKIM, change the TXT "
    "record at {name} to:"
)
_DMARC_MULTIPLE = N_(
    "{domain} has {count} DMARC records at {name}, so receivers ignore them all. Keep one."
)
_DMARC_INVALID = N_(
    'The DMARC record at {name} has no valid policy (p=none, p=quarantine or p=reject): "{value}".'
)
_DMARC_UNCHECKED = N_(
    "barua could not read the DMARC record of {domain} ({detail}); check again later."
)
_FREE_MAIL_ELSEWHERE = N_(
    "{domain} addresses belong to {provider}: email from {address} sent through {server} is "
    "likely to be refused or marked as spam. Send through {provider}, or use an address at "
    "your own domain."
)


def _identity(text: str) -> str:
    return text


@dataclass(frozen=True, kw_only=True, slots=True)
class DomainWarning:
    """One thing to fix in the sender domain's DNS, with the record to add when it is known.

    ``message`` is English marked with ``N_``; translate it, then fill it from ``args``.
    """

    code: WarningCode
    message: str
    args: dict[str, Any] = field(default_factory=dict)
    record_to_add: str | None = None
    record_name: str | None = None
    """The DNS name the TXT record goes on (``example.com``, ``_dmarc.example.com``)."""

    def text(self, gettext: Callable[[str], str] = _identity) -> str:
        """The message in the language of ``gettext``."""
        return gettext(self.message).format(**self.args)

    def to_dict(self, gettext: Callable[[str], str] = _identity) -> dict[str, Any]:
        return {
            "code": str(self.code),
            "message": self.text(gettext),
            "record_to_add": self.record_to_add,
            "record_name": self.record_name,
        }


@dataclass(frozen=True, kw_only=True)
class DeliverabilityReport:
    """What the sender domain's SPF and DMARC records say, and what to change."""

    domain: str
    spf_record: str | None = None
    """The domain's SPF record, when it has exactly one."""
    spf_result: SpfResult | None = None
    spf_authorises: bool | None = None
    """Whether SPF lets the server (or provider) send for the domain; None: cannot tell."""
    dmarc_record: str | None = None
    dmarc_policy: str | None = None
    """``none``, ``quarantine`` or ``reject``."""
    warnings: list[DomainWarning] = field(default_factory=list)

    def to_dict(self, gettext: Callable[[str], str] = _identity) -> dict[str, Any]:
        """A JSON-ready form for the web app and scripts."""
        return {
            "domain": self.domain,
            "spf_record": self.spf_record,
            "spf_result": str(self.spf_result) if self.spf_result is not None else None,
            "spf_authorises": self.spf_authorises,
            "dmarc_record": self.dmarc_record,
            "dmarc_policy": self.dmarc_policy,
            "warnings": [w.to_dict(gettext) for w in self.warnings],
        }


# The report ----------------------------------------------------------------------------------


def _add_terms(record: str, terms: list[str]) -> str:
    """``record`` with ``terms`` inserted before its ``all`` (or ``redirect=``), else at the end."""
    words = record.split()
    present = {w.lower() for w in words}
    missing = [t for t in terms if t.lower() not in present and "+" + t.lower() not in present]
    position = len(words)
    for index, word in enumerate(words[1:], start=1):
        name = word.lstrip("+-~?").lower()
        if name == "all" or name.startswith("redirect="):
            position = index
            break
    return " ".join([*words[:position], *missing, *words[position:]])


def _merge(records: list[str], terms: list[str]) -> str | None:
    """One record that allows what every record of ``records`` does, plus ``terms``.

    DNS returns the records in no particular order, so they are merged in sorted order, and
    the ``all`` is kept only when every record has the same one (else ``~all``). None when a
    record holds a modifier such as ``redirect=``, which a program cannot merge safely.
    """
    merged: list[str] = []
    finals: set[str] = set()
    for record in sorted(records):
        final = "?all"  # a record without "all" ends neutral
        for word in record.split()[1:]:
            if "=" in word.split(":", 1)[0]:
                return None
            if word.lstrip("+-~?").lower() == "all":
                final = word if word[0] in "-~?" else "+all"
            elif word.lower() not in {m.lower() for m in merged}:
                merged.append(word)
        finals.add(final)
    final = finals.pop() if len(finals) == 1 and "+all" not in finals else "~all"
    return _add_terms(" ".join(["v=spf1", *merged, final]), terms)


def _ip_terms(ips: list[IPAddress]) -> list[str]:
    return [f"ip{ip.version}:{ip}" for ip in ips]


def _public(ips: Iterable[str]) -> list[IPAddress]:
    found: list[IPAddress] = []
    for text in ips:
        try:
            ip = ipaddress.ip_address(text.strip().strip("[]").split("%")[0])
        except ValueError:
            continue
        if not any(ip in net for net in _LOCAL_NETWORKS if net.version == ip.version):
            found.append(ip)
    return list(dict.fromkeys(found))


def _same_provider(owner: Preset, preset: Preset | None, smtp_host: str | None) -> bool | None:
    if preset is not None:
        shared = set(owner.spf_includes) & set(preset.spf_includes)
        return owner.id == preset.id or bool(shared) or owner.host == preset.host
    if smtp_host is not None:
        return owner.matches_host(smtp_host)
    return None


class _Check:
    """One domain check in progress: its lookups, and the warnings found so far."""

    def __init__(self, lookup: DnsLookups, domain: str, sender: str) -> None:
        self.dns = lookup
        self.domain = domain
        self.sender = sender
        self.warnings: list[DomainWarning] = []

    def warn(
        self,
        code: WarningCode,
        message: str,
        *,
        record: str | None = None,
        name: str | None = None,
        **args: Any,
    ) -> None:
        self.warnings.append(
            DomainWarning(
                code=code,
                message=message,
                args={"domain": self.domain, **({"name": name} if name else {}), **args},
                record_to_add=record,
                record_name=name,
            )
        )

    def spf_records(self) -> list[str] | None:
        """The domain's SPF records, or None (with a warning) when DNS does not answer."""
        try:
            return spf_records(self.dns.txt(self.domain))
        except (SpfTempError, SpfPermError) as exc:
            self.warn(WarningCode.SPF_UNCHECKED, _SPF_UNCHECKED, detail=str(exc))
            return None

    def evaluate(self, *, ip: IPAddress | None, includes: Iterable[str]) -> SpfEvaluation:
        evaluator = SpfEvaluator(self.dns, ip=ip, includes=includes, sender=self.sender)
        return evaluator.evaluate(self.domain)

    def authorisation(
        self, *, includes: list[str], ips: list[IPAddress]
    ) -> tuple[SpfResult, bool | None, list[str]]:
        """The SPF result, whether it authorises the sender, and the terms still missing."""
        if includes:
            evaluation = self.evaluate(ip=None, includes=includes)
            outcomes = [(evaluation, term) for term in (f"include:{i}" for i in includes)]
        else:
            outcomes = [
                (self.evaluate(ip=ip, includes=()), term)
                for ip, term in zip(ips, _ip_terms(ips), strict=True)
            ]
        for evaluation, _ in outcomes:
            if evaluation.result is SpfResult.TEMPERROR:
                self.warn(WarningCode.SPF_UNCHECKED, _SPF_UNCHECKED, detail=evaluation.detail)
                return evaluation.result, None, []
            if evaluation.result is SpfResult.PERMERROR:
                assert evaluation.problem is not None
                message = _SPF_PROBLEMS[evaluation.problem]
                self.warn(WarningCode.SPF_BROKEN, message, detail=evaluation.detail)
                return evaluation.result, None, []
        missing = [term for evaluation, term in outcomes if evaluation.result is not SpfResult.PASS]
        failed = [e.result for e, _ in outcomes if e.result is not SpfResult.PASS]
        return (failed[0] if failed else SpfResult.PASS), not missing, missing

    def dmarc(self) -> tuple[str | None, str | None]:
        """The DMARC record and its policy, with a warning when it is missing or weak."""
        name = f"_dmarc.{self.domain}"
        try:
            texts = self.dns.txt(name)
        except (SpfTempError, SpfPermError) as exc:
            self.warn(WarningCode.DMARC_UNCHECKED, _DMARC_UNCHECKED, detail=str(exc))
            return None, None
        records = [t.strip() for t in texts if _DMARC.match(t.strip())]
        if not records:
            self.warn(
                WarningCode.DMARC_MISSING, _DMARC_MISSING, record="v=DMARC1; p=none", name=name
            )
            return None, None
        if len(records) > 1:
            self.warn(WarningCode.DMARC_MULTIPLE, _DMARC_MULTIPLE, name=name, count=len(records))
            return None, None
        record = records[0]
        tags: dict[str, str] = {}
        for part in record.split(";"):
            key, _, value = part.partition("=")
            tags.setdefault(key.strip().lower(), value.strip().lower())
        policy = tags.get("p")
        if policy not in {"none", "quarantine", "reject"}:
            self.warn(WarningCode.DMARC_INVALID, _DMARC_INVALID, name=name, value=record)
            return record, None
        if policy == "none":
            stricter = _DMARC_POLICY_NONE.sub(r"\1quarantine", record, count=1)
            self.warn(WarningCode.DMARC_NONE, _DMARC_NONE, record=stricter, name=name)
        return record, policy


_DMARC = re.compile(r"v\s*=\s*DMARC1\s*(;|$)", re.I)
_DMARC_POLICY_NONE = re.compile(r"(;\s*p\s*=\s*)none\b", re.I)


def _host_addresses(lookup: DnsLookups, host: str) -> list[str]:
    """The addresses of the SMTP server, when the caller does not know which one it used."""
    try:
        return [str(ip) for v6 in (False, True) for ip in lookup.addresses(host, v6=v6)]
    except (SpfTempError, SpfPermError):
        return []


def check_sender_domain(
    address: str,
    *,
    smtp_host: str | None,
    smtp_ips: list[str] | None,
    preset: Preset | None,
    resolver: dns.resolver.Resolver | None = None,
    timeout: float = 3.0,
) -> DeliverabilityReport:
    """Check that receivers will trust mail from ``address`` sent via ``smtp_host``.

    ``preset`` is the provider the settings send through, if known: its ``spf_includes`` are
    what the SPF record must reach. Without one, ``smtp_ips`` (else the addresses of
    ``smtp_host``) must pass the SPF policy; addresses on this machine or a private network
    say nothing about the internet, so they are left out. A provider's own domain
    (``gmail.com``) is its business: only sending it through another server is worth a
    warning. DMARC is read at ``_dmarc.DOMAIN`` only (no fallback to a parent domain).
    """
    mailbox = validate_address(address, field="email_address")
    domain = clean_name(mailbox.domain)
    with contextlib.suppress(UnicodeError):
        domain = domain.encode("idna").decode("ascii")
    lookup = DnsLookups(resolver or make_resolver(timeout=timeout), timeout)
    check = _Check(lookup, domain, mailbox.address)

    owner = preset_for_domain(domain)
    if owner is not None:
        return _provider_domain(check, owner, preset=preset, smtp_host=smtp_host)

    includes = list(preset.spf_includes) if preset is not None else []
    ips: list[IPAddress] = []
    if not includes:
        ips = _public(smtp_ips or [])
        if not smtp_ips and smtp_host is not None:
            ips = _public(_host_addresses(lookup, smtp_host))
    needed = [f"include:{i}" for i in includes] or _ip_terms(ips)
    server = preset.name if preset is not None else smtp_host or ", ".join(map(str, ips))

    spf_record: str | None = None
    spf_result: SpfResult | None = None
    authorises: bool | None = None
    records = check.spf_records()
    if records == [] and domain.lower() in lookup.missing:
        # Not a missing record: the whole domain is missing, and DMARC's would be too.
        check.warn(WarningCode.DOMAIN_MISSING, _DOMAIN_MISSING, address=mailbox.address)
        return DeliverabilityReport(
            domain=domain, spf_result=SpfResult.NONE, warnings=check.warnings
        )
    if records == []:
        spf_result = SpfResult.NONE
        if needed:
            authorises = False
            new = " ".join(["v=spf1", *needed, "~all"])
            check.warn(
                WarningCode.SPF_MISSING, _SPF_MISSING, record=new, name=domain, server=server
            )
        else:
            check.warn(WarningCode.SPF_MISSING, _SPF_MISSING_UNKNOWN)
    elif records is not None and len(records) > 1:
        spf_result = SpfResult.PERMERROR
        merged = _merge(records, needed)
        message = _SPF_MULTIPLE if merged is not None else _SPF_MULTIPLE_MANUAL
        check.warn(
            WarningCode.SPF_MULTIPLE, message, record=merged, name=domain, count=len(records)
        )
    elif records is not None:
        spf_record = records[0]
        if needed:
            spf_result, authorises, missing = check.authorisation(includes=includes, ips=ips)
            if authorises is False:
                check.warn(
                    WarningCode.SPF_NOT_AUTHORISED,
                    _SPF_NOT_AUTHORISED,
                    record=_add_terms(spf_record, missing),
                    name=domain,
                    server=server,
                )

    dmarc_record, dmarc_policy = check.dmarc()
    return DeliverabilityReport(
        domain=domain,
        spf_record=spf_record,
        spf_result=spf_result,
        spf_authorises=authorises,
        dmarc_record=dmarc_record,
        dmarc_policy=dmarc_policy,
        warnings=check.warnings,
    )


def _provider_domain(
    check: _Check, owner: Preset, *, preset: Preset | None, smtp_host: str | None
) -> DeliverabilityReport:
    """A report for an address at a provider's own domain, whose DNS the user cannot change."""
    if _same_provider(owner, preset, smtp_host) is False:
        check.warn(
            WarningCode.FREE_MAIL_ELSEWHERE,
            _FREE_MAIL_ELSEWHERE,
            provider=owner.name,
            address=check.sender,
            server=preset.name if preset is not None else smtp_host,
        )
    records = _Check(check.dns, check.domain, check.sender).spf_records() or []
    dmarc_record, dmarc_policy = _Check(check.dns, check.domain, check.sender).dmarc()
    return DeliverabilityReport(
        domain=check.domain,
        spf_record=records[0] if len(records) == 1 else None,
        dmarc_record=dmarc_record,
        dmarc_policy=dmarc_policy,
        warnings=check.warnings,
    )
