"""The email settings of a business: the form, Update, Send test email (its steps shown as
they happen), and the provider's settings found from an email address."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response, StreamingResponse

from barua.app import Business
from barua.app.errors import AppError
from barua.choices import OAuthProvider
from barua.errors import BaruaError, SettingsError
from barua.web.i18n import render
from barua.web.settings_form import (
    PORTS,
    SECURITIES,
    form_values,
    posted_values,
    settings_changes,
)
from barua.web.test_view import outcome_view, step_view, trust_request
from barua.web.visit import Visit, visit_of

router = APIRouter()
VisitDep = Annotated[Visit, Depends(visit_of)]


def _saved(visit: Visit, business: Business) -> tuple[dict[str, Any], Any]:
    """The settings in effect as the form shows them, and who signed in (OAuth)."""
    try:
        view = visit.barua.settings_view(business)
    except AppError:
        return {}, None
    return view.values, view.sign_in


def _page(
    visit: Visit,
    business: Business,
    values: dict[str, Any],
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    return visit.page(
        "settings.html",
        status=status,
        area="settings",
        business=business,
        businesses=visit.barua.businesses(),
        values=values,
        errors=errors or {},
        ports=PORTS,
        securities=SECURITIES,
        **extra,
    )


@router.get("/b/{key}/settings")
def settings_page(key: str, visit: VisitDep, saved: int = 0, signed_in: int = 0) -> Response:
    visit.require_user()
    business = visit.business(key)
    values, sign_in = _saved(visit, business)
    warnings: list[Any] = []
    if saved:
        try:
            effective = visit.barua.settings_in_effect(business)
            warnings = list(visit.barua.settings_warnings(effective))
        except BaruaError:
            warnings = []
    return _page(
        visit,
        business,
        form_values(values),
        saved=bool(saved),
        signed_in_now=bool(signed_in),
        warnings=warnings,
        sign_in=sign_in,
        test_to=values.get("email_address") or values.get("username") or "",
    )


@router.post("/b/{key}/settings")
async def update(key: str, visit: VisitDep) -> Response:
    visit.require_user()
    form = await visit.form()
    business = visit.business(key)
    saved_values, sign_in = _saved(visit, business)
    try:
        await asyncio.to_thread(visit.barua.save_settings, business, settings_changes(form))
    except SettingsError as exc:
        errors = {name: text.render(visit.lang) for name, text in exc.problems.items()}
        return _page(
            visit,
            business,
            posted_values(form, saved_values),
            status=400,
            errors=_form_fields(errors, form),
            sign_in=sign_in,
            test_to=form.get("test_to", ""),
            pinned=form.get("pinned_certificate", ""),
        )
    return visit.redirect(f"/b/{business.key}/settings?saved=1")


def _form_fields(errors: dict[str, str], form: dict[str, str]) -> dict[str, str]:
    """The settings' field names as the form names them (reply_to has two inputs)."""
    if "reply_to" in errors:
        side = "http_reply_to" if form.get("protocol") == "http" else "smtp_reply_to"
        errors[side] = errors.pop("reply_to")
    return errors


@router.post("/b/{key}/settings/test")
async def test_email(key: str, visit: VisitDep) -> Response:
    """The test email with the form's values, not saved. From the page's script the steps
    stream as lines of JSON while they happen; without a script the page shows them all."""
    visit.require_user()
    form = await visit.form()
    business = visit.business(key)
    changes = settings_changes(form)
    to = form.get("test_to", "").strip()
    trust = trust_request(form)
    if "application/x-ndjson" in visit.request.headers.get("accept", ""):
        return StreamingResponse(
            _stream(visit, business, changes, to, trust),
            media_type="application/x-ndjson",
            headers={"cache-control": "no-store"},
        )
    saved_values, sign_in = _saved(visit, business)
    steps: list[dict[str, Any]] = []
    try:
        outcome = await asyncio.to_thread(
            visit.barua.test_email,
            business,
            to=to,
            changes=changes,
            trust=trust,
            observer=lambda event: steps.append(step_view(event, visit.lang)),
            lang=visit.lang,
        )
    except SettingsError as exc:
        errors = {name: text.render(visit.lang) for name, text in exc.problems.items()}
        return _page(
            visit,
            business,
            posted_values(form, saved_values),
            status=400,
            errors=_form_fields(errors, form),
            sign_in=sign_in,
            test_to=to,
        )
    except BaruaError as exc:
        return _page(
            visit,
            business,
            posted_values(form, saved_values),
            status=400,
            problem=exc.render(visit.lang),
            sign_in=sign_in,
            test_to=to,
        )
    view = outcome_view(outcome.report, visit.lang)
    return _page(
        visit,
        business,
        posted_values(form, saved_values),
        sign_in=sign_in,
        test_to=to,
        steps=steps,
        outcome=view,
        pinned=view.get("trusted") or form.get("pinned_certificate", ""),
    )


async def _stream(
    visit: Visit, business: Business, changes: dict[str, Any], to: str, trust: Any
) -> AsyncIterator[bytes]:
    """Each step as a line of JSON as it ends, then the outcome."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    def put(item: dict[str, Any] | None) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, item)

    def run() -> None:
        try:
            outcome = visit.barua.test_email(
                business,
                to=to,
                changes=changes,
                trust=trust,
                observer=lambda event: put({"step": step_view(event, visit.lang)}),
                lang=visit.lang,
            )
            view = outcome_view(outcome.report, visit.lang)
            context = {"outcome": view, "business": business}
            put(
                {
                    "ok": view["ok"],
                    "trusted": view.get("trusted"),
                    "html": render(visit.lang, "test_outcome.html", context),
                    "trust_html": render(visit.lang, "trust.html", context)
                    if "certificate" in view
                    else "",
                }
            )
        except SettingsError as exc:
            errors = {name: text.render(visit.lang) for name, text in exc.problems.items()}
            put({"errors": _form_fields(errors, {"protocol": str(changes.get("protocol"))})})
        except BaruaError as exc:
            put({"problem": exc.render(visit.lang), "hint": exc.render_hint(visit.lang)})
        finally:
            put(None)

    threading.Thread(target=run, name="barua-test-email", daemon=True).start()
    while (item := await queue.get()) is not None:
        yield (json.dumps(item) + "\n").encode()


@router.post("/b/{key}/settings/detect")
async def detect(key: str, visit: VisitDep) -> Response:
    """The provider's settings for an email address, for the form to offer."""
    visit.require_user()
    visit.check_header_token()
    visit.business(key)
    body = await visit.request.json()
    address = str(body.get("address", "")).strip() if isinstance(body, dict) else ""
    if "@" not in address:
        return JSONResponse({"found": False})
    try:
        proposal = await asyncio.to_thread(visit.barua.detect, address)
    except BaruaError as exc:
        return JSONResponse({"found": False, "problem": exc.render(visit.lang)})
    data = proposal.to_dict(visit._)
    found = bool(data["values"]) and not data["needs_confirmation"]
    return JSONResponse({"found": found, **{k: data[k] for k in _DETECTED}})


_DETECTED = (
    "values",
    "explanation",
    "password_advice",
    "notes",
    "sign_in",
    "lookalike_of",
    "needs_confirmation",
    "confirm_question",
)


# Signing in with the provider (OAuth) ------------------------------------------------------------

OAUTH_COOKIE = "barua_oauth"


def provider_words(provider: OAuthProvider) -> str:
    return {"microsoft": "Microsoft", "google": "Google"}.get(provider.value, provider.value)


@router.post("/b/{key}/settings/oauth")
async def oauth_start(key: str, visit: VisitDep) -> Response:
    """Send the browser to the provider's sign-in page; it comes back to /oauth/callback."""
    visit.require_user()
    form = await visit.form()
    business = visit.business(key)
    try:
        provider = OAuthProvider(form.get("provider", ""))
    except ValueError:
        return visit.page("not_found.html", status=404)
    changes = {
        name: form[name].strip()
        for name in ("oauth_client_id", "oauth_client_secret", "oauth_tenant")
        if form.get(name, "").strip()
    }
    redirect_uri = str(visit.request.url_for("oauth_callback"))
    try:
        begun = await asyncio.to_thread(
            partial(
                visit.barua.start_web_sign_in,
                business,
                provider,
                changes=changes,
                redirect_uri=redirect_uri,
            )
        )
    except BaruaError as exc:
        saved_values, sign_in = _saved(visit, business)
        return _page(
            visit,
            business,
            form_values(saved_values),
            status=400,
            problem=exc.render(visit.lang),
            hint=exc.render_hint(visit.lang),
            sign_in=sign_in,
            test_to="",
        )
    visit.cookies[OAUTH_COOKIE] = (begun.sealed, 900)
    # A page with the link, followed at once by the script: the page's policy lets forms
    # go to barua only (form-action 'self'), which a redirect after a POST would break.
    return visit.page(
        "oauth_continue.html",
        area="settings",
        business=business,
        businesses=visit.barua.businesses(),
        provider=provider_words(provider),
        url=begun.url,
    )


@router.get("/oauth/callback", name="oauth_callback")
async def oauth_callback(visit: VisitDep) -> Response:
    """The provider's answer: the tokens kept, the settings switched to the sign-in."""
    visit.require_user()
    answer = dict(visit.request.query_params.items())
    sealed = visit.request.cookies.get(OAUTH_COOKIE, "")
    try:
        business, _signed = await asyncio.to_thread(visit.barua.finish_web_sign_in, sealed, answer)
    except BaruaError as exc:
        business = visit.business(None)
        saved_values, sign_in = _saved(visit, business)
        response = _page(
            visit,
            business,
            form_values(saved_values),
            status=400,
            problem=exc.render(visit.lang),
            hint=exc.render_hint(visit.lang),
            sign_in=sign_in,
            test_to="",
        )
        response.delete_cookie(OAUTH_COOKIE, path="/")
        return response
    response = visit.redirect(f"/b/{business.key}/settings?signed_in=1")
    response.delete_cookie(OAUTH_COOKIE, path="/")
    return response
