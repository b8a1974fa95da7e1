"""The test email as the page shows it: each step with its mark and what it found, then the
outcome (accepted, or the cause and the fix, and the certificate to trust when that helps)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from barua.app.present import step_label
from barua.app.testing import Doubt, TrustRequest
from barua.errors import Cause, TLSError
from barua.i18n import N_
from barua.web.i18n import gettext_for

if TYPE_CHECKING:
    from barua.app.present import StepEvent, TestReport

_CERTIFICATE = N_("{verdict}: {subject}, issued by {issuer}, valid until {expiry}")
_DOUBTS = {
    "expired": (Doubt.EXPIRED, Doubt.NOT_YET_VALID),
    "other_name": (Doubt.OTHER_NAME,),
}


def step_view(event: StepEvent, lang: str) -> dict[str, Any]:
    """One step: its label, whether it passed, how long it took, what it found."""
    _ = gettext_for(lang)
    detail = event.detail
    certificate = event.certificate
    if certificate is not None and event.ok:
        detail = _(
            _CERTIFICATE,
            verdict=_(event.detail),
            subject=certificate.subject,
            issuer=certificate.issuer,
            expiry=certificate.not_after.date().isoformat(),
        )
    return {
        "label": step_label(event.step, lang),
        "ok": event.ok,
        "ms": round(event.seconds * 1000, 1),
        "detail": detail,
    }


def outcome_view(report: TestReport, lang: str) -> dict[str, Any]:
    """What the test ended with, in words, and what the page may offer next."""
    _ = gettext_for(lang)
    data: dict[str, Any] = {"ok": report.ok}
    if report.trusted_certificate is not None:
        data["trusted"] = report.trusted_certificate.sha256
    if report.ok:
        assert report.result is not None
        reply = f"{report.result.code} {report.result.reply}".strip()
        data["summary"] = _(
            "The server accepted the test email for {to} ({reply}).",
            to=", ".join(report.result.accepted),
            reply=reply,
        )
        if report.deliverability is not None:
            data["warnings"] = [
                {"text": _(w.message).format(**w.args), "record": w.record_to_add}
                for w in report.deliverability.warnings
            ]
        return data
    if report.advice is not None:
        data.update(
            summary=report.advice.summary, fix=report.advice.fix, details=report.advice.details
        )
    elif report.error is not None:
        data.update(summary=report.error.render(lang), fix=report.error.render_hint(lang) or "")
    certificate = _certificate_to_trust(report)
    if certificate is not None:
        data["certificate"] = certificate
    if report.untrusted is not None:
        data["untrusted"] = report.untrusted.reason.render(lang)
        data["doubts"] = sorted({_doubt_name(d) for d in report.untrusted.doubts})
    return data


def _certificate_to_trust(report: TestReport) -> dict[str, Any] | None:
    """The certificate the server presented, when trusting it is what the advice proposes."""
    error = report.error
    if not isinstance(error, TLSError) or error.certificate is None:
        return None
    if error.cause not in {Cause.CERT_SELF_SIGNED, Cause.CERT_UNTRUSTED}:
        return None
    certificate = error.certificate
    return {
        "subject": certificate.subject,
        "issuer": certificate.issuer,
        "not_after": certificate.not_after.date().isoformat(),
        "sha256": certificate.sha256,
    }


def _doubt_name(doubt: Doubt) -> str:
    return next(name for name, doubts in _DOUBTS.items() if doubt in doubts)


def trust_request(form: Mapping[str, str]) -> TrustRequest | None:
    """What the form's **Trust this certificate** asks: the fingerprint the page showed, and
    the doubts the user accepted by ticking their boxes."""
    fingerprint = form.get("trust_fingerprint", "").strip()
    if not fingerprint:
        return None
    accept: set[Doubt] = set()
    for name, doubts in _DOUBTS.items():
        if f"trust_{name}" in form:
            accept.update(doubts)
    return TrustRequest(fingerprint=fingerprint, accept=frozenset(accept))
