"""Where a document's logo may come from, and how large it may be (before it is decoded).

A document is often written by another program, or sent in by someone else, and its PDF is
emailed to a customer. So a logo written as a path is confined: it must lie, after every
symbolic link is followed, in the document's own folder or in one of the logo folders the
caller names (``$BARUA_HOME/logos`` from the command line). It must be a regular file (a FIFO
would block the reader for ever) of at most :data:`MAX_LOGO_BYTES`, start like a PNG or JPEG
image, and its header must give at most :data:`MAX_LOGO_PIXELS`: a 140 KB PNG can hold
12,000 x 12,000 pixels, 576 MB once decoded.

Whatever the reason a file is refused (it does not exist, lies elsewhere, is a FIFO, is too
large, is not an image), the error says the same words: its text must not tell whether
``/etc/shadow`` exists.

>>> read_logo_file("logo.png", base_dir="/srv/invoices", folders=())  # doctest: +SKIP
(PosixPath('/srv/invoices/logo.png'), b'\\x89PNG...')
"""

from __future__ import annotations

import io
import os
import stat
import warnings
from collections.abc import Iterable
from pathlib import Path

from barua.documents import messages
from barua.texts import Text

MAX_LOGO_BYTES = 2_000_000
"""The largest logo file or data URI image, in bytes: a logo prints 190 pt wide at most."""

MAX_LOGO_PIXELS = 8_000_000
"""The most pixels a logo may have (width x height), checked in its header before decoding:
e.g. 4000 x 2000, twenty times what a printed logo needs. Decoded with transparency that is
32 MB, and shrinking it takes as much again: rendering stays under 200 MB."""

LOGO_MAGIC = {b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG"}
"""How a PNG and a JPEG file begin."""

_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)  # a FIFO opens at once instead of waiting for a writer
    | getattr(os, "O_NOFOLLOW", 0)  # the path is already resolved: no link may appear since
    | getattr(os, "O_CLOEXEC", 0)
)


class LogoRefused(Exception):
    """A logo that cannot be used; ``text`` says why, in words safe to show."""

    def __init__(self, text: Text) -> None:
        super().__init__(text.render())
        self.text = text


def file_refused(folders: Iterable[str | Path]) -> Text:
    """The one text for a logo file refused, whatever the reason."""
    megabytes = f"{MAX_LOGO_BYTES / 1_000_000:g}"
    megapixels = f"{MAX_LOGO_PIXELS / 1_000_000:g}"
    named = [str(folder) for folder in folders]
    if named:
        return messages.LOGO_FILE_REFUSED_OR_FOLDER(
            megabytes=megabytes, megapixels=megapixels, folder=", ".join(named)
        )
    return messages.LOGO_FILE_REFUSED(megabytes=megabytes, megapixels=megapixels)


def image_too_large() -> Text:
    """The text for a logo image (a data URI, the business's own) over the limits."""
    return messages.LOGO_TOO_LARGE(
        megabytes=f"{MAX_LOGO_BYTES / 1_000_000:g}",
        megapixels=f"{MAX_LOGO_PIXELS / 1_000_000:g}",
    )


def image_kind(head: bytes) -> str | None:
    """``PNG`` or ``JPEG`` from the first bytes of a file, else None."""
    return next((kind for magic, kind in LOGO_MAGIC.items() if head.startswith(magic)), None)


def image_pixels(data: bytes) -> tuple[int, int] | None:
    """The width and height a PNG or JPEG gives in its header, without decoding its pixels;
    None when the header cannot be read."""
    from PIL import Image, UnidentifiedImageError  # noqa: PLC0415 - only for a logo

    try:
        with warnings.catch_warnings():
            # Pillow warns of a pixel bomb on stderr; barua refuses it in its own words.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=["PNG", "JPEG"]) as picture:
                width, height = picture.size
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    return int(width), int(height)


def check_logo_image(data: bytes) -> None:
    """Raise :class:`LogoRefused` unless ``data`` is a PNG or JPEG within the limits."""
    if image_kind(data[:8]) is None:
        raise LogoRefused(messages.LOGO_NOT_AN_IMAGE())
    if len(data) > MAX_LOGO_BYTES:
        raise LogoRefused(image_too_large())
    size = image_pixels(data)
    if size is None:
        raise LogoRefused(messages.LOGO_NOT_AN_IMAGE())
    if size[0] * size[1] > MAX_LOGO_PIXELS:
        raise LogoRefused(image_too_large())


def read_regular_file(path: str | Path, limit: int) -> bytes | None:
    """The bytes of ``path`` if it is a regular file (not followed if a link) of at most
    ``limit`` bytes; else None. Never blocks on a FIFO or a device."""
    try:
        descriptor = os.open(path, _OPEN_FLAGS)
    except (OSError, ValueError):
        return None
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode) or status.st_size > limit:
            return None
        os.set_blocking(descriptor, True)
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(descriptor, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:  # it grew since
            return None
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(descriptor)


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or path.is_relative_to(folder)


def read_logo_file(
    value: str, *, base_dir: str | Path, folders: Iterable[str | Path] = ()
) -> tuple[Path, bytes]:
    """The resolved path and bytes of the logo file ``value`` (relative to ``base_dir``).

    Raises :class:`LogoRefused`, with the same words whatever the reason, unless the file
    lies in ``base_dir`` or one of ``folders`` once its links are followed, is a regular
    file, and is a PNG or JPEG image within :data:`MAX_LOGO_BYTES` and
    :data:`MAX_LOGO_PIXELS`.
    """
    folders = tuple(folders)
    refused = LogoRefused(file_refused(folders))
    try:
        path = Path(value)
        if not path.is_absolute():
            path = Path(base_dir) / path
        real = path.resolve(strict=True)
        allowed = [Path(folder).resolve() for folder in (base_dir, *folders)]
    except (OSError, RuntimeError, ValueError):
        raise refused from None
    if not any(_inside(real, folder) for folder in allowed):
        raise refused
    data = read_regular_file(real, MAX_LOGO_BYTES)
    if data is None:
        raise refused
    try:
        check_logo_image(data)
    except LogoRefused:
        raise refused from None
    return real, data
