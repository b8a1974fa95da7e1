"""The documents a business pushed or uploaded to the web app: a JSON document in barua's
schema (rendered to PDF when shown or emailed) or a PDF made by another program, with what
the list shows of it, and its last email."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from barua.database.engine import failure, first_line
from barua.database.errors import FAILED, FAILED_HINT, DatabaseError
from barua.database.tables import documents


@dataclass(frozen=True, slots=True)
class StoredDocument:
    """A document of the library; ``content`` is loaded only when asked for."""

    id: int
    business_key: str
    source: str
    """``json`` (barua's schema) or ``pdf`` (made elsewhere)."""
    kind: str
    number: str
    party: str
    email: str | None
    issue_date: str | None
    total: str | None
    currency: str | None
    filename: str
    digest: str
    created_at: float
    message_pk: int | None
    """The outbox entry of its last email."""
    content: bytes | None = None


@dataclass(frozen=True, slots=True)
class NewDocument:
    """What the list shows of a document being added, and its bytes."""

    source: str
    kind: str
    number: str
    party: str
    email: str | None
    issue_date: str | None
    total: str | None
    currency: str | None
    filename: str
    content: bytes


class DocumentLibrary:
    """The documents of every business, in barua's database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, business_key: str, new: NewDocument) -> tuple[StoredDocument, bool]:
        """Keep ``new`` for ``business_key``; the same bytes twice are one document. The
        document, and whether it is new."""
        digest = hashlib.sha256(new.content).hexdigest()
        try:
            with self._engine.begin() as conn:
                found = conn.execute(
                    _listed().where(
                        documents.c.business_key == business_key, documents.c.digest == digest
                    )
                ).first()
                if found is not None:
                    return _document(found._mapping), False
                row = {
                    "business_key": business_key,
                    "source": new.source,
                    "kind": new.kind,
                    "number": new.number,
                    "party": new.party,
                    "email": new.email,
                    "issue_date": new.issue_date,
                    "total": new.total,
                    "currency": new.currency,
                    "filename": new.filename,
                    "content": new.content,
                    "digest": digest,
                    "created_at": time.time(),
                }
                new_id = conn.execute(insert(documents).values(**row)).inserted_primary_key
        except SQLAlchemyError as exc:
            raise self._failed(exc) from exc
        assert new_id is not None
        return _document({**row, "id": new_id[0], "message_pk": None}), True

    def documents(
        self, business_key: str, *, limit: int = 50, before_id: int | None = None
    ) -> list[StoredDocument]:
        """The newest ``limit`` documents of the business, page by page (without content)."""
        query = (
            _listed()
            .where(documents.c.business_key == business_key)
            .order_by(documents.c.id.desc())
            .limit(limit)
        )
        if before_id is not None:
            query = query.where(documents.c.id < before_id)
        try:
            with self._engine.connect() as conn:
                return [_document(row._mapping) for row in conn.execute(query)]
        except SQLAlchemyError as exc:
            raise self._failed(exc) from exc

    def get(self, business_key: str, document_id: int) -> StoredDocument | None:
        """The document with its content, if it belongs to the business."""
        if not 1 <= document_id < 2**63:
            return None
        query = select(documents).where(
            documents.c.id == document_id, documents.c.business_key == business_key
        )
        try:
            with self._engine.connect() as conn:
                row = conn.execute(query).first()
        except SQLAlchemyError as exc:
            raise self._failed(exc) from exc
        return _document(row._mapping, content=True) if row is not None else None

    def emailed(self, document_id: int, message_pk: int) -> None:
        """Remember the outbox entry of the document's last email."""
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    update(documents)
                    .where(documents.c.id == document_id)
                    .values(message_pk=message_pk)
                )
        except SQLAlchemyError as exc:
            raise self._failed(exc) from exc

    def remove(self, business_key: str, document_id: int) -> bool:
        try:
            with self._engine.begin() as conn:
                done = conn.execute(
                    delete(documents).where(
                        documents.c.id == document_id, documents.c.business_key == business_key
                    )
                )
        except SQLAlchemyError as exc:
            raise self._failed(exc) from exc
        return bool(done.rowcount)

    def _failed(self, exc: SQLAlchemyError) -> DatabaseError:
        return failure(
            DatabaseError,
            exc,
            self._engine.url,
            text=FAILED(reason=first_line(exc)),
            hint=FAILED_HINT(),
        )


def _listed() -> Any:
    return select(*(column for column in documents.c if column.name != "content"))


def _document(row: Any, *, content: bool = False) -> StoredDocument:
    return StoredDocument(
        id=int(row["id"]),
        business_key=row["business_key"],
        source=row["source"],
        kind=row["kind"],
        number=row["number"],
        party=row["party"],
        email=row["email"],
        issue_date=row["issue_date"],
        total=row["total"],
        currency=row["currency"],
        filename=row["filename"],
        digest=row["digest"],
        created_at=float(row["created_at"]),
        message_pk=int(row["message_pk"]) if row["message_pk"] is not None else None,
        content=bytes(row["content"]) if content else None,
    )
