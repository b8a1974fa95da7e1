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


def test_importing_barua_and_its_command_loads_no_heavy_library() -> None:
    import subprocess
    import sys

    probe = (
        "import sys, barua, barua.cli; "
        "print(sorted(m for m in ('sqlalchemy', 'reportlab', 'httpx', 'dns') if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"
