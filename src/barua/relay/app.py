"""The relay's HTTP face: ``POST /v1/messages`` (answered before FastAPI's routing) and
``GET /v1/health`` over FastAPI, every answer JSON, no redirects, the OpenAPI document at
``/openapi.json``.

What happens here, in the order of section 5.1: the key is checked, then the content type,
then ``Content-Length`` against the request limit (before a byte of the body is read), then
the body is read within that limit and within ``body_timeout`` seconds (``408``). At most
``concurrency`` requests are taken at once; more are answered ``503`` with ``Retry-After``.
The rest is the application's: :meth:`barua.app.relay.RelayService.prepare` in a thread, then
:meth:`~barua.app.relay.RelayService.accept` awaited until its transaction is committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import Receive, Scope, Send

from barua.app.present import WorkerConfig
from barua.app.relay import (
    NOTICE_SETTLE,
    ErrorCode,
    RelayAnswer,
    RelayKey,
    RelayOptions,
    RelayService,
    error_answer,
    is_json,
    request_size_limit,
)
from barua.errors import BaruaError
from barua.version import __version__

if TYPE_CHECKING:
    from barua.app import Barua

JSON = "application/json"
log = logging.getLogger("barua.relay")

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "max_size": {"type": "integer"},
                "refused": {"$ref": "#/components/schemas/Refused"},
            },
        }
    },
}
_REFUSED = {
    "type": "object",
    "additionalProperties": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {"code": {"type": "integer"}, "message": {"type": "string"}},
    },
}
_REQUEST = {
    "type": "object",
    "required": ["envelope", "message_id", "mime"],
    "properties": {
        "envelope": {
            "type": "object",
            "required": ["mail_from", "recipients"],
            "properties": {
                "mail_from": {"type": "string"},
                "recipients": {"type": "array", "items": {"type": "string"}},
            },
        },
        "message_id": {"type": "string", "maxLength": 250},
        "mime": {"type": "string", "description": "The message, standard base64 with padding"},
    },
}
_ACCEPTANCE = {
    "type": "object",
    "required": ["id", "message_id", "accepted", "refused"],
    "properties": {
        "id": {"type": "string", "maxLength": 128},
        "message_id": {"type": "string"},
        "accepted": {"type": "array", "items": {"type": "string"}},
        "refused": {"$ref": "#/components/schemas/Refused"},
    },
}
_HEALTH = {
    "type": "object",
    "required": ["status", "versions", "max_message_size", "max_recipients", "features"],
    "properties": {
        "status": {"type": "string", "enum": ["ok", "unavailable"]},
        "versions": {"type": "array", "items": {"type": "string"}},
        "max_message_size": {"type": "integer"},
        "max_recipients": {"type": "integer"},
        "features": {"type": "array", "items": {"type": "string"}},
        "authenticated": {"type": "boolean"},
    },
}


_STATUS = {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}}
_OPERATIONS: dict[str, Any] = {
    "/healthz": {
        "get": {
            "summary": "Is the process alive (for a supervisor; nothing is looked at)",
            "operationId": "healthz",
            "responses": {"200": {"description": "Alive", "content": {JSON: {"schema": _STATUS}}}},
        }
    },
    "/readyz": {
        "get": {
            "summary": "Can it take requests: the database answers, its schema is this version's",
            "operationId": "readyz",
            "responses": {
                "200": {"description": "Ready", "content": {JSON: {"schema": _STATUS}}},
                "503": {"description": "Not ready", "content": {JSON: {"schema": _STATUS}}},
            },
        }
    },
    "/metrics": {
        "get": {
            "summary": "Prometheus metrics (to loopback, and to --metrics-from networks)",
            "operationId": "metrics",
            "responses": {
                "200": {
                    "description": "The text format",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                },
                "403": {
                    "description": "Not a network metrics are served to",
                    "content": {JSON: {"schema": {"type": "object"}}},
                },
            },
        }
    },
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    error = {"$ref": "#/components/schemas/Error"}
    return {status: _json(error, "An error (section 8)") for status in statuses}


@dataclass(frozen=True, slots=True)
class RelayServeOptions:
    """How the face serves: the relay's own options, and the face's limits."""

    relay: RelayOptions = field(default_factory=RelayOptions)
    worker: bool = True
    """Deliver the relay's mail in this process."""
    worker_config: WorkerConfig | None = None
    body_timeout: float = 30.0
    """Seconds to read a request's body before answering ``408``."""
    concurrency: int = 64
    """Requests taken at once; more are answered ``503``."""
    purge_every: float = 3600.0
    """Seconds between two deletions of the idempotency records past their 24 hours."""
    notice_every: float = 15.0
    """Seconds between two looks for deliveries that failed, to tell their businesses."""
    notice_settle: float = NOTICE_SETTLE
    """Seconds after a delivery ends before it is looked at (see
    :meth:`~barua.app.relay.RelayUseCases.notify_delivery_failures`)."""


def _response(answer: RelayAnswer) -> Response:
    return Response(answer.body, status_code=answer.status, headers=answer.headers, media_type=JSON)


class _ClientGone(Exception):
    """The client closed its connection before its request's body arrived."""


class _Messages:
    """``POST /v1/messages`` (section 5): the checks of the face, then the service's.

    The event loop does no waiting on anyone's behalf: a key not remembered is looked up in
    :attr:`lookups`, the body is checked and signed in :attr:`threads` (the signature lets go
    of the interpreter lock, so a second core signs while the loop serves), and the decision
    is awaited from the committer, which answers the loop when the transaction is on disk."""

    def __init__(self, service: RelayService, options: RelayServeOptions) -> None:
        self.service = service
        self.options = options
        self.limit = request_size_limit(options.relay.max_message_size)
        self.gate = asyncio.Semaphore(options.concurrency)
        # One thread a core: the work is the interpreter's or OpenSSL's, never a wait (a key
        # is looked up in the database at most once a second, see KEY_MEMORY).
        threads = max(2, os.cpu_count() or 2)
        self.threads = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="barua-relay")
        # Keys not remembered are looked up apart: a slow database, or a flood of wrong keys,
        # waits there without holding up the checking and signing of known keys' requests.
        self.lookups = ThreadPoolExecutor(max_workers=8, thread_name_prefix="barua-relay-key")

    def too_large(self) -> RelayAnswer:
        size = self.options.relay.max_message_size
        text = f"Messages may be at most {size} bytes."
        return error_answer(ErrorCode.MESSAGE_TOO_LARGE, text, max_size=size)

    async def answer(
        self,
        *,
        authorization: str | None,
        content_type: str | None,
        content_length: str | None,
        chunks: AsyncIterator[bytes],
        client: str | None,
    ) -> RelayAnswer:
        """The answer to a request with these headers whose body ``chunks`` yields."""
        loop = asyncio.get_running_loop()
        service = self.service
        key: RelayKey | RelayAnswer | None = service.remembered(authorization)
        if key is None:
            key = await loop.run_in_executor(self.lookups, service.authenticate, authorization)
        if isinstance(key, RelayAnswer):
            return key
        if not is_json(content_type):
            return error_answer(ErrorCode.UNSUPPORTED_MEDIA_TYPE, "The body must be JSON.")
        if content_length is not None and (
            not content_length.isdigit() or int(content_length) > self.limit
        ):
            return self.too_large()
        if self.gate.locked():
            return service.unavailable()
        async with self.gate:
            try:
                async with asyncio.timeout(self.options.body_timeout):
                    body = await _body(chunks, self.limit)
            except TimeoutError:
                return error_answer(
                    ErrorCode.REQUEST_TIMEOUT, "The request's body came too slowly."
                )
            if body is None:
                return self.too_large()
            prepare = partial(service.prepare, key, body, client=client)
            prepared = await loop.run_in_executor(self.threads, prepare)
            if isinstance(prepared, RelayAnswer):
                return prepared
            return await service.accept(prepared)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The request as ASGI, before FastAPI's routing and middleware: at hundreds of
        requests a second, those cost as much as the relay's own work."""
        wanted = {b"authorization": None, b"content-type": None, b"content-length": None}
        for name, value in scope["headers"]:
            if name in wanted and wanted[name] is None:
                wanted[name] = value.decode("latin-1")

        async def chunks() -> AsyncIterator[bytes]:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise _ClientGone
                yield message.get("body", b"")
                if not message.get("more_body", False):
                    return

        peer = scope.get("client")
        try:
            answer = await self.answer(
                authorization=wanted[b"authorization"],
                content_type=wanted[b"content-type"],
                content_length=wanted[b"content-length"],
                chunks=chunks(),
                client=peer[0] if peer else None,
            )
        except _ClientGone:
            return  # nobody to answer; nothing was stored
        except Exception as exc:
            # Its type only: a database error's text can hold what the request held.
            log.error("POST /v1/messages failed: %s", type(exc).__name__)
            log.debug("POST /v1/messages failed", exc_info=True)
            answer = _internal_error()
        headers = [
            (b"content-type", JSON.encode()),
            (b"content-length", str(len(answer.body)).encode()),
        ]
        headers += [(k.lower().encode("latin-1"), v.encode()) for k, v in answer.headers.items()]
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})


class RelayApp:
    """The relay as ASGI: ``POST /v1/messages`` answered by its own handler, everything else
    by the FastAPI application (:attr:`fastapi`)."""

    def __init__(self, fastapi: FastAPI, messages: _Messages) -> None:
        self.fastapi = fastapi
        self._messages = messages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] == "/v1/messages"
        ):
            return await self._messages(scope, receive, send)
        return await self.fastapi(scope, receive, send)

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI document (the one in the repository, docs/api/relay-openapi.json)."""
        return self.fastapi.openapi()


def _internal_error() -> RelayAnswer:
    # Nothing was stored: a failure after the store would have answered 202.
    return error_answer(ErrorCode.INTERNAL_ERROR, "Something went wrong.", retry=5)


def create_app(barua: Barua, options: RelayServeOptions) -> RelayApp:
    """The ASGI application of the relay of ``barua``: ``POST /v1/messages`` answered first,
    everything else (``/v1/health``, the OpenAPI document, the errors of other paths and
    methods) by FastAPI."""
    service = barua.relay_service(options.relay)
    accepting = _Messages(service, options)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        worker = barua.relay_worker(options.worker_config) if options.worker else None
        thread = None
        stop_notices = None
        if worker is not None:
            thread = threading.Thread(target=worker.run, name="barua-relay-worker", daemon=True)
            thread.start()
            # Where the relay's mail is delivered, the businesses are told what was not.
            stop_notices = barua.notify_delivery_failures_every(
                options.notice_every, settle=options.notice_settle
            )
        purging = asyncio.create_task(_purge(service, options.purge_every))
        try:
            yield
        finally:
            purging.cancel()
            if worker is not None and thread is not None:
                worker.stop()
                await run_in_threadpool(thread.join, 60)
            if stop_notices is not None:
                await run_in_threadpool(stop_notices)
            accepting.threads.shutdown(wait=False)
            accepting.lookups.shutdown(wait=False)
            service.close()

    app = FastAPI(
        title="barua relay",
        version=__version__,
        description="The barua HTTP email service protocol, version 1 (docs/http-protocol.md).",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        redirect_slashes=False,
        lifespan=lifespan,
    )

    @app.post(
        "/v1/messages",
        status_code=202,
        summary="Hand over one message for delivery",
        openapi_extra={
            "requestBody": {"required": True, "content": {JSON: {"schema": _REQUEST}}},
        },
        responses={
            202: _json(_ACCEPTANCE, "Stored durably; the service delivers it"),
            **_errors(400, 401, 403, 408, 409, 413, 415, 422, 429, 503),
        },
    )
    async def messages(request: Request) -> Response:
        # Answered by _Messages before FastAPI sees it; here for the OpenAPI document, and for
        # anyone mounting the FastAPI application alone.
        answer = await accepting.answer(
            authorization=request.headers.get("authorization"),
            content_type=request.headers.get("content-type"),
            content_length=request.headers.get("content-length"),
            chunks=request.stream(),
            client=request.client.host if request.client else None,
        )
        return _response(answer)

    @app.get(
        "/v1/health",
        summary="Is the service up, what are its limits, is my key valid",
        responses={
            200: _json(_HEALTH, "The service and its limits"),
            **_errors(401, 403, 503),
        },
    )
    async def health(request: Request) -> Response:
        answer = await run_in_threadpool(service.health, request.headers.get("authorization"))
        return _response(answer)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 405:
            answer = error_answer(ErrorCode.METHOD_NOT_ALLOWED, "This method is not allowed here.")
        else:
            answer = error_answer(ErrorCode.NOT_FOUND, "There is nothing at this address.")
        return _response(answer)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> Response:
        return _response(_internal_error())

    schema = app.openapi()
    # Served in front of this application by `barua relay serve` (barua.cli.operations), with
    # no key; described here so that the document is the whole relay.
    schema["paths"].update(_OPERATIONS)
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {}).update({"Error": _ERROR, "Refused": _REFUSED})
    components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    for name, path in schema["paths"].items():
        for operation in path.values():
            operation["security"] = [] if name in _OPERATIONS else [{"bearer": []}, {}]

    return RelayApp(app, accepting)


async def _purge(service: RelayService, every: float) -> None:
    """Delete the idempotency records past their 24 hours now, then every ``every`` seconds."""
    while True:
        with contextlib.suppress(BaruaError):  # unavailable now: the next round tries again
            await run_in_threadpool(service.forget_old_decisions)
        await asyncio.sleep(every)


async def _body(stream: AsyncIterator[bytes], limit: int) -> bytes | None:
    """The request's body, or None as soon as it is larger than ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in stream:
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
