"""The outbox: every email with its status, recipients, attempts and the server's last reply;
filters; Retry, Cancel, and Resume for a paused business. The list refreshes itself while
something is on its way."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from barua.app.present import MessageStatus
from barua.errors import BaruaError
from barua.web.outbox_view import STATUS_WORDS, attempt_view, entry_view, pause_view
from barua.web.visit import Visit, visit_of

router = APIRouter()
VisitDep = Annotated[Visit, Depends(visit_of)]
PAGE_SIZE = 50


def _status(value: str | None) -> MessageStatus | None:
    try:
        return MessageStatus(value) if value else None
    except ValueError:
        return None


@router.get("/b/{key}/outbox")
def outbox_page(
    key: str,
    visit: VisitDep,
    status: str | None = None,
    before: int | None = None,
    every: int = 0,
    fragment: int = 0,
    done: str | None = None,
) -> Response:
    visit.require_user()
    business = visit.business(key)
    chosen = _status(status)
    page = visit.barua.outbox_page(
        business=None if every else business,
        status=chosen,
        limit=PAGE_SIZE,
        before_id=before if before and before > 0 else None,
    )
    entries = [entry_view(entry, visit.lang) for entry in page.entries]
    values: dict[str, Any] = {
        "area": "outbox",
        "business": business,
        "businesses": visit.barua.businesses(),
        "entries": entries,
        "names": page.names,
        "counts": {str(s): page.counts.get(s, 0) for s in MessageStatus},
        "status_words": {str(s): visit._(w) for s, w in STATUS_WORDS.items()},
        "chosen": str(chosen) if chosen else "",
        "every": bool(every),
        "pauses": {k: pause_view(p, visit.lang) for k, p in page.paused.items()},
        "live": any(not e["final"] for e in entries),
        "older": entries[-1]["id"] if len(entries) == PAGE_SIZE else None,
        "done": done,
    }
    response = visit.page("outbox_list.html" if fragment else "outbox.html", **values)
    response.headers["x-barua-live"] = "1" if values["live"] else "0"
    return response


@router.get("/b/{key}/outbox/{entry_id}")
def entry_page(key: str, entry_id: int, visit: VisitDep) -> Response:
    visit.require_user()
    return _entry(visit, visit.business(key), entry_id)


def _entry(visit: Visit, business: Any, entry_id: int, *, problem: str | None = None) -> Response:
    try:
        detail = visit.barua.outbox_entry(entry_id)
    except BaruaError:
        return visit.page("not_found.html", status=404)
    return visit.page(
        "outbox_entry.html",
        status=409 if problem else 200,
        area="outbox",
        business=business,
        businesses=visit.barua.businesses(),
        entry=entry_view(detail.entry, visit.lang),
        attempts=[attempt_view(a, visit.lang) for a in detail.attempts],
        business_name=detail.business_name,
        pause=pause_view(detail.paused, visit.lang) if detail.paused else None,
        problem=problem,
    )


@router.post("/b/{key}/outbox/{entry_id}/{action}")
async def act(key: str, entry_id: int, action: str, visit: VisitDep) -> Response:
    """Retry or cancel one entry."""
    visit.require_user()
    await visit.form()
    business = visit.business(key)
    do = {"retry": visit.barua.retry, "cancel": visit.barua.cancel}.get(action)
    if do is None:
        return visit.page("not_found.html", status=404)
    try:
        await asyncio.to_thread(do, entry_id)
    except BaruaError as exc:
        return _entry(visit, business, entry_id, problem=exc.render(visit.lang))
    return visit.redirect(f"/b/{business.key}/outbox?done={action}")


@router.post("/b/{key}/outbox-resume")
async def resume(key: str, visit: VisitDep) -> Response:
    """Lift the pause of the business: its queue is tried again."""
    visit.require_user()
    await visit.form()
    business = visit.business(key)
    await asyncio.to_thread(visit.barua.resume, business)
    return visit.redirect(f"/b/{business.key}/outbox?done=resume")
