"""``barua document``: render business documents as PDF and email them."""

from __future__ import annotations

import typer

document_app = typer.Typer(
    help="Render invoices, quotes, statements and reports as PDF, and email them.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
