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

from barua.app.choices import Paper
from barua.cli.common import (
    EXIT_BAD_INPUT,
    _,
    app,
    bad_input,
    business,
    err,
    language,
    print_line,
    render,
    user_errors,
)
from barua.cli.send import report_delivery
from barua.errors import system_reason
from barua.i18n import N_
from barua.texts import Message

if TYPE_CHECKING:
    from barua.app import Business
    from barua.app.present import DocumentError, EmailOutcome

WAIT_ONE = Message("cli.wait_one", "--wait delivers one document; give a single file")
WAIT_ONE_HINT = Message(
    "cli.wait_one_hint", "Queue many without --wait: `barua worker` delivers them."
)
CANNOT_WRITE = Message("cli.cannot_write_file", "cannot write {path}: {reason}")

document_app = typer.Typer(
    help="Render invoices, quotes, statements and reports as PDF, and email them.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _print_problems(error: DocumentError) -> None:
    for line in error.lines(language()):
        err.print(_(N_("error: {message}")).format(message=line), markup=False)


def _print_hint(hint: str | None) -> None:
    if hint:
        err.print(_(N_("hint: {hint}")).format(hint=hint), markup=False)


def _report(error: DocumentError) -> NoReturn:
    """Every problem on its own line, then the hint; exit 2."""
    _print_problems(error)
    _print_hint(error.render_hint(language()))
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
    sys.stdout.write(json.dumps(app().document_schema(), indent=2, ensure_ascii=False) + "\n")


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
    from barua.app.present import DocumentError

    failed: DocumentError | None = None
    with user_errors():
        paths = app().document_files(files)
    for file in paths:
        try:
            checked = app().check_document(file)
        except DocumentError as exc:
            _print_problems(exc)
            failed = exc
            continue
        summary = checked.label
        if checked.total:
            summary = _(N_("{label}, total {total}")).format(label=summary, total=checked.total)
        print_line(_(N_("{file}: ok ({summary})")).format(file=file, summary=summary))
    if failed is not None:
        _print_hint(failed.render_hint(language()))
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
    from barua.app.present import DocumentError

    with user_errors():
        try:
            rendered = app().render_document(file, output=output, paper=paper, business=business())
        except DocumentError as exc:
            _report(exc)
        except OSError as exc:
            target = output or file.with_suffix(".pdf")
            raise bad_input(CANNOT_WRITE(path=target, reason=system_reason(exc))) from None
        size = max(1, round(rendered.size / 1024))
        print_line(
            _(N_("Wrote {path} ({label}, {size} KB)")).format(
                path=rendered.path, label=rendered.label, size=size
            )
        )


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
    from barua.app.present import DocumentError

    with user_errors():
        single = len(files) == 1 and not files[0].is_dir()
        if wait and not single:
            raise bad_input(WAIT_ONE(), hint=WAIT_ONE_HINT())
        paths = app().document_files(files)
        shop = business()
        if not single:
            _email_many(
                shop,
                paths,
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
            document = app().load_document(paths[0])
            outcome = app().email_document(
                shop,
                document,
                to=to,
                cc=cc or [],
                subject=subject,
                message=message,
                again=again,
                paper=paper,
                source=str(paths[0]),
            )
        except DocumentError as exc:
            _report(exc)
        _print_queued(outcome)
        if not wait:
            return
        assert outcome.entry is not None
        sent = app().deliver_now(shop, outcome.entry)
        report_delivery(sent)


def _print_queued(outcome: EmailOutcome) -> None:
    from barua.app.present import STATUS_WORDS, EmailStatus, MessageStatus

    entry = outcome.entry
    assert entry is not None
    status = render(STATUS_WORDS[entry.status]())
    if outcome.status is EmailStatus.QUEUED:
        recipients = ", ".join(r.address for r in entry.recipients)
        print_line(
            _(N_("Queued {label} for {recipients} as outbox entry {id}.")).format(
                label=outcome.label, recipients=recipients, id=entry.id
            )
        )
        return
    print_line(
        _(
            N_(
                "{label} is already in the outbox as entry {id} ({status}); nothing new is "
                "queued (--again emails it again)."
            )
        ).format(label=outcome.label, id=entry.id, status=status)
    )
    if entry.status in {MessageStatus.FAILED, MessageStatus.DEFERRED}:
        print_line(
            _(N_("`barua outbox show {id}` tells why it is {status}.")).format(
                id=entry.id, status=status
            )
        )


def _email_many(
    shop: Business,
    paths: list[Path],
    *,
    to: list[str] | None,
    cc: list[str],
    subject: str | None,
    message: str | None,
    again: bool,
    paper: Paper | None,
    processes: int | None,
) -> None:
    """Email every file with a progress bar, each invalid one's problems with its hint under
    them, then a summary."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from barua.app.present import EmailStatus

    counts: Counter[EmailStatus] = Counter()
    invalid = 0
    progress = Progress(
        TextColumn(_(N_("Emailing"))),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=not err.is_terminal,
    )
    outcomes = app().email_documents(
        shop,
        paths,
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
                invalid += 1
                progress.stop()
                _print_problems(outcome.error)
                _print_hint(outcome.error.render_hint(language()))
                progress.start()
            progress.advance(task)
    print_line(
        _(
            N_(
                "{documents}: {queued} queued, {skipped} skipped (already queued or sent), "
                "{invalid} invalid."
            )
        ).format(
            documents=_count(len(paths)),
            queued=f"{counts[EmailStatus.QUEUED]:,}",
            skipped=f"{counts[EmailStatus.ALREADY_QUEUED]:,}",
            invalid=f"{counts[EmailStatus.INVALID]:,}",
        )
    )
    if invalid:
        raise typer.Exit(EXIT_BAD_INPUT)


def _count(n: int) -> str:
    if n == 1:
        return _(N_("1 document"))
    return _(N_("{count} documents")).format(count=f"{n:,}")
