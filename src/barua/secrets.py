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

from barua.errors import StoreError

ENV_KEY = "BARUA_SECRET_KEY"
KEY_FILE = "secret.key"

# Fernet.generate_key(): 32 bytes in URL-safe base64 with its padding. Checked by pattern
# because base64 decoding silently skips characters outside the alphabet.
_FERNET_KEY = re.compile(r"[A-Za-z0-9_-]{43}=")
_GENERATE = (
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)


def load_key(home: Path, *, create: bool) -> bytes:
    """The encryption key: ``BARUA_SECRET_KEY``, else ``home/secret.key``.

    With ``create``, a missing key file is made (a save needs a key); without it, a missing
    key is a :class:`StoreError` (a load cannot invent the key the data was saved with).
    """
    key = find_key(home)
    if key is not None:
        return key
    if not create:
        raise StoreError(
            f"The secret key is missing: {home / KEY_FILE} does not exist and {ENV_KEY} is "
            "not set.",
            hint=f"Restore the key file or {ENV_KEY} the settings were saved with, "
            "or set the passwords again.",
        )
    return _create_key_file(home / KEY_FILE)


def find_key(home: Path) -> bytes | None:
    """The key at hand (``BARUA_SECRET_KEY``, else ``home/secret.key``), or None when there
    is neither; a key that is there but unusable is a :class:`StoreError`."""
    value = os.environ.get(ENV_KEY)
    if value is not None:
        key = value.strip().encode("ascii", "replace")
        if not _is_key(key):
            raise StoreError(
                f"{ENV_KEY} is not a valid key: it must be 32 bytes in URL-safe base64 "
                '(44 characters ending in "=").',
                hint=f"Generate one with: {_GENERATE} — and keep it: passwords saved with "
                "one key cannot be read with another.",
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
            f"The saved {field} cannot be decrypted: the secret key differs from the one "
            "it was saved with.",
            hint=f"Restore the key it was saved with (the file {KEY_FILE} in the barua folder, "
            f"or {ENV_KEY}), or set the {field} again.",
        ) from None


def write_private_file(path: Path, data: bytes, *, replace: bool) -> bool:
    """Write ``data`` to ``path``, readable by its owner only (0600), all or nothing.

    A complete, synced temporary file in the same folder is moved into place, so a crash or
    a full disk leaves either the old file or the new one, never half of one. With
    ``replace`` the move is ``os.replace``; without it ``os.link``, which like ``O_EXCL``
    fails when ``path`` exists: of two processes racing to create the file, one wins and the
    other gets False and reads the winner's file. Raises :class:`OSError`.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
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
            f"The key file {path} cannot be read: {exc.strerror}.",
            hint="Check that the file belongs to the user running barua.",
        ) from exc
    if not _is_key(key):
        raise StoreError(
            f"The key file {path} does not hold a valid key.",
            hint=f"Restore it from a backup, or set {ENV_KEY}. Deleting it makes barua "
            "create a new key, and saved passwords must then be set again.",
        )
    return key


def _create_key_file(path: Path) -> bytes:
    key = Fernet.generate_key()
    try:
        created = write_private_file(path, key + b"\n", replace=False)
    except OSError as exc:
        raise StoreError(
            f"The key file {path} cannot be created: {exc.strerror}.",
            hint=f"Check that the folder belongs to the user running barua, or set {ENV_KEY}.",
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
