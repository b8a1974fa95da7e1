"""The web app (``barua serve``): the email settings form, the test email, documents with
their Email button, the outbox, and a JSON API for business programs.

The web layer parses requests, calls the application layer (:class:`barua.app.Barua`) and
renders pages with Jinja2 on the server; it holds no business logic of its own. Every text
goes through the catalog, in English and Kiswahili.

>>> from barua.web import create_app
>>> app = create_app(barua, WebOptions(allowed_hosts=("127.0.0.1", "localhost")))  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from barua.lazy import lazy_attributes

if TYPE_CHECKING:
    from barua.web.app import create_app
    from barua.web.options import WebOptions

_LAZY: dict[str, str] = {"create_app": "barua.web.app", "WebOptions": "barua.web.options"}

__all__ = ["WebOptions", "create_app"]

__getattr__, __dir__ = lazy_attributes(__name__, globals(), _LAZY)
