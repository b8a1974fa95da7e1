"""Reading documents from JSON, with one plain message per problem, and the JSON Schema.

>>> parse_document({"type": "sales_invoice", "lines": [{"quantity": "x"}]})  # doctest: +SKIP
DocumentError: number: is required; ...; lines[0].quantity: must be a number; ...

JSON numbers are read as :class:`~decimal.Decimal` straight from their text, so ``0.1`` is
exactly one tenth. Paths in messages count from 0, as in JSON Pointer, jq and JavaScript:
``lines[3]`` is the fourth line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from barua.documents.errors import DocumentError
from barua.documents.models import PROBLEMS, AnyDocument, Document, DocumentType

SCHEMA_ID = "https://barua.dev/schema/document.schema.json"
_TYPES = ", ".join(t.value for t in DocumentType)
_HINT = "Fix the fields named above; `barua document schema` prints every field and its type."


@cache
def _adapter() -> TypeAdapter[AnyDocument]:
    return TypeAdapter(Document)


SCHEMA_KEY = "$schema"
"""The key a JSON file may use to link its schema, for editors; the loader ignores it."""


def document_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of every document, generated from the models.

    What a schema cannot say is left to the loader: dates in order, the logo file, the
    cells of a report against their column's kind, and valid email addresses.
    """
    schema = _adapter().json_schema(mode="validation")
    link = {"type": "string", "description": "The address of this schema, for editors."}
    for reference in schema["discriminator"]["mapping"].values():
        kind = schema["$defs"][reference.removeprefix("#/$defs/")]
        kind["properties"] = {SCHEMA_KEY: link, **kind["properties"]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "barua document",
        "description": "An invoice, quote, order, note, statement or report for barua to "
        "render as PDF and email. `type` says which.",
        **schema,
    }


def _path(location: tuple[int | str, ...]) -> str:
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def _join(base: str, sub: str) -> str:
    if not sub:
        return base
    if sub.startswith("[") or not base:
        return base + sub
    return f"{base}.{sub}"


def _message(error: ErrorDetails) -> str:
    kind = error["type"]
    ctx = error.get("ctx", {})
    messages = {
        "missing": "is required",
        "extra_forbidden": "is not a field of this document (check the spelling)",
        "decimal_parsing": "must be a number",
        "decimal_type": "must be a number",
        "int_parsing": "must be a whole number",
        "int_type": "must be a whole number",
        "string_type": "must be text",
        "list_type": "must be a list",
        "dict_type": "must be an object",
        "model_type": "must be an object",
        "model_attributes_type": "must be an object",
        "bool_type": "must be true or false",
        "bool_parsing": "must be true or false",
        "date_type": "must be a date like 2025-01-31",
        "date_parsing": "must be a date like 2025-01-31",
        "date_from_datetime_parsing": "must be a date like 2025-01-31",
        "date_from_datetime_inexact": "must be a date like 2025-01-31, without a time",
        "finite_number": "must be a finite number",
    }
    if kind in messages:
        return messages[kind]
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if kind == "too_short":
        least = ctx.get("min_length")
        return "must not be empty" if least == 1 else f"must have at least {least} items"
    if kind == "too_long":
        return f"must have at most {ctx.get('max_length')} items"
    if kind in {"greater_than_equal", "greater_than", "less_than_equal", "less_than"}:
        words = {
            "greater_than_equal": "at least",
            "greater_than": "more than",
            "less_than_equal": "at most",
            "less_than": "less than",
        }
        bound = next(iter(ctx.values()), "")
        return f"must be {words[kind]} {bound}"
    if kind == "decimal_max_places":
        return f"must have at most {ctx.get('decimal_places')} decimal places"
    if kind in {"enum", "literal_error"}:
        return f"must be {ctx.get('expected', '')}".replace("'", "")
    if kind == "string_pattern_mismatch":
        return (
            "must be a colour like #1F4E79"
            if "#" in str(ctx.get("pattern"))
            else (f"does not match the pattern {ctx.get('pattern')}")
        )
    if kind == "union_tag_invalid":
        return f'"{ctx.get("tag")}" is not a document type; use one of {_TYPES}'
    if kind == "union_tag_not_found":
        return f"is required: one of {_TYPES}"
    message = str(error["msg"]).removeprefix("Value error, ")
    return message[:1].lower() + message[1:]


def document_problems(error: ValidationError) -> dict[str, str]:
    """One message per problem, keyed by its path in the document (``lines[3].quantity``)."""
    problems: dict[str, str] = {}
    for item in error.errors(include_url=False):
        location = tuple(item["loc"])
        kind = item["type"]
        # The first step of a discriminated union is the type tag itself: not a path.
        if location and location[0] in DocumentType._value2member_map_:
            location = location[1:]
        path = _path(location)
        if kind in {"union_tag_invalid", "union_tag_not_found"}:
            path = "type"
        if kind == PROBLEMS:
            for sub, message in item.get("ctx", {}).get("problems", []):
                problems[_join(path, sub)] = message
            continue
        if kind == "model_attributes_type" and not path:
            problems["document"] = "must be a JSON object"
            continue
        problems.setdefault(path or "document", _message(item))
    return problems


def parse_document(
    data: Mapping[str, Any], *, base_dir: str | Path | None = None, source: str | None = None
) -> AnyDocument:
    """Validate ``data`` (decoded JSON) into a document, or raise DocumentError listing it all.

    ``base_dir`` is where a relative logo path is looked up (the JSON file's folder).
    """
    context = {"base_dir": str(base_dir) if base_dir is not None else None}
    # "$schema" lets editors validate and complete the file; it is not part of the document.
    if isinstance(data, Mapping) and SCHEMA_KEY in data:
        data = {key: value for key, value in data.items() if key != SCHEMA_KEY}
    try:
        return _adapter().validate_python(data, context=context)
    except ValidationError as exc:
        raise DocumentError(document_problems(exc), hint=_HINT, source=source) from None


def parse_json(
    text: str | bytes, *, base_dir: str | Path | None = None, source: str | None = None
) -> AnyDocument:
    """Validate a JSON text into a document; numbers are read as exact decimals."""
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise DocumentError(
            {"": f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"},
            hint="Check the file with a JSON validator; a common slip is a trailing comma.",
            source=source,
        ) from None
    except UnicodeDecodeError:
        raise DocumentError({"": "not UTF-8 text"}, source=source) from None
    if not isinstance(data, dict):
        raise DocumentError({"": "must hold one JSON object"}, source=source)
    return parse_document(data, base_dir=base_dir, source=source)


def load_document(path: str | Path) -> AnyDocument:
    """Read and validate a document from a JSON file."""
    file = Path(path)
    try:
        text = file.read_bytes()
    except OSError as exc:
        raise DocumentError(
            {"": f"cannot read {file}: {exc.strerror}"}, hint="Check the file name."
        ) from None
    return parse_json(text, base_dir=file.resolve().parent, source=str(path))
