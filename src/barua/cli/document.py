"""``barua document``: render business documents as PDF and email them.

``schema`` prints the JSON Schema documents follow, ``check`` validates files without
rendering, ``render`` writes the PDF. A document with mistakes is reported one problem per
line (``error: invoice.json: lines[3].quantity: must be a number``) with exit code 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from barua.cli.common import EXIT_BAD_INPUT, bad_input, err, out, user_errors
from barua.documents import (
    DocumentError,
    Paper,
    document_label,
    document_schema,
    load_document,
    render_pdf,
    template_fields,
)

document_app = typer.Typer(
    help="Render invoices, quotes, statements and reports as PDF, and email them.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _report(error: DocumentError) -> NoReturn:
    """Every problem on its own line, then the hint; exit 2."""
    for line in error.lines():
        err.print(f"error: {line}", markup=False)
    if error.hint:
        err.print(f"hint: {error.hint}", markup=False)
    raise typer.Exit(EXIT_BAD_INPUT)


@document_app.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of documents (for editors and other programs)."""
    sys.stdout.write(json.dumps(document_schema(), indent=2, ensure_ascii=False) + "\n")


@document_app.command("check")
def check_command(
    files: Annotated[list[Path], typer.Argument(help="Document JSON files.", show_default=False)],
) -> None:
    """Validate documents without rendering them; exit 2 if any has a problem."""
    failed: DocumentError | None = None
    for file in files:
        try:
            document = load_document(file)
        except DocumentError as exc:
            for line in exc.lines():
                err.print(f"error: {line}", markup=False)
            failed = exc
            continue
        summary = document_label(document)
        total = template_fields(document)["total"]
        if total:
            summary += f", total {total}"
        out.print(f"{file}: ok ({summary})", markup=False)
    if failed is not None:
        if failed.hint:
            err.print(f"hint: {failed.hint}", markup=False)
        raise typer.Exit(EXIT_BAD_INPUT)


@document_app.command("render")
def render_command(
    file: Annotated[Path, typer.Argument(help="A document JSON file.", show_default=False)],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="The PDF to write; FILE with .pdf by default."),
    ] = None,
    paper: Annotated[
        Paper, typer.Option("--paper", help="a4 or letter.", case_sensitive=False)
    ] = Paper.A4,
) -> None:
    """Render a document as PDF."""
    with user_errors():
        try:
            document = load_document(file)
            pdf = render_pdf(document, paper=paper)
        except DocumentError as exc:
            _report(exc)
        target = output or file.with_suffix(".pdf")
        try:
            target.write_bytes(pdf)
        except OSError as exc:
            raise bad_input(f"cannot write {target}: {exc.strerror}") from None
        size = max(1, round(len(pdf) / 1024))
        out.print(f"Wrote {target} ({document_label(document)}, {size} KB)", markup=False)
