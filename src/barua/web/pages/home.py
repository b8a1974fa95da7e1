"""The front door: the default business's settings for a signed-in user, else signing in."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from barua.web.visit import Visit, visit_of

router = APIRouter()


@router.get("/")
def home(visit: Annotated[Visit, Depends(visit_of)]) -> Response:
    if visit.barua.needs_setup():
        return visit.page("needs_setup.html")
    visit.require_user()
    business = visit.business(None)
    return visit.redirect(f"/b/{business.key}/settings")


AREAS = ("settings", "documents", "outbox", "api")


@router.get("/switch")
def switch(
    visit: Annotated[Visit, Depends(visit_of)], business: str = "", area: str = "settings"
) -> Response:
    """The business switcher: the same area of another business."""
    visit.require_user()
    chosen = visit.business(business or None)
    return visit.redirect(f"/b/{chosen.key}/{area if area in AREAS else 'settings'}")
