"""The log of a long-running command (``barua serve``, ``barua worker``, ``barua relay
serve``): one line per event on stderr, as text for a person or as JSON for a log collector
(``--log-format json``).

An event's words are those the command shows anyway; no event carries a secret or a message's
body: the lines come from barua's own texts, which mask secrets and never quote a body.
"""

from __future__ import annotations

import json
import sys
import threading
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

import typer

from barua.cli.common import err


class LogFormat(StrEnum):
    """How events are written."""

    TEXT = "text"
    """One line of words per event."""
    JSON = "json"
    """One JSON object per line: time, level, event, message, and the event's values."""


LogFormatOpt = Annotated[
    LogFormat,
    typer.Option(
        "--log-format",
        case_sensitive=False,
        help="How events are written to stderr: text, or json (one object per line).",
    ),
]


class EventLog:
    """Writes events in one format, one whole line at a time from any thread."""

    def __init__(self, log_format: LogFormat = LogFormat.TEXT) -> None:
        self.format = log_format
        self._lock = threading.Lock()

    def __call__(
        self, event: str, message: str, *, level: str = "info", **values: str | float | None
    ) -> None:
        if self.format is LogFormat.TEXT:
            err.print(message, markup=False)
            return
        record = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "level": level,
            "event": event,
            "message": message,
            **values,
        }
        # ASCII only: a control character or another script in a value cannot break the line.
        line = json.dumps(record, ensure_ascii=True, default=str)
        with self._lock:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
