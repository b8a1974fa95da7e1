"""Folders barua makes for itself: its owner's alone, whatever the umask."""

from __future__ import annotations

import contextlib
from pathlib import Path


def private_directory(path: Path) -> None:
    """Make ``path`` and any missing folder above it, each readable by its owner only (0700).

    ``Path.mkdir(parents=True)`` would make the folders above with the umask's mode (0777
    under umask 000); barua's home holds invoices, settings and a key. Folders that exist
    already are left as they are: they may be shared on purpose. Raises :class:`OSError`.
    """
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            folder.mkdir(mode=0o700)
