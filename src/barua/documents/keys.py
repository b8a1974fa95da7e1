"""A stable key per document, so that sending the same document twice is noticed (pure).

The outbox refuses a second message with the same key: a double click in the web app, a
retried API call or a script run twice then send one email, not two.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal
from enum import Enum
from typing import Any

from barua.documents.models import AnyDocument


def _canonical(value: Any) -> Any:
    """Plain JSON values with one spelling per meaning: ``1.50`` and ``1.5`` are one number."""
    if isinstance(value, dict):
        return {key: _canonical(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return "0" if text in {"-0", "0"} else text
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def canonical_json(document: AnyDocument) -> str:
    """The document's content as compact JSON with sorted keys and normalised numbers.

    Fields left at their defaults are omitted, so adding an optional field to a later
    version of barua does not change the key of an existing document.
    """
    data = _canonical(document.model_dump(mode="python", exclude_defaults=True))
    data["type"] = document.type.value  # a default-less Literal, but keep it explicit
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def idempotency_key(document: AnyDocument) -> str:
    """``type:number:sha256`` of the document's content, e.g. ``sales_invoice:INV-0042:9f2c…``.

    Equal for two documents with the same content, however their JSON was spelled;
    different as soon as any value differs (a line, a date, an amount).
    """
    digest = hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()
    return f"{document.type.value}:{document.number or ''}:{digest}"
