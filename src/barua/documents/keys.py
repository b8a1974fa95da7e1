"""A stable key per document, so that sending the same document twice is noticed (pure).

The outbox refuses a second message with the same key: a double click in the web app, a
retried API call or a script run twice then send one email, not two.

The logo counts by its content, not by where it lies: the same invoice exported to a new
folder every night (its logo beside it) keeps its key, while a new logo gives a new one.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from decimal import Decimal
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import Any

from barua.documents.logos import MAX_LOGO_BYTES, read_regular_file
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


@lru_cache(maxsize=64)
def _file_digest(path: str, mtime_ns: int, size: int) -> str:
    data = read_regular_file(path, MAX_LOGO_BYTES)
    if data is None:  # no longer a logo barua would read: rendering will say so
        return "name:" + Path(path).name
    return "sha256:" + hashlib.sha256(data).hexdigest()


def logo_digest(logo: str) -> str:
    """What the key holds for a logo: a hash of its bytes, wherever the file lies.

    A data URI counts by the image it holds, so the same picture as a file or inline is one
    logo. A file that cannot be read (it was there when the document was read) counts by its
    name, which still ignores the folder it lies in.
    """
    if logo.startswith("data:"):
        return "sha256:" + hashlib.sha256(base64.b64decode(logo.split(",", 1)[1])).hexdigest()
    try:
        stat = Path(logo).stat()
        return _file_digest(logo, stat.st_mtime_ns, stat.st_size)
    except OSError:
        return "name:" + Path(logo).name


def canonical_json(document: AnyDocument) -> str:
    """The document's content as compact JSON with sorted keys and normalised numbers.

    Fields left at their defaults are omitted, so adding an optional field to a later
    version of barua does not change the key of an existing document. The logo is given
    by a hash of its bytes (:func:`logo_digest`), not by its path.
    """
    data = _canonical(document.model_dump(mode="python", exclude_defaults=True))
    logo = document.business.logo
    if logo is not None:
        data["business"]["logo"] = logo_digest(logo)
    data["type"] = document.type.value  # a default-less Literal, but keep it explicit
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def idempotency_key(document: AnyDocument) -> str:
    """``type:number:sha256`` of the document's content, e.g. ``sales_invoice:INV-0042:9f2c…``.

    Equal for two documents with the same content, however their JSON was spelled;
    different as soon as any value differs (a line, a date, an amount).
    """
    digest = hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()
    return f"{document.type.value}:{document.number or ''}:{digest}"
