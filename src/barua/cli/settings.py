"""``barua settings``: show, change, detect and trust."""

from __future__ import annotations

import getpass
import json
import os
import shlex
import sys
from typing import Annotated

import typer

from barua.addresses import display_address
from barua.certificates import describe_certificate, normalise_fingerprint
from barua.cli.common import _, bad_input, err, nothing_saved, out, user_errors
from barua.cli.flags import (
    ApiKeyStdinOpt,
    BccOpt,
    EmailOpt,
    HostOpt,
    NoApiKeyOpt,
    NoBccOpt,
    NoPasswordOpt,
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
from barua.i18n import N_, translator
from barua.settings import Protocol, update_settings
from barua.store import ENV_OVERRIDES, SettingsStore, env_values

# Shown by `settings show` in the user's form, though sent in the form servers read.
_ADDRESS_FIELDS = ("email_address", "bcc_copy", "reply_to")
_UNREADABLE = {
    "password": N_(
        "warning: the saved password cannot be read with this key: set it again with "
        "`barua settings set --password-stdin`, or restore the key it was saved with."
    ),
    "http_api_key": N_(
        "warning: the saved http_api_key cannot be read with this key: set it again with "
        "`barua settings set --http-api-key-stdin`, or restore the key it was saved with."
    ),
}
# A secret saved with a lost or different key cannot stay beside one encrypted now: no single
# key would read both (see barua.store).
_REMOVED = {
    "password": N_(
        "warning: the saved password was removed: it was encrypted with a key that is not at "
        "hand and could never be read together with what was just saved. Set it again with "
        "`barua settings set --password-stdin`."
    ),
    "http_api_key": N_(
        "warning: the saved http_api_key was removed: it was encrypted with a key that is not "
        "at hand and could never be read together with what was just saved. Set it again with "
        "`barua settings set --http-api-key-stdin`."
    ),
}

settings_app = typer.Typer(
    help="Show and change how email leaves: SMTP server or HTTP email service.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@settings_app.command("set")
def settings_set(
    protocol: ProtocolOpt = None,
    host: HostOpt = None,
    port: PortOpt = None,
    security: SecurityOpt = None,
    username: UsernameOpt = None,
    email_address: EmailOpt = None,
    password_stdin: PasswordStdinOpt = False,
    no_password: NoPasswordOpt = False,
    sender_name: SenderNameOpt = None,
    bcc_copy: BccOpt = None,
    no_bcc_copy: NoBccOpt = False,
    reply_to: ReplyToOpt = None,
    no_reply_to: NoReplyToOpt = False,
    skip_tls_verify: VerifyOpt = None,
    http_service_url: UrlOpt = None,
    http_api_key_stdin: ApiKeyStdinOpt = False,
    no_http_api_key: NoApiKeyOpt = False,
    timeout: TimeoutOpt = None,
) -> None:
    """Validate and save settings. Flags not given keep their saved values."""
    with user_errors():
        changes = changes_from_flags(**locals(), offers_removal=True)
        store = SettingsStore()
        # Secrets saved with a lost or different key are not decrypted: those given here
        # replace them; the others are kept as they are, or removed when a secret is saved
        # with the key at hand, and named below.
        unreadable = [name for name in store.unreadable_secrets() if name not in changes]
        saved = store.load(skip_secrets=[*unreadable, *changes])
        settings = update_settings(saved, **changes)
        if (
            settings.protocol is Protocol.SMTP
            and settings.username is not None
            and settings.password is None
            and not no_password
            and sys.stdin.isatty()
        ):
            password = getpass.getpass(
                _(N_("Password for {username}: ")).format(username=settings.username)
            )
            settings = update_settings(settings, password=password)
        kept = [name for name in unreadable if getattr(settings, name) is None]
        removed = store.save(settings, keep_unreadable=kept)
        out.print(_(N_("Saved the email settings to {path}")).format(path=store.path), markup=False)
        for name in kept:
            err.print(_(_REMOVED[name] if name in removed else _UNREADABLE[name]), markup=False)


@settings_app.command("show")
def settings_show(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the settings in effect. Passwords and keys are shown as set or not set, never."""
    with user_errors():
        store = SettingsStore()
        overridden = env_values(os.environ).keys()
        unreadable = [name for name in store.unreadable_secrets() if name not in overridden]
        settings = store.load_effective(skip_secrets=unreadable)
        if settings is None:
            raise nothing_saved(hint=_(N_("Run `barua settings set --help`.")))
        data = settings.public_dict()
        for name in _ADDRESS_FIELDS:
            if data[name] is not None:
                data[name] = display_address(data[name])
        for name in unreadable:
            data[f"{name}_set"] = True
        if as_json:
            out.print_json(json.dumps({**data, "unreadable_secrets": unreadable}))
            return
        for name, value in data.items():
            label, shown = name, "" if value is None else value
            if name.endswith("_set"):
                label, shown = name.removesuffix("_set"), _(N_("set") if value else N_("not set"))
                if label in unreadable:
                    shown = _(N_("set, but cannot be read with this key: set it again"))
            out.print(f"{label:18} {shown}", markup=False)
        overrides = [var for var in ENV_OVERRIDES if var in os.environ]
        if overrides:
            out.print(
                _(N_("(overridden by the environment: {names})")).format(
                    names=", ".join(overrides)
                ),
                markup=False,
            )


@settings_app.command("trust-certificate")
def settings_trust_certificate(
    fingerprint: Annotated[
        str | None,
        typer.Option(
            "--fingerprint",
            metavar="FINGERPRINT",
            help="The SHA-256 fingerprint you expect (from the server's administrator); "
            "barua trusts the certificate only if the server presents this one.",
        ),
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", help="Trust what the server presents without asking.")
    ] = False,
    remove: Annotated[
        bool, typer.Option("--remove", help="Stop trusting a pinned certificate.")
    ] = False,
) -> None:
    """Trust the server's own certificate (self-signed or private CA) instead of the CA check."""
    with user_errors():
        store = SettingsStore()
        saved = store.load()
        if saved is None:
            raise nothing_saved(hint=_(N_("Run `barua settings set`.")))
        if remove:
            store.save(update_settings(saved, pinned_certificate=None))
            out.print(_(N_("No certificate is pinned any more.")), markup=False)
            return
        from barua.transports.smtp import fetch_certificate

        info = describe_certificate(fetch_certificate(store.load_effective() or saved))
        shown = (
            (_(N_("subject")), info.subject),
            (_(N_("issued by")), info.issuer),
            (_(N_("valid until")), info.not_after.date().isoformat()),
            ("SHA-256", info.sha256),
        )
        width = max(12, *(len(label) for label, _value in shown))
        for label, value in shown:
            out.print(f"{label:{width}} {value}", markup=False)
        if fingerprint is not None:
            expected = normalise_fingerprint(fingerprint)
            if expected is None:
                raise bad_input(
                    _(N_("--fingerprint must be a SHA-256 fingerprint (64 hex digits)"))
                )
            if expected != info.sha256:
                raise bad_input(
                    _(N_("the server presents {sha256}, not the fingerprint you gave")).format(
                        sha256=info.sha256
                    ),
                    hint=_(
                        N_(
                            "Do not trust this certificate: check the host, and the fingerprint "
                            "with the server's administrator."
                        )
                    ),
                )
        elif not yes:
            if not sys.stdin.isatty():
                raise bad_input(
                    _(
                        N_(
                            "confirm with --yes (after checking the fingerprint above) or give "
                            "--fingerprint"
                        )
                    ),
                )
            if not typer.confirm(_(N_("Trust this certificate?")), default=False):
                raise typer.Exit(1)
        store.save(update_settings(saved, pinned_certificate=info.sha256))
        out.print(
            _(N_("Trusted the certificate {sha256}.")).format(sha256=info.sha256), markup=False
        )


_FLAGS = {
    "host": "--host",
    "port": "--port",
    "security": "--security",
    "username": "--username",
    "email_address": "--email-address",
}


@settings_app.command("detect")
def settings_detect(
    # Described in the docstring: typer would list it with its Python type ("<str>").
    address: Annotated[str, typer.Argument(metavar="ADDRESS", hidden=True)],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    confirm_lookalike: Annotated[
        bool,
        typer.Option(
            "--confirm-lookalike",
            help="Look the domain up even though it is one typo away from a provider's.",
        ),
    ] = False,
) -> None:
    """Propose settings for ADDRESS, the email address to send from: provider presets, MX,
    autoconfig, probing. Saves nothing."""
    with user_errors():
        from barua.setup.detect import detect
        from barua.setup.resolver import make_resolver

        gettext = translator().gettext
        proposal = detect(address, resolver=make_resolver(), confirm_lookalike=confirm_lookalike)
        question = proposal.confirm_question(gettext)
        if question is not None and not as_json and sys.stdin.isatty():
            # A look-alike of a provider's domain: its servers would get the password.
            out.print(proposal.explain(gettext), markup=False)
            if not typer.confirm(question, default=False):
                raise typer.Exit(1)
            proposal = detect(address, resolver=make_resolver(), confirm_lookalike=True)
        if as_json:
            out.print_json(json.dumps(proposal.to_dict(gettext)))
            if proposal.needs_confirmation or not proposal.values:
                raise typer.Exit(1)
            return
        out.print(proposal.explain(gettext), markup=False)
        if proposal.needs_confirmation:
            err.print(
                _(N_("hint: if the address is right, run this again with --confirm-lookalike.")),
                markup=False,
            )
            raise typer.Exit(1)
        if not proposal.values:
            raise typer.Exit(1)
        for name, value in proposal.values.items():
            out.print(f"  {name:14} {value}", markup=False)
        for line in proposal.advice_lines(gettext):
            out.print(line, markup=False)
        if proposal.accepts_password:
            flags = " ".join(
                f"{_FLAGS[name]} {shlex.quote(str(value))}"
                for name, value in proposal.values.items()
                if name in _FLAGS
            )
            if "username" not in proposal.values:
                flags += " --username USERNAME"
            out.print(f"barua settings set {flags} --password-stdin", markup=False)
