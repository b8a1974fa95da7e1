"""``barua test``: the test email, step by step, with advice when a step fails."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from barua.cli.certificates import ACCEPT_DOUBT_HINT, confirmed, doubt_option
from barua.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_DELIVERY_FAILED,
    _,
    app,
    business,
    err,
    fail,
    language,
    out,
    print_line,
    print_warnings,
    render,
    user_errors,
)
from barua.cli.flags import (
    ApiKeyStdinOpt,
    BccOpt,
    EmailOpt,
    HostOpt,
    NoBccOpt,
    NoReplyToOpt,
    PasswordStdinOpt,
    PortOpt,
    ProtocolOpt,
    ReplyToOpt,
    SecurityOpt,
    SenderNameOpt,
    TimeoutOpt,
    UrlOpt,
    UsernameOpt,
    VerifyOpt,
    changes_from_flags,
)
from barua.cli.settings import saved_line
from barua.errors import Step, TransportError
from barua.i18n import N_

if TYPE_CHECKING:
    from barua.app import Settings
    from barua.app.present import StepEvent, StepObserver, TestReport
    from barua.app.testing import TrustRequest

_CERTIFICATE = N_("{verdict}: {subject}, issued by {issuer}, valid until {expiry}")
_RECIPIENT = N_("{recipient}: {reply}")
_COPY = N_("{recipient} (the copy of every email): {reply}")


def _detail(event: StepEvent, copy_to: str | None) -> str:
    """What a step found, in the user's language where barua wrote it."""
    certificate = event.certificate
    if event.step is Step.CERTIFICATE and certificate is not None and event.ok:
        return _(_CERTIFICATE).format(
            verdict=_(event.detail),
            subject=certificate.subject,
            issuer=certificate.issuer,
            expiry=certificate.not_after.date().isoformat(),
        )
    if event.recipient is not None:
        template = _COPY if event.recipient == copy_to else _RECIPIENT
        return _(template).format(recipient=event.recipient, reply=event.detail)
    return event.detail


def step_printer(settings: Settings) -> StepObserver:
    """Prints each step as it ends: a mark (coloured on a terminal), its name, its duration
    and what it found."""
    from barua.app.present import step_label

    def print_step(event: StepEvent) -> None:
        mark, style = ("✓", "green") if event.ok else ("✗", "red")
        out.print(f"{mark} ", style=style, end="")
        label = step_label(event.step, language())
        detail = _detail(event, settings.bcc_copy)
        out.print(f"{label:24} {event.seconds * 1000:7.1f} ms  {detail}", markup=False)

    return print_step


def _trust_request(
    *, fingerprint: str | None, yes: bool, quiet: bool, expired: bool, other_name: bool
) -> TrustRequest:
    """What ``--trust-certificate`` and its options allow; ``quiet`` (JSON): nothing shown
    and nobody asked, so only ``--yes`` or ``--fingerprint`` trusts."""
    from barua.app.testing import Doubt, TrustRequest

    accept = {Doubt.EXPIRED, Doubt.NOT_YET_VALID} if expired else set()
    if other_name:
        accept.add(Doubt.OTHER_NAME)
    return TrustRequest(
        fingerprint=fingerprint,
        confirm=(lambda _info, _doubts: yes)
        if quiet
        else lambda info, _d: confirmed(info, yes=yes),
        accept=frozenset(accept),
    )


def _print_untrusted(report: TestReport) -> None:
    """Why the certificate was not trusted, and the option that would trust it."""
    untrusted = report.untrusted
    if untrusted is None:
        return
    err.print(f"! {render(untrusted.reason)}", style="yellow", markup=False)
    if untrusted.doubts:
        option = doubt_option(untrusted.doubts[0])
        err.print("  " + render(ACCEPT_DOUBT_HINT(option=option)), markup=False)


def _print_outcome(report: TestReport, to: str) -> None:
    if report.trusted_certificate is not None:
        out.print(
            _(N_("Trusted the certificate with SHA-256 fingerprint {sha256}.")).format(
                sha256=report.trusted_certificate.sha256
            ),
            markup=False,
        )
    if report.advice is not None:
        for line in report.advice.details:
            out.print(f"  {line}", markup=False)
        return
    assert report.result is not None
    out.print(
        _(N_("The server accepted the test email for {to} ({reply}).")).format(
            to=to, reply=f"{report.result.code} {report.result.reply}"
        ),
        markup=False,
    )
    if report.deliverability is not None:
        for warning in report.deliverability.warnings:
            out.print(
                "! " + _(warning.message).format(**warning.args), style="yellow", markup=False
            )
            if warning.record_to_add:
                out.print(f"    {warning.record_to_add}", markup=False)


def test_command(
    to: Annotated[
        str, typer.Option("--to", metavar="ADDRESS", help="Where to send the test email.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    save: Annotated[
        bool, typer.Option("--save", help="Save the settings given here if the test passes.")
    ] = False,
    trust_certificate: Annotated[
        bool,
        typer.Option(
            "--trust-certificate",
            help="If the server's certificate is self-signed or from a private authority, "
            "show it and trust that one certificate once confirmed (safer than "
            "--skip-tls-verify).",
        ),
    ] = False,
    fingerprint: Annotated[
        str | None,
        typer.Option(
            "--fingerprint",
            metavar="FINGERPRINT",
            help="With --trust-certificate: the SHA-256 fingerprint you expect (from the "
            "server's administrator); trusted only if the server presents this one.",
        ),
    ] = None,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes", help="With --trust-certificate: trust what the server presents unasked."
        ),
    ] = False,
    trust_expired: Annotated[
        bool,
        typer.Option(
            "--trust-expired",
            help="With --trust-certificate: trust it even if it has expired or is not valid yet.",
        ),
    ] = False,
    trust_other_name: Annotated[
        bool,
        typer.Option(
            "--trust-other-name",
            help="With --trust-certificate: trust it even if it is for another server name.",
        ),
    ] = False,
    protocol: ProtocolOpt = None,
    host: HostOpt = None,
    port: PortOpt = None,
    security: SecurityOpt = None,
    username: UsernameOpt = None,
    email_address: EmailOpt = None,
    password_stdin: PasswordStdinOpt = False,
    sender_name: SenderNameOpt = None,
    bcc_copy: BccOpt = None,
    no_bcc_copy: NoBccOpt = False,
    reply_to: ReplyToOpt = None,
    no_reply_to: NoReplyToOpt = False,
    skip_tls_verify: VerifyOpt = None,
    http_service_url: UrlOpt = None,
    http_api_key_stdin: ApiKeyStdinOpt = False,
    timeout: TimeoutOpt = None,
) -> None:
    """Send a test email, step by step, with the saved settings or the ones given here."""
    with user_errors():
        flags = {
            k: v
            for k, v in locals().items()
            if k
            not in {
                "to",
                "as_json",
                "save",
                "trust_certificate",
                "fingerprint",
                "yes",
                "trust_expired",
                "trust_other_name",
            }
        }
        changes = changes_from_flags(**flags)
        shop = business()
        from barua.app.errors import NO_SETTINGS_FLAGS_HINT

        settings = (
            None
            if as_json
            else app().settings_in_effect(shop, changes, hint=NO_SETTINGS_FLAGS_HINT())
        )
        if settings is not None:
            print_warnings(app().settings_warnings(settings))
        trust = (
            _trust_request(
                fingerprint=fingerprint,
                yes=yes,
                quiet=as_json,
                expired=trust_expired,
                other_name=trust_other_name,
            )
            if trust_certificate
            else None
        )
        outcome = app().test_email(
            shop,
            to=to,
            changes=changes,
            trust=trust,
            save=save,
            observer=None if settings is None else step_printer(settings),
            lang=language(),
        )
        report = outcome.report
        if as_json:
            out.print_json(json.dumps(report.to_dict(language())))
        else:
            _print_outcome(report, to)
            _print_untrusted(report)
        if report.error is not None:
            if as_json:
                raise typer.Exit(
                    EXIT_DELIVERY_FAILED
                    if isinstance(report.error, TransportError)
                    else EXIT_BAD_INPUT
                )
            raise fail(report.error, report.settings)
        if outcome.saved and not as_json:
            print_line(saved_line(shop.name))
