"""The application layer: every use case of barua, one method each, for every face.

The command line, the web app and the relay parse what a person or a program asked, call
:class:`Barua`, and show the result; none holds business logic of its own. A use case takes
the business it concerns and, where it answers in words, the language; errors are codes with
values (:class:`~barua.texts.Text`), rendered by the face in the reader's language.

>>> from barua.app import Barua, Environment
>>> with Barua(Environment.from_environ()) as app:               # doctest: +SKIP
...     shop = app.business("Duka la Amani")
...     app.save_settings(shop, {"host": "smtp.example.com", "username": "duka@example.com",
...                              "password": "app-password"})
...     outcome = app.test_email(shop, to="owner@example.com", lang="sw")

Names load on first use, so a face imports this package without loading the database, PDF or
SMTP machinery (``barua --help`` stays fast).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from barua.lazy import lazy_attributes

if TYPE_CHECKING:
    from barua.app.application import Barua
    from barua.environment import Environment
    from barua.settings import Settings
    from barua.store.businesses import Business

_LAZY: dict[str, str] = {
    "Barua": "barua.app.application",
    "Business": "barua.store.businesses",
    "Environment": "barua.environment",
    "Settings": "barua.settings",
}

__all__ = ["Barua", "Business", "Environment", "Settings"]

__getattr__, __dir__ = lazy_attributes(__name__, globals(), _LAZY)
