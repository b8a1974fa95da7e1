"""Characters the PDF fonts cannot draw are an error naming the field, not a blank on the PDF.

The fonts barua embeds (DejaVu Sans) cover Latin, Greek and Cyrillic; ReportLab would print a
Thai or Chinese name as nothing at all, without a warning.
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
from tests.terminal import BARUA
from tests.test_documents_email_cli import email_, env, server, write_invoice  # noqa: F401

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
HINT = (
    "hint: The PDF fonts cover Latin, Greek and Cyrillic letters: write these fields in such "
    "letters, or set BARUA_FONT_DIR to a folder of fonts that have the characters (saved as "
    "DejaVuSans.ttf and DejaVuSans-Bold.ttf)."
)
THAI, CHINESE = "กรุงเทพ", "上海"


def invoice(**changes: object) -> SalesInvoice:
    document = load_document(EXAMPLES / "invoice.json")
    assert isinstance(document, SalesInvoice)
    return document.model_copy(update=changes)


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
    assert caught.value.problems == {
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
    data = json.loads((EXAMPLES / "invoice.json").read_text(encoding="utf-8"))
    data["party"]["name"] = THAI
    data["business"]["logo"] = str(EXAMPLES / "logo.png")
    source = tmp_path / "thai.json"
    source.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    rendered = subprocess.run(
        [BARUA, "document", "render", str(source)], capture_output=True, text=True, check=False
    )
    assert rendered.returncode == 2
    assert rendered.stderr.splitlines() == [
        f"error: party.name: cannot be printed: the PDF fonts have no {THAI!r}",
        HINT,
    ]
    assert not source.with_suffix(".pdf").exists()

    checked = subprocess.run(
        [BARUA, "document", "check", str(source), str(EXAMPLES / "quote.json")],
        capture_output=True,
        text=True,
        check=False,
    )
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
