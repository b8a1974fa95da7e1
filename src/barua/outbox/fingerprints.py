"""Which account a queued message is sent with, and when the settings of a paused queue
changed (pure: no I/O).

Every message records its business (``profile`` in the outbox tables, the business's key) and
a fingerprint of the account it was queued for. A paused queue remembers
:func:`credentials_fingerprint` of the settings that were refused; when the settings change
(a new password), the fingerprint changes and the queue resumes.
"""

from __future__ import annotations

import hashlib
import json

from barua.settings import Protocol, Settings

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
