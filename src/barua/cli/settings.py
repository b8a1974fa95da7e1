"""``barua settings``: show, change, detect, trust, export and import."""

from __future__ import annotations

import getpass
import json
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from barua.choices import OAuthProvider, Protocol
from barua.cli.certificates import confirmed, print_certificate
from barua.cli.common import (
    _,
    app,
    bad_input,
    business,
    err,
    language,
    out,
    print_line,
    print_warnings,
    printable,
    user_errors,
    utf8_text,
)
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
    read_secret,
)
from barua.errors import system_reason
from barua.i18n import N_, translator
from barua.texts import Message, field_name

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
NO_CLIENT_SECRET_READ = Message("cli.no_client_secret_read", "{option} read no client secret")
CANNOT_READ = Message("cli.cannot_read_file", "cannot read {path}: {reason}")
CANNOT_WRITE = Message("cli.cannot_write_file", "cannot write {path}: {reason}")

if TYPE_CHECKING:
    from barua.app.present import DeviceCode

settings_app = typer.Typer(
    help="Show and change how email leaves: SMTP server or HTTP email service.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def saved_line(name: str) -> str:
    return _(N_('Saved the email settings of "{business}".')).format(business=name)


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
        shop = business()
        preview = app().settings_preview(shop, changes)
        if (
            preview.protocol is Protocol.SMTP
            and preview.username is not None
            and preview.password is None
            and not no_password
            and sys.stdin.isatty()
        ):
            changes["password"] = getpass.getpass(
                _(N_("Password for {username}: ")).format(username=preview.username)
            )
        saved = app().save_settings(shop, changes)
        print_line(saved_line(shop.name))
        for name in saved.removed:
            err.print(_(_REMOVED[name]), markup=False)
        for name in saved.unreadable:
            err.print(_(_UNREADABLE[name]), markup=False)
        print_warnings(app().settings_warnings(saved.settings, unreadable=saved.unreadable))


def _shown(value: object) -> str:
    """A setting's value as ``settings show`` prints it: yes and no in the reader's words."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _(N_("yes") if value else N_("no"))
    return str(value)


@settings_app.command("show")
def settings_show(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the settings in effect. Passwords and keys are shown as set or not set, never."""
    with user_errors():
        view = app().settings_view(business())
        data = view.values
        if as_json:
            document = {**data, "business": view.business.name}
            if view.sign_in is not None:
                document["sign_in"] = {
                    "provider": view.sign_in.provider,
                    "account": view.sign_in.account,
                    "expires_at": view.sign_in.expires_at.isoformat(),
                    "renewable": view.sign_in.renewable,
                    "failure": view.sign_in.failure,
                }
            out.print_json(json.dumps({**document, "unreadable_secrets": list(view.unreadable)}))
            return
        labels = {name: field_name(name.removesuffix("_set"), language()) for name in data}
        width = max(len(label) for label in labels.values()) + 1
        for name, value in data.items():
            label, shown = labels[name], _shown(value)
            if name.endswith("_set"):
                shown = _(N_("set") if value else N_("not set"))
                if name.removesuffix("_set") in view.unreadable:
                    shown = _(N_("set, but cannot be read with this key: set it again"))
            print_line(f"{label:{width}} {printable(shown)}")
        status = view.sign_in
        sign_in = f"{field_name('sign-in', language()):{width}} "
        if view.values.get("auth") == "oauth":
            if status is None:
                print_line(sign_in + _(N_("nobody has signed in yet")))
            elif status.failure:
                print_line(
                    sign_in
                    + _(N_("{account} with {provider}: ended, sign in again")).format(
                        account=printable(status.account or "?"), provider=status.provider
                    )
                )
            else:
                print_line(
                    sign_in
                    + _(
                        N_(
                            "signed in as {account} with {provider} (OAuth), token valid until "
                            "{until} UTC"
                        )
                    ).format(
                        account=printable(status.account or "?"),
                        provider=status.provider,
                        until=status.expires_at.strftime("%Y-%m-%d %H:%M"),
                    )
                )
        if view.overridden_by:
            print_line(
                _(N_("(overridden by the environment: {names})")).format(
                    names=", ".join(view.overridden_by)
                )
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
        shop = business()
        if remove:
            app().untrust_certificate(shop)
            print_line(_(N_("No certificate is pinned any more.")))
            return
        info = app().fetch_certificate(shop)
        if fingerprint is not None:
            print_certificate(info)
        elif not confirmed(info, yes=yes):
            raise typer.Exit(1)
        app().trust_certificate(shop, info, expected=fingerprint)
        print_line(_(N_("Trusted the certificate {sha256}.")).format(sha256=info.sha256))


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
        gettext = translator(language()).gettext
        proposal = app().detect(address, confirm_lookalike=confirm_lookalike)
        question = proposal.confirm_question(gettext)
        if question is not None and not as_json and sys.stdin.isatty():
            # A look-alike of a provider's domain: its servers would get the password.
            print_line(proposal.explain(gettext))
            if not typer.confirm(question, default=False):
                raise typer.Exit(1)
            proposal = app().detect(address, confirm_lookalike=True)
        if as_json:
            out.print_json(json.dumps(proposal.to_dict(gettext)))
            if proposal.needs_confirmation or not proposal.values:
                raise typer.Exit(1)
            return
        print_line(proposal.explain(gettext))
        if proposal.needs_confirmation:
            err.print(
                _(N_("hint: if the address is right, run this again with --confirm-lookalike.")),
                markup=False,
            )
            raise typer.Exit(1)
        if not proposal.values:
            raise typer.Exit(1)
        for name, value in proposal.values.items():
            print_line(f"  {name:14} {value}")
        for line in proposal.advice_lines(gettext):
            print_line(line)
        if proposal.accepts_password:
            flags = " ".join(
                f"{_FLAGS[name]} {shlex.quote(str(value))}"
                for name, value in proposal.values.items()
                if name in _FLAGS
            )
            if "username" not in proposal.values:
                flags += " --username USERNAME"
            print_line(f"barua settings set {flags} --password-stdin")


@settings_app.command("oauth")
def settings_oauth(
    # Described in the docstring: typer would list the argument with its Python type.
    provider: Annotated[
        OAuthProvider,
        typer.Argument(metavar="PROVIDER", case_sensitive=False, show_default=False),
    ],
    client_id: Annotated[
        str | None,
        typer.Option(
            "--client-id",
            metavar="ID",
            help="The app your business registered with the provider (its client ID).",
        ),
    ] = None,
    client_secret_stdin: Annotated[
        bool,
        typer.Option(
            "--client-secret-stdin",
            help="Read the app's client secret from standard input (Google's desktop apps "
            "have one).",
        ),
    ] = False,
    tenant: Annotated[
        str | None,
        typer.Option(
            "--tenant",
            metavar="ID",
            help="Microsoft: your organisation's tenant (a domain or ID); default 'organizations'.",
        ),
    ] = None,
    issuer: Annotated[
        str | None,
        typer.Option(
            "--issuer",
            metavar="URL",
            help="custom: the issuer whose discovery document names the endpoints.",
        ),
    ] = None,
    username: Annotated[
        str | None,
        typer.Option(
            "--username",
            metavar="ADDRESS",
            help="The mailbox, when the provider does not say who signed in.",
        ),
    ] = None,
    scope: Annotated[
        str | None,
        typer.Option("--scope", metavar="SCOPES", help="The scopes to ask for, if not the usual."),
    ] = None,
    token_url: Annotated[
        str | None,
        typer.Option("--token-url", metavar="URL", help="The provider's token endpoint."),
    ] = None,
    device_url: Annotated[
        str | None,
        typer.Option("--device-url", metavar="URL", help="Its device authorization endpoint."),
    ] = None,
    authorization_url: Annotated[
        str | None,
        typer.Option("--authorization-url", metavar="URL", help="Its authorization endpoint."),
    ] = None,
    no_browser: Annotated[
        bool,
        typer.Option("--no-browser", help="Print the sign-in address instead of opening it."),
    ] = False,
    host: HostOpt = None,
    port: PortOpt = None,
    security: SecurityOpt = None,
) -> None:
    """Sign in with PROVIDER (microsoft, google or custom) instead of a password: barua then
    sends with a token it renews by itself, and keeps no password.

    Microsoft shows a code to type at https://microsoft.com/devicelogin on any device;
    Google and custom providers open their page in a browser, which comes back to barua. A
    custom provider needs --issuer and the SMTP server (--host, --port)."""
    with user_errors():
        changes: dict[str, object] = {}
        given = {
            "oauth_client_id": (client_id, "--client-id"),
            "oauth_tenant": (tenant, "--tenant"),
            "oauth_issuer": (issuer, "--issuer"),
            "username": (username, "--username"),
            "oauth_scope": (scope, "--scope"),
            "oauth_token_url": (token_url, "--token-url"),
            "oauth_device_url": (device_url, "--device-url"),
            "oauth_authorization_url": (authorization_url, "--authorization-url"),
        }
        for name, (value, option) in given.items():
            if value is not None:
                changes[name] = utf8_text(value, option=option)
        # The SMTP server, for a custom provider (Microsoft's and Google's are known).
        changes.update(
            {
                name: value
                for name, value in (("host", host), ("port", port), ("security", security))
                if value is not None
            }
        )
        if client_secret_stdin:
            changes["oauth_client_secret"] = read_secret(
                "--client-secret-stdin",
                prompt=_(N_("Client secret: ")),
                empty=NO_CLIENT_SECRET_READ,
                clear_with=None,
            )

        def show_code(device: DeviceCode) -> None:
            print_line(
                _(N_("To sign in, open {address} and enter the code {code}")).format(
                    address=device.verification_uri, code=device.user_code
                )
            )
            print_line(_(N_("Waiting for the sign-in…")))

        def open_browser(url: str) -> None:
            print_line(_(N_("Sign in at this address (opened in your browser if there is one):")))
            print_line(url)
            if not no_browser:
                import webbrowser

                webbrowser.open(url)

        signed = app().sign_in(
            business(),
            provider,
            changes=changes,
            on_code=show_code,
            on_browser=open_browser,
            lang=language(),
        )
        settings = signed.settings
        print_line(
            _(
                N_(
                    "Signed in as {account}. Mail now goes through {host} port {port} with the "
                    "sign-in; no password is kept."
                )
            ).format(account=signed.account, host=settings.host, port=settings.port)
        )


@settings_app.command("export")
def settings_export(
    file: Annotated[Path, typer.Argument(metavar="FILE", hidden=True, show_default=False)],
) -> None:
    """Write the saved settings to FILE (JSON; passwords and keys stay encrypted, so the
    file is useless without the secret key: keep them apart)."""
    with user_errors():
        shop = business()
        document = app().export_settings(shop)
        try:
            file.write_text(document, encoding="utf-8")
        except OSError as exc:
            raise bad_input(CANNOT_WRITE(path=file, reason=system_reason(exc))) from None
        print_line(
            _(N_('Wrote the settings of "{business}" to {path}.')).format(
                business=shop.name, path=file
            )
        )


@settings_app.command("import")
def settings_import(
    file: Annotated[Path, typer.Argument(metavar="FILE", hidden=True, show_default=False)],
) -> None:
    """Replace the saved settings with those of FILE (written by `barua settings export`, or
    an earlier barua's settings.json); the key they were encrypted with must be at hand."""
    with user_errors():
        shop = business()
        # A regular file only: a device or a named pipe is refused unread.
        data = app().read_file(file, field="file", cannot_read=CANNOT_READ)
        app().import_settings(shop, data, source=str(file))
        print_line(saved_line(shop.name))
