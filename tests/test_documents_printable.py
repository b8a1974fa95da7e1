"""Characters the PDF fonts cannot draw are an error naming the field, not a blank on the PDF.

The fonts barua embeds (DejaVu Sans) cover Latin, Greek and Cyrillic; ReportLab would print a
Thai or Chinese name as nothing at all, without a warning. Hebrew and Arabic, which the fonts
have, are refused too: the layout would print them reversed and unjoined.
"""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from barua.documents import DocumentError, SalesInvoice, check_printable, load_document, render_pdf
from barua.documents.fonts import missing_glyphs
from tests.conftest import words
from tests.terminal import BARUA
from tests.test_documents_email_cli import email_, env, server, write_invoice  # noqa: F401

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
HINT = (
    "hint: The PDF fonts cover Latin, Greek and Cyrillic letters: write these fields in such "
    "letters, or set BARUA_FONT_DIR to a folder of fonts that have the characters (saved as "
    "DejaVuSans.ttf and DejaVuSans-Bold.ttf)."
)
THAI, CHINESE = "กรุงเทพ", "上海"
HEBREW, ARABIC = 'שלום בע"מ', "مرحبا بكم"
RTL = "is written right to left, which the PDF layout does not support yet"
RTL_HINT = (
    "hint: Documents print left to right only: write these fields in a left-to-right script, "
    "e.g. the name in Latin letters."
)


def invoice(**changes: object) -> SalesInvoice:
    document = load_document(EXAMPLES / "invoice.json")
    assert isinstance(document, SalesInvoice)
    return document.model_copy(update=changes)


def invoice_file(path: Path, *, party_name: str) -> Path:
    """The example invoice as a JSON file at ``path``, its party named ``party_name``."""
    data = json.loads((EXAMPLES / "invoice.json").read_text(encoding="utf-8"))
    data["party"]["name"] = party_name
    data["business"]["logo"] = "logo.png"
    (path.parent / "logo.png").write_bytes((EXAMPLES / "logo.png").read_bytes())
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def document(command: str, *files: Path) -> subprocess.CompletedProcess[str]:
    """``barua document COMMAND FILES``, its output captured."""
    return subprocess.run(
        [BARUA, "document", command, *map(str, files)], capture_output=True, text=True, check=False
    )


def test_the_fonts_really_lack_these_letters() -> None:
    # Otherwise the tests below would prove nothing.
    assert missing_glyphs(THAI + CHINESE) == THAI + CHINESE
    assert missing_glyphs("Café Zürich Ołówek Δέλτα Москва") == ""


def test_every_field_the_fonts_cannot_print_is_named() -> None:
    plain = invoice()
    party = plain.party.model_copy(update={"name": f"Hotel {THAI}"})
    lines = list(plain.lines)
    lines[2] = lines[2].model_copy(update={"description": f"Tea from {CHINESE}"})
    with pytest.raises(DocumentError) as caught:
        render_pdf(invoice(party=party, lines=lines))
    assert words(caught.value.problems) == {
        "party.name": f"cannot be printed: the PDF fonts have no {THAI!r}",
        "lines[2].description": f"cannot be printed: the PDF fonts have no {CHINESE!r}",
    }
    assert caught.value.hint is not None and "BARUA_FONT_DIR" in caught.value.hint


def test_line_breaks_tabs_and_invisible_joiners_are_not_letters() -> None:
    notes = "Asante sana.\n\tKaribu tena.\u200d Zürich,\u00a0Kraków"
    check_printable(invoice(notes=notes))  # nothing raised
    pdf = PdfReader(io.BytesIO(render_pdf(invoice(notes=notes))))
    assert "Karibu tena." in " ".join(page.extract_text() for page in pdf.pages)


def test_render_and_check_name_the_field_and_write_nothing(tmp_path: Path) -> None:
    source = invoice_file(tmp_path / "thai.json", party_name=THAI)
    rendered = document("render", source)
    assert rendered.returncode == 2
    assert rendered.stderr.splitlines() == [
        f"error: party.name: cannot be printed: the PDF fonts have no {THAI!r}",
        HINT,
    ]
    assert not source.with_suffix(".pdf").exists()

    checked = document("check", source, EXAMPLES / "quote.json")
    assert checked.returncode == 2
    assert checked.stderr.splitlines() == [
        f"error: {source}: party.name: cannot be printed: the PDF fonts have no {THAI!r}",
        HINT,
    ]
    assert checked.stdout.startswith(f"{EXAMPLES / 'quote.json'}: ok (")


def test_bulk_emailing_reports_it_as_invalid_and_queues_the_rest(
    env: dict[str, str],  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    folder = tmp_path / "invoices"
    folder.mkdir()
    write_invoice(folder, "INV-0001")
    thai = write_invoice(folder, "INV-0002", notes=f"Delivered to {THAI}")
    proc = email_(folder, env=env)
    assert proc.returncode == 2
    assert proc.stdout == "2 documents: 1 queued, 0 skipped (already queued or sent), 1 invalid.\n"
    assert proc.stderr.splitlines() == [
        f"error: {thai}: notes: cannot be printed: the PDF fonts have no {THAI!r}",
        HINT,
    ]


def test_the_fonts_have_these_letters_but_the_layout_would_reverse_them() -> None:
    assert missing_glyphs(HEBREW + ARABIC) == ""  # so only the direction can refuse them


def test_right_to_left_fields_are_named() -> None:
    plain = invoice()
    party = plain.party.model_copy(update={"name": HEBREW})
    lines = list(plain.lines)
    lines[1] = lines[1].model_copy(update={"description": f"Welcome sign: {ARABIC}"})
    with pytest.raises(DocumentError) as caught:
        render_pdf(invoice(party=party, lines=lines, reference="PO \u0661\u0662"))
    assert words(caught.value.problems) == {
        "party.name": RTL,
        "lines[1].description": RTL,
        "reference": RTL,  # Arabic-Indic digits
    }
    assert caught.value.hint == RTL_HINT.removeprefix("hint: ")


def test_both_hints_when_fonts_and_direction_refuse_fields() -> None:
    party = invoice().party.model_copy(update={"name": HEBREW})
    with pytest.raises(DocumentError) as caught:
        check_printable(invoice(party=party, notes=THAI))
    assert words(caught.value.problems)["party.name"] == RTL
    assert words(caught.value.problems)["notes"].startswith("cannot be printed")
    assert caught.value.hint == HINT.removeprefix("hint: ") + " " + RTL_HINT.removeprefix("hint: ")


def test_render_and_check_refuse_right_to_left_text(tmp_path: Path) -> None:
    source = invoice_file(tmp_path / "hebrew.json", party_name=HEBREW)
    rendered = document("render", source)
    assert rendered.returncode == 2
    assert rendered.stderr.splitlines() == [f"error: party.name: {RTL}", RTL_HINT]
    assert not source.with_suffix(".pdf").exists()

    checked = document("check", source)
    assert checked.returncode == 2
    assert checked.stderr.splitlines() == [f"error: {source}: party.name: {RTL}", RTL_HINT]
    assert checked.stdout == ""


def test_bulk_emailing_reports_right_to_left_text_as_invalid(
    env: dict[str, str],  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    folder = tmp_path / "invoices"
    folder.mkdir()
    write_invoice(folder, "INV-0001")
    arabic = write_invoice(folder, "INV-0002", notes=ARABIC)
    proc = email_(folder, env=env)
    assert proc.returncode == 2
    assert proc.stdout == "2 documents: 1 queued, 0 skipped (already queued or sent), 1 invalid.\n"
    assert proc.stderr.splitlines() == [f"error: {arabic}: notes: {RTL}", RTL_HINT]
