"""``barua business`` and ``barua template``: the businesses barua sends for, their logos and
their own email templates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from barua.cli.common import _, app, bad_input, business, print_line, printable, user_errors
from barua.i18n import N_
from barua.texts import Message

CANNOT_READ = Message("cli.cannot_read_file", "cannot read {path}: {reason}")
LOGO_OR_REMOVE = Message("cli.logo_or_remove", "give the logo's FILE, or --remove")

business_app = typer.Typer(
    help="The businesses barua sends for, each with its own settings, templates and logo.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
template_app = typer.Typer(
    help="The subject and text of the email that carries each kind of document.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

NameArg = Annotated[str, typer.Argument(metavar="NAME", hidden=True, show_default=False)]
TypeArg = Annotated[str, typer.Argument(metavar="TYPE", hidden=True, show_default=False)]
LangArg = Annotated[str, typer.Argument(metavar="LANGUAGE", hidden=True, show_default=False)]


def _read(path: Path) -> bytes:
    """The bytes of a regular file no larger than an email may be: a device or a named pipe
    is refused unread rather than read for ever."""
    return app().read_file(path, field="file", cannot_read=CANNOT_READ)


@business_app.command("list")
def list_command() -> None:
    """List the businesses, oldest first; * marks those without email settings yet."""
    with user_errors():
        for shop in app().businesses():
            mark = "" if shop.has_settings else " *"
            print_line(f"{printable(shop.name)}{mark}")


@business_app.command("add")
def add_command(name: NameArg) -> None:
    """Add a business called NAME; then give it settings with
    `barua --business NAME settings set ...`."""
    with user_errors():
        shop = app().add_business(name)
        print_line(_(N_('Added the business "{business}".')).format(business=shop.name))


@business_app.command("rename")
def rename_command(name: NameArg, new_name: NameArg) -> None:
    """Rename the business NAME to NEW_NAME; its settings and mail stay."""
    with user_errors():
        shop = app().rename_business(app().business(name), new_name)
        print_line(_(N_('Renamed the business to "{business}".')).format(business=shop.name))


@business_app.command("remove")
def remove_command(name: NameArg) -> None:
    """Remove the business NAME with its settings, templates and logo; refused while mail of
    it waits in the outbox."""
    with user_errors():
        shop = app().business(name)
        app().remove_business(shop)
        print_line(_(N_('Removed the business "{business}".')).format(business=shop.name))


@business_app.command("logo")
def logo_command(
    file: Annotated[
        Path | None, typer.Argument(metavar="FILE", hidden=True, show_default=False)
    ] = None,
    remove: Annotated[bool, typer.Option("--remove", help="Remove the logo.")] = False,
) -> None:
    """Keep FILE (PNG or JPEG) as the business's logo, printed on documents that bring none of
    their own."""
    with user_errors():
        shop = business()
        if remove:
            app().remove_logo(shop)
            print_line(_(N_('"{business}" has no logo now.')).format(business=shop.name))
            return
        if file is None:
            raise bad_input(LOGO_OR_REMOVE())
        app().set_logo(shop, _read(file))
        print_line(_(N_('Saved the logo of "{business}".')).format(business=shop.name))


@template_app.command("show")
def show_command(document_type: TypeArg, language: LangArg) -> None:
    """Print the subject and text templates in effect for TYPE (sales_invoice, quote…) in
    LANGUAGE (en, sw)."""
    from barua.app.present import DocumentError

    with user_errors():
        try:
            template = app().template(business(), document_type, language)
        except DocumentError as exc:
            raise bad_input(exc.text, hint=exc.hint_text) from None
        print_line(_(N_("subject:")))
        print_line(template.subject.rstrip("\n"))
        print_line(_(N_("text:")))
        print_line(template.body.rstrip("\n"))


@template_app.command("set")
def set_command(
    document_type: TypeArg,
    language: LangArg,
    subject: Annotated[
        str | None, typer.Option("--subject", metavar="TEXT", help="The subject template.")
    ] = None,
    body_file: Annotated[
        Path | None,
        typer.Option("--body-file", metavar="FILE", help="A file holding the text template."),
    ] = None,
) -> None:
    """Keep the business's own subject and/or text for TYPE in LANGUAGE (Jinja2: {{ field }}
    prints a field); checked first, and refused whole when a template does not work."""
    from barua.app.present import DocumentError

    with user_errors():
        body = _read(body_file).decode("utf-8", "replace") if body_file is not None else None
        try:
            app().save_template(business(), document_type, language, subject=subject, body=body)
        except DocumentError as exc:
            raise bad_input(exc.text, hint=exc.hint_text) from None
        print_line(_(N_("Saved the template.")))


@template_app.command("reset")
def reset_command(document_type: TypeArg, language: LangArg) -> None:
    """Go back to barua's own templates for TYPE in LANGUAGE."""
    from barua.app.present import DocumentError

    with user_errors():
        try:
            app().reset_template(business(), document_type, language)
        except DocumentError as exc:
            raise bad_input(exc.text, hint=exc.hint_text) from None
        print_line(_(N_("barua's own template is used again.")))
