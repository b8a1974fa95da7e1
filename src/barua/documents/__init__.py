"""Business documents: models, exact totals, PDF rendering and the emails that carry them.

>>> from barua.documents import load_document, render_pdf, compose_document_email
>>> invoice = load_document("examples/invoice.json")          # doctest: +SKIP
>>> pdf = render_pdf(invoice, paper="letter")                  # doctest: +SKIP
>>> subject, body, attachment = compose_document_email(invoice)  # doctest: +SKIP

Data flows one way: JSON or Python values → :mod:`~barua.documents.models` (validated) →
:mod:`~barua.documents.totals` (pure) → :mod:`~barua.documents.render` (PDF) and
:mod:`~barua.documents.templates` (subject, body, attachment) → :mod:`barua.message`.
"""

from barua.documents.context import document_label, document_title
from barua.documents.errors import DocumentError
from barua.documents.fonts import FONT_DIR_ENV, font_dir
from barua.documents.keys import canonical_json, idempotency_key
from barua.documents.loading import (
    document_problems,
    document_schema,
    load_document,
    parse_document,
    parse_json,
)
from barua.documents.models import (
    AnyDocument,
    BankAccount,
    Business,
    ColumnKind,
    CreditNote,
    DebitNote,
    DeliveryLine,
    DeliveryNote,
    Document,
    DocumentType,
    Language,
    Line,
    Party,
    PricedDocument,
    PurchaseInvoice,
    PurchaseOrder,
    Report,
    ReportColumn,
    ReportTable,
    SalesInvoice,
    SalesOrder,
    SalesQuote,
    Statement,
    SummaryLine,
    Transaction,
)
from barua.documents.render import Paper, count_pages, render_pdf
from barua.documents.templates import (
    FIELDS as TEMPLATE_FIELDS,
)
from barua.documents.templates import (
    EmailTemplate,
    attachment_name,
    compose_document_email,
    load_template,
    render_email,
    reset_template,
    save_template,
    template_dir,
    template_fields,
)
from barua.documents.totals import (
    Ageing,
    LineAmount,
    StatementTotals,
    TaxAmount,
    Totals,
    compute_totals,
    currency_digits,
    document_totals,
    round_money,
    statement_totals,
    table_totals,
)

__all__ = [
    "FONT_DIR_ENV",
    "TEMPLATE_FIELDS",
    "Ageing",
    "AnyDocument",
    "BankAccount",
    "Business",
    "ColumnKind",
    "CreditNote",
    "DebitNote",
    "DeliveryLine",
    "DeliveryNote",
    "Document",
    "DocumentError",
    "DocumentType",
    "EmailTemplate",
    "Language",
    "Line",
    "LineAmount",
    "Paper",
    "Party",
    "PricedDocument",
    "PurchaseInvoice",
    "PurchaseOrder",
    "Report",
    "ReportColumn",
    "ReportTable",
    "SalesInvoice",
    "SalesOrder",
    "SalesQuote",
    "Statement",
    "StatementTotals",
    "SummaryLine",
    "TaxAmount",
    "Totals",
    "Transaction",
    "attachment_name",
    "canonical_json",
    "compose_document_email",
    "compute_totals",
    "count_pages",
    "currency_digits",
    "document_label",
    "document_problems",
    "document_schema",
    "document_title",
    "document_totals",
    "font_dir",
    "idempotency_key",
    "load_document",
    "load_template",
    "parse_document",
    "parse_json",
    "render_email",
    "render_pdf",
    "reset_template",
    "round_money",
    "save_template",
    "statement_totals",
    "table_totals",
    "template_dir",
    "template_fields",
]
