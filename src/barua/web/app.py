"""The web app: FastAPI with server-rendered pages, behind the Host allow-list and security
headers, with the delivery worker in the same process unless told otherwise."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from barua.app.present import WorkerConfig
from barua.version import __version__
from barua.web import api
from barua.web.pages import account, documents, home, outbox, people, settings
from barua.web.security import HostAllowList, SecurityHeaders
from barua.web.visit import FormRefused, SignInNeeded, query, visit_of

if TYPE_CHECKING:
    from barua.app import Barua
    from barua.app.workers import Workers
    from barua.web.options import WebOptions

STATIC = Path(__file__).with_name("static")


def create_app(barua: Barua, options: WebOptions) -> Any:
    """The ASGI application serving ``barua`` as ``options`` say."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        worker = _start_worker(barua, options) if options.worker else None
        try:
            yield
        finally:
            if worker is not None:
                worker[0].stop()
                worker[1].join(timeout=60)

    app = FastAPI(
        title="barua",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
        lifespan=lifespan,
    )
    app.state.barua = barua
    app.state.options = options
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (account, home, settings, outbox, documents, people):
        app.include_router(module.router, include_in_schema=False)
    app.include_router(api.router)

    @app.exception_handler(api.ApiProblem)
    async def api_problem(request: Request, exc: api.ApiProblem) -> Response:
        return api.problem_response(exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        if not request.url.path.startswith("/api/"):
            return visit_of(request).page("not_found.html", status=404)
        problems = {
            ".".join(str(part) for part in error["loc"][1:]) or "body": error["msg"]
            for error in exc.errors()
        }
        return api.problem_response(
            api.ApiProblem(
                400, "api.invalid_request", "the request is not valid", problems=problems
            )
        )

    @app.exception_handler(SignInNeeded)
    async def sign_in_needed(request: Request, exc: SignInNeeded) -> Response:
        target = "/login" + (f"?{query({'next': exc.then})}" if exc.then != "/" else "")
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(FormRefused)
    async def form_refused(request: Request, exc: FormRefused) -> Response:
        visit = visit_of(request)
        return visit.page("refused.html", status=403)

    @app.exception_handler(HTTPException)
    async def not_found(request: Request, exc: HTTPException) -> Response:
        if request.url.path.startswith("/api/"):
            return api.problem_response(
                api.ApiProblem(exc.status_code, "api.http", str(exc.detail))
            )
        visit = visit_of(request)
        return visit.page("not_found.html", status=exc.status_code)

    return HostAllowList(SecurityHeaders(app, https=options.https), allowed=options.allowed_hosts)


def _start_worker(barua: Barua, options: WebOptions) -> tuple[Workers, threading.Thread]:
    """The delivery worker, in a thread of this process: one process of workers, which waits
    for settings when no business has any yet."""
    workers = barua.workers(WorkerConfig(), processes=1, require_settings=False, log=options.log)
    thread = threading.Thread(target=workers.run, name="barua-worker", daemon=True)
    thread.start()
    return workers, thread
