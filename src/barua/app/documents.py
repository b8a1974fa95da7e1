"""Use cases of documents: check, render, email one or many, and a business's own email
templates and logo."""

from __future__ import annotations

import base64
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from barua.app.context import Context
from barua.app.errors import (
    LOGO_NOT_AN_IMAGE,
    LOGO_TOO_LARGE,
    NO_DOCUMENTS_IN_FOLDER,
    AppError,
)
from barua.app.settings import SettingsUseCases
from barua.store.businesses import TEMPLATE_FILES, Business

if TYPE_CHECKING:
    from barua.documents import AnyDocument, EmailOutcome, EmailTemplate, Paper

LOGO_FILE = "logo"
"""The business file that holds its logo (PNG or JPEG)."""
LOGO_LIMIT = 2_000_000
"""The largest logo a business may keep, in bytes (``barua.documents.logos.MAX_LOGO_BYTES``)."""
LOGOS_FOLDER = "logos"
"""The folder of ``$BARUA_HOME`` whose images any document may name as its logo, besides the
files in the document's own folder."""
_LOGO_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


@dataclass(frozen=True, slots=True)
class Checked:
    """A document that passed the checks: what it is and its total."""

    path: Path
    label: str
    total: str | None


@dataclass(frozen=True, slots=True)
class Rendered:
    """A PDF written to ``path``."""

    path: Path
    label: str
    size: int


class DocumentUseCases(SettingsUseCases, Context):
    """Documents as PDF, emailed to the customer or supplier."""

    def document_schema(self) -> dict[str, Any]:
        """The JSON Schema documents follow."""
        from barua.documents import document_schema

        return document_schema()

    def document_files(self, paths: Sequence[Path]) -> list[Path]:
        """The document files of ``paths``: each file, and the ``.json`` files of each folder,
        sorted by name."""
        files: list[Path] = []
        for path in paths:
            if not path.is_dir():
                files.append(path)
                continue
            found = sorted(p for p in path.iterdir() if p.suffix == ".json" and p.is_file())
            if not found:
                raise AppError(NO_DOCUMENTS_IN_FOLDER(folder=path))
            files.extend(found)
        return files

    def check_document(self, path: Path) -> Checked:
        """Read and validate the document at ``path``, and check that it prints: its text in
        the fonts, its logo decoded, its tables laid out on the page. Raises
        :class:`~barua.documents.DocumentError` listing every problem, so that a document
        this passes renders."""
        from barua import documents

        document = documents.load_document(path, logo_folders=self.logo_folders)
        documents.check_printable(document, source=str(path))
        try:
            documents.count_pages(document)  # the layout without the drawing: ~2 ms
        except documents.DocumentError as exc:
            raise documents.DocumentError(
                exc.problems, hint=exc.hint_text, source=str(path)
            ) from None
        total = documents.template_fields(document)["total"]
        return Checked(path, documents.document_label(document), str(total) if total else None)

    def render_document(
        self,
        path: Path,
        *,
        output: Path | None = None,
        paper: Paper | None = None,
        business: Business | None = None,
    ) -> Rendered:
        """Render the document at ``path`` as PDF into ``output`` (``path`` with ``.pdf``).
        ``business`` lends its logo to a document without one."""
        from barua import documents

        document = documents.load_document(path, logo_folders=self.logo_folders)
        if business is not None:
            document = documents.with_default_logo(document, self.logo_uri(business))
        pdf = documents.render_pdf(document, paper=paper)
        target = output or path.with_suffix(".pdf")
        target.write_bytes(pdf)
        return Rendered(target, documents.document_label(document), len(pdf))

    def load_document(self, path: Path) -> AnyDocument:
        """Read and validate the document at ``path``; its logo file must lie in its folder
        or in :attr:`logo_folders`."""
        from barua import documents

        return documents.load_document(path, logo_folders=self.logo_folders)

    @property
    def logo_folders(self) -> tuple[Path, ...]:
        """Where a document's logo may lie besides its own folder: ``$BARUA_HOME/logos``."""
        return (self.home / LOGOS_FOLDER,)

    def email_document(
        self,
        business: Business,
        document: AnyDocument,
        *,
        to: Sequence[str] | None = None,
        cc: Sequence[str] = (),
        subject: str | None = None,
        message: str | None = None,
        again: bool = False,
        paper: Paper | None = None,
        source: str | None = None,
    ) -> EmailOutcome:
        """Render ``document``, write its email from the business's templates and queue it.

        A version of a document is emailed once: emailing it again finds the entry it has,
        unless ``again``. Raises :class:`~barua.documents.DocumentError` for a document that
        cannot be emailed.
        """
        from barua import documents

        settings = self.settings_in_effect(business)
        return documents.email_document(
            document,
            self.outbox,
            settings,
            to=to,
            cc=cc,
            subject=subject,
            message=message,
            again=again,
            paper=paper,
            source=source,
            edited=self.templates(business),
            default_logo=self.logo_uri(business),
            business=business.key,
        )

    def email_documents(
        self,
        business: Business,
        paths: Sequence[Path],
        *,
        to: Sequence[str] | None = None,
        cc: Sequence[str] = (),
        subject: str | None = None,
        message: str | None = None,
        again: bool = False,
        paper: Paper | None = None,
        processes: int | None = None,
        created: datetime | None = None,
    ) -> Generator[EmailOutcome, None, None]:
        """Email every document file of ``paths`` (thousands: rendered in processes); one
        outcome per file, in order. An invalid document is reported in its outcome and the
        others are queued all the same."""
        from barua import documents

        settings = self.settings_in_effect(business)
        return documents.email_documents(
            paths,
            self.outbox,
            settings,
            to=to,
            cc=cc,
            subject=subject,
            message=message,
            again=again,
            paper=paper,
            processes=processes,
            created=created,
            edited=self.templates(business),
            default_logo=self.logo_uri(business),
            business=business.key,
            logo_folders=self.logo_folders,
        )

    # A business's templates and logo -----------------------------------------------------------

    def templates(self, business: Business) -> dict[str, str]:
        """The business's edited email templates, by file name."""
        edited: dict[str, str] = {}
        for name in self.store.file_names(business):
            if name.startswith(TEMPLATE_FILES):
                data = self.store.file(business, name)
                if data is not None:
                    edited[name.removeprefix(TEMPLATE_FILES)] = data.decode("utf-8")
        return edited

    def template(self, business: Business, document_type: str, language: str) -> EmailTemplate:
        """The subject and body templates in effect for a document type and language."""
        from barua.documents import load_template

        return load_template(document_type, language, edited=self.templates(business))

    def save_template(
        self,
        business: Business,
        document_type: str,
        language: str,
        *,
        subject: str | None = None,
        body: str | None = None,
    ) -> EmailTemplate:
        """Check and keep the business's own subject and/or body for a document type and
        language; raises :class:`~barua.documents.DocumentError` for a template that does not
        work, keeping nothing."""
        from barua.documents import check_templates

        for name, text in check_templates(
            document_type, language, subject=subject, body=body
        ).items():
            self.store.save_file(business, TEMPLATE_FILES + name, text.encode("utf-8"))
        return self.template(business, document_type, language)

    def reset_template(
        self, business: Business, document_type: str, language: str
    ) -> EmailTemplate:
        """Go back to barua's own templates for a document type and language."""
        from barua.documents.templates import Part, template_file_name

        for part in Part:
            name = template_file_name(document_type, language, part)
            self.store.delete_file(business, TEMPLATE_FILES + name)
        return self.template(business, document_type, language)

    def set_logo(self, business: Business, data: bytes) -> None:
        """Keep ``data`` (a PNG or JPEG image) as the business's logo, printed on documents
        that bring none of their own."""
        from barua.documents.logos import LogoRefused, check_logo_image

        if len(data) > LOGO_LIMIT:
            raise AppError(LOGO_TOO_LARGE(limit=LOGO_LIMIT // 1_000_000))
        if not any(data.startswith(magic) for magic in _LOGO_TYPES):
            raise AppError(LOGO_NOT_AN_IMAGE())
        try:
            check_logo_image(data)  # its pixels counted, from its header, before it is kept
        except LogoRefused as exc:
            raise AppError(exc.text) from None
        self.store.save_file(business, LOGO_FILE, data)

    def remove_logo(self, business: Business) -> bool:
        return self.store.delete_file(business, LOGO_FILE)

    def logo_uri(self, business: Business) -> str | None:
        """The business's logo as a ``data:`` URI, or None."""
        data = self.store.file(business, LOGO_FILE)
        if data is None:
            return None
        kind = next(
            (kind for magic, kind in _LOGO_TYPES.items() if data.startswith(magic)), "image/png"
        )
        return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"
