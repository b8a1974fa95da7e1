"""A thin, fast PDF page writer over ReportLab's canvas.

Why not ``canvas.drawString``: each call builds a text object, checks for bidi shaping and
formats coordinates through a generic number formatter, ~45 µs a string; an invoice prints
~250 strings. Here a string is one ``BT … ET`` operator sequence written straight into the
page stream, with the font subset chosen by ReportLab's own ``TTFont.splitString`` (which
keeps subsetting and the ToUnicode maps, so text stays extractable).

Two more costs are paid once per process instead of once per document:

* the logo: decoding the PNG and deflating its pixels (and the alpha mask) is done once; each
  document gets a shallow copy of the ready image XObject;
* ASCII85: ReportLab wraps compressed streams in pure-Python ASCII85 by default, which is
  slower than the whole rest of the rendering and makes the file 25 % bigger; streams here
  are deflated only, at zlib level 3.

Everything that touches ReportLab internals (``canvas._doc``, ``_formsinuse``) is in this
module, and the tests render documents with a logo and read the text back.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import warnings
import zlib
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from reportlab.pdfbase import pdfdoc  # type: ignore[import-untyped]
from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]

from barua.documents import messages
from barua.documents.errors import DocumentError
from barua.documents.fonts import Font
from barua.documents.logos import (
    MAX_LOGO_BYTES,
    MAX_LOGO_PIXELS,
    file_refused,
    image_too_large,
    read_regular_file,
)
from barua.texts import Text

RGB = tuple[float, float, float]
BLACK: RGB = (0.0, 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class Ink:
    """How a piece of text is printed: font, size in points and colour."""

    font: Font
    size: float
    color: RGB = BLACK


# Bytes of a font subset as a PDF literal string: printable ASCII as is, the rest in octal.
_ESCAPES = {code: f"\\{code:03o}" for code in (*range(32), *range(127, 256))}
_ESCAPES.update({ord("("): "\\(", ord(")"): "\\)", ord("\\"): "\\\\"})

_DEFLATE_LEVEL = 3
"""Measured on the example invoice: level 6 takes 1 ms more per document for 2 % less size."""

_MAX_LOGO_PIXELS = (1200, 600)
"""Larger logos are scaled down: at 150 pt wide, 1200 px is already 575 dpi."""


class _Deflate:
    """ReportLab's stream filter protocol: a PDF filter name and an ``encode`` method."""

    pdfname = "FlateDecode"

    def encode(self, data: str | bytes) -> bytes:
        raw = data.encode("utf-8") if isinstance(data, str) else data
        return zlib.compress(raw, _DEFLATE_LEVEL)


_DEFLATE = _Deflate()


# The logo ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Logo:
    """A decoded logo, ready to place in any number of documents."""

    name: str
    width: int
    height: int
    image: pdfdoc.PDFImageXObject
    mask: pdfdoc.PDFImageXObject | None


def _xobject(
    name: str, *, size: tuple[int, int], space: str, data: bytes, filt: str
) -> pdfdoc.PDFImageXObject:
    image = pdfdoc.PDFImageXObject(name)
    image.width, image.height = size
    image.bitsPerComponent = 8
    image.colorSpace = space
    image.streamContent = data
    image._filters = (filt,)
    image.mask = None
    return image


def _refused(text: Text, hint: Text) -> DocumentError:
    return DocumentError({"business.logo": text}, hint=hint)


def _decode_logo(data: bytes, where: Text | str) -> Logo:
    name = hashlib.sha256(data).hexdigest()[:24]
    undecodable = _refused(messages.LOGO_UNDECODABLE(where=where), messages.LOGO_HINT())
    if len(data) > MAX_LOGO_BYTES:
        raise _refused(image_too_large(), messages.LOGO_HINT())
    try:
        with warnings.catch_warnings():  # Pillow's pixel bomb warning: refused below instead
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            picture = Image.open(io.BytesIO(data), formats=["PNG", "JPEG"])
        # The header gives the size: refuse a pixel bomb before a byte of it is decoded.
        if picture.size[0] * picture.size[1] > MAX_LOGO_PIXELS:
            raise _refused(image_too_large(), messages.LOGO_HINT())
        small = picture.size[0] <= _MAX_LOGO_PIXELS[0] and picture.size[1] <= _MAX_LOGO_PIXELS[1]
        if picture.format == "JPEG" and not small:
            picture.draft(picture.mode, _MAX_LOGO_PIXELS)  # decoded at 1/2, 1/4 or 1/8 size
        picture.load()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise undecodable from exc
    except Image.DecompressionBombError as exc:
        raise _refused(image_too_large(), messages.LOGO_HINT()) from exc
    if picture.format == "JPEG" and picture.mode in {"RGB", "L"} and small:
        # A JPEG goes into the PDF as it is: PDF viewers decode JPEG themselves.
        space = "DeviceRGB" if picture.mode == "RGB" else "DeviceGray"
        image = _xobject(name, size=picture.size, space=space, data=data, filt="DCTDecode")
        return Logo(name, *picture.size, image=image, mask=None)
    has_alpha = picture.mode in {"RGBA", "LA", "PA"} or "transparency" in picture.info
    # Shrink before converting: a large logo is then converted at its printed size.
    shrunk: Image.Image = picture
    if shrunk.mode not in {"RGB", "RGBA", "L", "LA"}:
        shrunk = shrunk.convert("RGBA" if has_alpha else "RGB")
    shrunk.thumbnail(_MAX_LOGO_PIXELS, Image.Resampling.LANCZOS)
    pixels = shrunk.convert("RGBA" if has_alpha else "RGB")
    rgb = zlib.compress(pixels.convert("RGB").tobytes())
    image = _xobject(name, size=pixels.size, space="DeviceRGB", data=rgb, filt="FlateDecode")
    mask = None
    if has_alpha:
        alpha = zlib.compress(pixels.getchannel("A").tobytes())
        mask = _xobject(
            f"{name}a", size=pixels.size, space="DeviceGray", data=alpha, filt="FlateDecode"
        )
    return Logo(name, *pixels.size, image=image, mask=mask)


@lru_cache(maxsize=32)
def _cached_logo(key: tuple[str, int, int], source: str) -> Logo:
    if source.startswith("data:"):
        payload = source.split(",", 1)[1]
        try:
            data = base64.b64decode(payload)
        except ValueError as exc:
            raise _refused(messages.LOGO_BAD_BASE64(), messages.LOGO_HINT()) from exc
        return _decode_logo(data, messages.LOGO_DATA_URI())
    content = read_regular_file(source, MAX_LOGO_BYTES)
    if content is None:
        raise _refused(file_refused(()), messages.LOGO_PATH_HINT())
    return _decode_logo(content, source)


def load_logo(source: str) -> Logo:
    """The decoded logo of ``source`` (a path or a data URI), cached while the file is unchanged.

    The path is the one the loader checked (:mod:`barua.documents.logos`); it is read again
    only if it is still a regular file within the size limit, and the pixels are counted
    before they are decoded.
    """
    if source.startswith("data:"):
        return _cached_logo(("data", len(source), hash(source)), source)
    try:
        status = Path(source).stat()
    except OSError as exc:
        raise _refused(file_refused(()), messages.LOGO_PATH_HINT()) from exc
    return _cached_logo((source, status.st_mtime_ns, status.st_size), source)


# The writer -------------------------------------------------------------------------------


def _pdf_date(moment: datetime) -> str:
    moment = moment if moment.tzinfo else moment.astimezone()
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"D:{moment:%Y%m%d%H%M%S}{sign}{hours:02d}'{rest:02d}'"


@dataclass(frozen=True)
class Metadata:
    """What a PDF viewer shows under Document Properties."""

    title: str
    author: str
    subject: str
    created: datetime
    language: str
    """BCP 47, e.g. ``sw-TZ``, for screen readers."""
    keywords: str = ""
    creator: str = "barua"


class PdfWriter:
    """Draws text, rules, boxes and the logo, page after page, into one PDF."""

    def __init__(self, *, pagesize: tuple[float, float], metadata: Metadata) -> None:
        self._buffer = io.BytesIO()
        canvas = Canvas(self._buffer, pagesize=pagesize, pageCompression=0, lang=metadata.language)
        # Deflate every stream (pages, font subsets, ToUnicode maps), without ASCII85.
        canvas._doc.defaultStreamFilters = [_DEFLATE]
        canvas.setTitle(metadata.title)
        canvas.setAuthor(metadata.author)
        canvas.setSubject(metadata.subject)
        canvas.setCreator(metadata.creator)
        canvas.setProducer(metadata.creator)
        canvas.setKeywords(metadata.keywords)
        stamp = _pdf_date(metadata.created)
        canvas.setDateFormatter(lambda *_: stamp)
        self._canvas = canvas
        self._doc = canvas._doc
        self._ops: list[str] = []
        self._fill: RGB | None = None
        self._subset_names: dict[tuple[str, int], str] = {}

    # text

    def _show(self, text: str, font: Font, size: float) -> str:
        parts = []
        for subset, data in font.ttf.splitString(text, self._doc):
            key = (font.name, subset)
            name = self._subset_names.get(key)
            if name is None:
                name = self._subset_names[key] = font.ttf.getSubsetInternalName(subset, self._doc)
            parts.append(f"{name} {size:g} Tf ({data.decode('latin-1').translate(_ESCAPES)}) Tj")
        return " ".join(parts)

    def _color(self, color: RGB) -> None:
        if color != self._fill:
            self._fill = color
            self._ops.append(f"{color[0]:.3f} {color[1]:.3f} {color[2]:.3f} rg")

    def text(self, x: float, y: float, text: str, ink: Ink) -> None:
        """``text`` with its baseline starting at (``x``, ``y``)."""
        if not text:
            return
        self._color(ink.color)
        self._ops.append(f"BT {x:.2f} {y:.2f} Td {self._show(text, ink.font, ink.size)} ET")

    def text_right(self, x: float, y: float, text: str, ink: Ink) -> None:
        """``text`` ending at ``x``."""
        self.text(x - ink.font.width(text, ink.size), y, text, ink)

    def text_center(self, x: float, y: float, text: str, ink: Ink) -> None:
        """``text`` centred on ``x``."""
        self.text(x - ink.font.width(text, ink.size) / 2, y, text, ink)

    # shapes

    def rect(self, x: float, y: float, width: float, height: float, color: RGB) -> None:
        """A filled rectangle with its lower left corner at (``x``, ``y``)."""
        self._color(color)
        self._ops.append(f"{x:.2f} {y:.2f} {width:.2f} {height:.2f} re f")

    def hline(self, x1: float, x2: float, y: float, width: float, color: RGB) -> None:
        """A horizontal rule, drawn as a thin filled box (no stroke state to track)."""
        self.rect(x1, y - width / 2, x2 - x1, width, color)

    def image(self, logo: Logo, x: float, y: float, width: float, height: float) -> None:
        """``logo`` scaled into the box with its lower left corner at (``x``, ``y``)."""
        canvas, doc = self._canvas, self._doc
        registered = doc.getXObjectName(logo.name)
        if registered not in doc.idToObject:
            image = copy.copy(logo.image)
            if logo.mask is not None:
                mask = copy.copy(logo.mask)
                image.smask = doc.Reference(mask, doc.getXObjectName(logo.mask.name))
            doc.Reference(image, registered)
        canvas._formsinuse.append(logo.name)
        canvas._currentPageHasImages = 1
        self._ops.append(f"q {width:.2f} 0 0 {height:.2f} {x:.2f} {y:.2f} cm /{registered} Do Q")

    # pages

    def end_page(self) -> None:
        """Close the page; the next drawing starts a new one."""
        self._canvas.addLiteral("\n".join(self._ops))
        self._canvas.showPage()
        self._ops = []
        self._fill = None

    def finish(self) -> bytes:
        """The PDF file."""
        if self._ops:
            self.end_page()
        self._canvas.save()
        return self._buffer.getvalue()
