"""SPF and DMARC advice against a real DNS server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from barua.setup.deliverability import (
    DeliverabilityReport,
    DomainWarning,
    WarningCode,
    check_sender_domain,
)
from barua.setup.providers import get_preset
from barua.setup.spf import SpfProblem, SpfResult, evaluate_spf
from tests.dns_server import DnsServer

ADDRESS = "duka@duka.example"
GMAIL = get_preset("gmail")
DMARC_OK = "v=DMARC1; p=quarantine; rua=mailto:dmarc@duka.example"


@pytest.fixture
def dns_server() -> Iterator[DnsServer]:
    with DnsServer() as server:
        yield server


def check(dns_server: DnsServer, address: str = ADDRESS, **kwargs: Any) -> DeliverabilityReport:
    kwargs.setdefault("smtp_host", None)
    kwargs.setdefault("smtp_ips", None)
    kwargs.setdefault("preset", None)
    kwargs.setdefault("timeout", 1.0)
    return check_sender_domain(address, resolver=dns_server.resolver(timeout=1.0), **kwargs)


def spf(dns_server: DnsServer, domain: str, ip: str | None = None, **kwargs: Any) -> Any:
    return evaluate_spf(domain, ip=ip, resolver=dns_server.resolver(timeout=1.0), **kwargs)


def codes(report: DeliverabilityReport) -> list[WarningCode]:
    return [w.code for w in report.warnings]


# Authorised ----------------------------------------------------------------------------------


def test_provider_authorised_through_a_nested_include(dns_server: DnsServer) -> None:
    dns_server.add(
        "duka.example",
        "TXT",
        "google-site-verification=abc123",
        "v=spf1 include:_spf.duka.example -all",
    )
    dns_server.add(
        "_spf.duka.example", "TXT", "v=spf1 ip4:192.0.2.0/24 include:_spf.google.com ~all"
    )
    dns_server.add("_dmarc.duka.example", "TXT", DMARC_OK)
    report = check(dns_server, smtp_host="smtp.gmail.com", preset=GMAIL)
    assert report == DeliverabilityReport(
        domain="duka.example",
        spf_record="v=spf1 include:_spf.duka.example -all",
        spf_result=SpfResult.PASS,
        spf_authorises=True,
        dmarc_record=DMARC_OK,
        dmarc_policy="quarantine",
        warnings=[],
    )
    # The provider's own record is Google's business: it is never looked up.
    assert ("_spf.google.com", "TXT") not in dns_server.queries


def test_provider_authorised_through_redirect(dns_server: DnsServer) -> None:
    dns_server.add("duka.example", "TXT", "v=spf1 redirect=_spf.google.com")
    dns_server.add("_dmarc.duka.example", "TXT", "v=DMARC1; p=reject")
    report = check(dns_server, preset=GMAIL)
    assert report.spf_authorises is True
    assert report.dmarc_policy == "reject"
    assert report.warnings == []


def test_ip_authorised_through_ip4_cidr(dns_server: DnsServer) -> None:
    dns_server.add("duka.example", "TXT", "v=spf1 ip4:198.51.100.0/24 -all")
    dns_server.add("_dmarc.duka.example", "TXT", DMARC_OK)
    report = check(dns_server, smtp_host="smtp.hosting.example", smtp_ips=["198.51.100.25"])
    assert (report.spf_result, report.spf_authorises, report.warnings) == (
        SpfResult.PASS,
        True,
        [],
    )


def test_ip_authorised_through_ip6_cidr(dns_server: DnsServer) -> None:
    dns_server.add("duka.example", "TXT", "v=spf1 ip4:198.51.100.0/24 ip6:2001:db8:1::/48 -all")
    assert spf(dns_server, "duka.example", "2001:db8:1:2::25").result is SpfResult.PASS
    assert spf(dns_server, "duka.example", "2001:db8:2::25").result is SpfResult.FAIL


def test_ip_authorised_through_a_and_mx(dns_server: DnsServer) -> None:
    dns_server.add("duka.example", "TXT", "v=spf1 a mx a:relay.duka.example/28 -all")
    dns_server.add("duka.example", "A", "203.0.113.5")
    dns_server.add("duka.example", "MX", "10 mail.duka.example.")
    dns_server.add("mail.duka.example", "A", "203.0.113.9")
    dns_server.add("relay.duka.example", "A", "203.0.113.16")
    assert spf(dns_server, "duka.example", "203.0.113.5").result is SpfResult.PASS  # a
    assert spf(dns_server, "duka.example", "203.0.113.9").result is SpfResult.PASS  # mx
    assert spf(dns_server, "duka.example", "203.0.113.31").result is SpfResult.PASS  # a/28
    outside = spf(dns_server, "duka.example", "203.0.113.32")
    assert (outside.result, outside.lookups) == (SpfResult.FAIL, 3)


def test_ip_of_the_smtp_host_is_looked_up_when_not_given(dns_server: DnsServer) -> None:
    dns_server.add("duka.example", "TXT", "v=spf1 ip4:198.51.100.7 -all")
    dns_server.add("smtp.hosting.example", "A", "198.51.100.7")
    dns_server.add("_dmarc.duka.example", "TXT", DMARC_OK)
    report = check(dns_server, smtp_host="smtp.hosting.example")
    assert report.spf_authorises is True
    assert report.warnings == []


def test_macros_and_exists(dns_server: DnsServer) -> None:
    dns_server.add("duka.example", "TXT", "v=spf1 exists:%{ir}.%{v}._spf.%{d} -all")
    dns_server.add("25.100.51.198.in-addr._spf.duka.example", "A", "127.0.0.2")
    assert spf(dns_server, "duka.example", "198.51.100.25").result is SpfResult.PASS
    assert spf(dns_server, "duka.example", "198.51.100.26").result is SpfResult.FAIL
    # Without a client IP (checking a provider's include) the macro cannot match.
    assert spf(dns_server, "duka.example", includes=["_spf.google.com"]).result is SpfResult.FAIL


def test_record_split_into_several_strings(dns_server: DnsServer) -> None:
    ranges = " ".join(f"ip4:192.0.2.{n}" for n in range(1, 40))
    record = f"v=spf1 {ranges} ip4:198.51.100.9 -all"
    assert len(record) > 255  # served as several 255-byte strings, joined by the evaluator
    dns_server.add("duka.example", "TXT", record)
    assert spf(dns_server, "duka.example", "198.51.100.9").result is SpfResult.PASS


# Not authorised ------------------------------------------------------------------------------


def test_provider_not_authorised_gets_the_include_before_all(dns_server: DnsServer) -> None:
    dns_server.add("duka.example", "TXT", "v=spf1 include:spf.protection.outlook.com -all")
    dns_server.add("spf.protection.outlook.com", "TXT", "v=spf1 ip4:40.92.0.0/15 -all")
    dns_server.add("_dmarc.duka.example", "TXT", DMARC_OK)
    report = check(dns_server, smtp_host="smtp.gmail.com", preset=GMAIL)
    assert (report.spf_result, report.spf_authorises) == (SpfResult.FAIL, False)
    assert report.warnings == [
        DomainWarning(
            code=WarningCode.SPF_NOT_AUTHORISED,
            message=report.warnings[0].message,
            args={"domain": "duka.example", "name": "duka.example", "server": "Gmail"},
            record_to_add="v=spf1 include:spf.protection.outlook.com include:_spf.google.com -all",
            record_name="duka.example",
        )
    ]
    assert report.warnings[0].text() == (
        "The SPF record of duka.example does not allow Gmail to send its email, so receiving "
        "servers may mark it as spam or refuse it. Change the TXT record of duka.example to:"
    )


def test_ip_not_authorised_gets_its_ip4(dns_server: DnsServer) -> None:
    dns_server.add("duka.example", "TXT", "v=spf1 ip4:192.0.2.0/24 ~all")
    dns_server.add("_dmarc.duka.example", "TXT", DMARC_OK)
    report = check(dns_server, smtp_host="smtp.hosting.example", smtp_ips=["198.51.100.7"])
    assert (report.spf_result, report.spf_authorises) == (SpfResult.SOFTFAIL, False)
    [warning] = report.warnings
    assert warning.code is WarningCode.SPF_NOT_AUTHORISED
    assert warning.args["server"] == "smtp.hosting.example"
    assert warning.record_to_add == "v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.7 ~all"


def test_redirect_decides_when_nothing_matches(dns_server: DnsServer) -> None:
    dns_server.add("duka.example", "TXT", "v=spf1 ip4:192.0.2.1 redirect=_spf.hosting.example")
    dns_server.add("_spf.hosting.example", "TXT", "v=spf1 ip4:198.51.100.0/24 -all")
    assert spf(dns_server, "duka.example", "198.51.100.7").result is SpfResult.PASS
    assert spf(dns_server, "duka.example", "203.0.113.7").result is SpfResult.FAIL
    # Missing terms are added before the redirect, which only applies when nothing matched.
    report = check(dns_server, smtp_ips=["203.0.113.7"])
    assert report.warnings[0].record_to_add == (
        "v=spf1 ip4:192.0.2.1 ip4:203.0.113.7 redirect=_spf.hosting.example"
    )


def test_all_wins_over_redirect(dns_server: DnsServer) -> None:
    dns_server.add("duka.example", "TXT", "v=spf1 -all redirect=_spf.hosting.example")
    dns_server.add("_spf.hosting.example", "TXT", "v=spf1 +all")
    assert spf(dns_server, "duka.example", "198.51.100.7").result is SpfResult.FAIL


# Missing and broken records ------------------------------------------------------------------


def test_no_spf_and_no_dmarc_give_the_records_to_add(dns_server: DnsServer) -> None:
    dns_server.add("duka.example", "MX", "10 aspmx.l.google.com.")
    report = check(dns_server, smtp_host="smtp.gmail.com", preset=GMAIL)
    assert (report.spf_record, report.spf_result, report.spf_authorises) == (
        None,
        SpfResult.NONE,
        False,
    )
    assert report.dmarc_policy is None
    spf_warning, dmarc_warning = report.warnings
    assert spf_warning.code is WarningCode.SPF_MISSING
    assert spf_warning.record_to_add == "v=spf1 include:_spf.google.com ~all"
    assert spf_warning.record_name == "duka.example"
    assert spf_warning.text() == (
        "duka.example has no SPF record, so receiving servers cannot tell that Gmail may send "
        "its email. Add this TXT record to duka.example:"
    )
    assert dmarc_warning.code is WarningCode.DMARC_MISSING
    assert dmarc_warning.record_to_add == "v=DMARC1; p=none"
    assert dmarc_warning.record_name == "_dmarc.duka.example"
    assert dmarc_warning.text() == (
        "duka.example has no DMARC record. Gmail, Yahoo and others expect one from businesses "
        "that send email. Add this TXT record at _dmarc.duka.example, and once your email "
        "passes SPF or DKIM, change p=none to p=quarantine:"
    )


def test_a_domain_that_does_not_exist_is_named_not_its_missing_records(
    dns_server: DnsServer,
) -> None:
    report = check(dns_server, smtp_host="mail.duka.example", smtp_ips=["198.51.100.7"])
    [warning] = report.warnings
    assert warning.code is WarningCode.DOMAIN_MISSING
    assert warning.record_to_add is None
    assert warning.text() == (
        f"The domain duka.example does not exist, so receiving servers refuse or bin email from "
        f"{ADDRESS}. Check the sender address, or register duka.example and add its DNS records."
    )


def test_no_spf_with_an_ip_gives_an_ip4_record(dns_server: DnsServer) -> None:
    dns_server.add("_dmarc.duka.example", "TXT", DMARC_OK)
    report = check(dns_server, smtp_host="mail.duka.example", smtp_ips=["198.51.100.7"])
    [warning] = report.warnings
    assert warning.record_to_add == "v=spf1 ip4:198.51.100.7 ~all"


def test_private_addresses_say_nothing(dns_server: DnsServer) -> None:
    dns_server.add("duka.example", "TXT", "v=spf1 ip4:192.0.2.0/24 -all")
    dns_server.add("_dmarc.duka.example", "TXT", DMARC_OK)
    report = check(dns_server, smtp_host="server.office", smtp_ips=["192.168.1.10", "127.0.0.1"])
    assert (report.spf_authorises, report.warnings) == (None, [])
    dns_server.zone.pop("duka.example")
    report = check(dns_server, smtp_host="server.office", smtp_ips=["192.168.1.10"])
    assert report.warnings[0].text() == (
        "duka.example has no SPF record. Ask your email provider which SPF record to add to "
        "duka.example."
    )
    assert report.warnings[0].record_to_add is None


def test_two_spf_records_are_merged(dns_server: DnsServer) -> None:
    dns_server.add(
        "duka.example",
        "TXT",
        "v=spf1 include:_spf.google.com ~all",
        "v=spf1 include:sendgrid.net -all",
    )
    dns_server.add("_dmarc.duka.example", "TXT", DMARC_OK)
    report = check(dns_server, preset=GMAIL)
    assert (report.spf_record, report.spf_result, report.spf_authorises) == (
        None,
        SpfResult.PERMERROR,
        None,
    )
    [warning] = report.warnings
    assert warning.code is WarningCode.SPF_MULTIPLE
    assert warning.args == {"domain": "duka.example", "name": "duka.example", "count": 2}
    assert warning.record_to_add == "v=spf1 include:_spf.google.com include:sendgrid.net ~all"
    assert warning.text() == (
        "duka.example has 2 SPF records; receiving servers treat that as an error. Merge them "
        "into one TXT record:"
    )


def test_two_spf_records_with_a_redirect_are_left_to_a_person(dns_server: DnsServer) -> None:
    dns_server.add("duka.example", "TXT", "v=spf1 redirect=_spf.hosting.example", "v=spf1 a -all")
    report = check(dns_server, preset=GMAIL)
    [spf_warning, _] = report.warnings
    assert spf_warning.record_to_add is None
    assert spf_warning.text() == (
        "duka.example has 2 SPF records; receiving servers treat that as an error. Merge them "
        "into one TXT record."
    )


def test_too_many_lookups(dns_server: DnsServer) -> None:
    includes = " ".join(f"include:s{n}.hosting.example" for n in range(1, 12))
    dns_server.add("duka.example", "TXT", f"v=spf1 {includes} -all")
    for n in range(1, 12):
        dns_server.add(f"s{n}.hosting.example", "TXT", "v=spf1 ip4:192.0.2.1 -all")
    dns_server.add("_dmarc.duka.example", "TXT", DMARC_OK)
    evaluation = spf(dns_server, "duka.example", "198.51.100.7")
    assert (evaluation.result, evaluation.problem, evaluation.lookups) == (
        SpfResult.PERMERROR,
        SpfProblem.TOO_MANY_LOOKUPS,
        11,
    )
    assert ("s11.hosting.example", "TXT") not in dns_server.queries
    report = check(dns_server, preset=GMAIL)
    assert (report.spf_result, report.spf_authorises) == (SpfResult.PERMERROR, None)
    [warning] = report.warnings
    assert warning.code is WarningCode.SPF_BROKEN
    assert warning.text() == (
        "The SPF record of duka.example needs more than 10 DNS lookups, so receiving servers "
        "treat it as an error. Remove includes you no longer use, or replace them with ip4: "
        "and ip6: ranges."
    )


def test_too_many_void_lookups(dns_server: DnsServer) -> None:
    dns_server.add("duka.example", "TXT", "v=spf1 a:n1.example a:n2.example a:n3.example -all")
    evaluation = spf(dns_server, "duka.example", "198.51.100.7")
    assert (evaluation.problem, evaluation.detail) == (
        SpfProblem.TOO_MANY_VOID_LOOKUPS,
        "n3.example",
    )


def test_include_loop(dns_server: DnsServer) -> None:
    dns_server.add("duka.example", "TXT", "v=spf1 include:loop.example -all")
    dns_server.add("loop.example", "TXT", "v=spf1 include:duka.example -all")
    evaluation = spf(dns_server, "duka.example", "198.51.100.7")
    assert (evaluation.result, evaluation.problem, evaluation.detail) == (
        SpfResult.PERMERROR,
        SpfProblem.LOOP,
        "duka.example → loop.example → duka.example",
    )
    report = check(dns_server, smtp_ips=["198.51.100.7"])
    assert report.warnings[0].text() == (
        "The SPF record of duka.example includes itself (duka.example → loop.example → "
        "duka.example); receiving servers treat it as an error."
    )


def test_include_without_a_record(dns_server: DnsServer) -> None:
    dns_server.add("duka.example", "TXT", "v=spf1 include:gone.example -all")
    evaluation = spf(dns_server, "duka.example", "198.51.100.7")
    assert (evaluation.problem, evaluation.detail) == (
        SpfProblem.INCLUDE_WITHOUT_RECORD,
        "gone.example",
    )


@pytest.mark.parametrize(
    ("record", "detail"),
    [
        ("v=spf1 ip4:198.51.100.300 -all", "ip4:198.51.100.300"),
        # A mistake anywhere spoils the record, even after a term that matched.
        ("v=spf1 ip4:198.51.100.0/24 ip4:192.0.2.0/33 -all", "ip4:192.0.2.0/33"),
        ("v=spf1 ip4:198.51.100.0/24 frobnicate -all", "frobnicate"),
        ("v=spf1 include -all", "include"),
        ("v=spf1 -all:x", "all:x"),
    ],
)
def test_syntax_errors(dns_server: DnsServer, record: str, detail: str) -> None:
    dns_server.add("duka.example", "TXT", record)
    evaluation = spf(dns_server, "duka.example", "198.51.100.7")
    assert (evaluation.result, evaluation.problem, evaluation.detail) == (
        SpfResult.PERMERROR,
        SpfProblem.SYNTAX,
        detail,
    )


def test_unknown_modifiers_are_ignored(dns_server: DnsServer) -> None:
    dns_server.add("duka.example", "TXT", "v=spf1 ip4:198.51.100.7 exp=explain.%{d} foo=bar -all")
    assert spf(dns_server, "duka.example", "198.51.100.7").result is SpfResult.PASS


def test_dns_timeout_means_unchecked(dns_server: DnsServer) -> None:
    dns_server.hang.add("duka.example")
    dns_server.add("_dmarc.duka.example", "TXT", DMARC_OK)
    report = check(dns_server, preset=GMAIL, timeout=0.5)
    assert (report.spf_result, report.spf_authorises) == (None, None)
    [warning] = report.warnings
    assert warning.code is WarningCode.SPF_UNCHECKED
    assert warning.text() == (
        "barua could not read the SPF record of duka.example (no answer from DNS within "
        "0.5 s); check again later."
    )
    assert report.dmarc_policy == "quarantine"


# DMARC ---------------------------------------------------------------------------------------


def test_dmarc_none_suggests_quarantine(dns_server: DnsServer) -> None:
    dns_server.add("duka.example", "TXT", "v=spf1 include:_spf.google.com ~all")
    dns_server.add("_dmarc.duka.example", "TXT", "v=DMARC1; p=none; rua=mailto:d@duka.example")
    report = check(dns_server, preset=GMAIL)
    assert report.dmarc_policy == "none"
    [warning] = report.warnings
    assert warning.code is WarningCode.DMARC_NONE
    assert warning.record_to_add == "v=DMARC1; p=quarantine; rua=mailto:d@duka.example"
    assert warning.record_name == "_dmarc.duka.example"
    assert warning.text() == (
        "The DMARC policy of duka.example is p=none: receiving servers do nothing with email "
        "that pretends to come from duka.example. Once your own email passes SPF or DKIM, "
        "change the TXT record at _dmarc.duka.example to:"
    )


def test_dmarc_quarantine_is_fine(dns_server: DnsServer) -> None:
    dns_server.add("duka.example", "TXT", "v=spf1 include:_spf.google.com ~all")
    dns_server.add("_dmarc.duka.example", "TXT", "v=DMARC1;p=Quarantine;pct=100")
    report = check(dns_server, preset=GMAIL)
    assert (report.dmarc_policy, report.warnings) == ("quarantine", [])


def test_dmarc_without_a_policy(dns_server: DnsServer) -> None:
    dns_server.add("duka.example", "TXT", "v=spf1 include:_spf.google.com ~all")
    dns_server.add("_dmarc.duka.example", "TXT", "v=DMARC1; rua=mailto:d@duka.example")
    report = check(dns_server, preset=GMAIL)
    assert report.dmarc_policy is None
    assert report.warnings[0].code is WarningCode.DMARC_INVALID
    assert report.warnings[0].text() == (
        "The DMARC record at _dmarc.duka.example has no valid policy (p=none, p=quarantine or "
        'p=reject): "v=DMARC1; rua=mailto:d@duka.example".'
    )


# Addresses at a provider's own domain --------------------------------------------------------


def test_gmail_address_through_gmail_needs_nothing(dns_server: DnsServer) -> None:
    dns_server.add("gmail.com", "TXT", "v=spf1 redirect=_spf.google.com")
    dns_server.add("_dmarc.gmail.com", "TXT", "v=DMARC1; p=none; sp=quarantine")
    report = check(dns_server, "duka@gmail.com", smtp_host="smtp.gmail.com", preset=GMAIL)
    assert report.spf_record == "v=spf1 redirect=_spf.google.com"
    assert report.dmarc_policy == "none"
    assert report.warnings == []


def test_yahoo_address_through_sendgrid_is_warned(dns_server: DnsServer) -> None:
    dns_server.add("_dmarc.yahoo.com", "TXT", "v=DMARC1; p=reject")
    report = check(
        dns_server, "duka@yahoo.com", smtp_host="smtp.sendgrid.net", preset=get_preset("sendgrid")
    )
    [warning] = report.warnings
    assert warning.code is WarningCode.FREE_MAIL_ELSEWHERE
    assert warning.record_to_add is None
    assert warning.text() == (
        "yahoo.com addresses belong to Yahoo Mail: email from duka@yahoo.com sent through "
        "SendGrid is likely to be refused or marked as spam. Send through Yahoo Mail, or use "
        "an address at your own domain."
    )
    assert report.dmarc_policy == "reject"


def test_report_to_dict(dns_server: DnsServer) -> None:
    dns_server.add("duka.example", "MX", "10 aspmx.l.google.com.")
    report = check(dns_server, preset=GMAIL)
    data = report.to_dict()
    assert data["domain"] == "duka.example"
    assert data["spf_result"] == "none"
    assert [w["code"] for w in data["warnings"]] == ["spf_missing", "dmarc_missing"]
    assert data["warnings"][0]["record_to_add"] == "v=spf1 include:_spf.google.com ~all"
    translated = report.to_dict(lambda text: "[sw] " + text)
    assert translated["warnings"][1]["message"].startswith("[sw] duka.example has no DMARC")
