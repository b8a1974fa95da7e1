"""The saved form of a business's settings (pure: no I/O).

One JSON document per business, kept in the database and written out by ``barua settings
export``; an earlier barua kept it as ``$BARUA_HOME/settings.json``::

    {"format": 1, "settings": {"host": "smtp.example.com", "port": 587, ...,
                               "password": {"fernet": "gAAAAAB..."}}}

Only the secret fields (:data:`~barua.settings.SECRET_FIELDS`) are encrypted; the rest stays
readable so a person can check what is saved.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from barua.environment import SETTINGS_VARIABLES
from barua.errors import SettingsError, StoreError
from barua.settings import SECRET_FIELDS, Settings
from barua.store.errors import (
    DAMAGED_HINT,
    NEWER_FORMAT,
    NEWER_FORMAT_HINT,
    NOT_A_BOOLEAN,
    NOT_JSON,
    NOT_UTF8,
    SECRET_IN_CLEAR,
    SECRET_IN_CLEAR_HINT,
    UNKNOWN_FORMAT,
    fix_variables,
)

FORMAT = 1
_BOOLEANS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}


@dataclass(frozen=True, slots=True)
class SavedSettings:
    """A settings document as read: the plain values, and the secrets still encrypted."""

    values: dict[str, Any]
    tokens: dict[str, str] = field(default_factory=dict)
    """Each secret field's Fernet token."""


def parse(data: bytes | str, *, source: str) -> SavedSettings:
    """Read a settings document; ``source`` names where it came from in errors."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        document = json.loads(text)
    except UnicodeDecodeError:
        raise StoreError(NOT_UTF8(source=source), hint=DAMAGED_HINT()) from None
    except json.JSONDecodeError as exc:
        raise StoreError(
            NOT_JSON(source=source, reason=exc.msg, line=exc.lineno, column=exc.colno),
            hint=DAMAGED_HINT(),
        ) from None
    version = document.get("format") if isinstance(document, dict) else None
    if isinstance(version, bool) or not isinstance(version, int):
        version = None  # JSON true would otherwise pass for format 1
    if version is not None and version > FORMAT:
        raise StoreError(NEWER_FORMAT(source=source, version=version), hint=NEWER_FORMAT_HINT())
    if version != FORMAT or not isinstance(document.get("settings"), dict):
        raise StoreError(UNKNOWN_FORMAT(source=source), hint=DAMAGED_HINT())
    values = dict(document["settings"])
    tokens: dict[str, str] = {}
    for name in SECRET_FIELDS:
        stored = values.pop(name, None)
        if stored is None:
            continue
        if not (isinstance(stored, dict) and isinstance(stored.get("fernet"), str)):
            raise StoreError(
                SECRET_IN_CLEAR(source=source, field=name), hint=SECRET_IN_CLEAR_HINT(field=name)
            )
        tokens[name] = stored["fernet"]
    return SavedSettings(values, tokens)


def encode(settings: Settings, tokens: Mapping[str, str]) -> str:
    """The document of ``settings`` with ``tokens`` as its secrets (already encrypted)."""
    values = settings.model_dump(mode="json", exclude=set(SECRET_FIELDS))
    values.update({name: {"fernet": token} for name, token in tokens.items()})
    return json.dumps({"format": FORMAT, "settings": values}, indent=2, ensure_ascii=False) + "\n"


def env_values(overrides: Mapping[str, str]) -> dict[str, Any]:
    """The settings given by the ``BARUA_*`` variables in ``overrides``, by field.

    Blank variables count as unset: in a compose file ``BARUA_SMTP_PASSWORD=${PASSWORD}``
    with PASSWORD unset must not wipe the saved password. Values stay text for
    :func:`~barua.settings.make_settings` to check, except booleans (1/0, true/false, yes/no)
    and choices, which are read case-insensitively.
    """
    values: dict[str, Any] = {}
    problems: dict[str, Any] = {}
    wrong: list[str] = []
    for variable, name in SETTINGS_VARIABLES.items():
        raw = overrides.get(variable)
        if raw is None or not raw.strip():
            continue
        kind = Settings.model_fields[name].annotation
        if kind is bool:
            word = raw.strip().lower()
            if word not in _BOOLEANS:
                problems[name] = NOT_A_BOOLEAN(variable=variable, field=name)
                wrong.append(variable)
                continue
            values[name] = _BOOLEANS[word]
        elif isinstance(kind, type) and issubclass(kind, StrEnum):
            values[name] = raw.strip().lower()
        else:
            values[name] = raw
    if problems:
        raise SettingsError(
            problems,
            hint=fix_variables(wrong),
        )
    return values
