"""The letterhead keeps dates, numbers and addresses whole in the shipped Kiswahili examples.

Kiswahili labels are longer than English ones: "Tarehe ya kuwasilisha" left a date no room
("11 Mac / 2025"), a VAT number split from its prefix ("VRN / 40-012345-K") and an email
address broke mid-domain ("kilimanjaroview. / example"). Each line of the extracted text is
one printed line, so a token that broke would be missing from every line.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from barua.documents import SalesInvoice, load_document, render_pdf

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def printed_lines(name: str) -> list[str]:
    pdf = render_pdf(load_document(EXAMPLES / name))
    return PdfReader(io.BytesIO(pdf)).pages[0].extract_text().splitlines()


def on_one_line(lines: list[str], token: str) -> bool:
    return any(token in line for line in lines)


@pytest.mark.parametrize(
    ("name", "tokens"),
    [
        (
            "delivery-note-sw.json",
            ["11 Mac 2025", "VRN 40-012345-K", "billing@baobab-studio.example"],
        ),
        (
            "invoice-sw.json",
            [
                "10 Mac 2025",
                "24 Mac 2025",
                "VRN 40-012345-K",
                "TIN 987-654-321",
                "manunuzi@kilimanjaroview.example",
            ],
        ),
        ("credit-note-sw.json", ["18 Mac 2025", "manunuzi@kilimanjaroview.example"]),
    ],
)
def test_dates_numbers_and_addresses_print_on_one_line(name: str, tokens: list[str]) -> None:
    lines = printed_lines(name)
    assert [token for token in tokens if not on_one_line(lines, token)] == []


def test_the_delivery_date_moves_under_its_long_label_whole() -> None:
    lines = printed_lines("delivery-note-sw.json")
    at = next(index for index, line in enumerate(lines) if "Tarehe ya kuwasilisha" in line)
    assert lines[at + 1] == "11 Mac 2025"


def test_a_long_reference_is_printed_whole_not_cut_to_two_lines() -> None:
    document = load_document(EXAMPLES / "invoice-sw.json")
    assert isinstance(document, SalesInvoice)
    reference = "Mradi wa ukarabati wa vyumba vya wageni, awamu ya pili, jengo la mashariki"
    pdf = render_pdf(document.model_copy(update={"reference": reference}))
    text = " ".join(PdfReader(io.BytesIO(pdf)).pages[0].extract_text().split())
    assert reference in text


def test_an_address_too_long_even_in_small_type_breaks_after_its_at_sign() -> None:
    document = load_document(EXAMPLES / "invoice-sw.json")
    assert isinstance(document, SalesInvoice)
    address = "manunuzi.na.stoo.kuu@hoteli-ya-kilimanjaro-view-moshi.example"
    party = document.party.model_copy(update={"emails": [address]})
    pdf = render_pdf(document.model_copy(update={"party": party}))
    lines = PdfReader(io.BytesIO(pdf)).pages[0].extract_text().splitlines()
    assert "manunuzi.na.stoo.kuu@" in lines
    assert "".join(lines).count(address) == 1
