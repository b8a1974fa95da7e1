"""Reading documents from JSON, with one plain message per problem, and the JSON Schema.

>>> parse_document({"type": "sales_invoice", "lines": [{"quantity": "x"}]})  # doctest: +SKIP
DocumentError: number: is required; ...; lines[0].quantity: must be a number; ...

JSON numbers are read as :class:`~decimal.Decimal` straight from their text, so ``0.1`` is
exactly one tenth. Paths in messages count from 0, as in JSON Pointer, jq and JavaScript:
``lines[3]`` is the fourth line.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Mapping, Sequence
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from barua.documents import messages
from barua.documents.errors import DocumentError
from barua.documents.models import ONE_PROBLEM, PROBLEMS, AnyDocument, Document, DocumentType
from barua.errors import system_reason
from barua.texts import Message, Text

SCHEMA_ID = "https://barua.dev/schema/document.schema.json"
_TYPES = ", ".join(t.value for t in DocumentType)


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


_SIMPLE: dict[str, Message] = {
    "missing": messages.REQUIRED,
    "extra_forbidden": messages.NOT_A_FIELD,
    "decimal_parsing": messages.NOT_A_NUMBER,
    "decimal_type": messages.NOT_A_NUMBER,
    "int_parsing": messages.NOT_A_WHOLE_NUMBER,
    "int_type": messages.NOT_A_WHOLE_NUMBER,
    "string_type": messages.NOT_TEXT,
    "list_type": messages.NOT_A_LIST,
    "dict_type": messages.NOT_AN_OBJECT,
    "model_type": messages.NOT_AN_OBJECT,
    "model_attributes_type": messages.NOT_AN_OBJECT,
    "bool_type": messages.NOT_A_BOOLEAN,
    "bool_parsing": messages.NOT_A_BOOLEAN,
    "date_type": messages.NOT_A_DATE,
    "date_parsing": messages.NOT_A_DATE,
    "date_from_datetime_parsing": messages.NOT_A_DATE,
    "date_from_datetime_inexact": messages.DATE_WITH_TIME,
    "finite_number": messages.NOT_FINITE,
}
_BOUNDS = {
    "greater_than_equal": messages.AT_LEAST,
    "greater_than": messages.MORE_THAN,
    "less_than_equal": messages.AT_MOST,
    "less_than": messages.LESS_THAN,
}


def _message(error: ErrorDetails) -> Text:
    """What a pydantic error means, in barua's words (and so in the reader's language)."""
    kind = error["type"]
    ctx = error.get("ctx", {})
    if kind in _SIMPLE:
        return _SIMPLE[kind]()
    if kind == ONE_PROBLEM and isinstance(ctx.get("text"), Text):
        return ctx["text"]  # type: ignore[no-any-return]
    if kind == "string_too_short":
        return messages.EMPTY()
    if kind == "string_too_long":
        return messages.TOO_LONG_TEXT(limit=ctx.get("max_length"))
    if kind == "too_short":
        least = ctx.get("min_length")
        return messages.EMPTY() if least == 1 else messages.TOO_FEW_ITEMS(limit=least)
    if kind == "too_long":
        return messages.TOO_MANY_ITEMS(limit=ctx.get("max_length"))
    if kind in _BOUNDS:
        return _BOUNDS[kind](bound=next(iter(ctx.values()), ""))
    if kind == "decimal_max_places":
        return messages.DECIMAL_PLACES(places=ctx.get("decimal_places"))
    if kind in {"enum", "literal_error"}:
        return messages.ONE_OF(choices=str(ctx.get("expected", "")).replace("'", ""))
    if kind == "string_pattern_mismatch":
        if "#" in str(ctx.get("pattern")):
            return messages.NOT_A_COLOUR()
        return messages.NO_PATTERN(pattern=ctx.get("pattern"))
    if kind == "union_tag_invalid":
        return messages.NOT_A_TYPE(value=ctx.get("tag"), types=_TYPES)
    if kind == "union_tag_not_found":
        return messages.TYPE_REQUIRED(types=_TYPES)
    # A message of pydantic's own that barua has no words for: shown as pydantic says it.
    reason = str(error["msg"]).removeprefix("Value error, ")
    return messages.INVALID(reason=reason[:1].lower() + reason[1:])


def document_problems(error: ValidationError) -> dict[str, Text]:
    """One message per problem, keyed by its path in the document (``lines[3].quantity``)."""
    problems: dict[str, Text] = {}
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
            problems["document"] = messages.NOT_A_JSON_OBJECT()
            continue
        problems.setdefault(path or "document", _message(item))
    return problems


MAX_DEPTH = 32
"""How deeply a document's JSON may nest objects and lists; a document needs 6 levels."""

MAX_DOCUMENT_BYTES = 64_000_000
"""The largest document file: ten times the largest statement or report barua prints."""


def _too_deep(data: Any) -> bool:
    """Whether ``data`` nests lists and objects deeper than :data:`MAX_DEPTH` (walked
    without recursion, so a deep one costs no stack)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, Mapping):
            children: Any = value.values()
        elif isinstance(value, list | tuple):
            children = value
        else:
            continue
        if depth > MAX_DEPTH:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def parse_document(
    data: Mapping[str, Any],
    *,
    base_dir: str | Path | None = None,
    source: str | None = None,
    logo_folders: Sequence[str | Path] = (),
) -> AnyDocument:
    """Validate ``data`` (decoded JSON) into a document, or raise DocumentError listing it all.

    ``base_dir`` is the document's folder (the JSON file's; the current folder when None): a
    relative logo path is looked up there, and a logo file must lie there or in one of
    ``logo_folders`` (:mod:`barua.documents.logos`).
    """
    context = {
        "base_dir": str(base_dir) if base_dir is not None else None,
        "logo_folders": tuple(str(folder) for folder in logo_folders),
    }
    if _too_deep(data):
        raise DocumentError({"": messages.TOO_DEEP(limit=MAX_DEPTH)}, source=source)
    # "$schema" lets editors validate and complete the file; it is not part of the document.
    if isinstance(data, Mapping) and SCHEMA_KEY in data:
        data = {key: value for key, value in data.items() if key != SCHEMA_KEY}
    try:
        return _adapter().validate_python(data, context=context)
    except ValidationError as exc:
        raise DocumentError(document_problems(exc), hint=messages.HINT(), source=source) from None


def parse_json(
    text: str | bytes,
    *,
    base_dir: str | Path | None = None,
    source: str | None = None,
    logo_folders: Sequence[str | Path] = (),
) -> AnyDocument:
    """Validate a JSON text into a document; numbers are read as exact decimals (integers
    too, so that one of 5,000 digits is a number too large, not a crash)."""
    try:
        data = json.loads(text, parse_float=Decimal, parse_int=Decimal)
    except json.JSONDecodeError as exc:
        raise DocumentError(
            {
                "": messages.NOT_JSON(
                    reason=_json_reason(exc.msg), line=exc.lineno, column=exc.colno
                )
            },
            hint=messages.NOT_JSON_HINT(),
            source=source,
        ) from None
    except UnicodeDecodeError:
        raise DocumentError({"": messages.NOT_UTF8()}, source=source) from None
    except RecursionError:  # nested deeper than the parser's stack goes
        raise DocumentError({"": messages.TOO_DEEP(limit=MAX_DEPTH)}, source=source) from None
    if not isinstance(data, dict):
        raise DocumentError({"": messages.NOT_ONE_OBJECT()}, source=source)
    return parse_document(data, base_dir=base_dir, source=source, logo_folders=logo_folders)


def _json_reason(said: str) -> Text | str:
    """The parser's reason, as a text the reader's language has when barua knows it."""
    known = messages.JSON_REASONS.get(said)
    return known() if known is not None else said


def load_document(path: str | Path, *, logo_folders: Sequence[str | Path] = ()) -> AnyDocument:
    """Read and validate a document from a JSON file.

    A logo file must lie in the file's folder or in one of ``logo_folders``. Only a regular
    file of at most :data:`MAX_DOCUMENT_BYTES` is read: a FIFO is refused, not waited on.
    """
    file = Path(path)
    try:
        text = _read_document(file)
    except OSError as exc:
        problem = messages.CANNOT_READ(path=file, reason=system_reason(exc))
        raise DocumentError({"": problem}, hint=messages.CANNOT_READ_HINT()) from None
    if isinstance(text, Text):
        raise DocumentError({"": text}, source=str(path))
    return parse_json(
        text, base_dir=file.resolve().parent, source=str(path), logo_folders=logo_folders
    )


def _read_document(file: Path) -> bytes | Text:
    """The bytes of ``file``, or what is wrong with it: not a regular file, or too large
    (without waiting on a FIFO). OSError when it cannot be opened or read."""
    descriptor = os.open(file, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        status = os.fstat(descriptor)
        if stat.S_ISDIR(status.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
        if not stat.S_ISREG(status.st_mode):
            return messages.NOT_A_FILE()
        too_large = messages.DOCUMENT_TOO_LARGE(megabytes=MAX_DOCUMENT_BYTES // 1_000_000)
        if status.st_size > MAX_DOCUMENT_BYTES:
            return too_large
        os.set_blocking(descriptor, True)
        with os.fdopen(descriptor, "rb", closefd=False) as stream:
            data = stream.read(MAX_DOCUMENT_BYTES + 1)
        return too_large if len(data) > MAX_DOCUMENT_BYTES else data
    finally:
        os.close(descriptor)
