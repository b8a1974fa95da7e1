"""The test email: proves settings work, step by step, before they are saved.

The web app, the command line and scripts all call :func:`run_test`; it never raises for a
delivery failure but returns a :class:`TestReport` naming the step that failed.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import dns.resolver

from barua.certificates import CertificateInfo, normalise_fingerprint
from barua.errors import (
    BaruaError,
    Cause,
    MessageTooLarge,
    RecipientRefused,
    Step,
    TLSError,
    TransportError,
)
from barua.i18n import translator
from barua.message import OutgoingMessage, build_message
from barua.settings import Protocol, Settings, update_settings
from barua.setup.advice import Advice, advise, step_label
from barua.setup.deliverability import DeliverabilityReport, check_sender_domain
from barua.setup.providers import preset_for_host
from barua.setup.resolver import make_resolver
from barua.texts import Message, Text
from barua.transports.base import SendResult, StepEvent, StepObserver
from barua.transports.causes import filled, fix_for
from barua.transports.delivery import send_now
from barua.transports.oauth import TokenSource
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

    settings: Settings
    steps: list[StepEvent] = field(default_factory=list)
    result: SendResult | None = None
    error: BaruaError | None = None
    advice: Advice | None = None
    trusted_certificate: CertificateInfo | None = None
    """The certificate pinned during this test (see :class:`TrustRequest`)."""
    untrusted: Untrusted | None = None
    """Why the server's own certificate was not trusted though the test was asked to."""
    deliverability: DeliverabilityReport | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None and self.result is not None

    def is_copy(self, event: StepEvent) -> bool:
        """True for the RCPT TO step of the settings' copy address (``bcc_copy``)."""
        return event.recipient is not None and event.recipient == self.settings.bcc_copy

    def to_dict(self, lang: str | None = None) -> dict[str, Any]:
        """A JSON-ready form for the web app and scripts, its words in ``lang``; holds no
        secret."""
        data: dict[str, Any] = {
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "steps": [self._step_dict(e, lang) for e in self.steps],
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
            data["error"] = error_dict(self.error, lang)
        if self.advice is not None:
            data["advice"] = self.advice.to_dict()
        if self.trusted_certificate is not None:
            data["trusted_certificate"] = self.trusted_certificate.to_dict()
        if self.untrusted is not None:
            data["untrusted"] = self.untrusted.to_dict(lang)
        if self.deliverability is not None:
            data["deliverability"] = self.deliverability.to_dict(translator(lang).gettext)
        return data

    def _step_dict(self, event: StepEvent, lang: str | None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "step": str(event.step),
            "label": step_label(event.step, lang),
            "ok": event.ok,
            "ms": round(event.seconds * 1000, 1),
            "detail": event.detail,
        }
        if event.recipient is not None:
            data["recipient"] = event.recipient
            data["copy"] = self.is_copy(event)
        if event.certificate is not None:
            data["certificate"] = event.certificate.to_dict()
        if event.error is not None:
            data["error"] = str(event.error)
            data["system_error"] = event.error.system_error
        return data


def error_dict(error: BaruaError, lang: str | None = None) -> dict[str, Any]:
    """An error as plain values: what failed (its code and values, and in words in
    ``lang``), where, the server's reply and the fix."""
    data: dict[str, Any] = {
        "type": type(error).__name__,
        "error_code": error.error_code,
        "params": error.text.to_dict()["params"],
        "message": error.render(lang),
        "hint": error.render_hint(lang),
    }
    if isinstance(error, TransportError):
        data.update(
            step=str(error.step),
            cause=str(error.cause),
            code=error.code,
            reply=error.reply,
            host=error.host,
            port=error.port,
            recipient=error.recipient,
            temporary=error.temporary,
            system_error=error.system_error,
        )
    if isinstance(error, MessageTooLarge):
        data.update(size=error.size, limit=error.limit)
    if isinstance(error, TLSError) and error.certificate is not None:
        data["certificate"] = error.certificate.to_dict()
    if isinstance(error, TLSError) and error.pinned is not None:
        data["pinned_certificate"] = error.pinned
    return data


# Only these are fixed by trusting the certificate; an expired one or one for another name
# points at a real problem that pinning would hide.
_PINNABLE = {Cause.CERT_SELF_SIGNED, Cause.CERT_UNTRUSTED}


class Doubt(StrEnum):
    """What makes a server's own certificate suspect, beyond nobody vouching for it: a
    certificate pinned for these would hide a real problem unless the user said to."""

    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    OTHER_NAME = "other_name"


DOUBTED = {
    Doubt.EXPIRED: Message(
        "diagnose.trust.expired",
        "the certificate expired on {expiry}: barua did not trust it",
    ),
    Doubt.NOT_YET_VALID: Message(
        "diagnose.trust.not_yet_valid",
        "the certificate is valid only from {start}: barua did not trust it",
    ),
    Doubt.OTHER_NAME: Message(
        "diagnose.trust.other_name",
        "the certificate is for {names}, not for {host}: barua did not trust it",
    ),
}
NOT_CONFIRMED = Message(
    "diagnose.trust.not_confirmed", "the certificate was not trusted: nobody confirmed it"
)
OTHER_FINGERPRINT = Message(
    "diagnose.trust.other_fingerprint",
    "the server presents {sha256}, not the fingerprint you gave: barua did not trust it",
)


def doubts(
    certificate: CertificateInfo, host: str | None, now: datetime | None = None
) -> tuple[Doubt, ...]:
    """What is suspect about ``certificate`` presented by ``host``, in the order to say it."""
    moment = now or datetime.now(UTC)
    found: list[Doubt] = []
    if host and not certificate.matches(host):
        found.append(Doubt.OTHER_NAME)
    if certificate.expired(moment):
        found.append(Doubt.EXPIRED)
    elif moment < certificate.not_before:
        found.append(Doubt.NOT_YET_VALID)
    return tuple(found)


@dataclass(frozen=True, slots=True)
class TrustRequest:
    """How the test email may trust the server's own certificate (self-signed or from a
    private authority) when the CA check refuses it.

    The certificate is pinned only if it is ``fingerprint`` (from the server's administrator)
    or ``confirm`` (shown the certificate and its doubts) says yes; and, when it is for
    another name, expired or not yet valid, only if ``accept`` names each of those doubts.
    """

    fingerprint: str | None = None
    confirm: Callable[[CertificateInfo, tuple[Doubt, ...]], bool] | None = None
    accept: frozenset[Doubt] = frozenset()


@dataclass(frozen=True, slots=True)
class Untrusted:
    """The certificate a test was asked to trust and did not, and why."""

    certificate: CertificateInfo
    reason: Text
    doubts: tuple[Doubt, ...] = ()
    """The doubts not accepted (empty when the reason is a fingerprint or no confirmation)."""

    def to_dict(self, lang: str | None = None) -> dict[str, Any]:
        return {
            "certificate": self.certificate.to_dict(),
            "doubts": [str(doubt) for doubt in self.doubts],
            "reason_code": self.reason.code,
            "reason": self.reason.render(lang),
        }


def _trust(
    request: TrustRequest, certificate: CertificateInfo, host: str | None
) -> Untrusted | None:
    """None when ``certificate`` may be pinned under ``request``; else why not."""
    found = doubts(certificate, host)
    refused = tuple(doubt for doubt in found if doubt not in request.accept)
    if refused:
        values = {
            "expiry": certificate.not_after.date().isoformat(),
            "start": certificate.not_before.date().isoformat(),
            "names": ", ".join(certificate.names) or certificate.subject,
            "host": host or "",
        }
        return Untrusted(certificate, filled(DOUBTED[refused[0]], values), refused)
    if request.fingerprint is not None:
        if normalise_fingerprint(request.fingerprint) != certificate.sha256:
            return Untrusted(certificate, OTHER_FINGERPRINT(sha256=certificate.sha256))
        return None
    if request.confirm is None or not request.confirm(certificate, found):
        return Untrusted(certificate, NOT_CONFIRMED())
    return None


def _attempt(
    settings: Settings,
    to: str,
    report: TestReport,
    observer: StepObserver | None,
    tokens: TokenSource | None = None,
) -> None:
    def record(event: StepEvent) -> None:
        report.steps.append(event)
        if observer is not None:
            observer(event)

    try:
        message = build_test_email(settings, to=to)
        report.result = send_now(settings, message, observer=record, tokens=tokens)
        report.error = _refusal(settings, report.result)
    except BaruaError as exc:
        report.error = exc


REFUSED = Message("diagnose.refused", "the server refused {recipient} ({reply})")
REFUSED_COPY = Message(
    "diagnose.refused_copy", "the server refused the copy to {recipient} ({reply})"
)


def _refusal(settings: Settings, result: SendResult) -> TransportError | None:
    """A recipient the server refused fails the test even though others were accepted: the
    address typed may be wrong, or every email would go without the copy the user asked for."""
    if not result.refused:
        return None
    recipient, (code, reply) = next(iter(result.refused.items()))
    copy = recipient == settings.bcc_copy
    refused = REFUSED_COPY if copy else REFUSED
    error = RecipientRefused(
        refused(recipient=recipient, reply=f"{code} {reply}"),
        refused={recipient: (code, reply)},
        host=settings.host,
        port=settings.port,
    )
    if copy and error.cause is Cause.RECIPIENT_REFUSED:
        error.cause = Cause.COPY_REFUSED
    error.hint_text = fix_for(error.cause, http=settings.protocol is Protocol.HTTP, replied=True)
    return error


def run_test(
    settings: Settings,
    *,
    to: str,
    observer: StepObserver | None = None,
    lang: str | None = None,
    trust: TrustRequest | None = None,
    check_deliverability: bool = True,
    resolver: dns.resolver.Resolver | None = None,
    tokens: TokenSource | None = None,
) -> TestReport:
    """Send a test email with ``settings`` to ``to``, step by step, and explain the outcome.

    With ``trust``, a self-signed or private-CA certificate is pinned as the request allows
    (its SHA-256 fingerprint goes into ``report.settings``) and the test runs again; when it
    is not, ``report.untrusted`` says why.
    """
    report = TestReport(settings=settings)
    started = time.perf_counter()
    _attempt(settings, to, report, observer, tokens)
    error = report.error
    if (
        trust is not None
        and settings.protocol is Protocol.SMTP  # an HTTP service's certificate is not pinned
        and isinstance(error, TLSError)
        and error.cause in _PINNABLE
        and error.certificate is not None
    ):
        report.untrusted = _trust(trust, error.certificate, settings.host)
        if report.untrusted is None:
            report.trusted_certificate = error.certificate
            report.settings = update_settings(settings, pinned_certificate=error.certificate.sha256)
            _attempt(report.settings, to, report, observer, tokens)
    if report.error is not None:
        report.advice = advise(report.error, report.settings, lang)
    elif check_deliverability and settings.protocol is Protocol.SMTP:
        report.deliverability = _deliverability(report, resolver)
    report.seconds = time.perf_counter() - started
    return report


def _deliverability(
    report: TestReport, resolver: dns.resolver.Resolver | None
) -> DeliverabilityReport:
    settings = report.settings
    ips = [e.detail for e in report.steps if e.step is Step.CONNECT and e.ok and e.detail]
    return check_sender_domain(
        settings.from_address,
        smtp_host=settings.host,
        smtp_ips=ips,
        preset=preset_for_host(settings.host, settings.port) if settings.host else None,
        resolver=resolver or make_resolver(),
    )
