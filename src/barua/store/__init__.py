"""The businesses barua sends for and their email settings, stored with secrets encrypted.

::

    businesses   SettingsStore: the businesses, their settings and files, in the database
    document     the saved form of one business's settings (also what an export holds)
    statements   the store's SQL
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from barua.lazy import lazy_attributes

if TYPE_CHECKING:
    from barua.store.businesses import DEFAULT_BUSINESS, Business, Saved, SettingsStore
    from barua.store.document import env_values

_LAZY: dict[str, str] = {
    "DEFAULT_BUSINESS": "barua.store.businesses",
    "Business": "barua.store.businesses",
    "Saved": "barua.store.businesses",
    "SettingsStore": "barua.store.businesses",
    "env_values": "barua.store.document",
}

__all__ = ["DEFAULT_BUSINESS", "Business", "Saved", "SettingsStore", "env_values"]

__getattr__, __dir__ = lazy_attributes(__name__, globals(), _LAZY)
