"""Which paper a document prints on: asked for, else its own, else its locale's country's."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from barua.documents import (
    AnyDocument,
    Paper,
    document_schema,
    load_document,
    paper_for,
    render_pdf,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
BARUA = Path(sys.executable).with_name("barua")
A4, LETTER = (595, 842), (612, 792)


def size_of(pdf: bytes) -> tuple[int, int]:
    box = PdfReader(io.BytesIO(pdf)).pages[0].mediabox
    return round(float(box.width)), round(float(box.height))


def statement(locale: str | None, paper: Paper | None = None) -> AnyDocument:
    document = load_document(EXAMPLES / "statement.json")
    return document.model_copy(update={"locale": locale, "paper": paper})


@pytest.mark.parametrize(
    ("locale", "paper"),
    [
        ("en_US", Paper.LETTER),
        ("en_CA", Paper.LETTER),
        ("fr_CA", Paper.LETTER),
        ("es_MX", Paper.LETTER),
        ("en_PH", Paper.LETTER),
        ("es_CO", Paper.LETTER),
        ("en_GB", Paper.A4),
        ("sw_TZ", Paper.A4),
        ("de_DE", Paper.A4),
        ("es_ES", Paper.A4),
        ("en", Paper.A4),  # no country named: A4
        ("zh_Hant_TW", Paper.A4),
    ],
)
def test_the_locales_country_chooses_the_paper(locale: str, paper: Paper) -> None:
    assert paper_for(locale) is paper


def test_a_us_document_prints_on_letter_by_default() -> None:
    assert size_of(render_pdf(statement("en_US"))) == LETTER
    assert size_of(render_pdf(statement("es_MX"))) == LETTER
    assert size_of(render_pdf(statement("en_GB"))) == A4


def test_the_documents_paper_and_then_the_callers_win() -> None:
    assert size_of(render_pdf(statement("en_US", Paper.A4))) == A4
    assert size_of(render_pdf(statement("sw_TZ", Paper.LETTER))) == LETTER
    assert size_of(render_pdf(statement("en_US", Paper.A4), paper="letter")) == LETTER


def test_the_paper_field_is_in_the_schema_and_the_example() -> None:
    invoice = load_document(EXAMPLES / "invoice.json")
    assert (invoice.locale, invoice.paper) == ("en_US", Paper.A4)  # a Tanzanian business
    schema = document_schema()
    assert any("paper" in (d.get("properties") or {}) for d in schema["$defs"].values())


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BARUA), "document", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_render_on_the_command_line_follows_the_locale_unless_paper_is_given(
    tmp_path: Path,
) -> None:
    data = json.loads((EXAMPLES / "statement.json").read_text(encoding="utf-8"))
    data.update(locale="en_CA")
    data["business"]["logo"] = None
    source = tmp_path / "canada.json"
    source.write_text(json.dumps(data), encoding="utf-8")
    assert run("render", source).returncode == 0
    assert size_of(source.with_suffix(".pdf").read_bytes()) == LETTER
    assert run("render", source, "--paper", "a4").returncode == 0
    assert size_of(source.with_suffix(".pdf").read_bytes()) == A4
