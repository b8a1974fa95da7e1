"""The key that encrypts saved passwords, and the encryption itself (Fernet).

The key comes from ``BARUA_SECRET_KEY`` when set (servers and containers, where the key is
kept apart from the data), otherwise from ``$BARUA_HOME/secret.key``, created on first use.
Whoever holds the key file can read the saved passwords: it is created readable by its owner
only (0600) in a folder only its owner can enter (0700).

>>> key = Fernet.generate_key()
>>> decrypt(key, encrypt(key, "Pässwörd-ß€"), field="password")
'Pässwörd-ß€'
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from barua.errors import StoreError, system_reason
from barua.files import private_directory
from barua.texts import Message

ENV_KEY = "BARUA_SECRET_KEY"
KEY_FILE = "secret.key"

# Fernet.generate_key(): 32 bytes in URL-safe base64 with its padding. Checked by pattern
# because base64 decoding silently skips characters outside the alphabet.
_FERNET_KEY = re.compile(r"[A-Za-z0-9_-]{43}=")
_GENERATE = (
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)

KEY_MISSING = Message(
    "secrets.key_missing",
    "The secret key is missing: {path} does not exist and {variable} is not set.",
)
KEY_MISSING_HINT = Message(
    "secrets.key_missing_hint",
    "Restore the key file or {variable} the settings were saved with, or set the passwords again.",
)
ENV_KEY_INVALID = Message(
    "secrets.env_key_invalid",
    "{variable} is not a valid key: it must be 32 bytes in URL-safe base64 (44 characters "
    'ending in "=").',
)
ENV_KEY_INVALID_HINT = Message(
    "secrets.env_key_invalid_hint",
    "Generate one with: {command} — and keep it: passwords saved with one key cannot be read "
    "with another.",
)
CANNOT_DECRYPT = Message(
    "secrets.cannot_decrypt",
    "The saved {field} cannot be decrypted: the secret key differs from the one it was saved with.",
)
CANNOT_DECRYPT_HINT = Message(
    "secrets.cannot_decrypt_hint",
    "Restore the key it was saved with (the file {file} in the barua folder, or {variable}), "
    "or set the {field} again.",
)
KEY_FILE_UNREADABLE = Message(
    "secrets.key_file_unreadable", "The key file {path} cannot be read: {reason}."
)
KEY_FILE_UNREADABLE_HINT = Message(
    "secrets.key_file_unreadable_hint", "Check that the file belongs to the user running barua."
)
KEY_FILE_INVALID = Message(
    "secrets.key_file_invalid", "The key file {path} does not hold a valid key."
)
KEY_FILE_INVALID_HINT = Message(
    "secrets.key_file_invalid_hint",
    "Restore it from a backup, or set {variable}. Deleting it makes barua create a new key, "
    "and saved passwords must then be set again.",
)
KEY_FILE_CANNOT_CREATE = Message(
    "secrets.key_file_cannot_create", "The key file {path} cannot be created: {reason}."
)
KEY_FILE_CANNOT_CREATE_HINT = Message(
    "secrets.key_file_cannot_create_hint",
    "Check that the folder belongs to the user running barua, or set {variable}.",
)


def load_key(home: Path, *, create: bool, env_key: str | None = None) -> bytes:
    """The encryption key: ``env_key`` (the value of ``BARUA_SECRET_KEY``), else
    ``home/secret.key``.

    With ``create``, a missing key file is made (a save needs a key); without it, a missing
    key is a :class:`StoreError` (a load cannot invent the key the data was saved with).
    """
    key = find_key(home, env_key=env_key)
    if key is not None:
        return key
    if not create:
        raise StoreError(
            KEY_MISSING(path=home / KEY_FILE, variable=ENV_KEY),
            hint=KEY_MISSING_HINT(variable=ENV_KEY),
        )
    return _create_key_file(home / KEY_FILE)


def find_key(home: Path, *, env_key: str | None = None) -> bytes | None:
    """The key at hand (``env_key``, the value of ``BARUA_SECRET_KEY``, else
    ``home/secret.key``), or None when there is neither; a key that is there but unusable is
    a :class:`StoreError`."""
    value = env_key
    if value is not None:
        key = value.strip().encode("ascii", "replace")
        if not _is_key(key):
            raise StoreError(
                ENV_KEY_INVALID(variable=ENV_KEY), hint=ENV_KEY_INVALID_HINT(command=_GENERATE)
            )
        return key
    try:
        return _read_key_file(home / KEY_FILE)
    except FileNotFoundError:
        return None


def encrypt(key: bytes, plaintext: str) -> str:
    """``plaintext`` encrypted and authenticated with ``key``, as ASCII text for JSON."""
    return Fernet(key).encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(key: bytes, token: str, *, field: str) -> str:
    """The text inside ``token``; a wrong key or a damaged token is a :class:`StoreError`."""
    try:
        return Fernet(key).decrypt(token.encode("utf-8")).decode("utf-8")
    except (InvalidToken, UnicodeDecodeError):
        # Fernet cannot tell a wrong key from a damaged token; a wrong key is far more likely.
        raise StoreError(
            CANNOT_DECRYPT(field=field),
            hint=CANNOT_DECRYPT_HINT(file=KEY_FILE, variable=ENV_KEY, field=field),
        ) from None


def write_private_file(path: Path, data: bytes, *, replace: bool) -> bool:
    """Write ``data`` to ``path``, readable by its owner only (0600), all or nothing.

    A complete, synced temporary file in the same folder is moved into place, so a crash or
    a full disk leaves either the old file or the new one, never half of one. With
    ``replace`` the move is ``os.replace``; without it ``os.link``, which like ``O_EXCL``
    fails when ``path`` exists: of two processes racing to create the file, one wins and the
    other gets False and reads the winner's file. Raises :class:`OSError`.
    """
    private_directory(path.parent)
    # mkstemp opens with O_EXCL and mode 0600.
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        if replace:
            os.replace(temporary, path)
        else:
            try:
                os.link(temporary, path)
            except FileExistsError:
                return False
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    _sync_directory(path.parent)
    return True


def _is_key(key: bytes) -> bool:
    return _FERNET_KEY.fullmatch(key.decode("ascii", "replace")) is not None


def _read_key_file(path: Path) -> bytes:
    try:
        key = path.read_bytes().strip()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise StoreError(
            KEY_FILE_UNREADABLE(path=path, reason=system_reason(exc)),
            hint=KEY_FILE_UNREADABLE_HINT(),
        ) from exc
    if not _is_key(key):
        raise StoreError(KEY_FILE_INVALID(path=path), hint=KEY_FILE_INVALID_HINT(variable=ENV_KEY))
    return key


def _create_key_file(path: Path) -> bytes:
    key = Fernet.generate_key()
    try:
        created = write_private_file(path, key + b"\n", replace=False)
    except OSError as exc:
        raise StoreError(
            KEY_FILE_CANNOT_CREATE(path=path, reason=system_reason(exc)),
            hint=KEY_FILE_CANNOT_CREATE_HINT(variable=ENV_KEY),
        ) from exc
    return key if created else _read_key_file(path)


def _sync_directory(directory: Path) -> None:
    # Without this a power cut can undo the rename or link (POSIX); Windows cannot open a
    # directory, and NTFS journals the rename anyway.
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
