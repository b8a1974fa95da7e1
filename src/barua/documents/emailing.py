"""Emailing documents: the PDF, the email written from the templates, queued in the outbox.

>>> with Outbox.open() as outbox:                                           # doctest: +SKIP
...     outcome = email_document(invoice, outbox, settings)
>>> outcome.status, outcome.entry.id                                        # doctest: +SKIP
(<EmailStatus.QUEUED: 'queued'>, 17)

The email goes to the party's addresses (``party.emails``) unless ``to`` replaces them. Its
outbox entry is keyed by :func:`~barua.documents.keys.idempotency_key` (type, number and a
hash of the content), so emailing the same version of a document again finds the entry it
already has and queues nothing (:attr:`EmailStatus.ALREADY_QUEUED`); ``again=True`` queues a
new email anyway. Change a line and the document is a new version, emailed anew.

Many documents (:func:`email_documents`): reading, rendering and building the message cost
~12 ms of CPU a one-page invoice (7 ms the PDF, 3 ms the message), so they run in rendering
processes, one per core, while this process writes each finished message to the outbox, in
the order of the files. At most :data:`IN_FLIGHT_PER_PROCESS` batches of :data:`BATCH`
documents per process are under way at any moment, so memory stays the same for ten documents
or a hundred thousand. An interrupted run loses nothing: what was queued stays queued, and
running it again queues only the rest (re-rendering the documents to find their entries).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from itertools import islice
from pathlib import Path

from barua.addresses import parse_mailbox
from barua.documents import messages
from barua.documents.context import document_label
from barua.documents.errors import DocumentError
from barua.documents.keys import idempotency_key
from barua.documents.loading import load_document
from barua.documents.models import AnyDocument, Report
from barua.documents.paper import Paper
from barua.documents.processes import ProcessDied, in_order
from barua.documents.templates import compose_document_email
from barua.errors import BaruaError
from barua.message import OutgoingMessage, build_message
from barua.outbox import Outbox, OutboxEntry
from barua.settings import SECRET_FIELDS, Settings
from barua.store.businesses import DEFAULT_BUSINESS
from barua.texts import Text

BATCH = 8
"""Documents a rendering process takes at a time: handing them over one by one cost this
process ~2 ms a document in pickling and thread switches, as much as the outbox itself."""

IN_FLIGHT_PER_PROCESS = 2
"""Batches handed to each rendering process ahead of time: enough to keep it busy while this
process writes to the outbox, few enough that memory does not depend on the number of files."""

MIN_DOCUMENTS_FOR_PROCESSES = 200
"""Below this many documents they are rendered in this process: starting the rendering
processes costs ~1.5 s (a Python each, the fonts), which ~12 ms a document saved on two cores
pays back only from ~250 documents on."""


class EmailStatus(StrEnum):
    """What emailing one document did."""

    QUEUED = "queued"
    """A new email is in the outbox, for the worker to deliver."""
    ALREADY_QUEUED = "already_queued"
    """This version of the document was queued before (it may be sent by now): nothing new."""
    INVALID = "invalid"
    """The document could not be read, rendered or addressed: nothing was queued."""


@dataclass(frozen=True, slots=True)
class EmailOutcome:
    """The outcome of emailing one document: its outbox entry, or why there is none."""

    status: EmailStatus
    source: str | None = None
    """The file the document came from, when it came from one."""
    label: str | None = None
    """``Invoice INV-0042``; None when the document could not be read."""
    entry: OutboxEntry | None = None
    """The outbox entry: new (queued) or the one already there (already queued)."""
    error: DocumentError | None = None
    """Every problem of an invalid document, each named by its path in the document."""


# Building the email (pure) --------------------------------------------------------------------


def build_document_email(
    document: AnyDocument,
    settings: Settings,
    *,
    to: Sequence[str] | None = None,
    cc: Sequence[str] = (),
    subject: str | None = None,
    message: str | None = None,
    paper: Paper | str | None = None,
    created: datetime | None = None,
    source: str | None = None,
    edited: Mapping[str, str] | None = None,
    default_logo: str | None = None,
) -> OutgoingMessage:
    """The email that carries ``document`` as PDF, built once, as the outbox stores it.

    ``to`` replaces the party's addresses; ``subject`` and ``message`` replace the templates'
    texts (they are templates themselves). ``created`` is the PDF's creation date (now when
    absent); ``edited`` holds the business's own templates (by file name) and
    ``default_logo`` its logo (a ``data:`` URI) for a document that has none. Raises
    :class:`~barua.documents.errors.DocumentError` naming ``source`` when
    the document cannot be rendered or has no one to go to.
    """
    document = with_default_logo(document, default_logo)
    recipients = list(to) if to else _party_emails(document)
    if not recipients:
        if isinstance(document, Report):
            # A report is often for the owner or the accountant, not for a customer.
            problem = (
                {"party": messages.REPORT_NO_PARTY()}
                if document.party is None
                else {"party.emails": messages.REPORT_NO_RECIPIENT()}
            )
            raise DocumentError(problem, hint=messages.REPORT_NO_RECIPIENT_HINT(), source=source)
        raise DocumentError(
            {"party.emails": messages.NO_RECIPIENT()},
            hint=messages.NO_RECIPIENT_HINT(),
            source=source,
        )
    try:
        subject_text, body, attachment = compose_document_email(
            document,
            subject=subject,
            message=message,
            paper=paper,
            created=created,
            edited=edited,
        )
    except DocumentError as exc:
        raise DocumentError(exc.problems, hint=exc.hint_text, source=source) from None
    return build_message(
        settings, to=recipients, cc=cc, subject=subject_text, text=body, attachments=[attachment]
    )


def with_default_logo(document: AnyDocument, logo: str | None) -> AnyDocument:
    """``document`` with the business's own ``logo`` (a ``data:`` URI) when it has none."""
    if logo is None or document.business.logo is not None:
        return document
    business = document.business.model_copy(update={"logo": logo})
    return document.model_copy(update={"business": business})


def _party_emails(document: AnyDocument) -> list[str]:
    return list(document.party.emails) if document.party is not None else []


def again_suffix(moment: datetime | None = None) -> str:
    """What ``again`` adds to a document's idempotency key: a new key, so a new email.

    One suffix serves a whole run of :func:`email_documents`, so a file given twice in one
    run is still emailed once.
    """
    stamp = (moment or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    return f":again:{stamp}"


def check_recipients(to: Sequence[str] | None, cc: Sequence[str]) -> None:
    """Raise :class:`~barua.errors.MessageError` for the first address that is not one."""
    for field, values in (("to", to or ()), ("cc", cc)):
        for value in values:
            parse_mailbox(value, field=field)


# One document ---------------------------------------------------------------------------------


def email_document(
    document: AnyDocument,
    outbox: Outbox,
    settings: Settings,
    *,
    to: Sequence[str] | None = None,
    cc: Sequence[str] = (),
    subject: str | None = None,
    message: str | None = None,
    again: bool = False,
    paper: Paper | str | None = None,
    created: datetime | None = None,
    source: str | None = None,
    edited: Mapping[str, str] | None = None,
    default_logo: str | None = None,
    business: str = DEFAULT_BUSINESS,
) -> EmailOutcome:
    """Render ``document``, write its email and queue it; the outcome holds the outbox entry.

    Raises :class:`~barua.documents.errors.DocumentError` when the document cannot be
    emailed, :class:`~barua.errors.MessageError` for a wrong address in ``to`` or ``cc``.
    """
    check_recipients(to, cc)
    document = with_default_logo(document, default_logo)
    built = build_document_email(
        document,
        settings,
        to=to,
        cc=cc,
        subject=subject,
        message=message,
        paper=paper,
        created=created,
        source=source,
        edited=edited,
    )
    key = idempotency_key(document) + (again_suffix() if again else "")
    prepared = _Prepared(source, document_label(document), key, built)
    return _enqueue(outbox, settings, prepared, key_suffix="", business=business)


# Many documents -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Options:
    """What every document of a run shares; sent once to each rendering process."""

    settings: Settings
    to: tuple[str, ...] | None
    cc: tuple[str, ...]
    subject: str | None
    message: str | None
    paper: Paper | None
    created: datetime | None
    edited: Mapping[str, str] | None
    default_logo: str | None
    logo_folders: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A document made ready in a rendering process: its built email, or its problems.

    Plain values only: they cross a process boundary, where exceptions lose their fields.
    """

    source: str | None
    label: str | None
    key: str | None
    message: OutgoingMessage | None = None
    problems: dict[str, Text] | None = None
    hint: Text | None = None
    error_source: str | None = None


def _prepare(source: str, options: _Options) -> _Prepared:
    label = None
    try:
        document = load_document(source, logo_folders=options.logo_folders)
        label = document_label(document)
        message = build_document_email(
            document,
            options.settings,
            to=options.to,
            cc=options.cc,
            subject=options.subject,
            message=options.message,
            paper=options.paper,
            created=options.created,
            source=source,
            edited=options.edited,
        )
        document = with_default_logo(document, options.default_logo)
        return _Prepared(source, label, idempotency_key(document), message)
    except DocumentError as exc:
        return _Prepared(
            source,
            label,
            None,
            problems=exc.problems,
            hint=exc.hint_text,
            error_source=exc.source,
        )
    except BaruaError as exc:  # the message cannot be built, e.g. a header with a line break
        return _Prepared(
            source, label, None, problems={"": exc.text}, hint=exc.hint_text, error_source=source
        )
    except Exception as exc:  # a fault of barua's own must not end the run
        # One document barua cannot handle stops here, named with what went wrong; the
        # others are queued as the help promises.
        problem = messages.UNEXPECTED(error=type(exc).__name__, reason=str(exc)[:300])
        return _Prepared(
            source,
            label,
            None,
            problems={"": problem},
            hint=messages.UNEXPECTED_HINT(),
            error_source=source,
        )


_in_worker: dict[str, _Options] = {}
"""The options of the run, in a rendering process (set by the pool's initializer)."""


def _start_worker(options: _Options) -> None:
    _in_worker["options"] = options
    # Ctrl-C reaches the whole process group; the parent alone decides how the run ends.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _prepare_in_worker(sources: list[str]) -> list[_Prepared]:
    options = _in_worker["options"]
    return [_prepare(source, options) for source in sources]


def _enqueue(
    outbox: Outbox, settings: Settings, prepared: _Prepared, *, key_suffix: str, business: str
) -> EmailOutcome:
    if prepared.message is None or prepared.key is None:
        error = DocumentError(
            prepared.problems or {}, hint=prepared.hint, source=prepared.error_source
        )
        return EmailOutcome(EmailStatus.INVALID, prepared.source, prepared.label, error=error)
    entry = outbox.enqueue(
        prepared.message,
        settings=settings,
        idempotency_key=prepared.key + key_suffix,
        business=business,
    )
    # The outbox hands back the entry already holding the key; it carries another Message-ID.
    status = (
        EmailStatus.QUEUED
        if entry.message_id == prepared.message.message_id
        else EmailStatus.ALREADY_QUEUED
    )
    return EmailOutcome(status, prepared.source, prepared.label, entry=entry)


def default_processes() -> int:
    """One rendering process per CPU core this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def email_documents(
    sources: Iterable[str | Path],
    outbox: Outbox,
    settings: Settings,
    *,
    to: Sequence[str] | None = None,
    cc: Sequence[str] = (),
    subject: str | None = None,
    message: str | None = None,
    again: bool = False,
    paper: Paper | str | None = None,
    created: datetime | None = None,
    processes: int | None = None,
    edited: Mapping[str, str] | None = None,
    default_logo: str | None = None,
    business: str = DEFAULT_BUSINESS,
    logo_folders: Sequence[str | Path] = (),
) -> Generator[EmailOutcome, None, None]:
    """Email every document file of ``sources``; one outcome per file, in the same order.

    ``processes`` render at once (default: one per core, none for a handful of files, which
    are rendered here). ``sources`` is read as the run goes, so it can be a generator over a
    folder of any size. An invalid document is reported in its outcome and the run goes on;
    a wrong ``to`` or ``cc`` address raises :class:`~barua.errors.MessageError` at once.
    A logo file must lie in its document's folder or in one of ``logo_folders``.
    """
    check_recipients(to, cc)
    options = _Options(
        # The rendering processes need the sender's name and address, never the secrets.
        settings=settings.model_copy(update=dict.fromkeys(SECRET_FIELDS)),
        to=tuple(to) if to else None,
        cc=tuple(cc),
        subject=subject,
        message=message,
        paper=Paper(paper) if paper is not None else None,
        created=created,
        edited=dict(edited) if edited else None,
        default_logo=default_logo,
        logo_folders=tuple(str(folder) for folder in logo_folders),
    )
    suffix = again_suffix() if again else ""
    files: Iterator[str] = (str(source) for source in sources)
    workers = processes or default_processes()
    if processes is None:
        head = list(islice(files, MIN_DOCUMENTS_FOR_PROCESSES))
        if len(head) < MIN_DOCUMENTS_FOR_PROCESSES:
            workers = 1
        files = _chain(head, files)
    if workers <= 1:
        for file in files:
            yield _enqueue(
                outbox, settings, _prepare(file, options), key_suffix=suffix, business=business
            )
        return
    yield from _in_processes(
        files,
        outbox,
        settings,
        options=options,
        workers=workers,
        suffix=suffix,
        business=business,
    )


def _chain(head: Sequence[str], tail: Iterator[str]) -> Iterator[str]:
    yield from head
    yield from tail


def _in_processes(
    files: Iterator[str],
    outbox: Outbox,
    settings: Settings,
    *,
    options: _Options,
    workers: int,
    suffix: str,
    business: str,
) -> Iterator[EmailOutcome]:
    batches = iter(lambda: list(islice(files, BATCH)), [])
    prepared_batches = in_order(
        batches,
        _prepare_in_worker,
        processes=workers,
        in_flight=IN_FLIGHT_PER_PROCESS,
        initializer=_start_worker,
        initargs=(options,),
    )
    try:
        for batch in prepared_batches:
            for prepared in batch:
                yield _enqueue(outbox, settings, prepared, key_suffix=suffix, business=business)
    except ProcessDied as exc:
        raise BaruaError(messages.RENDERING_DIED(), hint=messages.RENDERING_DIED_HINT()) from exc
    finally:
        prepared_batches.close()
