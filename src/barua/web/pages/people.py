"""The people who may sign in, and the API tokens of each business's programs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from barua.app.users import AccessError
from barua.web.visit import Visit, visit_of

router = APIRouter()
VisitDep = Annotated[Visit, Depends(visit_of)]


def _when(moment: float | None) -> str:
    if moment is None:
        return ""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _people(visit: Visit, status: int = 200, **extra: Any) -> Response:
    me = visit.require_user().user
    users = [
        {
            "id": user.id,
            "username": user.username,
            "created": _when(user.created_at),
            "last_login": _when(user.last_login_at),
            "me": user.id == me.id,
        }
        for user in visit.barua.user_list()
    ]
    return visit.page(
        "people.html",
        status=status,
        area="people",
        business=visit.business(None),
        businesses=visit.barua.businesses(),
        users=users,
        errors=extra.pop("errors", {}),
        **extra,
    )


@router.get("/people")
def people(visit: VisitDep) -> Response:
    return _people(visit)


@router.post("/people/add")
async def add_person(visit: VisitDep) -> Response:
    visit.require_user()
    form = await visit.form()
    username = form.get("username", "")
    if form.get("password", "") != form.get("password_again", ""):
        errors = {"new_password_again": visit._("The two passwords are not the same.")}
        return _people(visit, 400, errors=errors, new_username=username)
    try:
        await asyncio.to_thread(visit.barua.add_user, username, form.get("password", ""))
    except AccessError as exc:
        field = "new_password" if "password" in exc.error_code else "new_username"
        return _people(visit, 400, errors={field: exc.render(visit.lang)}, new_username=username)
    return _people(visit, added=" ".join(username.split()))


@router.post("/people/{user_id}/remove")
async def remove_person(user_id: int, visit: VisitDep) -> Response:
    visit.require_user()
    await visit.form()
    try:
        await asyncio.to_thread(visit.barua.remove_user, user_id)
    except AccessError as exc:
        return _people(visit, 409, problem=exc.render(visit.lang))
    return visit.redirect("/people")


@router.post("/people/password")
async def change_password(visit: VisitDep) -> Response:
    session = visit.require_user()
    form = await visit.form()
    if form.get("new", "") != form.get("new_again", ""):
        errors = {"new_again": visit._("The two passwords are not the same.")}
        return _people(visit, 400, errors=errors)
    try:
        await asyncio.to_thread(
            visit.barua.change_password,
            session.user,
            form.get("current", ""),
            form.get("new", ""),
            address=visit.address,
        )
    except AccessError as exc:
        field = (
            "current"
            if exc.error_code in {"store.wrong_login", "store.too_many_attempts"}
            else "new"
        )
        return _people(visit, 400, errors={field: exc.render(visit.lang)})
    # Every session ended with the old password: this one too.
    return visit.redirect("/login")


# API tokens ------------------------------------------------------------------------------------


def _tokens(visit: Visit, key: str, status: int = 200, **extra: Any) -> Response:
    visit.require_user()
    business = visit.business(key)
    tokens = [
        {
            "id": token.id,
            "name": token.name,
            "prefix": token.prefix,
            "created": _when(token.created_at),
            "last_used": _when(token.last_used_at),
            "revoked": _when(token.revoked_at),
        }
        for token in visit.barua.api_tokens(business)
    ]
    return visit.page(
        "api_tokens.html",
        status=status,
        area="api",
        business=business,
        businesses=visit.barua.businesses(),
        tokens=tokens,
        base_url=str(visit.request.base_url).rstrip("/"),
        **extra,
    )


@router.get("/b/{key}/api")
def api_tokens(key: str, visit: VisitDep) -> Response:
    return _tokens(visit, key)


@router.post("/b/{key}/api")
async def create_token(key: str, visit: VisitDep) -> Response:
    session = visit.require_user()
    form = await visit.form()
    business = visit.business(key)
    try:
        token, made = await asyncio.to_thread(
            lambda: visit.barua.create_api_token(
                business, form.get("name", ""), created_by=session.user
            )
        )
    except AccessError as exc:
        return _tokens(visit, key, 400, problem=exc.render(visit.lang))
    return _tokens(visit, key, new_token=token, new_name=made.name)


@router.post("/b/{key}/api/{token_id}/revoke")
async def revoke_token(key: str, token_id: int, visit: VisitDep) -> Response:
    visit.require_user()
    await visit.form()
    business = visit.business(key)
    await asyncio.to_thread(visit.barua.revoke_api_token, business, token_id)
    return visit.redirect(f"/b/{business.key}/api")
