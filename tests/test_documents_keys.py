"""The idempotency key: one per document content, whatever the JSON spelling."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

from barua.documents import canonical_json, idempotency_key, load_document, parse_json

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_the_key_names_the_type_and_number() -> None:
    key = idempotency_key(load_document(EXAMPLES / "invoice.json"))
    assert re.fullmatch(r"sales_invoice:INV-0042:[0-9a-f]{64}", key)


def test_the_same_content_gives_the_same_key_however_spelled() -> None:
    data = json.loads((EXAMPLES / "invoice-sw.json").read_text(encoding="utf-8"))
    data["business"]["logo"] = None
    first = parse_json(json.dumps(data))
    # Keys reordered, numbers written differently, a default given explicitly.
    respelled = dict(reversed(list(data.items())))
    respelled["lines"] = [dict(line) for line in data["lines"]]
    respelled["lines"][0]["unit_price"] = "72000.000"
    respelled["lines"][0]["discount_percent"] = 0
    respelled["amount_paid"] = 1e6
    second = parse_json(json.dumps(respelled, indent=4))
    assert canonical_json(first) == canonical_json(second)
    assert idempotency_key(first) == idempotency_key(second)


def test_any_change_changes_the_key() -> None:
    document = load_document(EXAMPLES / "invoice.json")
    line = document.lines[0].model_copy(update={"quantity": document.lines[0].quantity + 1})
    changed = document.model_copy(update={"lines": [line, *document.lines[1:]]})
    assert idempotency_key(changed) != idempotency_key(document)
    assert idempotency_key(document.model_copy(update={"number": "INV-0043"})).startswith(
        "sales_invoice:INV-0043:"
    )


def test_reports_without_a_number_have_a_key() -> None:
    key = idempotency_key(load_document(EXAMPLES / "report-aged-receivables.json"))
    assert re.fullmatch(r"report::[0-9a-f]{64}", key)


def _copy_with_logo(folder: Path, logo: bytes) -> Path:
    """The example invoice and a logo beside it in ``folder``, as an export writes them."""
    folder.mkdir()
    (folder / "logo.png").write_bytes(logo)
    target = folder / "invoice.json"
    target.write_text((EXAMPLES / "invoice.json").read_text(encoding="utf-8"), encoding="utf-8")
    return target


def test_the_same_document_in_two_folders_has_one_key(tmp_path: Path) -> None:
    logo = (EXAMPLES / "logo.png").read_bytes()
    monday = load_document(_copy_with_logo(tmp_path / "monday", logo))
    tuesday = load_document(_copy_with_logo(tmp_path / "tuesday", logo))
    assert monday.business.logo != tuesday.business.logo  # two files...
    assert idempotency_key(monday) == idempotency_key(tuesday)  # ...one document
    assert str(tmp_path) not in canonical_json(monday)


def test_another_logo_is_another_version(tmp_path: Path) -> None:
    logo = (EXAMPLES / "logo.png").read_bytes()
    before = load_document(_copy_with_logo(tmp_path / "before", logo))
    after = load_document(_copy_with_logo(tmp_path / "after", logo + b"\0"))
    assert idempotency_key(before) != idempotency_key(after)


def test_a_logo_inline_or_in_a_file_is_one_logo(tmp_path: Path) -> None:
    logo = (EXAMPLES / "logo.png").read_bytes()
    in_file = load_document(_copy_with_logo(tmp_path / "file", logo))
    uri = "data:image/png;base64," + base64.b64encode(logo).decode("ascii")
    inline = in_file.model_copy(
        update={"business": in_file.business.model_copy(update={"logo": uri})}
    )
    assert idempotency_key(inline) == idempotency_key(in_file)
