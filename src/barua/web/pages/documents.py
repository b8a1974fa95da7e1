"""Documents: upload them (JSON documents of barua's schema, several at once, or a PDF made by
another program), see them as PDF, and email them: one with the compose view, or several at
once with a progress bar."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile

from barua.app.library import PDF_KINDS
from barua.errors import BaruaError
from barua.web.library_view import draft_view, item_view, kind_words, status_view
from barua.web.security import FRAMEABLE_HEADER, same_token
from barua.web.visit import FormRefused, Visit, visit_of

router = APIRouter()
VisitDep = Annotated[Visit, Depends(visit_of)]
PAGE_SIZE = 50


def _list_page(visit: Visit, key: str, status: int = 200, **extra: Any) -> Response:
    business = visit.business(key)
    items = visit.barua.library_items(business, limit=PAGE_SIZE)
    return visit.page(
        "documents.html",
        status=status,
        area="documents",
        business=business,
        businesses=visit.barua.businesses(),
        items=[item_view(item, visit.lang) for item in items],
        kinds=[(kind, kind_words(kind, visit.lang)) for kind in PDF_KINDS],
        **extra,
    )


@router.get("/b/{key}/documents")
def documents_page(key: str, visit: VisitDep) -> Response:
    visit.require_user()
    return _list_page(visit, key)


async def _multipart(visit: Visit) -> tuple[dict[str, str], list[UploadFile]]:
    """The fields and files of an upload, once its CSRF token is checked."""
    visit.check_origin()
    form = await visit.request.form(max_files=100, max_fields=50)
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    files = [v for v in form.getlist("files") if not isinstance(v, str)]
    session = visit.require_user()
    if not same_token(fields.get("csrf_token"), session.csrf_token):
        raise FormRefused
    return fields, files


@router.post("/b/{key}/documents/upload")
async def upload(key: str, visit: VisitDep) -> Response:
    """JSON documents, several at once: each added or its problems listed; none stops the
    others."""
    _fields, files = await _multipart(visit)
    business = visit.business(key)
    added: list[str] = []
    problems: list[dict[str, Any]] = []
    limit = visit.barua.max_message_size
    for upload_file in files:
        name = upload_file.filename or "document.json"
        data = await upload_file.read(limit + 1)
        try:
            stored, _new = await asyncio.to_thread(visit.barua.add_document, business, data, name)
        except BaruaError as exc:
            problems.append({"name": name, "lines": _lines(exc, visit.lang)})
            continue
        added.append(f"{kind_words(stored.kind, visit.lang)} {stored.number}")
    status = 400 if problems and not added else 200
    return _list_page(visit, key, status=status, added=added, problems=problems)


@router.post("/b/{key}/documents/upload-pdf")
async def upload_pdf(key: str, visit: VisitDep) -> Response:
    fields, files = await _multipart(visit)
    business = visit.business(key)
    if len(files) != 1:
        problems = [{"name": "", "lines": [visit._("Choose one PDF file.")]}]
        return _list_page(visit, key, status=400, problems=problems, pdf=fields)
    upload_file = files[0]
    name = upload_file.filename or "document.pdf"
    data = await upload_file.read(visit.barua.max_message_size + 1)
    try:
        stored, _new = await asyncio.to_thread(
            lambda: visit.barua.add_pdf(
                business,
                data,
                name,
                kind=fields.get("kind", ""),
                number=fields.get("number", ""),
                party=fields.get("party", ""),
                email=fields.get("email", ""),
            )
        )
    except BaruaError as exc:
        problems = [{"name": name, "lines": _lines(exc, visit.lang)}]
        return _list_page(visit, key, status=400, problems=problems, pdf=fields)
    added = [f"{kind_words(stored.kind, visit.lang)} {stored.number}"]
    return _list_page(visit, key, added=added)


def _lines(exc: BaruaError, lang: str) -> list[str]:
    lines = exc.lines(lang) if hasattr(exc, "lines") else [exc.render(lang)]
    hint = exc.render_hint(lang)
    return [*lines, hint] if hint else lines


@router.get("/b/{key}/documents/{document_id}/pdf")
def pdf(key: str, document_id: int, visit: VisitDep) -> Response:
    visit.require_user()
    business = visit.business(key)
    try:
        name, data = visit.barua.document_pdf(business, document_id)
    except BaruaError as exc:
        return visit.page("not_found.html", status=404, problem=exc.render(visit.lang))
    safe = "".join(c if c.isalnum() or c in " .-_" else "_" for c in name)
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "content-disposition": f'inline; filename="{safe}"',
            "cache-control": "private, no-store",
            FRAMEABLE_HEADER: "1",
        },
    )


@router.get("/b/{key}/documents/{document_id}/preview.png")
async def preview(key: str, document_id: int, visit: VisitDep) -> Response:
    visit.require_user()
    business = visit.business(key)
    try:
        image = await asyncio.to_thread(visit.barua.document_preview, business, document_id)
    except BaruaError:
        return Response(status_code=404)
    return Response(image, media_type="image/png", headers={"cache-control": "private, no-store"})


@router.get("/b/{key}/documents/{document_id}/email")
def compose(key: str, document_id: int, visit: VisitDep) -> Response:
    visit.require_user()
    business = visit.business(key)
    try:
        draft = visit.barua.draft(business, document_id, lang=visit.lang)
    except BaruaError as exc:
        return _list_page(
            visit, key, status=400, problems=[{"name": "", "lines": _lines(exc, visit.lang)}]
        )
    return visit.page(
        "compose.html",
        area="documents",
        business=business,
        businesses=visit.barua.businesses(),
        draft=draft_view(draft, visit.lang),
        values=None,
        problems=[],
    )


@router.post("/b/{key}/documents/{document_id}/email")
async def send(key: str, document_id: int, visit: VisitDep) -> Response:
    visit.require_user()
    form = await visit.form()
    business = visit.business(key)
    to = _addresses(form.get("to", ""))
    cc = _addresses(form.get("cc", ""))
    try:
        draft = await asyncio.to_thread(visit.barua.draft, business, document_id, lang=visit.lang)
        if draft.emailed is not None and "again" not in form:
            return visit.page(
                "compose.html",
                status=409,
                area="documents",
                business=business,
                businesses=visit.barua.businesses(),
                draft=draft_view(draft, visit.lang),
                values=form,
                problems=[],
                ask_again=True,
            )
        sent = await asyncio.to_thread(
            lambda: visit.barua.email_stored(
                business,
                document_id,
                to=to,
                cc=cc,
                subject=form.get("subject", ""),
                message=form.get("message", ""),
                again="again" in form,
            )
        )
    except BaruaError as exc:
        draft = await asyncio.to_thread(visit.barua.draft, business, document_id, lang=visit.lang)
        return visit.page(
            "compose.html",
            status=400,
            area="documents",
            business=business,
            businesses=visit.barua.businesses(),
            draft=draft_view(draft, visit.lang),
            values=form,
            problems=_lines(exc, visit.lang),
        )
    return visit.redirect(f"/b/{business.key}/documents/sent?ids={sent.entry.id}")


@router.post("/b/{key}/documents/email-selected")
async def send_selected(key: str, visit: VisitDep) -> Response:
    """Every selected document emailed as its draft says, to its party's addresses."""
    visit.require_user()
    posted = await visit.request.form()
    visit.check_origin()
    session = visit.require_user()
    if not same_token(str(posted.get("csrf_token", "")), session.csrf_token):
        raise FormRefused
    business = visit.business(key)
    ids = [int(v) for v in posted.getlist("selected") if isinstance(v, str) and v.isdigit()]
    entries: list[int] = []
    problems: list[dict[str, Any]] = []
    for document_id in ids[:PAGE_SIZE]:
        try:
            draft = await asyncio.to_thread(
                visit.barua.draft, business, document_id, lang=visit.lang
            )
            sent = await asyncio.to_thread(
                partial(
                    visit.barua.email_stored,
                    business,
                    draft.document.id,
                    to=list(draft.to),
                    subject=draft.subject,
                    message=draft.message,
                )
            )
            entries.append(sent.entry.id)
        except BaruaError as exc:
            problems.append({"name": str(document_id), "lines": _lines(exc, visit.lang)})
    if problems and not entries:
        return _list_page(visit, key, status=400, problems=problems)
    query = ",".join(map(str, entries))
    return visit.redirect(f"/b/{business.key}/documents/sent?ids={query}")


@router.get("/b/{key}/documents/sent")
def sent_page(key: str, visit: VisitDep, ids: str = "") -> Response:
    """The emails just queued, with their status as it changes and a progress bar."""
    visit.require_user()
    business = visit.business(key)
    statuses = _statuses(visit, ids)
    return visit.page(
        "sent.html",
        area="documents",
        business=business,
        businesses=visit.barua.businesses(),
        statuses=statuses,
        ids=",".join(str(s["id"]) for s in statuses),
        done=sum(1 for s in statuses if s["final"]),
    )


@router.get("/b/{key}/documents/sent.json")
def sent_json(key: str, visit: VisitDep, ids: str = "") -> Response:
    visit.require_user()
    visit.business(key)
    return JSONResponse({"emails": _statuses(visit, ids)})


def _statuses(visit: Visit, ids: str) -> list[dict[str, Any]]:
    found = []
    for part in ids.split(",")[:PAGE_SIZE]:
        if not part.strip().isdigit():
            continue
        try:
            detail = visit.barua.outbox_entry(int(part))
        except BaruaError:
            continue
        found.append(status_view(detail.entry, visit.lang))
    return found


def _addresses(value: str) -> list[str]:
    return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
