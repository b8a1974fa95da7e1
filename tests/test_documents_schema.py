"""The published JSON Schema (`barua document schema`) and the loader agree on what a document is:
every example passes both, and each kind of mistake is refused by both."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from barua.documents import DocumentError, parse_document
from barua.documents.loading import SCHEMA_ID
from tests.conftest import words

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.json"))
BARUA = str(Path(sys.executable).with_name("barua"))


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    """The schema exactly as the command publishes it."""
    result = subprocess.run(
        [BARUA, "document", "schema"], capture_output=True, text=True, timeout=60, check=True
    )
    published: dict[str, Any] = json.loads(result.stdout)
    Draft202012Validator.check_schema(published)
    return published


def invoice(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": "sales_invoice",
        "number": "INV-0042",
        "currency": "TZS",
        "issue_date": "2025-03-03",
        "business": {"name": "Baobab Studio Ltd"},
        "party": {"name": "Café Zürich AG", "emails": ["ap@cafe.example"]},
        "lines": [{"description": f"item {n}", "unit_price": "10"} for n in range(4)],
    }
    data.update(changes)
    return data


def schema_errors(schema: dict[str, Any], data: dict[str, Any]) -> set[str]:
    """Where the schema finds fault, as the loader names paths (``lines[3].quantity``).

    The document is checked against its own type's part of the schema, so that the other
    nine types' "type is not ..." complaints do not hide what is wrong with it.
    """
    own = copy.deepcopy(schema)
    reference = own["discriminator"]["mapping"].get(data.get("type"))
    if reference is not None:
        del own["oneOf"], own["discriminator"]
        own["$ref"] = reference
    paths: set[str] = set()
    stack = list(Draft202012Validator(own).iter_errors(data))
    while stack:
        error = stack.pop()
        if error.context:  # anyOf/oneOf: the alternatives' own failures
            stack.extend(error.context)
            continue
        path = ""
        for part in error.absolute_path:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        if error.validator == "additionalProperties":
            extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
            path = ".".join(p for p in (path, *extra) if p)
        elif error.validator == "required":
            missing = str(error.message).split("'")[1]
            path = ".".join(p for p in (path, missing) if p)
        paths.add(path or "document")
    return paths


def loader_problems(data: dict[str, Any]) -> dict[str, str]:
    try:
        parse_document(data, base_dir=EXAMPLES)
    except DocumentError as exc:
        return words(exc.problems)
    return {}


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_every_example_passes_the_published_schema(schema: dict[str, Any], path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert list(Draft202012Validator(schema).iter_errors(data)) == []
    assert loader_problems(data) == {}


def test_a_file_that_links_its_schema_passes_it(schema: dict[str, Any]) -> None:
    data = invoice(**{"$schema": SCHEMA_ID})
    assert Draft202012Validator(schema).is_valid(data)
    assert loader_problems(data) == {}


def _line(index: int, **changes: Any) -> dict[str, Any]:
    data = invoice()
    data["lines"][index].update(changes)
    return data


def _without(key: str) -> dict[str, Any]:
    data = invoice()
    del data[key]
    return data


def _report_cell(value: Any) -> dict[str, Any]:
    return {
        "type": "report",
        "title": "Sales by region",
        "currency": "USD",
        "issue_date": "2025-03-31",
        "business": {"name": "Baobab Studio Ltd"},
        "tables": [
            {
                "columns": [{"label": "Region"}, {"label": "Sales", "kind": "money"}],
                "rows": [["Arusha", "1200.50"], ["Moshi", value]],
            }
        ],
    }


def _statement_debit(value: Any) -> dict[str, Any]:
    data = invoice(type="statement")
    del data["lines"]
    data["transactions"] = [{"date": "2025-03-01", "description": "Invoice 1", "debit": value}]
    return data


BAD = {
    "quantity is a word": (_line(3, quantity="three"), "lines[3].quantity", "must be a number"),
    "price in exponent notation": (_line(0, unit_price="1e3"), "lines[0].unit_price", None),
    "price with spaces": (_line(1, unit_price=" 10 "), "lines[1].unit_price", None),
    "price with a comma": (_line(1, unit_price="10,50"), "lines[1].unit_price", None),
    "tax rate over 100 as text": (
        _line(2, tax_rate="120"),
        "lines[2].tax_rate",
        "must be at most 100",
    ),
    "tax rate over 100": (_line(2, tax_rate=120), "lines[2].tax_rate", "must be at most 100"),
    "negative discount": (
        _line(0, discount_percent=-5),
        "lines[0].discount_percent",
        "must be at least 0",
    ),
    "negative amount paid": (invoice(amount_paid="-10"), "amount_paid", "must be at least 0"),
    "unknown currency": (
        invoice(currency="XYZ"),
        "currency",
        '"XYZ" is not a currency code; use ISO 4217, e.g. TZS, KES, USD, EUR',
    ),
    "missing number": (_without("number"), "number", "is required"),
    "missing lines": (_without("lines"), "lines", "is required"),
    "no lines": (invoice(lines=[]), "lines", "must not be empty"),
    "unknown field": (
        _line(1, quantiy=2),
        "lines[1].quantiy",
        "is not a field of this document (check the spelling)",
    ),
    "unknown top-level field": (
        invoice(discount="5"),
        "discount",
        "is not a field of this document (check the spelling)",
    ),
    "unknown type": (invoice(type="bill"), "document", None),
    "report cell true": (_report_cell(True), "tables[0].rows[1][1]", "must be a number"),
    "negative statement debit": (
        _statement_debit("-5"),
        "transactions[0].debit",
        "must be at least 0",
    ),
}


@pytest.mark.parametrize("name", list(BAD))
def test_a_mistake_is_refused_by_the_schema_and_the_loader(
    schema: dict[str, Any], name: str
) -> None:
    data, path, message = BAD[name]
    assert not Draft202012Validator(schema).is_valid(data)
    if data["type"] != "bill":
        assert path in schema_errors(schema, data)
    problems = loader_problems(data)
    key = "type" if path == "document" else path
    assert key in problems, problems
    if message is not None:
        assert problems[key] == message


# Numbers written as text: every spelling is accepted by both or refused by both. ("18\n" is
# left out: Python's re lets "$" match before a final newline, unlike the ECMA-262 regular
# expressions JSON Schema specifies and editors use; the loader refuses it.)
SPELLINGS = [
    "18", "18.5", "0", "0.000", "100", "100.00", "007", "-0", "-0.00", "-1", "-12.50",
    "100.01", "120", "1000", "1e1", "1E+2", " 18", "18 ", "+18", ".5", "5.", "1_0", "\uff11\uff18",
    "NaN", "Infinity", "", "-", "18%", "0x10",
    # the bounds: 15 digits before the point, 10 after it (zeros aside)
    "999999999999999", "1000000000000000", "-999999999999999.9999999999", "0001000000000000000",
    "000999999999999999", "1.1234567890", "1.12345678901", "1.12345678900000", "12.0000000000001",
    "123456789012345678901234567890",
]  # fmt: skip


@pytest.mark.parametrize(
    ("field", "where"),
    [
        ("tax_rate", "line"),
        ("discount_percent", "line"),
        ("quantity", "line"),
        ("unit_price", "line"),
        ("amount_paid", "document"),
    ],
)
def test_the_schema_and_the_loader_read_numbers_as_text_alike(
    schema: dict[str, Any], field: str, where: str
) -> None:
    disagreements = []
    for spelling in SPELLINGS:
        data = _line(0, **{field: spelling}) if where == "line" else invoice(**{field: spelling})
        if field == "quantity":  # quantity x unit_price has the bound of a number, too
            data["lines"][0]["unit_price"] = "1"
        by_schema = not schema_errors(schema, data)
        by_loader = not loader_problems(data)
        if by_schema != by_loader:
            disagreements.append((spelling, f"schema {by_schema}, loader {by_loader}"))
    assert disagreements == []


@pytest.mark.parametrize(
    "number", [999_999_999_999_999, 10**15, -(10**15), 10**24, 1e24, -1e28, 0.5, -12]
)
def test_the_schema_and_the_loader_bound_numbers_alike(schema: dict[str, Any], number: Any) -> None:
    for data in (_line(0, unit_price=number), invoice(amount_paid=abs(number))):
        by_schema = not schema_errors(schema, data)
        by_loader = not loader_problems(data)
        assert by_schema == by_loader == (abs(number) < 10**15), (number, loader_problems(data))


def test_currencies_are_listed_in_the_schema(schema: dict[str, Any]) -> None:
    codes = schema["$defs"]["SalesInvoice"]["properties"]["currency"]["enum"]
    assert {"TZS", "KES", "UGX", "USD", "EUR", "JPY", "BHD"} <= set(codes)
    assert all(len(code) == 3 and code.isupper() for code in codes)
    for code in codes:
        assert "currency" not in loader_problems(invoice(currency=code)), code
