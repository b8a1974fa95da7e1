"""PDF rendering: every type in both languages, read back with pypdf; one page rasterised."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from pypdf import PdfReader

from barua.app import Barua, Environment
from barua.documents import (
    AnyDocument,
    DocumentError,
    DocumentType,
    Language,
    Paper,
    SalesInvoice,
    Statement,
    count_pages,
    font_dir,
    load_document,
    render_pdf,
)
from barua.documents import fonts as fonts_module
from barua.documents.labels import LABELS, PARTY_ROLES, TITLES
from tests.conftest import words

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.json"))


def pages_text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def flat(text: str) -> str:
    """Extracted text with runs of white space as one space, for phrases across cells."""
    return re.sub(r"\s+", " ", text)


def example(name: str) -> AnyDocument:
    return load_document(EXAMPLES / name)


def in_language(document: AnyDocument, language: Language) -> AnyDocument:
    return document.model_copy(update={"language": language, "locale": None})


def test_labels_exist_in_both_languages() -> None:
    assert LABELS[Language.EN].keys() == LABELS[Language.SW].keys()
    for table in (TITLES, PARTY_ROLES):
        assert set(table[Language.EN]) == set(table[Language.SW]) == set(DocumentType)


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_every_example_renders_in_both_languages(path: Path, language: Language) -> None:
    document = in_language(load_document(path), language)
    pdf = render_pdf(document)
    assert pdf.startswith(b"%PDF-")
    texts = pages_text(pdf)
    words = LABELS[language]
    whole = flat(" ".join(texts))
    title = document.title or TITLES[language][document.type]
    assert title in whole
    if document.number:
        assert document.number in whole
    assert words["page"].format(page=1, pages=len(texts)) in whole
    assert words["page"].format(page=len(texts), pages=len(texts)) in whole
    assert document.business.name in whole
    if document.party is not None:
        assert document.party.name in whole
        assert PARTY_ROLES[language][document.type].upper() in whole


def test_invoice_numbers_totals_and_non_ascii_names() -> None:
    invoice = example("invoice.json")
    text = flat(" ".join(pages_text(render_pdf(invoice))))
    for name in ("Café Zürich AG", "Ołówek", "Δέλτα", "Москва", "Kraków", "Anna Müller"):
        assert name in text
    for phrase in (
        "Invoice",
        "INV-0042",
        "Bill to".upper(),
        "Due date Apr 2, 2025",
        "Subtotal $6,335.00",
        "VAT 0% on 153.00 $0.00",
        "VAT 18% on 6,182.00 $1,112.76",
        "Total $7,447.76",
        "Amount paid -$2,000.00",
        "Balance due $5,447.76",
        "2,000 pcs 0.085 18% 170.00",  # quantity, a unit price finer than cents, the line
        "40 set 6.75 10% 18% 243.00",  # with a discount
        "Page 1 of 1",
        "NMB Bank PLC, Arusha (USD)",
        "4070 0012 3456",
    ):
        assert phrase in text, phrase


def test_a_column_as_wide_as_its_header_prints_the_whole_header() -> None:
    # Amounts shorter than the header make the column exactly the header's width, which
    # floating point once made a hair too narrow: "Amount (JP…".
    invoice = example("invoice.json")
    assert isinstance(invoice, SalesInvoice)
    lines = [
        line.model_copy(
            update={
                "quantity": Decimal(1),
                "unit_price": Decimal(3),
                "discount_percent": Decimal(0),
            }
        )
        for line in invoice.lines
    ]
    cheap = invoice.model_copy(
        update={"currency": "JPY", "lines": lines, "amount_paid": Decimal(0)}
    )
    text = flat(pages_text(render_pdf(cheap))[0])
    assert "Amount (JPY)" in text
    assert "…" not in text


def test_kiswahili_invoice_with_shillings() -> None:
    invoice = example("invoice-sw.json")
    assert isinstance(invoice, SalesInvoice)
    text = flat(" ".join(pages_text(render_pdf(invoice))))
    for phrase in (
        "Ankara",
        "INV-2025-0117",
        "MTEJA",
        "Mwisho wa malipo 24 Mac 2025",
        "TIN 123-456-789",
        "TIN 987-654-321",
        "Jumla ndogo TSh 7,838,625.00",
        "VAT 0% ya 5,745,000.00 TSh 0.00",
        "VAT 18% ya 2,093,625.00 TSh 376,852.50",
        "Jumla TSh 8,215,477.50",
        "Kiasi kilicholipwa -TSh 1,000,000.00",
        "Salio linalodaiwa TSh 7,215,477.50",
        "mifuko 40 72,000.00 0% 2,880,000.00",
        "madumu 15 98,500.00 5% 18% 1,403,625.00",
        "Ukurasa 1 kati ya 1",
        "TAARIFA ZA BENKI",
    ):
        assert phrase in text, phrase
    assert "TIN TIN" not in text and "Namba ya kodi" not in text


def test_kiswahili_units_without_a_plural_get_a_column_of_their_own() -> None:
    invoice = example("invoice-sw.json")
    assert isinstance(invoice, SalesInvoice)
    lines = [line.model_copy(update={"unit_plural": None}) for line in invoice.lines]
    text = flat(" ".join(pages_text(render_pdf(invoice.model_copy(update={"lines": lines})))))
    assert "Idadi Kipimo Bei ya kimoja" in text
    assert "40 mfuko 72,000.00" in text  # the number under Idadi, the unit under Kipimo
    assert "mifuko" not in text


def test_euro_amounts_follow_the_german_locale() -> None:
    text = flat(" ".join(pages_text(render_pdf(example("quote.json")))))
    assert "Total 5.734,00 €" in text
    assert "Valid until 16.03.2025" in text
    assert "120 pcs 14,50 10 % 1.566,00" in text
    assert "Ołówek Sp. z o.o." in text


def test_statement_flows_over_pages_repeating_the_header_row() -> None:
    statement = example("statement.json")
    assert isinstance(statement, Statement)
    assert len(statement.transactions) == 60
    texts = pages_text(render_pdf(statement))
    assert len(texts) >= 3
    header = "Date Reference Description Debit Credit Balance (USD)"
    for number, text in enumerate(texts[:2], start=1):
        assert header in flat(text), f"no header row on page {number}"
        assert f"Page {number} of {len(texts)}" in text
    page2 = flat(texts[1])
    # Page 2 starts with the short letterhead, then the repeated header, then transactions.
    assert page2.index("Statement ST-2025-03-C1007") < page2.index(header)
    whole = flat(" ".join(texts))
    assert "Opening balance 1,240.00" in whole
    assert "Closing balance 20,778.90 12,423.01 9,595.89" in whole  # 1,240 + debits - credits
    assert "Δέλτα Hotels & Resorts Ltd" in whole
    dash = "\N{EN DASH}"
    assert f"Current 1{dash}30 days 31{dash}60 days 61{dash}90 days Over 90 days Total due" in whole
    assert "0.00 2,665.22 2,848.52 4,082.15 0.00 9,595.89" in whole


def test_kiswahili_statement_numbers_its_pages() -> None:
    statement = in_language(example("statement.json"), Language.SW)
    texts = pages_text(render_pdf(statement))
    assert "Ukurasa 2 kati ya 3" in texts[1]
    assert "Tarehe Kumbukumbu Maelezo Deni Marejesho Salio (USD)" in flat(texts[1])
    assert "Salio la mwanzo" in texts[0]


def test_report_tables_and_totals() -> None:
    text = flat(" ".join(pages_text(render_pdf(example("report-aged-receivables.json")))))
    assert "Aged receivables" in text
    moscow = "\N{CYRILLIC CAPITAL LETTER O}" * 3 + " «Москва Дизайн»"
    assert f"{moscow} 0.00 780.00 0.00 1,295.00 2,075.00" in text
    assert "Total 9,306.45 3,205.65 950.00 1,715.00 15,177.10" in text
    assert f"INV-1488 {moscow} Nov 30, 2024 121 1,295.00" in text
    assert "Total receivables $15,177.10" in text


def test_delivery_note_has_quantities_and_signature_lines() -> None:
    text = flat(" ".join(pages_text(render_pdf(example("delivery-note-sw.json")))))
    assert "Hati ya Uwasilishaji" in text
    assert "Iliyoagizwa Iliyowasilishwa" in text
    assert "Sukari ya Kilombero, kilo 50 mifuko 12 mifuko 10" in text
    assert "Imepokelewa na (jina na sahihi)" in text
    assert "TSh" not in text  # no prices on a delivery note


def test_metadata_title_author_and_creation_date() -> None:
    created = datetime(2025, 3, 3, 9, 30, tzinfo=UTC)
    reader = PdfReader(io.BytesIO(render_pdf(example("invoice.json"), created=created)))
    metadata = reader.metadata
    assert metadata is not None
    assert metadata.title == "Invoice INV-0042"
    assert metadata.author == "Baobab Studio Ltd"
    assert metadata.subject == "Invoice INV-0042 \N{EN DASH} Café Zürich AG"
    assert metadata.creation_date == created
    assert reader.trailer["/Root"]["/Lang"] == "en-US"


def test_the_creation_date_defaults_to_now() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    metadata = PdfReader(io.BytesIO(render_pdf(example("quote.json")))).metadata
    assert metadata is not None and metadata.creation_date is not None
    assert metadata.creation_date >= before


def test_letter_and_a4_paper() -> None:
    invoice = example("invoice.json")
    a4 = PdfReader(io.BytesIO(render_pdf(invoice))).pages[0].mediabox
    letter = PdfReader(io.BytesIO(render_pdf(invoice, paper=Paper.LETTER))).pages[0].mediabox
    assert (round(a4.width), round(a4.height)) == (595, 842)
    assert (round(letter.width), round(letter.height)) == (612, 792)
    assert count_pages(invoice) == 1


def test_fonts_are_embedded_subsets() -> None:
    reader = PdfReader(io.BytesIO(render_pdf(example("invoice.json"))))
    fonts = reader.pages[0]["/Resources"]["/Font"]
    embedded = [
        font.get_object()["/BaseFont"]
        for font in fonts.values()
        if "/FontDescriptor" in font.get_object()
    ]
    assert embedded, "no embedded font"
    assert all(re.match(r"/[A-Z]{6}\+DejaVuSans", name) for name in embedded)


def test_the_first_page_rasterises_to_a_real_invoice() -> None:
    document = pdfium.PdfDocument(render_pdf(example("invoice.json")))
    image = document[0].render(scale=1).to_pil().convert("RGB")
    assert image.size in {(595, 842), (596, 842)}  # A4 is 595.28 pt wide
    colors = image.getcolors(maxcolors=1_000_000)
    assert colors is not None
    white = sum(count for count, rgb in colors if min(rgb) > 245)
    assert white < 0.9 * image.size[0] * image.size[1], "the page is (almost) blank"
    # The header row is drawn in the accent colour #1A4A73.
    accent = sum(count for count, rgb in colors if rgb == (26, 74, 115))
    assert accent > 5000
    # The logo: the gold of the baobab's crown is in the top left corner.
    corner = image.crop((40, 30, 110, 100)).getcolors(maxcolors=100_000) or []
    assert any(r > 200 and 140 < g < 190 and b < 90 for _, (r, g, b) in corner)


def test_a_data_uri_logo_is_embedded() -> None:
    invoice = example("invoice.json")
    payload = base64.b64encode((EXAMPLES / "logo.png").read_bytes()).decode()
    business = invoice.business.model_copy(update={"logo": f"data:image/png;base64,{payload}"})
    pdf = render_pdf(invoice.model_copy(update={"business": business}))
    xobjects = PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"]["/XObject"]
    image = next(iter(xobjects.values())).get_object()
    assert image["/Subtype"] == "/Image"
    assert "/SMask" in image  # the logo's transparency is kept


def test_a_long_description_crosses_pages_without_losing_text() -> None:
    invoice = example("invoice.json")
    assert isinstance(invoice, SalesInvoice)
    words = " ".join(f"word{n}" for n in range(1500))
    line = invoice.lines[0].model_copy(update={"description": words})
    document = invoice.model_copy(update={"lines": [line, *invoice.lines[1:]]})
    texts = pages_text(render_pdf(document))
    assert len(texts) >= 2
    whole = flat(" ".join(texts))
    assert "word0 " in whole and "word1499" in whole
    assert "Balance due" in whole


@pytest.fixture
def chosen_fonts() -> Iterator[None]:
    """The font folder chosen in a test goes back to none afterwards."""
    yield
    fonts_module.use_font_dir(None)


def test_missing_fonts_are_explained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chosen_fonts: None
) -> None:
    monkeypatch.setattr(fonts_module, "SEARCH_DIRS", ())
    fonts_module.use_font_dir(tmp_path)
    with pytest.raises(DocumentError) as caught:
        font_dir()
    assert words(caught.value.problems) == {
        "fonts": f"the DejaVu Sans fonts were not found in BARUA_FONT_DIR={tmp_path}"
    }
    assert caught.value.hint is not None and "fonts-dejavu-core" in caught.value.hint


def test_font_dir_override(tmp_path: Path, chosen_fonts: None) -> None:
    real = font_dir()
    for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"):
        (tmp_path / name).symlink_to(real / name)
    environment = Environment.from_environ(
        {"BARUA_HOME": str(tmp_path), "BARUA_FONT_DIR": str(tmp_path)}
    )
    Barua(environment).close()  # the application chooses the folder when it opens
    assert font_dir() == tmp_path


@pytest.mark.parametrize("name", ["invoice.json", "delivery-note-sw.json"])
def test_long_notes_flow_onto_further_pages(name: str) -> None:
    notes = "\n".join(f"Note line {n}." for n in range(150))
    document = example(name).model_copy(update={"notes": notes})
    texts = pages_text(render_pdf(document))
    assert len(texts) >= 3
    whole = flat(" ".join(texts))
    assert "Note line 0." in whole and "Note line 149." in whole
    last = len(texts)
    assert LABELS[document.language]["page"].format(page=last, pages=last) in texts[-1]
