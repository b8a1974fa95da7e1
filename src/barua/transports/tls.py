"""TLS as every transport uses it: the client context, and what a refused certificate means.

One context policy for SMTP, HTTP and the detection of settings: the system CA store
(``SSL_CERT_FILE`` honoured) and TLS 1.2 or newer, so no part of barua accepts less than
another.
"""

from __future__ import annotations

import ssl

from barua.certificates import CertificateInfo, describe_certificate
from barua.errors import Cause


def make_tls_context(*, verify: bool = True) -> ssl.SSLContext:
    """A client TLS context: system CA store (``SSL_CERT_FILE`` honoured), TLS 1.2 or newer."""
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def certificate_cause(verify_code: int) -> Cause:
    """Why OpenSSL refused a certificate, from its X509_V_ERR_* code."""
    return _CERT_CAUSES.get(verify_code, Cause.CERT_UNTRUSTED)


# OpenSSL's X509_V_ERR_* codes that have a precise explanation.
_CERT_CAUSES = {
    10: Cause.CERT_EXPIRED,  # CERT_HAS_EXPIRED
    18: Cause.CERT_SELF_SIGNED,  # DEPTH_ZERO_SELF_SIGNED_CERT
    19: Cause.CERT_SELF_SIGNED,  # SELF_SIGNED_CERT_IN_CHAIN
    20: Cause.CERT_UNTRUSTED,  # UNABLE_TO_GET_ISSUER_CERT_LOCALLY
    21: Cause.CERT_UNTRUSTED,  # UNABLE_TO_VERIFY_LEAF_SIGNATURE
    62: Cause.CERT_WRONG_HOST,  # HOSTNAME_MISMATCH
    64: Cause.CERT_WRONG_HOST,  # IP_ADDRESS_MISMATCH
}


def certificate_info(der: bytes) -> CertificateInfo | None:
    """The certificate in words, or None when it cannot be parsed: OpenSSL may accept what
    the cryptography package finds malformed, and describing it must not fail a delivery."""
    try:
        return describe_certificate(der)
    except ValueError:
        return None
