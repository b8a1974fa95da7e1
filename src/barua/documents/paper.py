"""The paper sizes documents print on (no dependencies, so the command line loads it cheaply)."""

from __future__ import annotations

from enum import StrEnum


class Paper(StrEnum):
    """The paper sizes documents print on."""

    A4 = "a4"
    """210 x 297 mm, used almost everywhere."""
    LETTER = "letter"
    """8.5 x 11 in, used in the United States and Canada."""
