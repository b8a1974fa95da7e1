"""Getting in and out: the first user's setup link, signing in, signing out, the language."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response

from barua.app.users import AccessError
from barua.i18n import LANGUAGES
from barua.web.visit import SESSION_COOKIE, Visit, visit_of

router = APIRouter()
VisitDep = Annotated[Visit, Depends(visit_of)]


def _safe_next(then: str | None) -> str:
    """Where to go after signing in: a path of this site only (never another site's URL)."""
    if then and then.startswith("/") and not then.startswith("//") and "\\" not in then:
        return then
    return "/"


@router.get("/setup/{token}", response_class=HTMLResponse)
def setup_page(token: str, visit: VisitDep) -> Response:
    if not visit.barua.setup_link_valid(token):
        return visit.page("setup_invalid.html", status=404)
    return visit.page("setup.html", token=token, errors={}, username="")


@router.post("/setup/{token}", response_class=HTMLResponse)
async def setup(token: str, visit: VisitDep) -> Response:
    form = await visit.form()
    username = form.get("username", "")
    password = form.get("password", "")
    if password != form.get("password_again", ""):
        errors = {"password_again": visit._("The two passwords are not the same.")}
        return visit.page("setup.html", status=400, token=token, errors=errors, username=username)
    try:
        cookie, _session = visit.barua.set_up_first_user(token, username, password, lang=visit.lang)
    except AccessError as exc:
        if not visit.barua.setup_link_valid(token):
            return visit.page("setup_invalid.html", status=404)
        errors = {
            "password" if "password" in exc.error_code else "username": exc.render(visit.lang)
        }
        hint = exc.render_hint(visit.lang)
        return visit.page(
            "setup.html", status=400, token=token, errors=errors, username=username, hint=hint
        )
    visit.sign_in_cookie(cookie)
    return visit.redirect("/")


@router.get("/login", response_class=HTMLResponse)
def login_page(visit: VisitDep, next: str | None = None) -> Response:
    if visit.signed_in:
        return visit.redirect(_safe_next(next))
    return visit.page("login.html", then=_safe_next(next), error=None, username="")


@router.post("/login", response_class=HTMLResponse)
async def login(visit: VisitDep) -> Response:
    form = await visit.form()
    then = _safe_next(form.get("next"))
    username = form.get("username", "")
    try:
        cookie, _session = visit.barua.log_in(
            username, form.get("password", ""), address=visit.address
        )
    except AccessError as exc:
        return visit.page(
            "login.html", status=401, then=then, error=exc.render(visit.lang), username=username
        )
    visit.sign_in_cookie(cookie)
    return visit.redirect(then)


@router.post("/logout")
async def logout(visit: VisitDep) -> Response:
    await visit.form()
    if visit.token is not None:
        visit.barua.log_out(visit.token)
    response = visit.redirect("/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/language")
async def language(visit: VisitDep) -> Response:
    form = await visit.form()
    chosen = form.get("language", "")
    if chosen in LANGUAGES:
        visit.remember_language(chosen)
        if visit.session is not None:
            visit.barua.set_user_language(visit.session.user, chosen)
    return visit.redirect(_safe_next(form.get("next")))
