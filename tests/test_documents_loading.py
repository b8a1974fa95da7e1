"""Reading documents: one exact message per problem, named by its path; the JSON Schema."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from barua.documents import (
    DocumentError,
    DocumentType,
    SalesInvoice,
    document_schema,
    load_document,
    parse_document,
    parse_json,
)
from tests.conftest import words

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def invoice(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": "sales_invoice",
        "number": "INV-0042",
        "currency": "TZS",
        "issue_date": "2025-03-03",
        "business": {"name": "Baobab Studio Ltd"},
        "party": {"name": "Café Zürich AG", "emails": ["ap@cafe.example"]},
        "lines": [{"description": f"item {n}", "unit_price": "10"} for n in range(5)],
    }
    data.update(changes)
    return data


def problems(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(DocumentError) as caught:
        parse_document(data)
    return words(caught.value.problems)


def test_a_valid_document_reads_into_its_class() -> None:
    document = parse_document(invoice())
    assert isinstance(document, SalesInvoice)
    assert document.lines[0].quantity == Decimal(1)
    assert document.effective_locale == "en"


def test_a_wrong_number_is_named_by_its_path() -> None:
    data = invoice()
    data["lines"][3]["quantity"] = "three"
    assert problems(data) == {"lines[3].quantity": "must be a number"}
    with pytest.raises(DocumentError) as caught:
        parse_document(data)
    assert str(caught.value) == "lines[3].quantity: must be a number"
    assert caught.value.hint is not None


def test_every_problem_gets_its_own_message() -> None:
    data = invoice(currency="TSH", issue_date="2025-02-30")
    del data["number"]
    data["lines"][0]["unit_price"] = None
    data["lines"][1]["quantiy"] = 2
    data["lines"][2]["tax_rate"] = 120
    data["party"]["emails"] = ["ap@cafe.example", "not an address"]
    assert problems(data) == {
        "number": "is required",
        "currency": '"TSH" is not a currency code; use ISO 4217, e.g. TZS, KES, USD, EUR',
        "issue_date": "must be a date like 2025-01-31",
        "party.emails[1]": '"not an address" is not a valid email address',
        "lines[0].unit_price": "must be a number",
        "lines[1].quantiy": "is not a field of this document (check the spelling)",
        "lines[2].tax_rate": "must be at most 100",
    }


def test_the_document_type_is_checked_first() -> None:
    assert problems(invoice(type="bill")) == {
        "type": '"bill" is not a document type; use one of sales_invoice, sales_quote, '
        "sales_order, credit_note, delivery_note, statement, purchase_order, "
        "purchase_invoice, debit_note, report"
    }
    data = invoice()
    del data["type"]
    assert list(problems(data)) == ["type"]


def test_cross_field_rules() -> None:
    assert problems(invoice(due_date="2025-03-01")) == {"due_date": "must not be before issue_date"}
    assert problems(invoice(lines=[])) == {"lines": "must not be empty"}
    assert problems(invoice(locale="xx_YY")) == {
        "locale": '"xx_YY" is not a known locale; use e.g. en_US, sw_TZ, de_DE'
    }
    assert problems(invoice(language="fr")) == {"language": "must be en or sw"}


def test_report_cells_are_checked_against_their_column() -> None:
    report = {
        "type": "report",
        "title": "Aged receivables",
        "currency": "USD",
        "issue_date": "2025-03-31",
        "business": {"name": "Baobab Studio Ltd"},
        "tables": [
            {
                "columns": [
                    {"label": "Customer"},
                    {"label": "Due", "kind": "date"},
                    {"label": "Amount", "kind": "money"},
                ],
                "rows": [["A", "2025-01-31", "10.00"], ["B", "31/01/2025", "ten"], ["C"]],
            }
        ],
    }
    assert problems(report) == {
        "tables[0].rows[1][1]": "must be a date like 2025-01-31",
        "tables[0].rows[1][2]": "must be a number",
        "tables[0].rows[2]": "has 1 cells, the table has 3",
    }


def test_json_numbers_are_read_as_exact_decimals() -> None:
    text = json.dumps(invoice()).replace('"unit_price": "10"', '"unit_price": 0.1', 1)
    document = parse_json(text)
    assert isinstance(document, SalesInvoice)
    assert document.lines[0].unit_price == Decimal("0.1")
    assert str(document.lines[0].unit_price) == "0.1"


def test_broken_json_is_reported_with_its_position(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"type": "sales_invoice",\n}', encoding="utf-8")
    with pytest.raises(DocumentError) as caught:
        load_document(path)
    assert caught.value.lines() == [
        f"{path}: not valid JSON: a field name in double quotes is expected at line 2, column 1"
    ]
    assert caught.value.lines("sw") == [
        f'{path}: si JSON halali: jina la sehemu ndani ya alama za nukuu (") linatarajiwa '
        "kwenye mstari 2, safuwima 1"
    ]


def test_a_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match=r"cannot read .*nothing\.json: No such file"):
        load_document(tmp_path / "nothing.json")


def test_the_logo_is_found_next_to_the_json_file(tmp_path: Path) -> None:
    (tmp_path / "logo.png").write_bytes((EXAMPLES / "logo.png").read_bytes())
    path = tmp_path / "invoice.json"
    data = invoice()
    data["business"]["logo"] = "logo.png"
    path.write_text(json.dumps(data), encoding="utf-8")
    document = load_document(path)
    assert document.business.logo == str(tmp_path / "logo.png")

    data["business"]["logo"] = "missing.png"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(DocumentError) as caught:
        load_document(path)
    assert words(caught.value.problems) == {
        "business.logo": "must name a PNG or JPEG file of at most 2 MB and 8 million pixels "
        "in the document's folder"
    }


def test_a_logo_can_be_a_data_uri() -> None:
    payload = base64.b64encode((EXAMPLES / "logo.png").read_bytes()).decode()
    data = invoice()
    data["business"]["logo"] = f"data:image/png;base64,{payload}"
    assert parse_document(data).business.logo is not None
    data["business"]["logo"] = "data:image/png;base64,aGVsbG8="
    assert problems(data) == {"business.logo": "the logo must be a PNG or JPEG image"}


def test_the_schema_key_is_allowed_for_editors() -> None:
    data = invoice()
    data["$schema"] = "https://barua.dev/schema/document.schema.json"
    assert parse_document(data).number == "INV-0042"


def test_every_example_is_valid() -> None:
    types = set()
    for path in sorted(EXAMPLES.glob("*.json")):
        types.add(load_document(path).type)
    assert types == set(DocumentType)


def test_the_schema_covers_every_type() -> None:
    schema = document_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    mapping = schema["discriminator"]["mapping"]
    assert set(mapping) == {t.value for t in DocumentType}
    invoice_schema = schema["$defs"]["SalesInvoice"]
    assert {"type", "number", "currency", "issue_date", "business", "party", "lines"} <= set(
        invoice_schema["required"]
    )
    line = schema["$defs"]["Line"]["properties"]
    assert {"description", "quantity", "unit_price", "discount_percent", "tax_rate"} <= set(line)
    json.dumps(schema)  # serialisable as it is
