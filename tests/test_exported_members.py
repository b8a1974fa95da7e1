"""The public API: everything in ``barua.__all__`` exists, is sorted, and is documented."""

from __future__ import annotations

import barua


def test_all_is_sorted_and_complete() -> None:
    assert barua.__all__ == sorted(barua.__all__)
    for name in barua.__all__:
        assert hasattr(barua, name), name


def test_public_members_are_documented() -> None:
    undocumented = [
        name
        for name in barua.__all__
        if name != "__version__" and not (getattr(barua, name).__doc__ or "").strip()
    ]
    assert undocumented == []
