"""One request as the pages see it: who is signed in, in which language, with which business,
and how to answer (a page, a redirect, a form refused)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from barua.web.i18n import LANGUAGE_COOKIE, gettext_for, negotiate, render
from barua.web.security import cross_site, same_token

if TYPE_CHECKING:
    from barua.app import Barua, Business
    from barua.app.users import Session
    from barua.web.options import WebOptions

SESSION_COOKIE = "barua_session"
FORM_COOKIE = "barua_form"
"""Before signing in there is no session: the login and setup forms carry this cookie's
random value back (double submit), so another site cannot sign someone in to its account."""


class SignInNeeded(Exception):
    """Raised by a page that needs a signed-in user; answered with the login page."""

    def __init__(self, then: str) -> None:
        self.then = then


class FormRefused(Exception):
    """A form that did not come from barua's own page (CSRF), or from another site."""


@dataclass
class Visit:
    """The request, the application, the signed-in user's session (if any) and the language."""

    request: Request
    barua: Barua
    options: WebOptions
    session: Session | None
    token: str | None
    lang: str
    cookies: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    """Cookies to set on the answer: name → (value, max age; None for the session's)."""

    # Who ---------------------------------------------------------------------------------------

    @property
    def signed_in(self) -> bool:
        return self.session is not None

    def require_user(self) -> Session:
        if self.session is None:
            url = self.request.url
            raise SignInNeeded(url.path + (f"?{url.query}" if url.query else ""))
        return self.session

    @property
    def address(self) -> str:
        """The address the request came from, for slowing down password guessing."""
        client = self.request.client
        return client.host if client is not None else "unknown"

    def business(self, key: str | None) -> Business:
        """The business of a page's URL (its key), or the default one."""
        businesses = self.barua.businesses()
        for business in businesses:
            if business.key == key:
                return business
        return self.barua.business(None) if key is None else _unknown(key)

    # Words -------------------------------------------------------------------------------------

    def _(self, text: str, **values: Any) -> str:
        return gettext_for(self.lang)(text, **values)

    # Forms -------------------------------------------------------------------------------------

    async def form(self) -> dict[str, str]:
        """The posted form's fields, once checked to come from barua's own page."""
        posted = await self.request.form()
        values = {name: value for name, value in posted.items() if isinstance(value, str)}
        self.check_origin()
        expected = (
            self.session.csrf_token
            if self.session is not None
            else self.request.cookies.get(FORM_COOKIE)
        )
        if expected is None or not same_token(values.get("csrf_token"), expected):
            raise FormRefused
        return values

    def check_origin(self) -> None:
        if cross_site(self.request.headers, allowed_hosts=self.options.allowed_hosts):
            raise FormRefused

    def check_header_token(self) -> None:
        """For requests sent by the pages' script: the CSRF token in a header."""
        self.check_origin()
        if self.session is None or not same_token(
            self.request.headers.get("x-csrf-token"), self.session.csrf_token
        ):
            raise FormRefused

    def form_token(self) -> str:
        """The token a form carries: the session's, or before signing in a cookie's."""
        if self.session is not None:
            return self.session.csrf_token
        token = self.request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(32)
        self.cookies[FORM_COOKIE] = (token, 3600)
        return token

    # Answers -----------------------------------------------------------------------------------

    def page(self, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        if "errors" in values:
            values["errors"] = FieldErrors(values["errors"])
        context: dict[str, Any] = {
            "visit": self,
            "user": self.session.user if self.session is not None else None,
            "csrf_token": self.form_token(),
            "path": self.request.url.path,
            "here": quote(self.request.url.path),
            **values,
        }
        response = HTMLResponse(render(self.lang, template, context), status_code=status)
        response.headers["cache-control"] = "no-store"
        self.finish(response)
        return response

    def redirect(self, url: str, *, status: int = 303) -> RedirectResponse:
        response = RedirectResponse(url, status_code=status)
        self.finish(response)
        return response

    def finish(self, response: Response) -> Response:
        for name, (value, max_age) in self.cookies.items():
            response.set_cookie(
                name,
                value,
                max_age=max_age,
                httponly=True,
                secure=self.options.https,
                samesite="lax",
                path="/",
            )
        return response

    def sign_in_cookie(self, token: str) -> None:
        self.cookies[SESSION_COOKIE] = (token, None)

    def remember_language(self, lang: str) -> None:
        self.cookies[LANGUAGE_COOKIE] = (lang, 365 * 86400)


class FieldErrors(dict[str, str]):
    """Each field's error; a field without one has "" (templates ask of every field)."""

    def __missing__(self, key: str) -> str:
        return ""


def visit_of(request: Request) -> Visit:
    """The :class:`Visit` of ``request`` (a FastAPI dependency)."""
    barua: Barua = request.app.state.barua
    options: WebOptions = request.app.state.options
    token = request.cookies.get(SESSION_COOKIE)
    session = barua.web_session(token) if token else None
    chosen = session.user.language if session is not None else None
    lang = negotiate(
        chosen,
        request.cookies.get(LANGUAGE_COOKIE),
        request.headers.get("accept-language"),
        barua.environment.lang(),
    )
    return Visit(request, barua, options, session, token if session else None, lang)


def query(values: Mapping[str, str]) -> str:
    return "&".join(f"{quote(k)}={quote(v)}" for k, v in values.items())


def _unknown(key: str) -> Business:
    raise HTTPException(status_code=404, detail=f"no business {key}")
