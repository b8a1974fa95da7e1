"""The TLS context every transport uses, and the causes of a refused certificate."""

from __future__ import annotations

import ssl

import pytest

from barua.errors import Cause
from barua.transports.tls import certificate_cause, certificate_info, make_tls_context


def test_the_context_verifies_and_wants_tls_1_2_or_newer() -> None:
    context = make_tls_context()
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert context.minimum_version is ssl.TLSVersion.TLSv1_2
    unverified = make_tls_context(verify=False)
    assert unverified.verify_mode is ssl.CERT_NONE and not unverified.check_hostname
    assert unverified.minimum_version is ssl.TLSVersion.TLSv1_2


@pytest.mark.parametrize(
    ("code", "cause"),
    [
        (10, Cause.CERT_EXPIRED),
        (18, Cause.CERT_SELF_SIGNED),
        (19, Cause.CERT_SELF_SIGNED),
        (20, Cause.CERT_UNTRUSTED),
        (62, Cause.CERT_WRONG_HOST),
        (64, Cause.CERT_WRONG_HOST),
        (9999, Cause.CERT_UNTRUSTED),  # a code without its own explanation
    ],
)
def test_openssl_verify_codes_become_causes(code: int, cause: Cause) -> None:
    assert certificate_cause(code) is cause


def test_a_certificate_that_cannot_be_parsed_is_not_described() -> None:
    assert certificate_info(b"not a certificate") is None
