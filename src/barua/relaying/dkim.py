"""The relay's DKIM signature, its signing key and the DNS records a sending domain
publishes (pure: no I/O).

>>> key = generate_key()
>>> signed = sign(message, key=key, domain="mail.example", selector="s1")   # doctest: +SKIP
>>> dkim_record(key, domain="mail.example", selector="s1").name
's1._domainkey.mail.example'

The signature is RFC 6376's rsa-sha256, relaxed/simple, computed here (the hashes in C, the
RSA by OpenSSL through ``cryptography``): dkimpy, whose RSA is Python (10 ms a signature of a
2048-bit key) and whose parsing splits the message into lines, verifies it in the tests.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from dataclasses import dataclass
from functools import lru_cache

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


def sign(data: bytes, *, key: bytes, domain: str, selector: str, now: float | None = None) -> bytes:
    """``data`` (CRLF line endings) with a ``DKIM-Signature`` of ``domain`` in front,
    covering :data:`SIGNED_HEADERS`: headers canonicalised relaxed, the body simple (the
    relay sends these very bytes, so its hash is one pass of SHA-256 in C).

    RFC 6376 written out rather than dkimpy's ``sign``: dkimpy splits the whole message
    into lines in Python and parses the PEM key on every call (2 ms of a 20 KB message's
    accept here); this takes 0.7 ms, most of it OpenSSL's RSA. dkimpy still verifies what
    this signs, in the tests."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        head, start = data, len(data)
    else:
        head, start = data[: end + 2], end + 4
    # Simple: the body with its trailing empty lines ignored, hashed where it lies (a copy of
    # 200 KB costs as much as the hash).
    stop = _end_of_body(data, start)
    hashed = hashlib.sha256(memoryview(data)[start:stop])
    hashed.update(b"\r\n")
    body_hash = base64.b64encode(hashed.digest()).decode("ascii")
    fields = _header_fields(head)
    signed = hashlib.sha256()
    for name, value in _selected(fields, SIGNED_HEADERS):
        signed.update(name + b":" + _relaxed(value) + b"\r\n")
    stamp = int(time.time() if now is None else now)
    names = ":".join(n.decode("ascii") for n in SIGNED_HEADERS)
    tags = (
        f"v=1; a=rsa-sha256; c=relaxed/simple; d={domain}; s={selector};\r\n"
        f"\tt={stamp}; h={names};\r\n\tbh={body_hash};\r\n\tb="
    ).encode("ascii")
    signed.update(b"dkim-signature:" + _relaxed(tags))  # hashed without its CRLF
    signature = _loaded_key(key).sign(
        signed.digest(), padding.PKCS1v15(), Prehashed(hashes.SHA256())
    )
    encoded = base64.b64encode(signature)
    folded = b"\r\n\t".join(encoded[i : i + 72] for i in range(0, len(encoded), 72))
    return b"DKIM-Signature: " + tags + folded + b"\r\n" + data


def _end_of_body(data: bytes, start: int) -> int:
    """Where the body starting at ``start`` ends once its trailing CR and LF are left out."""
    stop = len(data)
    while stop > start and data[stop - 1] in b"\r\n":
        stop -= 1
    return stop


_WSP = re.compile(rb"[ \t]+")


def _relaxed(value: bytes) -> bytes:
    """A header's value canonicalised relaxed (RFC 6376 3.4.2): unfolded, each run of
    white space one space, none at either end."""
    return _WSP.sub(b" ", value.replace(b"\r\n", b"")).strip(b" ")


def _header_fields(head: bytes) -> list[tuple[bytes, bytes]]:
    """The header's fields in order: (lower-case name, raw value with its folds)."""
    fields: list[tuple[bytes, bytes]] = []
    for line in head.split(b"\r\n"):
        if not line:
            continue
        if line[:1] in (b" ", b"\t") and fields:
            name, value = fields[-1]
            fields[-1] = (name, value + b"\r\n" + line)
        else:
            name, _, value = line.partition(b":")
            fields.append((name.rstrip(b" \t").lower(), value))
    return fields


def _selected(
    fields: list[tuple[bytes, bytes]], names: tuple[bytes, ...]
) -> list[tuple[bytes, bytes]]:
    """The fields signed for ``names``, each the last instance not yet taken (RFC 6376 5.4.2):
    a name listed and absent adds nothing, and a field added later breaks the signature."""
    chosen = []
    taken: dict[bytes, int] = {}
    for name in names:
        index = taken.get(name, len(fields))
        while index > 0:
            index -= 1
            if fields[index][0] == name:
                chosen.append(fields[index])
                break
        taken[name] = index
    return chosen


@lru_cache(maxsize=4)
def _loaded_key(private_pem: bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(private_pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the DKIM key is not an RSA key")
    return key
