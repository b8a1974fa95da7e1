"""Email templates: defaults in English and Kiswahili, overrides, the sandbox, the attachment."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest

from barua.app import Barua, Environment
from barua.documents import (
    TEMPLATE_FIELDS,
    AnyDocument,
    DocumentError,
    DocumentType,
    Language,
    attachment_name,
    compose_document_email,
    load_document,
    load_template,
    render_email,
)
from barua.message import build_message
from barua.settings import make_settings
from tests.conftest import words

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def example(name: str) -> AnyDocument:
    return load_document(EXAMPLES / name)


def test_english_invoice_email() -> None:
    subject, body, attachment = compose_document_email(example("invoice.json"))
    assert subject == "Invoice INV-0042 from Baobab Studio Ltd"
    assert body == (
        "Dear Anna Müller,\n"
        "\n"
        "Please find attached invoice INV-0042 for $7,447.76.\n"
        "The balance of $5,447.76 is due on April 2, 2025.\n"
        "\n"
        "Net 30 days. Please quote INV-0042 with your payment.\n"
        "\n"
        "Thank you for your business.\n"
        "\n"
        "Kind regards,\n"
        "Baobab Studio Ltd\n"
    )
    assert attachment.filename == "Invoice INV-0042.pdf"
    assert attachment.content_type == "application/pdf"
    assert attachment.content.startswith(b"%PDF-")


def test_kiswahili_invoice_email() -> None:
    subject, body, attachment = compose_document_email(example("invoice-sw.json"))
    assert subject == "Ankara namba INV-2025-0117 kutoka Baobab Studio Ltd"
    assert body == (
        "Habari Bi. Neema Mushi,\n\n"
        "Tumeambatisha ankara namba INV-2025-0117 ya TSh 8,215,477.50.\n"
        "Tafadhali lipa salio la TSh 7,215,477.50 kabla ya tarehe 24 Machi 2025.\n\n"
        "Malipo ndani ya siku 14 baada ya tarehe ya ankara.\n\n"
        "Asante kwa kufanya biashara nasi.\n\n"
        "Kwa heshima,\nBaobab Studio Ltd\n"
    )
    assert attachment.filename == "Ankara INV-2025-0117.pdf"


def test_a_kiswahili_letter_without_a_contact_person_greets_the_customer() -> None:
    document = example("invoice-sw.json")
    assert document.party is not None
    anonymous = document.model_copy(
        update={"party": document.party.model_copy(update={"contact": None})}
    )
    _subject, body = render_email(anonymous)
    assert body.startswith("Ndugu Mteja,\n\n")
    assert "Hoteli ya Kilimanjaro View" not in body


@pytest.mark.parametrize(
    ("path", "opening", "said"),
    [
        ("quote.json", "Asante kwa ombi lako la bei. Tumeambatisha nukuu ya bei namba Q-2025-031",
         "ni halali hadi tarehe"),
        ("delivery-note-sw.json", "Tumeambatisha hati ya uwasilishaji namba DN-0457.",
         "Tunatarajia kukuletea bidhaa tarehe 11 Machi 2025."),
        ("sales-order.json", "Asante kwa oda yako. Tumeambatisha uthibitisho wa oda namba",
         "Tunatarajia kukuletea bidhaa tarehe"),
        ("credit-note-sw.json", "Tumeambatisha hati ya marejesho namba CN-0019",
         "inayohusu ankara namba INV-2025-0117"),
        ("debit-note.json", "Tumeambatisha hati ya nyongeza ya deni namba", ""),
        ("purchase-order.json", "Tumeambatisha oda yetu ya ununuzi namba", "kabla ya tarehe"),
    ],
)  # fmt: skip
def test_each_kiswahili_letter_says_what_it_carries_and_thanks_once(
    path: str, opening: str, said: str
) -> None:
    document = example(path).model_copy(update={"language": Language.SW, "locale": None})
    _subject, body = render_email(document)
    assert opening in body and said in body
    assert body.count("Asante") + body.count("asante") <= 1
    assert "Tafadhali pokea" not in body and "Mpendwa" not in body


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_every_type_has_default_texts_in_both_languages(path: Path, language: Language) -> None:
    document = load_document(path).model_copy(update={"language": language, "locale": None})
    subject, body = render_email(document)
    assert document.business.name in subject
    assert "\n" not in subject
    assert "{{" not in body and "{%" not in body and "\n\n\n" not in body
    assert body.endswith(f"{document.business.name}\n")


def test_attachment_names_are_safe_file_names() -> None:
    invoice = example("invoice.json").model_copy(update={"number": "INV/2025:07"})
    assert attachment_name(invoice) == "Invoice INV-2025-07.pdf"
    sw = example("invoice.json").model_copy(update={"language": Language.SW})
    assert attachment_name(sw) == "Ankara INV-0042.pdf"
    report = example("report-aged-receivables.json")
    assert attachment_name(report) == "Aged receivables.pdf"


def test_subject_and_message_can_be_given_for_one_email() -> None:
    subject, body = render_email(
        example("invoice.json"),
        subject="Your invoice\n{{ document_number }}",
        message="Hi {{ party_name }}, {{ balance_due }} please.",
    )
    assert subject == "Your invoice INV-0042"  # one line, whatever the template
    assert body == "Hi Café Zürich AG, $5,447.76 please.\n"


def test_the_sandbox_refuses_python_internals() -> None:
    with pytest.raises(DocumentError) as caught:
        render_email(example("invoice.json"), subject="{{ ''.__class__.__mro__ }}")
    assert list(caught.value.problems) == ["template.subject"]
    assert words(caught.value.problems)["template.subject"].startswith("not allowed in a template:")
    assert "__class__" in words(caught.value.problems)["template.subject"]


@pytest.mark.parametrize(
    "template",
    ["{{ 'x' * 100000000 }}", "{{ 10 ** 10 ** 10 }}", "{% for i in range(10**9) %}{% endfor %}"],
)
def test_the_sandbox_refuses_runaway_templates(template: str) -> None:
    with pytest.raises(DocumentError) as caught:
        render_email(example("invoice.json"), message=template)
    assert "template.body" in caught.value.problems


def test_unknown_fields_and_syntax_errors_are_explained() -> None:
    with pytest.raises(DocumentError) as caught:
        render_email(example("invoice.json"), subject="{{ invoice_no }}", message="{% if %}")
    assert words(caught.value.problems) == {
        "template.subject": "'invoice_no' is undefined; use one of the fields listed below",
        "template.body": "line 1: the template is not written correctly (Jinja says: Expected an "
        "expression, got 'end of statement block')",
    }
    assert caught.value.hint is not None and "document_number" in caught.value.hint


def test_a_business_template_replaces_the_default() -> None:
    edited = {
        "sales_invoice.en.subject.txt": "Bill {{ document_number }} ({{ balance_due }} due)\n"
    }
    subject, body = render_email(example("invoice.json"), edited=edited)
    assert subject == "Bill INV-0042 ($5,447.76 due)"
    assert body.startswith("Dear Anna Müller,")  # the body keeps the default
    template = load_template(DocumentType.SALES_INVOICE, Language.EN, edited=edited)
    assert template.customized == {"subject"}
    assert load_template(DocumentType.SALES_INVOICE, Language.SW, edited=edited).customized == set()


def test_templates_are_saved_checked_and_reset_per_business(barua_home: Path) -> None:
    with Barua(Environment.from_environ()) as app:
        shop, other = app.business(), app.add_business("Duka la Pili")
        saved = app.save_template(shop, "sales_invoice", "sw", body="Habari {{ contact_name }}!")
        assert saved.body == "Habari {{ contact_name }}!"
        edited = app.templates(shop)
        assert edited == {"sales_invoice.sw.body.txt": "Habari {{ contact_name }}!"}
        _, body = render_email(example("invoice-sw.json"), edited=edited)
        assert body == "Habari Bi. Neema Mushi!\n"
        assert app.templates(other) == {}, "another business keeps barua's own text"

        with pytest.raises(DocumentError) as caught:
            app.save_template(shop, "sales_invoice", "sw", subject="{{ total", body="{{ nope }}")
        assert set(caught.value.problems) == {"template.subject", "template.body"}
        assert app.template(shop, "sales_invoice", "sw").body == "Habari {{ contact_name }}!"

        reset = app.reset_template(shop, "sales_invoice", "sw")
        assert reset.customized == frozenset()
        assert app.templates(shop) == {}


def test_templates_of_an_earlier_barua_are_imported_into_the_default_business(
    barua_home: Path,
) -> None:
    folder = barua_home / "templates"
    folder.mkdir(parents=True)
    (folder / "sales_invoice.en.subject.txt").write_text("Bill {{ document_number }}\n", "utf-8")
    (folder / "notes.txt").write_text("not a template", "utf-8")
    with Barua(Environment.from_environ()) as app:
        assert app.templates(app.business()) == {
            "sales_invoice.en.subject.txt": "Bill {{ document_number }}\n"
        }
    assert not folder.exists()
    assert (barua_home / "templates.imported" / "notes.txt").is_file()


def test_the_fields_are_documented() -> None:
    assert {
        "business_name",
        "party_name",
        "document_number",
        "total",
        "balance_due",
        "due_date",
    } <= set(TEMPLATE_FIELDS)


def test_the_email_builds_with_the_pdf_attached() -> None:
    subject, body, attachment = compose_document_email(example("invoice-sw.json"))
    settings = make_settings(host="smtp.example.com", username="billing@baobab-studio.example")
    message = build_message(
        settings,
        to=["manunuzi@kilimanjaroview.example"],
        subject=subject,
        text=body,
        attachments=[attachment],
    )
    parsed = email.message_from_bytes(message.data, policy=email.policy.default)
    assert parsed["Subject"] == "Ankara namba INV-2025-0117 kutoka Baobab Studio Ltd"
    parts = list(parsed.iter_attachments())
    assert [p.get_filename() for p in parts] == ["Ankara INV-2025-0117.pdf"]
    assert parts[0].get_content() == attachment.content


def test_a_kiswahili_credit_note_is_a_refund_not_a_discount() -> None:
    # "Punguzo" is the discount column: the note and its totals are "marejesho" (refund).
    note = example("credit-note-sw.json")
    subject, body, attachment = compose_document_email(note)
    assert attachment.filename == "Hati ya Marejesho CN-0019.pdf"
    assert subject == "Hati ya marejesho namba CN-0019 kutoka Baobab Studio Ltd"
    # The note is attached; the invoice is only what it refers to.
    assert (
        "Tumeambatisha hati ya marejesho namba CN-0019 ya TSh 220,837.00, "
        "inayohusu ankara namba INV-2025-0117." in body
    )
    assert "punguzo" not in (subject + body).lower()


def test_kiswahili_greetings_and_thanks_read_naturally() -> None:
    _, invoice_body, _ = compose_document_email(example("invoice-sw.json"))
    assert invoice_body.startswith("Habari Bi. Neema Mushi,\n")  # one honorific, not two
    quote = example("quote.json").model_copy(update={"language": Language.SW, "locale": None})
    _, quote_body, _ = compose_document_email(quote)
    assert "Asante kwa ombi lako la bei." in quote_body
    assert "ulizo" not in quote_body
