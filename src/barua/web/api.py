"""The JSON API for business programs (``/api/v1``): push a document (JSON in barua's schema, or
a PDF with what the email needs), email it, read its status, list the outbox.

A program authenticates with an API token made in the web app for one business
(``Authorization: Bearer barua_…``); the token is stored hashed and shown once. Emailing is
idempotent as on the command line: a version of a document is emailed once, unless
``again`` asks for another email. Every error is JSON: a code a program can act on, the
message and the hint in English, and each wrong field.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Header, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from barua.app.library import PDF_KINDS
from barua.app.present import MessageStatus
from barua.errors import BaruaError, SettingsError
from barua.web.outbox_view import when

router = APIRouter(prefix="/api/v1", tags=["api"])


class ApiProblem(Exception):
    """An API request refused: its status, code and words."""

    def __init__(
        self, status: int, code: str, message: str, *, hint: str | None = None, **extra: Any
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.hint = hint
        self.extra = extra


def problem_response(problem: ApiProblem) -> JSONResponse:
    body: dict[str, Any] = {"code": problem.code, "message": problem.message}
    if problem.hint:
        body["hint"] = problem.hint
    body.update(problem.extra)
    headers = {"www-authenticate": "Bearer"} if problem.status == 401 else None
    return JSONResponse({"error": body}, status_code=problem.status, headers=headers)


def _refused(exc: BaruaError, status: int = 400) -> ApiProblem:
    extra: dict[str, Any] = {}
    problems = getattr(exc, "problems", None)
    if isinstance(problems, dict):
        extra["problems"] = {name: text.render("en") for name, text in problems.items()}
    return ApiProblem(
        status, exc.error_code, exc.render("en"), hint=exc.render_hint("en") or None, **extra
    )


class Caller:
    """The business an API token is for."""

    def __init__(self, barua: Any, business: Any) -> None:
        self.barua = barua
        self.business = business


def caller(request: Request, authorization: Annotated[str | None, Header()] = None) -> Caller:
    """The business of the request's API token (a FastAPI dependency)."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiProblem(
            401,
            "api.token_missing",
            "an API token is required",
            hint="Send Authorization: Bearer <token>; a user makes tokens in the web app "
            "(API tokens).",
        )
    barua = request.app.state.barua
    found = barua.api_business(token.strip())
    if found is None:
        raise ApiProblem(401, "api.token_invalid", "this API token is not valid or was revoked")
    return Caller(barua, found[0])


CallerDep = Annotated[Caller, Depends(caller)]


# Models ---------------------------------------------------------------------------------------


class EmailStatusModel(BaseModel):
    """An email in the outbox."""

    id: int
    status: MessageStatus
    subject: str
    recipients: list[str]
    attempts: int
    created_at: str
    retried_at: str | None = Field(
        default=None, description="When a person last asked to send it again"
    )
    sent_at: str | None
    last_reply: str | None = Field(description="What the server said last, e.g. 250 2.0.0 Ok")
    error: str | None = Field(description="Why it was deferred or failed, in English")


class DocumentModel(BaseModel):
    """A document kept by barua."""

    id: int
    source: str = Field(description="json (barua's schema) or pdf (made elsewhere)")
    kind: str
    number: str
    party: str
    email: str | None
    issue_date: str | None
    total: str | None
    filename: str
    email_status: EmailStatusModel | None = Field(description="Its last email, if any")


class DocumentAdded(DocumentModel):
    new: bool = Field(description="False when the same document was pushed before")


class EmailRequest(BaseModel):
    """What to change in the email the business's templates write; all optional."""

    to: list[str] | None = Field(None, description="Instead of the party's addresses")
    cc: list[str] = Field(default_factory=list)
    subject: str | None = Field(None, description="Instead of the template's subject")
    message: str | None = Field(None, description="Instead of the template's text")
    again: bool = Field(False, description="Email a version that was emailed before")


class EmailQueued(BaseModel):
    new: bool = Field(description="False when this version was emailed before (its email)")
    email: EmailStatusModel


class OutboxList(BaseModel):
    emails: list[EmailStatusModel]
    next_before: int | None = Field(description="Pass as before= for the next page")


class ErrorBody(BaseModel):
    code: str
    message: str
    hint: str | None = None
    problems: dict[str, str] | None = None


class ErrorModel(BaseModel):
    error: ErrorBody


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorModel, "description": "Wrong input"},
    401: {"model": ErrorModel, "description": "No token, or not a valid one"},
    404: {"model": ErrorModel, "description": "Not found for this token's business"},
    413: {"model": ErrorModel, "description": "Too large"},
}


def _email(entry: Any) -> EmailStatusModel:
    error = entry.last_error_text.render("en") if entry.last_error_text else entry.last_error
    return EmailStatusModel(
        id=entry.id,
        status=entry.status,
        subject=entry.subject,
        recipients=[r.address for r in entry.recipients],
        attempts=entry.attempts,
        created_at=when(entry.created_at),
        retried_at=when(entry.retried_at) or None,
        sent_at=when(entry.sent_at) or None,
        last_reply=f"{entry.last_code} {entry.last_reply}".strip()
        if entry.last_code is not None
        else None,
        error=error,
    )


def _document(stored: Any, entry: Any) -> dict[str, Any]:
    return {
        "id": stored.id,
        "source": stored.source,
        "kind": stored.kind,
        "number": stored.number,
        "party": stored.party,
        "email": stored.email,
        "issue_date": stored.issue_date,
        "total": stored.total,
        "filename": stored.filename,
        "email_status": _email(entry) if entry is not None else None,
    }


# Routes ---------------------------------------------------------------------------------------


@router.post(
    "/documents",
    status_code=201,
    response_model=DocumentAdded,
    responses=_ERRORS,
    summary="Push a document in barua's JSON schema",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def push_document(request: Request, who: CallerDep) -> Any:
    limit = who.barua.max_message_size
    data = await _body(request, limit)
    try:
        stored, new = await asyncio.to_thread(
            who.barua.add_document, who.business, data, "document.json"
        )
    except BaruaError as exc:
        raise _refused(exc) from None
    return {**_document(stored, None), "new": new}


@router.post(
    "/documents/pdf",
    status_code=201,
    response_model=DocumentAdded,
    responses=_ERRORS,
    summary="Push a PDF made by another program, with what its email needs",
)
async def push_pdf(
    who: CallerDep,
    file: Annotated[UploadFile, File(description="The PDF")],
    kind: Annotated[str, Form(description=f"One of: {', '.join(PDF_KINDS)}")],
    number: Annotated[str, Form()],
    party: Annotated[str, Form(description="The customer's or supplier's name")],
    email: Annotated[str | None, Form(description="Their addresses, comma-separated")] = None,
) -> Any:
    data = await file.read(who.barua.max_message_size + 1)
    try:
        stored, new = await asyncio.to_thread(
            partial(
                who.barua.add_pdf,
                who.business,
                data,
                file.filename or "document.pdf",
                kind=kind,
                number=number,
                party=party,
                email=email,
            )
        )
    except BaruaError as exc:
        raise _refused(exc) from None
    return {**_document(stored, None), "new": new}


@router.get(
    "/documents/{document_id}",
    response_model=DocumentModel,
    responses=_ERRORS,
    summary="A document and the status of its last email",
)
def read_document(document_id: int, who: CallerDep) -> Any:
    try:
        stored = who.barua.library_document(who.business, document_id)
    except BaruaError as exc:
        raise _refused(exc, 404) from None
    entry = who.barua.last_email(stored)
    return _document(stored, entry)


@router.get(
    "/documents",
    response_model=list[DocumentModel],
    responses=_ERRORS,
    summary="The business's documents, newest first",
)
def list_documents(who: CallerDep, limit: int = 50, before: int | None = None) -> Any:
    items = who.barua.library_items(who.business, limit=max(1, min(limit, 200)), before_id=before)
    return [_document(item.document, item.entry) for item in items]


@router.post(
    "/documents/{document_id}/email",
    status_code=202,
    response_model=EmailQueued,
    responses=_ERRORS,
    summary="Email a document (once per version, unless again)",
)
async def email_document(document_id: int, who: CallerDep, body: EmailRequest) -> Any:
    try:
        draft = await asyncio.to_thread(who.barua.draft, who.business, document_id, lang="en")
        sent = await asyncio.to_thread(
            partial(
                who.barua.email_stored,
                who.business,
                document_id,
                to=body.to if body.to else list(draft.to),
                cc=body.cc,
                subject=body.subject if body.subject is not None else draft.subject,
                message=body.message if body.message is not None else draft.message,
                again=body.again,
            )
        )
    except SettingsError as exc:
        raise _refused(exc, 409) from None
    except BaruaError as exc:
        status = 404 if exc.error_code == "app.no_document" else 400
        raise _refused(exc, status) from None
    return {"new": sent.new, "email": _email(sent.entry)}


@router.get(
    "/outbox",
    response_model=OutboxList,
    responses=_ERRORS,
    summary="The business's emails, newest first",
)
def outbox(
    who: CallerDep,
    status: MessageStatus | None = None,
    limit: int = 50,
    before: int | None = None,
) -> Any:
    size = max(1, min(limit, 200))
    page = who.barua.outbox_page(business=who.business, status=status, limit=size, before_id=before)
    emails = [_email(entry) for entry in page.entries]
    return {"emails": emails, "next_before": emails[-1].id if len(emails) == size else None}


@router.get(
    "/outbox/{entry_id}",
    response_model=EmailStatusModel,
    responses=_ERRORS,
    summary="One email of the business",
)
def outbox_entry(entry_id: int, who: CallerDep) -> Any:
    try:
        detail = who.barua.outbox_entry(entry_id)
    except BaruaError as exc:
        raise _refused(exc, 404) from None
    if detail.entry.business != who.business.key:
        raise ApiProblem(404, "outbox.no_entry", f"there is no outbox entry {entry_id}")
    return _email(detail.entry)


async def _body(request: Request, limit: int) -> bytes:
    """The request's body, refused past ``limit`` bytes without reading it all."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiProblem(413, "api.too_large", f"the body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiProblem(413, "api.too_large", f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
