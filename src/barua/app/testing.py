"""Use case: the test email, step by step, before or after saving the settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from barua.app.context import Context
from barua.app.errors import NO_SETTINGS_FLAGS_HINT
from barua.app.settings import SettingsUseCases
from barua.certificates import CertificateInfo
from barua.settings import AuthMethod
from barua.setup.diagnose import Doubt, TrustRequest
from barua.store.businesses import Business

if TYPE_CHECKING:
    from barua.setup.diagnose import TestReport
    from barua.transports.base import StepObserver


__all__ = ["CertificateInfo", "Doubt", "TestOutcome", "TestingUseCases", "TrustRequest"]


@dataclass(frozen=True, slots=True)
class TestOutcome:
    """The test's report, and whether settings were saved after it passed."""

    __test__ = False  # not a pytest test class

    report: TestReport
    saved: bool = False


class TestingUseCases(SettingsUseCases, Context):
    """The test email."""

    def test_email(
        self,
        business: Business,
        *,
        to: str,
        changes: Mapping[str, Any] | None = None,
        trust: TrustRequest | None = None,
        save: bool = False,
        observer: StepObserver | None = None,
        lang: str | None = None,
    ) -> TestOutcome:
        """Send a test email to ``to`` with the settings of ``business``, changed by
        ``changes`` (values typed in a form or on a command line, not saved yet).

        ``observer`` receives each step as it ends, so a page can show the steps live. With
        ``trust``, a self-signed or private-CA certificate is pinned as the request allows
        (confirmed, or the fingerprint given; never silently one for another name or out of
        its dates) and the test runs again; ``report.untrusted`` says why it was not. When the
        test passes, ``save`` saves ``changes`` (and a pinned certificate); saved settings
        tested as they are keep a certificate trusted during the test. Never raises for a
        delivery failure: the report names the step that failed.
        """
        from barua.app.oauth import StoredTokens
        from barua.setup.diagnose import run_test

        hint = NO_SETTINGS_FLAGS_HINT() if changes is not None else None
        settings = self.settings_in_effect(business, changes, hint=hint)
        report = run_test(
            settings,
            to=to,
            observer=observer,
            lang=self.lang(lang),
            trust=trust,
            resolver=self.resolver(),
            tokens=StoredTokens(self.store, business, settings)
            if settings.auth is AuthMethod.OAUTH
            else None,
        )
        if not report.ok:
            return TestOutcome(report)
        learnt: dict[str, Any] = {}
        if report.trusted_certificate is not None:
            learnt["pinned_certificate"] = report.trusted_certificate.sha256
        if save:
            self.store.update(business, {**(changes or {}), **learnt})
            return TestOutcome(report, saved=True)
        if learnt and not changes:
            self.store.update(business, learnt)
            return TestOutcome(report, saved=True)
        return TestOutcome(report)
