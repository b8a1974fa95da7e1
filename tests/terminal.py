"""Run barua with one of its output streams on a pseudo-terminal, as a user at a console sees it.

Colours and progress bars are drawn only on a terminal, so tests of them need a real one.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
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


def type_at_a_prompt(
    args: list[str], typed: str, *, program: str = BARUA, timeout: float = 30
) -> bytes:
    """Run ``program`` (barua) on a pseudo-terminal; type ``typed`` at its first prompt; all it
    showed. Fails the test when the terminal stays silent ``timeout`` seconds, the program
    killed rather than left waiting at a prompt."""
    pid, terminal = pty.fork()
    if pid == 0:  # the child: barua on a real terminal
        try:
            os.execv(program, [program, *args])
        finally:
            os._exit(127)  # never go on running the tests in the child

    def read() -> bytes:
        ready, _, _ = select.select([terminal], [], [], timeout)
        assert ready, f"the terminal stayed silent; it showed {seen!r}"
        try:
            return os.read(terminal, 1024)
        except OSError:  # EIO: the child closed the terminal
            return b""

    seen = b""
    status = None
    try:
        while not seen.rstrip().endswith(b":"):
            chunk = read()
            assert chunk, f"no prompt; the terminal showed {seen!r}"
            seen += chunk
        os.write(terminal, (typed + "\n").encode())
        while chunk := read():
            seen += chunk
        _, status = os.waitpid(pid, 0)
    finally:
        if status is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(terminal)
    code = os.waitstatus_to_exitcode(status)
    assert code == 0, (code, seen)
    return seen
