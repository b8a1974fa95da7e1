"""Documents and their emails as the pages show them, in the reader's language."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from barua.i18n import N_
from barua.web.i18n import gettext_for
from barua.web.outbox_view import entry_view

if TYPE_CHECKING:
    from barua.app.library import Draft, LibraryItem
    from barua.app.present import OutboxEntry

KIND_WORDS = {
    "sales_invoice": N_("Invoice"),
    "sales_quote": N_("Quote"),
    "sales_order": N_("Sales order"),
    "credit_note": N_("Credit note"),
    "debit_note": N_("Debit note"),
    "delivery_note": N_("Delivery note"),
    "statement": N_("Statement"),
    "purchase_order": N_("Purchase order"),
    "purchase_invoice": N_("Purchase invoice"),
    "report": N_("Report"),
}


def kind_words(kind: str, lang: str) -> str:
    return gettext_for(lang)(KIND_WORDS.get(kind, kind))


def item_view(item: LibraryItem, lang: str) -> dict[str, Any]:
    document = item.document
    total = f"{document.total}" if document.total else ""
    return {
        "id": document.id,
        "kind": kind_words(document.kind, lang),
        "number": document.number,
        "party": document.party,
        "email": document.email or "",
        "date": document.issue_date or "",
        "total": total,
        "source": document.source,
        "filename": document.filename,
        "email_status": entry_view(item.entry, lang) if item.entry is not None else None,
    }


def draft_view(draft: Draft, lang: str) -> dict[str, Any]:
    document = draft.document
    return {
        "id": document.id,
        "label": f"{kind_words(document.kind, lang)} {document.number}",
        "party": document.party,
        "to": ", ".join(draft.to),
        "subject": draft.subject,
        "message": draft.message,
        "attachment": draft.attachment,
        "copy_to": draft.copy_to or "",
        "reply_to": draft.reply_to or "",
        "emailed": entry_view(draft.emailed, lang) if draft.emailed is not None else None,
    }


def status_view(entry: OutboxEntry, lang: str) -> dict[str, Any]:
    view = entry_view(entry, lang)
    return {key: view[key] for key in ("id", "status", "status_words", "final", "subject", "to",
                                       "summary")}  # fmt: skip
