"""The paper sizes documents print on (no dependencies, so the command line loads it cheaply).

A document prints on the paper it names (its ``paper`` field), else on the paper of its
locale's country: US Letter in the countries that use it (``en_US``, ``en_CA``, ``es_MX``,
``fr_CA``…), A4 everywhere else and for a locale that names no country (``en``, ``sw``).
"""

from __future__ import annotations

from enum import StrEnum


class Paper(StrEnum):
    """The paper sizes documents print on."""

    A4 = "a4"
    """210 x 297 mm, used almost everywhere."""
    LETTER = "letter"
    """8.5 x 11 in, used in the United States, Canada and much of the Americas."""


LETTER_TERRITORIES = frozenset(
    {"BZ", "CA", "CL", "CO", "CR", "GT", "MX", "NI", "PA", "PH", "PR", "SV", "US", "VE"}
)
"""The countries whose paper is US Letter (CLDR's ``paperSize`` data)."""


def paper_for(locale: str) -> Paper:
    """The paper a locale's country uses: ``letter`` for ``en_US``, ``a4`` for ``sw_TZ``.

    The country is the locale's last part when it is one (``es_MX``, ``zh_Hant_TW``);
    a locale without one (``en``) prints on A4.
    """
    parts = locale.replace("-", "_").split("_")
    territory = parts[-1] if len(parts) > 1 else ""
    return Paper.LETTER if territory.upper() in LETTER_TERRITORIES else Paper.A4
