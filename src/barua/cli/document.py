"""``barua document``: render business documents as PDF and email them.

``schema`` prints the JSON Schema documents follow, ``check`` validates files without
rendering, ``render`` writes the PDF, ``email`` queues the email that carries it (one document,
or thousands with a progress bar). A document with mistakes is reported one problem per line
(``error: invoice.json: lines[3].quantity: must be a number``) with exit code 2.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from barua import documents  # its names load on first use: `barua --help` stays fast
from barua.cli.common import EXIT_BAD_INPUT, bad_input, err, out, settings_in_effect, user_errors
from barua.cli.send import report_delivery
from barua.documents.paper import Paper
from barua.store import SettingsStore

if TYPE_CHECKING:
    from barua.documents import DocumentError, EmailOutcome
    from barua.outbox import Outbox
    from barua.settings import Settings

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


PaperOpt = Annotated[
    Paper | None,
    typer.Option(
        "--paper",
        help="a4 or letter; by default the paper of the country of the document's locale "
        "(letter for en_US, en_CA, es_MX…, a4 elsewhere).",
        case_sensitive=False,
        show_default=False,
    ),
]


@document_app.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of documents (for editors and other programs)."""
    sys.stdout.write(json.dumps(documents.document_schema(), indent=2, ensure_ascii=False) + "\n")


@document_app.command("check")
def check_command(
    files: Annotated[
        list[Path],
        # Described in the docstring: the help would show the argument's Python type.
        typer.Argument(metavar="FILE", hidden=True, show_default=False),
    ],
) -> None:
    """Validate documents (and that the PDF fonts can print them) without rendering them;
    exit 2 if any has a problem.

    Each FILE is a document JSON file, or a folder whose .json files are checked."""
    failed: DocumentError | None = None
    with user_errors():
        paths = _document_files(files)
    for file in paths:
        try:
            document = documents.load_document(file)
            documents.check_printable(document, source=str(file))
        except documents.DocumentError as exc:
            for line in exc.lines():
                err.print(f"error: {line}", markup=False)
            failed = exc
            continue
        summary = documents.document_label(document)
        total = documents.template_fields(document)["total"]
        if total:
            summary += f", total {total}"
        out.print(f"{file}: ok ({summary})", markup=False)
    if failed is not None:
        if failed.hint:
            err.print(f"hint: {failed.hint}", markup=False)
        raise typer.Exit(EXIT_BAD_INPUT)


@document_app.command("render")
def render_command(
    file: Annotated[Path, typer.Argument(metavar="FILE", hidden=True, show_default=False)],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", metavar="PDF", help="The PDF to write; FILE with .pdf by default."
        ),
    ] = None,
    paper: PaperOpt = None,
) -> None:
    """Render a document (FILE, its JSON file) as PDF."""
    with user_errors():
        try:
            document = documents.load_document(file)
            pdf = documents.render_pdf(document, paper=paper)
        except documents.DocumentError as exc:
            _report(exc)
        target = output or file.with_suffix(".pdf")
        try:
            target.write_bytes(pdf)
        except OSError as exc:
            raise bad_input(f"cannot write {target}: {exc.strerror}") from None
        size = max(1, round(len(pdf) / 1024))
        out.print(f"Wrote {target} ({documents.document_label(document)}, {size} KB)", markup=False)


# barua document email ------------------------------------------------------------------------

ToOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--to",
        metavar="ADDRESS",
        help="Send to this address instead of the party's; repeatable.",
    ),
]
CcOpt = Annotated[
    list[str] | None, typer.Option("--cc", metavar="ADDRESS", help="Copy to; repeatable.")
]
SubjectOpt = Annotated[
    str | None,
    typer.Option(
        "--subject",
        metavar="TEXT",
        help="Subject instead of the template's; may use its fields: {{ document_number }}.",
    ),
]
MessageOpt = Annotated[
    str | None,
    typer.Option(
        "--message",
        metavar="TEXT",
        help="Message text instead of the template's; may use its fields.",
    ),
]
AgainOpt = Annotated[
    bool,
    typer.Option(
        "--again",
        help="Email it even if this version of the document was emailed before (say, to "
        "another address with --to).",
    ),
]
WaitOpt = Annotated[
    bool,
    typer.Option(
        "--wait",
        help="Deliver it now and report what the server said, like `barua send` (one document).",
    ),
]
ProcessesOpt = Annotated[
    int | None,
    typer.Option(
        "--processes",
        metavar="N",
        min=1,
        help="Documents rendered at once (default: one per core from 200 documents on).",
    ),
]


def _document_files(arguments: list[Path]) -> list[Path]:
    """The files to email: each argument, or the .json files of a folder, sorted by name."""
    files: list[Path] = []
    for argument in arguments:
        if not argument.is_dir():
            files.append(argument)
            continue
        found = sorted(
            path for path in argument.iterdir() if path.suffix == ".json" and path.is_file()
        )
        if not found:
            raise bad_input(f"the folder {argument} holds no .json documents")
        files.extend(found)
    return files


@document_app.command("email")
def email_command(
    files: Annotated[
        list[Path],
        typer.Argument(metavar="FILE", hidden=True, show_default=False),
    ],
    to: ToOpt = None,
    cc: CcOpt = None,
    subject: SubjectOpt = None,
    message: MessageOpt = None,
    again: AgainOpt = False,
    wait: WaitOpt = False,
    paper: PaperOpt = None,
    processes: ProcessesOpt = None,
) -> None:
    """Email documents as PDF: render each, write its email from the template, queue it.

    Each FILE is a document JSON file, or a folder whose .json files are emailed. Each
    document goes to the addresses in its party.emails, unless --to is given. The email
    waits in the outbox, where `barua worker` delivers it, and the command prints its outbox
    id; with --wait (one document) it is delivered now and the server's answer is printed, as
    `barua send` does. A version of a document is emailed once: emailing it again prints the
    outbox entry it already has, unless --again is given. With several files or a folder, a
    progress bar runs (on a terminal) and a summary ends the output.

    Exit codes: 0 queued, or queued before; 2 a document or an option is wrong (the valid
    documents are queued all the same); 1 the delivery failed (--wait).
    """
    with user_errors():
        single = len(files) == 1 and not files[0].is_dir()
        if wait and not single:
            raise bad_input(
                "--wait delivers one document; give a single file",
                hint="Queue many without --wait: `barua worker` delivers them.",
            )
        paths = _document_files(files)
        settings = settings_in_effect(SettingsStore())
        from barua.outbox import Outbox, Worker

        with Outbox.open() as outbox:
            if not single:
                _email_many(
                    paths,
                    outbox,
                    settings,
                    to=to,
                    cc=cc or [],
                    subject=subject,
                    message=message,
                    again=again,
                    paper=paper,
                    processes=processes,
                )
                return
            try:
                document = documents.load_document(paths[0])
                outcome = documents.email_document(
                    document,
                    outbox,
                    settings,
                    to=to,
                    cc=cc or [],
                    subject=subject,
                    message=message,
                    again=again,
                    paper=paper,
                    source=str(paths[0]),
                )
            except documents.DocumentError as exc:
                _report(exc)
            _print_queued(outcome)
            if not wait:
                return
            entry = outcome.entry
            assert entry is not None
            if entry.status.final:
                delivered, error = entry, None
            else:
                delivery = Worker(outbox, settings).deliver(entry.id)
                delivered, error = delivery.entry, delivery.error
        report_delivery(delivered, error, settings)


def _print_queued(outcome: EmailOutcome) -> None:
    from barua.outbox import MessageStatus

    entry = outcome.entry
    assert entry is not None
    if outcome.status is documents.EmailStatus.QUEUED:
        recipients = ", ".join(r.address for r in entry.recipients)
        out.print(
            f"Queued {outcome.label} for {recipients} as outbox entry {entry.id}.", markup=False
        )
        return
    out.print(
        f"{outcome.label} is already in the outbox as entry {entry.id} ({entry.status}); "
        "nothing new is queued (--again emails it again).",
        markup=False,
    )
    if entry.status in {MessageStatus.FAILED, MessageStatus.DEFERRED}:
        out.print(f"`barua outbox show {entry.id}` tells why it is {entry.status}.", markup=False)


def _email_many(
    paths: list[Path],
    outbox: Outbox,
    settings: Settings,
    *,
    to: list[str] | None,
    cc: list[str],
    subject: str | None,
    message: str | None,
    again: bool,
    paper: Paper | None,
    processes: int | None,
) -> None:
    """Email every file with a progress bar, then the invalid ones' problems and a summary."""
    counts: Counter[documents.EmailStatus] = Counter()
    invalid: list[DocumentError] = []
    progress = Progress(
        TextColumn("Emailing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=not err.is_terminal,
    )
    outcomes = documents.email_documents(
        paths,
        outbox,
        settings,
        to=to,
        cc=cc,
        subject=subject,
        message=message,
        again=again,
        paper=paper,
        processes=processes,
    )
    with progress, closing(outcomes):
        task = progress.add_task("email", total=len(paths))
        for outcome in outcomes:
            counts[outcome.status] += 1
            if outcome.error is not None:
                invalid.append(outcome.error)
            progress.advance(task)
    hints: dict[str, None] = {}
    for error in invalid:
        for line in error.lines():
            err.print(f"error: {line}", markup=False)
        if error.hint:
            hints.setdefault(error.hint)
    for hint in hints:
        err.print(f"hint: {hint}", markup=False)
    out.print(
        f"{_count(len(paths), 'document')}: {counts[documents.EmailStatus.QUEUED]:,} queued, "
        f"{counts[documents.EmailStatus.ALREADY_QUEUED]:,} skipped (already queued or sent), "
        f"{counts[documents.EmailStatus.INVALID]:,} invalid.",
        markup=False,
    )
    if invalid:
        raise typer.Exit(EXIT_BAD_INPUT)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"
