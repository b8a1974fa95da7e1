"""How a queued message refers to the settings it is sent with (pure: no I/O).

barua has one settings profile for now, named :data:`DEFAULT_PROFILE`. Every message records
its profile (which settings send it) and a fingerprint of the account it was queued for, so a
later design with several profiles (one per shop, one per sending address) needs no change to
the outbox. A worker delivers the messages of one profile.

A paused queue remembers :func:`credentials_fingerprint` of the settings that were refused;
when the settings change (a new password), the fingerprint changes and the queue resumes.
"""

from __future__ import annotations

import hashlib
import json

from barua.settings import Protocol, Settings

DEFAULT_PROFILE = "default"

# Slow on purpose: a copied database must not make the password cheap to guess.
_KDF_ITERATIONS = 100_000


def settings_fingerprint(settings: Settings) -> str:
    """Which account sends: protocol, server and login name, hashed (no secret goes in)."""
    if settings.protocol is Protocol.HTTP:
        identity: list[object] = [
            settings.protocol.value,
            settings.http_service_url,
            settings.reply_to,
        ]
    else:
        identity = [
            settings.protocol.value,
            (settings.host or "").lower(),
            settings.port,
            settings.username,
            settings.from_address,
        ]
    return hashlib.sha256(json.dumps(identity).encode("utf-8")).hexdigest()[:32]


def credentials_fingerprint(settings: Settings, *, salt: bytes) -> str:
    """Changes whenever any setting changes, secrets included; salted and slow to reverse."""
    values = settings.model_dump(mode="json")
    for name in ("password", "http_api_key"):
        secret = getattr(settings, name)
        values[name] = secret.get_secret_value() if secret is not None else None
    payload = json.dumps(values, sort_keys=True).encode("utf-8")
    return hashlib.pbkdf2_hmac("sha256", payload, salt, _KDF_ITERATIONS).hex()[:32]
