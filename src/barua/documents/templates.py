"""The subject and text of the email that carries a document, from editable templates.

Each document type has a subject and a body template per language, written in Jinja2 and
rendered in a sandbox: a template can print fields and use ``{% if %}``, but cannot reach
Python objects (``{{ ''.__class__ }}`` is refused), so a shop owner editing a template in the
web app cannot run code on the server. Templates only ever see the fields of :data:`FIELDS`:
text already formatted in the document's language and locale, and a few yes/no flags
(:data:`FLAGS`) for ``{% if %}``, such as ``paid_in_full``.

The defaults ship with barua (``email_templates/sales_invoice.sw.subject.txt``…). A business
may replace any of them with its own text, kept under the same name (``edited``, a mapping of
file name to text, which the caller reads from where the business keeps it);
:func:`check_templates` checks a new text before it is kept.

>>> subject, body, attachment = compose_document_email(invoice)   # doctest: +SKIP
>>> subject, attachment.filename                                  # doctest: +SKIP
('Ankara INV-0042 kutoka Baobab Studio Ltd', 'Ankara INV-0042.pdf')
"""

from __future__ import annotations

import re
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from importlib import resources
from typing import Final

from jinja2 import Template, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError, TemplateError

from barua.documents import messages
from barua.documents.context import document_label, document_title
from barua.documents.errors import DocumentError
from barua.documents.formatting import formatter
from barua.documents.models import (
    AnyDocument,
    CreditNote,
    DebitNote,
    DeliveryNote,
    DocumentType,
    Language,
    PurchaseInvoice,
    PurchaseOrder,
    Report,
    SalesInvoice,
    SalesOrder,
    SalesQuote,
    Statement,
)
from barua.documents.paper import Paper
from barua.documents.render import render_pdf
from barua.documents.sandbox import (
    LIMITS,
    Render,
    Sandbox,
    TemplateLimitError,
    TemplateLimits,
    guarded_tree,
    stand_alone_tag,
)
from barua.documents.totals import document_totals, statement_totals
from barua.message import Attachment
from barua.texts import Text

FIELDS: Final[dict[str, str]] = {
    "business_name": "The business's name",
    "party_name": "The customer's or supplier's name",
    "contact_name": "The contact person, else the party's name",
    "contact_person": "The contact person; empty when the document names none (for a greeting "
    "such as Ndugu Mteja instead)",
    "document_title": "Invoice, Ankara, Quote…",
    "document_number": "INV-0042",
    "reference": "The other side's reference",
    "invoice_number": "The invoice a credit or debit note corrects",
    "issue_date": "The document's date",
    "due_date": "When payment is due (invoices)",
    "valid_until": "Until when a quote holds",
    "delivery_date": "The delivery date (orders, delivery notes)",
    "period_start": "The first day a statement or report covers",
    "period_end": "The last day a statement or report covers",
    "currency": "TZS, USD…",
    "total": "The total, with the currency",
    "amount_paid": "What was paid already",
    "balance_due": "What is left to pay",
    "credit_balance": "What was paid beyond the total, or a statement's credit, as a positive "
    "amount; empty unless in_credit",
    "paid_in_full": "Yes/no: an invoice paid to the last cent, or a statement that owes nothing",
    "in_credit": "Yes/no: more was paid than is owed (a negative balance)",
    "payment_terms": "The payment terms",
}
"""Every field a template can use, with what it holds: text, empty when absent, except the
yes/no flags of :data:`FLAGS`."""

FLAGS: Final[frozenset[str]] = frozenset({"paid_in_full", "in_credit"})
"""The fields that are ``True`` or ``False`` rather than text: ``{% if paid_in_full %}``."""

TemplateValue = str | bool
"""What a template field holds: text, or a flag of :data:`FLAGS`."""

_SAMPLE: dict[str, TemplateValue] = {
    name: True if name in FLAGS else f"<{name}>" for name in FIELDS
}


class Part(StrEnum):
    """The two templates of an email."""

    SUBJECT = "subject"
    BODY = "body"


@dataclass(frozen=True)
class EmailTemplate:
    """The subject and body templates of one document type and language."""

    document_type: DocumentType
    language: Language
    subject: str
    body: str
    customized: frozenset[Part] = frozenset()
    """The parts the business edited, rather than barua's defaults."""


_ENV = Sandbox()
"""Where every template renders: Jinja's sandbox, bounded (:mod:`barua.documents.sandbox`)."""


def _file_name(document_type: DocumentType, language: Language, part: Part) -> str:
    return f"{document_type.value}.{language.value}.{part.value}.txt"


def _default(document_type: DocumentType, language: Language, part: Part) -> str:
    name = _file_name(document_type, language, part)
    return (resources.files(__package__) / "email_templates" / name).read_text(encoding="utf-8")


def _kind_and_language(
    document_type: DocumentType | str, language: Language | str
) -> tuple[DocumentType, Language]:
    """The document type and language named, or a :class:`DocumentError` naming the choices."""
    try:
        kind = DocumentType(document_type)
    except ValueError:
        types = ", ".join(t.value for t in DocumentType)
        raise DocumentError({"": messages.NOT_A_TYPE(value=document_type, types=types)}) from None
    try:
        return kind, Language(language)
    except ValueError:
        languages = ", ".join(lang.value for lang in Language)
        raise DocumentError(
            {"": messages.NOT_A_LANGUAGE(value=language, languages=languages)}
        ) from None


def template_file_name(
    document_type: DocumentType | str, language: Language | str, part: Part
) -> str:
    """The name an edited template is kept under, e.g. ``sales_invoice.sw.subject.txt``."""
    return _file_name(*_kind_and_language(document_type, language), part)


def load_template(
    document_type: DocumentType | str,
    language: Language | str,
    *,
    edited: Mapping[str, str] | None = None,
) -> EmailTemplate:
    """The templates in effect: the business's ``edited`` ones where it has them (by file
    name, see :func:`template_file_name`), else the defaults."""
    kind, lang = _kind_and_language(document_type, language)
    texts: dict[Part, str] = {}
    customized: set[Part] = set()
    for part in Part:
        own = (edited or {}).get(_file_name(kind, lang, part))
        if own is not None:
            texts[part] = own
            customized.add(part)
        else:
            texts[part] = _default(kind, lang, part)
    return EmailTemplate(kind, lang, texts[Part.SUBJECT], texts[Part.BODY], frozenset(customized))


def check_templates(
    document_type: DocumentType | str,
    language: Language | str,
    *,
    subject: str | None = None,
    body: str | None = None,
) -> dict[str, str]:
    """Check edited templates (only the parts given) before they are kept: the texts by file
    name. A template that does not compile or uses an unknown field is refused with a
    DocumentError naming the part."""
    kind, lang = _kind_and_language(document_type, language)
    given = {Part.SUBJECT: subject, Part.BODY: body}
    problems: dict[str, Text] = {}
    hint: Text | None = None
    for part, text in given.items():
        if text is not None:
            try:
                _render(text, _SAMPLE, part)
            except DocumentError as exc:
                problems.update(exc.problems)
                hint = hint or exc.hint_text
    if problems:
        raise DocumentError(problems, hint=hint or _template_hint())
    return {_file_name(kind, lang, part): text for part, text in given.items() if text is not None}


# Rendering ---------------------------------------------------------------------------------


def _template_hint() -> Text:
    return messages.TEMPLATE_HINT(fields=", ".join(FIELDS))


_BLANK_LINES = re.compile(r"\n{3,}")


def _problem(part: Part, text: Text, hint: Text | None = None) -> DocumentError:
    return DocumentError({f"template.{part.value}": text}, hint=hint or _template_hint())


def _limits_hint(limits: TemplateLimits) -> Text:
    return messages.TEMPLATE_LIMITS_HINT(
        loops=f"{limits.loops:,}", text=f"{limits.text:,}", seconds=f"{limits.seconds:g}"
    )


@lru_cache(maxsize=256)
def _compile(text: str, part: Part) -> Template:
    limits = LIMITS
    if len(text) > limits.source:
        raise _problem(
            part, messages.TEMPLATE_TOO_LONG(limit=f"{limits.source:,}"), _limits_hint(limits)
        )
    try:
        tree = _ENV.parse(text)
        tag = stand_alone_tag(tree)
        if tag is not None:
            raise _problem(part, messages.TEMPLATE_STANDS_ALONE(tag=tag))
        return _ENV.from_string(guarded_tree(_ENV, tree))
    except TemplateSyntaxError as exc:
        raise _problem(
            part, messages.TEMPLATE_SYNTAX(line=exc.lineno, reason=exc.message)
        ) from None
    except RecursionError:  # brackets nested thousands deep
        raise _problem(part, messages.TEMPLATE_TOO_DEEP(), _limits_hint(limits)) from None


def _render(
    text: str, fields: dict[str, TemplateValue], part: Part, limits: TemplateLimits = LIMITS
) -> str:
    """``text`` rendered with ``fields`` within ``limits``; every failure of the template,
    whatever it is, a DocumentError naming the part."""
    template = _compile(text, part)
    chunks: list[str] = []
    try:
        with Render(limits) as budget:
            printed = 0
            stream = template.generate(fields)
            try:
                for chunk in stream:
                    printed += len(chunk)
                    if printed > limits.text:
                        raise TemplateLimitError(
                            messages.TEMPLATE_TOO_LONG_OUTPUT(limit=f"{limits.text:,}")
                        )
                    budget.tick()
                    chunks.append(chunk)
            finally:
                if isinstance(stream, Generator):
                    stream.close()
    except TemplateLimitError as exc:
        raise _problem(part, exc.text, _limits_hint(limits)) from None
    except SecurityError as exc:
        raise _problem(
            part,
            messages.TEMPLATE_NOT_ALLOWED(reason=str(exc)),
            messages.TEMPLATE_NOT_ALLOWED_HINT(),
        ) from None
    except UndefinedError as exc:
        raise _problem(part, messages.TEMPLATE_UNKNOWN_FIELD(reason=exc.message)) from None
    except RecursionError:
        raise _problem(part, messages.TEMPLATE_TOO_DEEP(), _limits_hint(limits)) from None
    except TemplateError as exc:
        raise _problem(part, messages.TEMPLATE_FAILED(reason=str(exc))) from None
    except MemoryError:
        raise _problem(part, messages.TEMPLATE_TOO_MUCH_TEXT(limit=f"{limits.text:,}")) from None
    except Exception as exc:  # the template's own mistake, e.g. 1 / 0
        raise _problem(
            part, messages.TEMPLATE_FAILED(reason=str(exc) or type(exc).__name__)
        ) from None
    result = "".join(chunks)
    if part is Part.SUBJECT:
        # One line, whatever the template's line breaks: a subject is a header.
        return " ".join(result.split())
    lines = [line.rstrip() for line in result.strip("\n").splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip("\n") + "\n"


def template_fields(document: AnyDocument) -> dict[str, TemplateValue]:
    """The values of :data:`FIELDS` for ``document``, formatted for its locale.

    ``paid_in_full`` and ``in_credit`` tell the balance's three cases apart, so that a
    template need not print "a balance of $0.00 is due" or "-$552.24 is due": an invoice is
    paid in full when something was paid and nothing is left; it is in credit when more
    was paid than its total (``credit_balance`` is then the surplus, positive). A statement
    is paid in full when its closing balance is zero, in credit when it is negative. Quotes
    and orders follow the invoice's rule (a deposit paid can settle or exceed them); credit
    notes, delivery notes and reports have neither.
    """
    fmt = formatter(document.effective_locale, document.currency)
    party = document.party
    fields: dict[str, TemplateValue] = {name: False if name in FLAGS else "" for name in FIELDS}

    def date(value: object) -> str:
        return fmt.long_date(value) if value is not None else ""  # type: ignore[arg-type]

    fields.update(
        business_name=document.business.name,
        party_name=party.name if party else "",
        contact_name=(party.contact or party.name) if party else "",
        contact_person=(party.contact or "") if party else "",
        document_title=document_title(document),
        document_number=document.number or "",
        reference=document.reference or "",
        issue_date=date(document.issue_date),
        currency=document.currency,
    )
    if isinstance(document, SalesInvoice | PurchaseInvoice):
        fields["due_date"] = date(document.due_date)
    if isinstance(document, SalesQuote):
        fields["valid_until"] = date(document.valid_until)
    if isinstance(document, SalesOrder | PurchaseOrder | DeliveryNote):
        fields["delivery_date"] = date(document.delivery_date)
    if isinstance(document, CreditNote | DebitNote):
        fields["invoice_number"] = document.invoice_number or ""
    if isinstance(document, Statement | Report):
        fields["period_start"] = date(document.period_start)
        end = document.period_end
        if end is None and isinstance(document, Statement):
            end = document.issue_date  # a statement runs to its date
        fields["period_end"] = date(end)
    if isinstance(document, Statement):
        balance = statement_totals(document).closing_balance
        fields["total"] = fields["balance_due"] = fmt.money(balance)
        fields["paid_in_full"] = balance == 0
        fields["in_credit"] = balance < 0
    elif not isinstance(document, DeliveryNote | Report):
        totals = document_totals(document)
        balance = totals.balance_due
        fields["total"] = fmt.money(totals.total)
        fields["amount_paid"] = fmt.money(totals.amount_paid)
        fields["balance_due"] = fmt.money(balance)
        if not isinstance(document, CreditNote):  # its balance is the credit it gives
            fields["paid_in_full"] = bool(totals.amount_paid) and balance == 0
            fields["in_credit"] = balance < 0
    if fields["in_credit"]:
        fields["credit_balance"] = fmt.money(-balance)
    if not isinstance(document, Report):
        fields["payment_terms"] = getattr(document, "payment_terms", None) or ""
    return fields


def render_email(
    document: AnyDocument,
    *,
    subject: str | None = None,
    message: str | None = None,
    edited: Mapping[str, str] | None = None,
) -> tuple[str, str]:
    """The subject and body for ``document``, from the business's ``edited`` templates or the
    defaults.

    ``subject`` and ``message`` are templates too; when given they replace the saved ones for
    this email only (a user editing the text before sending).
    """
    template = load_template(document.type, document.language, edited=edited)
    fields = template_fields(document)
    problems: dict[str, Text] = {}
    hint: Text | None = None
    rendered: dict[Part, str] = {}
    for part, text in (
        (Part.SUBJECT, subject or template.subject),
        (Part.BODY, message or template.body),
    ):
        try:
            rendered[part] = _render(text, fields, part)
        except DocumentError as exc:
            problems.update(exc.problems)
            hint = hint or exc.hint_text  # the first part's: what to do about its problem
    if problems:
        raise DocumentError(problems, hint=hint or _template_hint())
    return rendered[Part.SUBJECT], rendered[Part.BODY]


_UNSAFE_IN_NAMES = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


def attachment_name(document: AnyDocument) -> str:
    """The PDF's file name: ``Invoice INV-0042.pdf``, ``Ankara INV-0042.pdf``.

    Characters that file systems or mail clients refuse (``/`` in ``INV/2025/7``) become ``-``.
    """
    name = _UNSAFE_IN_NAMES.sub("-", document_label(document)).strip(" .-")
    return f"{name or 'document'}.pdf"


def compose_document_email(
    document: AnyDocument,
    *,
    subject: str | None = None,
    message: str | None = None,
    paper: Paper | str | None = None,
    created: datetime | None = None,
    edited: Mapping[str, str] | None = None,
) -> tuple[str, str, Attachment]:
    """Subject, body text and the PDF attachment of the email that sends ``document``.

    The templates are checked before the PDF is rendered, so a template mistake costs no
    rendering. Raises :class:`~barua.documents.errors.DocumentError`.
    """
    subject_text, body_text = render_email(
        document, subject=subject, message=message, edited=edited
    )
    pdf = render_pdf(document, paper=paper, created=created)
    attachment = Attachment(attachment_name(document), pdf, "application/pdf")
    return subject_text, body_text, attachment
