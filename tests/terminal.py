"""Run barua with one of its output streams on a pseudo-terminal, as a user at a console sees it.

Colours and progress bars are drawn only on a terminal, so tests of them need a real one.
"""

from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import sys
import termios
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

BARUA = str(Path(sys.executable).with_name("barua"))

# Variables that would force colour on or off whatever the stream is.
_COLOUR_OVERRIDES = ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")


@dataclass(frozen=True)
class OnATerminal:
    code: int
    shown: str
    """Everything written to the terminal."""
    piped: str
    """The other output stream, read from a pipe."""


def run_on_a_terminal(
    *args: str | Path,
    stream: Literal["stdout", "stderr"],
    stdin: str = "",
    env: Mapping[str, str] | None = None,
    columns: int = 100,
    timeout: float = 60,
) -> OnATerminal:
    """``barua ARGS`` with ``stream`` on a terminal ``columns`` wide and the other on a pipe;
    fails the test if the terminal stays silent for ``timeout`` seconds."""
    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    environ = {k: v for k, v in (env or os.environ).items() if k not in _COLOUR_OVERRIDES}
    environ.update(TERM="xterm-256color", COLUMNS=str(columns))
    outputs = {"stdout": follower, "stderr": subprocess.PIPE}
    if stream == "stderr":
        outputs = {"stdout": subprocess.PIPE, "stderr": follower}
    with subprocess.Popen(
        [BARUA, *map(str, args)], stdin=subprocess.PIPE, env=environ, **outputs
    ) as process:
        os.close(follower)
        assert process.stdin is not None
        process.stdin.write(stdin.encode())
        process.stdin.close()
        shown = bytearray()
        while True:
            ready, _, _ = select.select([leader], [], [], timeout)
            assert ready, f"barua printed nothing for {timeout} s: {bytes(shown)!r}"
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: every process holding the terminal has exited
                break
            if not chunk:
                break
            shown += chunk
        piped = process.stdout if stream == "stderr" else process.stderr
        assert piped is not None
        other = piped.read().decode()
        code = process.wait(timeout=timeout)
    os.close(leader)
    return OnATerminal(code, shown.decode(errors="replace"), other)
