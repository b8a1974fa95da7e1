"""The test email: proves settings work, step by step, before they are saved.

The web app, the command line and scripts all call :func:`run_test`; it never raises for a
delivery failure but returns a :class:`TestReport` naming the step that failed.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field
from typing import Any

from barua.delivery import send_now
from barua.errors import BaruaError, TransportError
from barua.message import OutgoingMessage, build_message
from barua.settings import Protocol, Settings
from barua.transports.base import SendResult, StepEvent, StepObserver
from barua.version import __version__


def build_test_email(settings: Settings, *, to: str) -> OutgoingMessage:
    """A short message that says which settings delivered it."""
    if settings.protocol is Protocol.HTTP:
        route = f"the HTTP email service at {settings.http_service_url}"
    else:
        route = f"{settings.host} port {settings.port} ({settings.effective_security})"
    text = (
        "This is a test email from barua.\n\n"
        f"It was sent through {route}, so these email settings work: invoices, quotes and "
        "other documents can be emailed with them.\n\n"
        f"barua {__version__} on {platform.node() or 'this computer'}\n"
    )
    return build_message(settings, to=[to], subject="barua test email", text=text)


@dataclass
class TestReport:
    """What the test found: each step, and the result or the error that stopped it."""

    __test__ = False  # not a pytest test class

    steps: list[StepEvent] = field(default_factory=list)
    result: SendResult | None = None
    error: BaruaError | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None and self.result is not None

    @property
    def failed_step(self) -> str | None:
        if isinstance(self.error, TransportError):
            return str(self.error.step)
        return None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form for the web app and scripts; holds no secret."""
        data: dict[str, Any] = {
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "steps": [
                {
                    "step": str(e.step),
                    "ok": e.ok,
                    "ms": round(e.seconds * 1000, 1),
                    "detail": e.detail,
                }
                for e in self.steps
            ],
        }
        if self.result is not None:
            data["result"] = {
                "message_id": self.result.message_id,
                "accepted": list(self.result.accepted),
                "refused": {k: list(v) for k, v in self.result.refused.items()},
                "reply": self.result.reply,
                "queue_id": self.result.queue_id,
                "server": self.result.server,
            }
        if self.error is not None:
            data["error"] = error_dict(self.error)
        return data


def error_dict(error: BaruaError) -> dict[str, Any]:
    """An error as plain values: what failed, where, the server's reply and the fix."""
    data: dict[str, Any] = {
        "type": type(error).__name__,
        "message": str(error),
        "hint": error.hint,
    }
    if isinstance(error, TransportError):
        data.update(
            step=str(error.step),
            code=error.code,
            reply=error.reply,
            host=error.host,
            port=error.port,
            recipient=error.recipient,
            temporary=error.temporary,
        )
    return data


def run_test(settings: Settings, *, to: str, observer: StepObserver | None = None) -> TestReport:
    """Send a test email with ``settings`` to ``to`` and report every step."""
    report = TestReport()

    def record(event: StepEvent) -> None:
        report.steps.append(event)
        if observer is not None:
            observer(event)

    started = time.perf_counter()
    try:
        message = build_test_email(settings, to=to)
        report.result = send_now(settings, message, observer=record)
    except BaruaError as exc:
        report.error = exc
    report.seconds = time.perf_counter() - started
    return report
