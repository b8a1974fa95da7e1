"""Words for people, kept as codes with values until they are shown.

Every message a person can read is declared once, with a stable code and its English
wording, which is also its key in the Kiswahili catalog::

    KEY_MISSING = Message("secrets.key_missing", "The secret key is missing: {path} ...")
    raise StoreError(KEY_MISSING(path=home / "secret.key"))

An error carries the :class:`Text` (code and values) rather than a finished sentence; the face
that shows it renders it in the language of the person reading (:meth:`Text.render`), and a
program reads its ``code`` and ``params``. Values that are themselves texts (a field's label,
a reason) are rendered in the same language.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import Any

from barua.i18n import translator

_DECLARED: dict[str, Message] = {}


def _fields(template: str) -> frozenset[str]:
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name)


@dataclass(frozen=True, slots=True)
class Text:
    """A message to show: its code, its English template and the values to fill in."""

    code: str
    template: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def render(self, lang: str | None = None) -> str:
        """The text in ``lang`` (English when None or not spoken by barua)."""
        template = translator(lang).gettext(self.template) if lang not in (None, "en") else None
        values = {
            name: field_name(value, lang) if name == FIELD else _rendered(value, lang)
            for name, value in self.params.items()
        }
        return (template or self.template).format(**values)

    def __str__(self) -> str:
        return self.render()

    def to_dict(self) -> dict[str, Any]:
        """The code and values as JSON-ready data, for programs."""
        return {"code": self.code, "params": {k: plain(v) for k, v in self.params.items()}}

    def dumps(self) -> str:
        """The text as JSON, to be kept (in the outbox) and rendered later in any language:
        its code, its English template (the catalog's key) and its values, texts among them
        kept as texts."""
        return json.dumps(_stored(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def loads(cls, data: str) -> Text:
        """The text :meth:`dumps` kept; raises ValueError when ``data`` is not one."""
        try:
            found = _restored(json.loads(data))
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a stored text: {exc}") from None
        if not isinstance(found, Text):
            raise ValueError("not a stored text")
        return found


def _stored(value: Any) -> Any:
    if isinstance(value, Text):
        return {
            "$text": {
                "code": value.code,
                "template": value.template,
                "params": {name: _stored(item) for name, item in value.params.items()},
            }
        }
    if isinstance(value, tuple) and value and all(isinstance(item, Text) for item in value):
        return {"$texts": [_stored(item) for item in value]}
    return plain(value)


def _restored(value: Any) -> Any:
    if isinstance(value, dict) and "$text" in value:
        found = value["$text"]
        params = {name: _restored(item) for name, item in found["params"].items()}
        return Text(str(found["code"]), str(found["template"]), params)
    if isinstance(value, dict) and "$texts" in value:
        return tuple(_restored(item) for item in value["$texts"])
    return value


FIELD = "field"
"""The placeholder, and the catalog's context, of the name of a field a message is about: a
setting (``port``) or a part of an email (``to``). The code names fields by their names in
settings files and programs; a reader of another language reads the field's name in their
words, the name itself beside it (``lango (port)``). Names are marked for the catalog with
``NC_("field", "port")`` where they are defined."""


def field_name(name: Any, lang: str | None = None) -> Any:
    """The name of field ``name`` as a reader of ``lang`` reads it; the name itself in English,
    and for a name the catalog does not hold."""
    if not isinstance(name, str) or lang in (None, "en"):
        return _rendered(name, lang)
    return translator(lang).pgettext(FIELD, name)


def _rendered(value: Any, lang: str | None) -> Any:
    if isinstance(value, Text):
        return value.render(lang)
    if isinstance(value, tuple) and value and all(isinstance(item, Text) for item in value):
        # Several problems in one message: each in the reader's language.
        return "; ".join(item.render(lang) for item in value)
    return value


def plain(value: Any) -> Any:
    """``value`` as JSON can hold it: texts by their English words, paths and dates as text."""
    if isinstance(value, Text):
        return value.render()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, PurePath | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return str(value)


class Message:
    """A message declared once: ``Message(code, english)``; calling it with the values of its
    placeholders gives the :class:`Text` to raise or show.

    The English template is the catalog's key: the extraction of the catalog reads the
    second argument of every ``Message(...)``.
    """

    __slots__ = ("code", "fields", "template")
    code: str
    template: str
    fields: frozenset[str]

    def __init__(self, code: str, template: str) -> None:
        if code in _DECLARED and _DECLARED[code].template != template:
            raise ValueError(f"the message code {code!r} is declared twice")
        self.code = code
        self.template = template
        self.fields = _fields(template)
        _DECLARED[code] = self

    def __call__(self, **params: Any) -> Text:
        missing = self.fields - params.keys()
        if missing:
            raise TypeError(f"{self.code} needs {', '.join(sorted(missing))}")
        return Text(self.code, self.template, params)

    def __repr__(self) -> str:
        return f"Message({self.code!r})"


def declared() -> Mapping[str, Message]:
    """Every message declared so far, by code (for the catalog's tests)."""
    return dict(_DECLARED)


def untranslated(text: str) -> Text:
    """Text that is shown as it is in every language: what a server or a person wrote."""
    return Text("verbatim", "{text}", {"text": text})


def joined(code: str, texts: tuple[Text, ...]) -> Text:
    """Several texts shown as one, separated by semicolons, each in the reader's language."""
    return Text(code, "{items}", {"items": texts})
