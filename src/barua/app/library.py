"""Use cases of the documents a business keeps in barua (pushed by its program through the API
or uploaded in the browser): add, list with their email status, show as PDF, write the email
from the templates, and email it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from barua.app.documents import DocumentUseCases
from barua.app.errors import (
    NO_DOCUMENT,
    NOT_A_PDF,
    NOT_A_PDF_HINT,
    PDF_EMAIL_MESSAGE,
    PDF_EMAIL_SUBJECT,
    PDF_NEEDS,
    UPLOAD_TOO_LARGE,
    AppError,
)
from barua.app.sending import SendingUseCases
from barua.store.businesses import Business
from barua.store.library import DocumentLibrary, NewDocument, StoredDocument

if TYPE_CHECKING:
    from barua.documents import AnyDocument
    from barua.outbox.queue import OutboxEntry

__all__ = ["Draft", "LibraryItem", "LibraryUseCases", "Sent", "StoredDocument"]

PDF_KINDS = (
    "sales_invoice",
    "sales_quote",
    "sales_order",
    "credit_note",
    "debit_note",
    "delivery_note",
    "statement",
    "purchase_order",
    "purchase_invoice",
    "report",
)
"""What a PDF made elsewhere may be, as barua's own documents are typed."""


@dataclass(frozen=True, slots=True)
class LibraryItem:
    """A document as the list shows it: with its last email's outbox entry, if any."""

    document: StoredDocument
    entry: OutboxEntry | None


@dataclass(frozen=True, slots=True)
class Draft:
    """The email of a document as the compose view fills it in, before the person edits it."""

    document: StoredDocument
    to: tuple[str, ...]
    subject: str
    message: str
    attachment: str
    """The attachment's file name."""
    copy_to: str | None
    """The address the settings send a copy of every email to."""
    reply_to: str | None
    """Where replies go, when the settings say."""
    emailed: OutboxEntry | None
    """The email this version of the document already had, if any."""


@dataclass(frozen=True, slots=True)
class Sent:
    """What emailing a document did: a new outbox entry, or the one it already had."""

    entry: OutboxEntry
    new: bool


class LibraryUseCases(SendingUseCases, DocumentUseCases):
    """The documents a business keeps in barua."""

    @property
    def library(self) -> DocumentLibrary:
        if self._library is None:
            self._library = DocumentLibrary(self.engine)
        return self._library

    _library: DocumentLibrary | None = None

    # Adding ------------------------------------------------------------------------------------

    def add_document(
        self, business: Business, data: bytes, filename: str
    ) -> tuple[StoredDocument, bool]:
        """Keep a JSON document of barua's schema, checked as ``document check`` checks it;
        the same document twice is kept once. Raises
        :class:`~barua.documents.DocumentError` listing its problems."""
        self._check_size(data)
        document = self._parse(data, filename)
        from barua import documents

        documents.check_printable(document, source=filename)
        fields = documents.template_fields(document)
        party = getattr(document, "party", None)
        return self.library.add(
            business.key,
            NewDocument(
                source="json",
                kind=str(document.type),
                number=str(getattr(document, "number", "") or ""),
                party=str(party.name) if party is not None else "",
                email=", ".join(party.emails) if party is not None and party.emails else None,
                issue_date=document.issue_date.isoformat(),
                total=str(fields["total"]) if fields.get("total") else None,
                currency=document.currency,
                filename=_named(filename, ".json"),
                content=data,
            ),
        )

    def add_pdf(
        self,
        business: Business,
        data: bytes,
        filename: str,
        *,
        kind: str,
        number: str,
        party: str,
        email: str | None,
    ) -> tuple[StoredDocument, bool]:
        """Keep a PDF made by another program, with what the list and the email need."""
        from barua.addresses import several_addresses, validate_address

        self._check_size(data)
        if not data.startswith(b"%PDF-"):
            raise AppError(NOT_A_PDF(name=filename), hint=NOT_A_PDF_HINT())
        if kind not in PDF_KINDS or not number.strip() or not party.strip():
            raise AppError(PDF_NEEDS())
        given = (email or "").strip()
        parts = (several_addresses(given) or [given]) if given else []
        addresses = [validate_address(part, field="email") for part in parts]
        return self.library.add(
            business.key,
            NewDocument(
                source="pdf",
                kind=kind,
                number=" ".join(number.split()),
                party=" ".join(party.split()),
                email=", ".join(a.address for a in addresses) or None,
                issue_date=None,
                total=None,
                currency=None,
                filename=_named(filename, ".pdf"),
                content=data,
            ),
        )

    # Reading -----------------------------------------------------------------------------------

    def library_items(
        self, business: Business, *, limit: int = 50, before_id: int | None = None
    ) -> list[LibraryItem]:
        """The business's documents, newest first, each with its last email's entry."""
        items = []
        for document in self.library.documents(business.key, limit=limit, before_id=before_id):
            entry = self._entry(document.message_pk)
            items.append(LibraryItem(document, entry))
        return items

    def library_document(self, business: Business, document_id: int) -> StoredDocument:
        found = self.library.get(business.key, document_id)
        if found is None:
            raise AppError(NO_DOCUMENT(id=document_id))
        return found

    def last_email(self, document: StoredDocument) -> OutboxEntry | None:
        """The outbox entry of the document's last email, if it has one still there."""
        return self._entry(document.message_pk)

    def document_pdf(self, business: Business, document_id: int) -> tuple[str, bytes]:
        """The document as PDF: its file name and bytes."""
        stored = self.library_document(business, document_id)
        assert stored.content is not None
        if stored.source == "pdf":
            return stored.filename, stored.content
        from barua import documents

        document = documents.with_default_logo(
            self._parse(stored.content, stored.filename), self.logo_uri(business)
        )
        return documents.attachment_name(document), documents.render_pdf(document)

    def document_preview(self, business: Business, document_id: int, *, width: int = 800) -> bytes:
        """The first page of the document as a PNG ``width`` pixels wide: a preview any
        browser shows, phones included (many show no PDF inline)."""
        import io

        import pypdfium2

        _name, pdf = self.document_pdf(business, document_id)
        document = pypdfium2.PdfDocument(pdf)
        try:
            page = document[0]
            scale = width / page.get_width()
            image = page.render(scale=scale).to_pil()
            buffer = io.BytesIO()
            image.save(buffer, format="PNG", optimize=True)
            return buffer.getvalue()
        finally:
            document.close()

    # Emailing ----------------------------------------------------------------------------------

    def draft(self, business: Business, document_id: int, *, lang: str | None = None) -> Draft:
        """The email of the document, written from the business's templates (for a PDF made
        elsewhere, a short letter in ``lang``)."""
        stored = self.library_document(business, document_id)
        assert stored.content is not None
        settings = self.settings_in_effect(business)
        emailed = self._entry(stored.message_pk)
        recipients = tuple(a.strip() for a in (stored.email or "").split(",") if a.strip())
        from barua import documents

        if stored.source == "pdf":
            subject, message = _pdf_email(stored, settings.sender_name, lang)
            attachment = stored.filename
        else:
            document = self._parse(stored.content, stored.filename)
            subject, message = documents.render_email(document, edited=self.templates(business))
            attachment = documents.attachment_name(document)
        return Draft(
            stored,
            recipients,
            subject,
            message,
            attachment,
            settings.bcc_copy,
            settings.reply_to,
            emailed,
        )

    def email_stored(
        self,
        business: Business,
        document_id: int,
        *,
        to: Sequence[str],
        cc: Sequence[str] = (),
        subject: str,
        message: str,
        again: bool = False,
    ) -> Sent:
        """Queue the document's email as the person wrote it (their text is sent as it is).
        This version of the document is emailed once unless ``again``. Raises
        :class:`~barua.documents.DocumentError` or :class:`~barua.errors.MessageError`."""
        from barua import documents
        from barua.documents.emailing import again_suffix, check_recipients
        from barua.message import Attachment, build_message

        stored = self.library_document(business, document_id)
        assert stored.content is not None
        settings = self.settings_in_effect(business)
        check_recipients(to, cc)
        if stored.source == "pdf":
            attachment = Attachment(stored.filename, stored.content, "application/pdf")
        else:
            document = documents.with_default_logo(
                self._parse(stored.content, stored.filename), self.logo_uri(business)
            )
            pdf = documents.render_pdf(document)
            attachment = Attachment(documents.attachment_name(document), pdf, "application/pdf")
        built = build_message(
            settings, to=list(to), cc=list(cc), subject=subject, text=message,
            attachments=[attachment],
        )  # fmt: skip
        key = f"library:{business.key}:{stored.digest}"
        if again:
            key += again_suffix()
        entry = self.outbox.enqueue(
            built, settings=settings, idempotency_key=key, business=business.key
        )
        self.library.emailed(stored.id, entry.id)
        # The key already in the outbox returns the entry it has: another message's.
        return Sent(entry, new=entry.message_id == built.message_id)

    # Internals ---------------------------------------------------------------------------------

    def _parse(self, data: bytes, filename: str) -> AnyDocument:
        """The document in ``data``. Its logo may be an image in the document itself (a
        ``data:`` URI) or one of ``$BARUA_HOME/logos``; a file that came from the sender's
        computer is not here, and the business's own logo takes its place."""
        from barua import documents

        logos = self.logo_folders[0]
        try:
            decoded = json.loads(data, parse_float=Decimal, parse_int=Decimal)
        except (ValueError, RecursionError):
            decoded = None  # parse_json names the problem
        if isinstance(decoded, dict):
            business = decoded.get("business")
            logo = business.get("logo") if isinstance(business, dict) else None
            elsewhere = isinstance(logo, str) and not logo.startswith("data:")
            if elsewhere and isinstance(business, dict) and not _in_logos(logos, str(logo)):
                decoded = {**decoded, "business": {**business, "logo": None}}
            return documents.parse_document(
                decoded, base_dir=logos, source=filename, logo_folders=self.logo_folders
            )
        return documents.parse_json(
            data, base_dir=logos, source=filename, logo_folders=self.logo_folders
        )

    def _entry(self, message_pk: int | None) -> OutboxEntry | None:
        if message_pk is None:
            return None
        try:
            return self.outbox.get(message_pk)
        except Exception:
            return None

    def _check_size(self, data: bytes) -> None:
        limit = self.max_message_size
        if len(data) > limit:
            raise AppError(UPLOAD_TOO_LARGE(megabytes=limit // 1_000_000))


def _pdf_email(stored: StoredDocument, sender: str | None, lang: str | None) -> tuple[str, str]:
    """A short letter for a PDF made elsewhere, in ``lang``: barua cannot read its contents."""
    from barua.documents.labels import title
    from barua.documents.models import DocumentType, Language

    language = Language.SW if lang == "sw" else Language.EN
    name = title(DocumentType(stored.kind), language)
    values = {"title": name, "number": stored.number, "party": stored.party}
    subject = PDF_EMAIL_SUBJECT(**values).render(lang)
    message = PDF_EMAIL_MESSAGE(**values, sender=sender or "").render(lang)
    return subject, message.rstrip() + "\n"


def _in_logos(folder: Path, name: str) -> bool:
    """Whether ``name`` is an image of barua's logos folder (a plain name, nothing more)."""
    return "/" not in name and "\\" not in name and (folder / name).is_file()


def _named(filename: str, suffix: str) -> str:
    """A file name to show and attach: the uploaded one without its folders, or a name."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = "".join(c for c in name if c.isprintable())[:200]
    return name or f"document-{hashlib.sha256(filename.encode()).hexdigest()[:8]}{suffix}"
