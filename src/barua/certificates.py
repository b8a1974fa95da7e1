"""What a server's certificate says, in the terms a person checks (pure: no I/O).

>>> fingerprint(b"...")  # doctest: +SKIP
'3F:A1:...'
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.x509.oid import NameOID

from barua.i18n import N_

# How the certificate step ended when it passed, as its detail (translated where shown).
CERT_VERIFIED = N_("trusted by this computer")
CERT_PINNED = N_("the pinned fingerprint matches")
CERT_UNCHECKED = N_("not checked: verification is turned off")

_HEX = re.compile(r"^[0-9A-F]{64}$")


def fingerprint(der: bytes) -> str:
    """The SHA-256 fingerprint of a DER certificate, as ``AB:CD:...`` (as browsers show it)."""
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def normalise_fingerprint(value: str) -> str | None:
    """``value`` as ``AB:CD:...`` when it is a SHA-256 fingerprint in any usual spelling."""
    compact = re.sub(r"[\s:]", "", value).upper().removeprefix("SHA256")
    if not _HEX.match(compact):
        return None
    return ":".join(compact[i : i + 2] for i in range(0, 64, 2))


@dataclass(frozen=True, slots=True)
class CertificateInfo:
    """The parts of a certificate that explain why it is or is not trusted."""

    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    sha256: str
    names: tuple[str, ...]

    @property
    def self_signed(self) -> bool:
        return self.subject == self.issuer

    def matches(self, host: str) -> bool:
        """Whether the certificate is for ``host`` (a name, or an IP address), by the rules
        browsers and mail clients follow (RFC 6125): a name exactly, ``*.`` one label deep,
        never a wildcard for an IP address."""
        wanted = host.rstrip(".").lower()
        try:
            address = ipaddress.ip_address(wanted.strip("[]"))
        except ValueError:
            address = None
        for name in self.names:
            if address is not None:
                try:
                    if ipaddress.ip_address(name) == address:
                        return True
                except ValueError:
                    continue
                continue
            candidate = name.rstrip(".").lower()
            if candidate == wanted:
                return True
            if candidate.startswith("*.") and "." in wanted:
                label, rest = wanted.split(".", 1)
                if label and rest == candidate[2:]:
                    return True
        return False

    def expired(self, now: datetime | None = None) -> bool:
        return (now or datetime.now(UTC)) > self.not_after

    def to_dict(self) -> dict[str, object]:
        return {
            "subject": self.subject,
            "issuer": self.issuer,
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
            "sha256": self.sha256,
            "names": list(self.names),
            "self_signed": self.self_signed,
        }


def _name(name: x509.Name) -> str:
    common = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    organisation = name.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    parts = [str(a.value) for a in (*common, *organisation)]
    return ", ".join(parts) or name.rfc4514_string()


def describe_certificate(der: bytes) -> CertificateInfo:
    """Read a DER certificate into :class:`CertificateInfo`."""
    cert = x509.load_der_x509_certificate(der)
    try:
        alt = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = tuple(
            [str(n) for n in alt.get_values_for_type(x509.DNSName)]
            + [str(ip) for ip in alt.get_values_for_type(x509.IPAddress)]
        )
    except x509.ExtensionNotFound:
        names = ()
    return CertificateInfo(
        subject=_name(cert.subject),
        issuer=_name(cert.issuer),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        sha256=fingerprint(der),
        names=names,
    )
