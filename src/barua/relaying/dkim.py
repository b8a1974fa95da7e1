"""The relay's DKIM signature (dkimpy), its signing key and the DNS records a sending domain
publishes (pure: no I/O).

>>> key = generate_key()
>>> signed = sign(message, key=key, domain="mail.example", selector="s1")   # doctest: +SKIP
>>> dkim_record(key, domain="mail.example", selector="s1").name
's1._domainkey.mail.example'

dkimpy canonicalises and hashes; its RSA is written in Python (about 10 ms a signature of a
2048-bit key here). The signature of RSASSA-PKCS1-v1_5 is deterministic, so the same bytes
come from OpenSSL (through ``cryptography``) in 0.4 ms: :func:`sign` has dkimpy call it.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import dkim
import dkim.crypto
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

SIGNED_HEADERS = (
    b"from",
    b"reply-to",
    b"to",
    b"cc",
    b"subject",
    b"date",
    b"message-id",
    b"mime-version",
    b"content-type",
)
"""What the signature covers (section 6.6). A header listed and absent is signed as absent:
nobody can add a Cc or a Reply-To on the way without breaking the signature."""
KEY_BITS = 2048


@dataclass(frozen=True, slots=True)
class Record:
    """One DNS record to publish: its name, type and value."""

    name: str
    type: str
    value: str

    def __str__(self) -> str:
        return f'{self.name}. {self.type} "{self.value}"'


def generate_key() -> bytes:
    """A new RSA signing key of :data:`KEY_BITS` bits, as PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def public_key_base64(private_pem: bytes) -> str:
    """The ``p=`` of the DKIM record: the public key, DER in base64."""
    key = serialization.load_pem_private_key(private_pem, password=None)
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode("ascii")


def dkim_record(private_pem: bytes, *, domain: str, selector: str) -> Record:
    """The TXT record that publishes the key of ``selector`` for ``domain``."""
    return Record(
        f"{selector}._domainkey.{domain}",
        "TXT",
        f"v=DKIM1; k=rsa; p={public_key_base64(private_pem)}",
    )


def spf_record(domain: str, *, mechanisms: str) -> Record:
    """The SPF record of the domain the relay's bounce address is in."""
    return Record(domain, "TXT", f"v=spf1 {mechanisms} -all")


def dmarc_record(domain: str) -> Record:
    """A DMARC policy for the relay's domain: aligned DKIM or SPF, else quarantine."""
    return Record(
        f"_dmarc.{domain}",
        "TXT",
        f"v=DMARC1; p=quarantine; adkim=r; aspf=r; rua=mailto:postmaster@{domain}",
    )


def published_key(texts: list[str]) -> str | None:
    """The ``p=`` of the DKIM record among ``texts`` (a name's TXT strings), if any."""
    for text in texts:
        tags = {
            part.split("=", 1)[0].strip(): part.split("=", 1)[1].strip()
            for part in text.split(";")
            if "=" in part
        }
        if tags.get("v", "DKIM1") == "DKIM1" and "p" in tags:
            return "".join(tags["p"].split())
    return None


def sign(data: bytes, *, key: bytes, domain: str, selector: str) -> bytes:
    """``data`` (CRLF line endings) with a ``DKIM-Signature`` of ``domain`` in front,
    covering :data:`SIGNED_HEADERS`: headers canonicalised relaxed, the body simple (the
    relay sends these very bytes; dkimpy's relaxed body costs 5 ms for 200 KB)."""
    with _FAST_RSA:
        header = dkim.sign(
            data,
            selector.encode("ascii"),
            domain.encode("ascii"),
            key,
            include_headers=list(SIGNED_HEADERS),
            canonicalize=(b"relaxed", b"simple"),
        )
    return bytes(header) + data


# RSA through OpenSSL -------------------------------------------------------------------------

_DIGEST_INFO = {
    # dkimpy's digests by name; OpenSSL adds the DigestInfo prefix dkimpy would add.
    "sha256": hashes.SHA256(),
    "sha1": hashes.SHA1(),  # noqa: S303 - what a DKIM signature of rsa-sha1 needs
}


@lru_cache(maxsize=16)
def _private_key(modulus: int, public: int, private: int, p: int, q: int) -> Any:
    numbers = rsa.RSAPrivateNumbers(
        p=p,
        q=q,
        d=private,
        dmp1=private % (p - 1),
        dmq1=private % (q - 1),
        iqmp=rsa.rsa_crt_iqmp(p, q),
        public_numbers=rsa.RSAPublicNumbers(public, modulus),
    )
    return numbers.private_key()


def _openssl_sign(digest: Any, private_key: dict[str, int]) -> bytes:
    """dkimpy's ``RSASSA_PKCS1_v1_5_sign`` with OpenSSL's RSA: the same signature."""
    key = _private_key(
        private_key["modulus"],
        private_key["publicExponent"],
        private_key["privateExponent"],
        private_key["prime1"],
        private_key["prime2"],
    )
    algorithm = _DIGEST_INFO[digest.name]
    return bytes(key.sign(digest.digest(), padding.PKCS1v15(), Prehashed(algorithm)))


class _Swap:
    """While held, dkimpy signs with :func:`_openssl_sign` (one thread at a time swaps it in;
    the function is deterministic, so a concurrent dkimpy user gets the same bytes anyway)."""

    def __init__(self, replacement: Callable[..., bytes]) -> None:
        self._replacement = replacement
        self._lock = threading.Lock()
        self._users = 0
        self._original: Any = None

    def __enter__(self) -> None:
        with self._lock:
            if self._users == 0:
                self._original = dkim.RSASSA_PKCS1_v1_5_sign
                dkim.RSASSA_PKCS1_v1_5_sign = self._replacement
            self._users += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0:
                dkim.RSASSA_PKCS1_v1_5_sign = self._original


_FAST_RSA = _Swap(_openssl_sign)
