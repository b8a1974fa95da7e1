"""Showing a server's certificate and asking whether to trust it, for ``barua test
--trust-certificate`` and ``barua settings trust-certificate``."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from barua.cli.common import _, print_line
from barua.i18n import N_
from barua.texts import Message

if TYPE_CHECKING:
    from barua.app.testing import CertificateInfo, Doubt

CONFIRM_TRUST = Message(
    "cli.confirm_trust",
    "confirm with --yes (after checking the fingerprint above) or give --fingerprint",
)
ACCEPT_DOUBT_HINT = Message(
    "cli.accept_doubt_hint",
    "Check the server name and the server's certificate with its administrator first. To trust "
    "this certificate all the same, add {option}.",
)
DOUBT_OPTIONS = {
    "expired": "--trust-expired",
    "not_yet_valid": "--trust-expired",
    "other_name": "--trust-other-name",
}
"""The option that accepts each doubt (a certificate not yet valid has wrong dates too)."""


def print_certificate(info: CertificateInfo) -> None:
    """The certificate as a person checks it: who it is for, who issued it, until when, and
    the fingerprint to compare with the one the server's administrator gives."""
    shown = (
        (_(N_("subject")), info.subject),
        (_(N_("issued by")), info.issuer),
        (_(N_("valid until")), info.not_after.date().isoformat()),
        ("SHA-256", info.sha256),
    )
    width = max(12, *(len(label) for label, _value in shown))
    for label, value in shown:
        print_line(f"{label:{width}} {value}")


def confirmed(info: CertificateInfo, *, yes: bool) -> bool:
    """Show ``info`` and ask on a terminal whether to trust it; ``yes``: trust it unasked.
    Raises an exit (code 2) when there is nobody to ask."""
    from barua.cli.common import bad_input

    print_certificate(info)
    if yes:
        return True
    if not sys.stdin.isatty():
        raise bad_input(CONFIRM_TRUST())
    return typer.confirm(_(N_("Trust this certificate?")), default=False)


def doubt_option(doubt: Doubt) -> str:
    return DOUBT_OPTIONS[str(doubt)]
