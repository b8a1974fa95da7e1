"""The fonts documents are printed in: DejaVu Sans, regular and bold.

DejaVu covers Latin, Greek, Cyrillic, Armenian, Georgian and more, so "Zürich", "Ołówek",
"Δέλτα" and "Москва" print as written. The TTF files come from the Debian package
``fonts-dejavu-core`` (``scripts/install-fonts``) or from a folder chosen at start-up
(``BARUA_FONT_DIR``, see :func:`use_font_dir`).

Parsing a TTF file costs ~20 ms, longer than rendering a whole invoice, so each font is
registered with ReportLab once per process; the width table is kept for fast measuring.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
from reportlab.pdfbase.ttfonts import TTFError, TTFont  # type: ignore[import-untyped]

from barua.documents import messages
from barua.documents.errors import DocumentError

FONT_DIR_ENV = "BARUA_FONT_DIR"
"""The variable naming a folder of ``DejaVuSans.ttf`` and ``DejaVuSans-Bold.ttf``."""

_chosen: list[Path] = []
"""The folder :func:`use_font_dir` chose, searched first."""

FONT_FILES = {"regular": "DejaVuSans.ttf", "bold": "DejaVuSans-Bold.ttf"}

SEARCH_DIRS = (
    "/usr/share/fonts/truetype/dejavu",  # Debian, Ubuntu
    "/usr/share/fonts/dejavu-sans-fonts",  # Fedora
    "/usr/share/fonts/dejavu",  # Arch, Alpine
    "/usr/share/fonts/TTF",
    "/usr/local/share/fonts/dejavu",
    "/opt/homebrew/share/fonts",
    "/Library/Fonts",
)


@dataclass(eq=False)
class Font:
    """A registered TrueType font and its advance widths."""

    name: str
    """The name ReportLab knows it by."""
    ttf: TTFont
    _widths: dict[int, float] = field(repr=False)
    _default: float = field(repr=False)

    _cache: dict[str, float] = field(default_factory=dict, repr=False)

    def width(self, text: str, size: float) -> float:
        """The printed width of ``text`` at ``size`` points."""
        unit = self._cache.get(text)
        if unit is None:
            if len(self._cache) > 8192:  # bounded: names and amounts vary without end
                self._cache.clear()
            get, default = self._widths.get, self._default
            unit = self._cache[text] = 0.001 * sum([get(ord(char), default) for char in text])
        return unit * size


@dataclass(frozen=True)
class FontSet:
    """The fonts of a document."""

    regular: Font
    bold: Font


def use_font_dir(folder: Path | None) -> None:
    """Search ``folder`` first for the fonts (``BARUA_FONT_DIR``, given once at start-up,
    before any document is rendered)."""
    _chosen[:] = [folder] if folder is not None else []
    document_fonts.cache_clear()
    _coverage.cache_clear()


def font_dir() -> Path:
    """The folder the document fonts are read from, or DocumentError saying how to get them."""
    candidates = [*_chosen, *(Path(folder) for folder in SEARCH_DIRS)]
    for folder in candidates:
        if all((folder / name).is_file() for name in FONT_FILES.values()):
            return folder
    where = f"{FONT_DIR_ENV}={_chosen[0]}" if _chosen else messages.FONTS_USUAL_FOLDERS()
    raise DocumentError(
        {"fonts": messages.FONTS_MISSING(where=where)},
        hint=messages.FONTS_MISSING_HINT(variable=FONT_DIR_ENV),
    )


def _load(name: str, path: Path) -> Font:
    try:
        ttf = TTFont(name, str(path))
    except (TTFError, OSError) as exc:
        raise DocumentError(
            {"fonts": messages.FONT_UNREADABLE(path=path, reason=str(exc))},
            hint=messages.FONT_UNREADABLE_HINT(variable=FONT_DIR_ENV),
        ) from exc
    pdfmetrics.registerFont(ttf)
    face = ttf.face
    return Font(name=name, ttf=ttf, _widths=dict(face.charWidths), _default=face.defaultWidth)


@cache
def _coverage() -> frozenset[int]:
    fonts = document_fonts()
    return frozenset(fonts.regular.ttf.face.charToGlyph) & frozenset(
        fonts.bold.ttf.face.charToGlyph
    )


def missing_glyphs(text: str) -> str:
    """The characters of ``text`` the document fonts cannot draw, in order, each once.

    ReportLab prints such a character as an empty box or nothing at all, without a warning.
    """
    covered = _coverage()
    return "".join(dict.fromkeys(char for char in text if ord(char) not in covered))


@cache
def document_fonts() -> FontSet:
    """The fonts, registered with ReportLab on first use and shared afterwards.

    A failure is not cached: once the fonts are installed the next call finds them.
    """
    folder = font_dir()
    return FontSet(
        regular=_load("BaruaSans", folder / FONT_FILES["regular"]),
        bold=_load("BaruaSans-Bold", folder / FONT_FILES["bold"]),
    )
