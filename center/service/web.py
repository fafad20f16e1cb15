"""The operator page, ``/ui``: server-rendered HTML behind the same door as the JSON API.

Log in with an operator token: the token stays on the server, in a session the browser names
with a cookie (``HttpOnly``, ``SameSite=Strict``, ``Secure`` over https, path ``/ui``); every
request checks the token again (``Service.authorize``), so a revoked operator is out at once.
Forms are CSRF-safe three ways: the strict cookie, a per-session token in every form
(compared in constant time), and a foreign ``Origin`` refused. The login form carries a token
tied to a pre-session cookie (login CSRF). Pages load nothing from elsewhere (``asgi.CSP``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from http import HTTPStatus
from pathlib import Path
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.concurrency import run_in_threadpool

from center import cli_output as out
from center.service import actions, reads, svg
from center.service.auth import Action, Principal, allowed
from center.service.errors import ServiceError
from center.service.sessions import SESSION_COOKIE, PRE_COOKIE, Sessions
from framing import Reason, parse_card_id

HERE = Path(__file__).parent
router = APIRouter(prefix="/ui", tags=["operator page"])
templates = Environment(loader=FileSystemLoader(HERE / "templates"),
                        autoescape=select_autoescape(["html"]), undefined=StrictUndefined)
templates.filters["utc"] = lambda t: (out.utc(int(t)) if isinstance(t, (int, float)) else
                                      "" if t is None else t)
REASONS = [r.name.lower() for r in Reason]
MAX_FORM_FIELDS = 10
HTML = {200: {"content": {"text/html": {}}, "description": "the page"}}
SEE_OTHER = {303: {"description": "done: on to the next page (or to the login page)"}}


def static_files() -> StaticFiles:
    return StaticFiles(directory=HERE / "static")


def form_body(*fields: str, required: tuple[str, ...] = ("csrf",)) -> dict:
    """``openapi_extra`` for an urlencoded form with these text fields."""
    return {"requestBody": {"required": True, "content": {
        "application/x-www-form-urlencoded": {"schema": {
            "type": "object", "required": list(required),
            "properties": {f: {"type": "string"} for f in fields}}}}}}


def problems(*codes: int) -> dict:
    return {c: {"content": {"text/html": {}}, "description": HTTPStatus(c).phrase}
            for c in codes}


def _service(request: Request):
    return request.app.state.service


def _sessions(request: Request) -> Sessions:
    return request.app.state.sessions


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def page(request: Request, name: str, status: int = 200, **values) -> HTMLResponse:
    session = _sessions(request).get(request.cookies.get(SESSION_COOKIE))
    who = getattr(request.state, "who", None)
    values.setdefault("flash", session.take_flash() if session else None)
    html = templates.get_template(name).render(
        who=who, csrf=session.csrf if session else "",
        can_read=who is not None and allowed(who, Action.READ),
        can_change=who is not None and allowed(who, Action.CHANGE), reasons=REASONS, **values)
    return HTMLResponse(html, status_code=status)


def problem_page(request: Request, exc: ServiceError):
    """The HTML answer to a refusal on the operator page (None elsewhere: JSON then)."""
    if not request.url.path.startswith("/ui"):
        return None
    if exc.status == 401:
        return RedirectResponse("/ui/login", status_code=303)
    response = page(request, "problem.html", exc.status, code=exc.status,
                    phrase=HTTPStatus(exc.status).phrase, detail=exc.detail, flash=None)
    for name, value in exc.headers.items():
        response.headers[name] = value
    return response


async def who_is(request: Request, action: Action | None,
                 limited: str | None = None) -> Principal:
    session = _sessions(request).get(request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise ServiceError(401, "login_needed", "log in first")
    svc = _service(request)
    try:
        who = await run_in_threadpool(svc.authorize, session.token, _client(request), None)
    except ServiceError:
        _sessions(request).drop(session.sid)
        raise
    request.state.who = who
    return svc.permit(who, action, limited)


async def form_of(request: Request) -> dict[str, str]:
    """The urlencoded form, one value a field; 400 for anything else, 403 from another site."""
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        raise ServiceError(403, "cross_site", f"a form from {origin!r} is refused")
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        raise ServiceError(415, "unsupported_media_type", "send the form urlencoded")
    try:
        fields = parse_qs((await request.body()).decode("utf-8"), keep_blank_values=True,
                          max_num_fields=MAX_FORM_FIELDS, strict_parsing=True)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ServiceError(400, "bad_input", f"malformed form: {exc}") from None
    return {k: v[-1] for k, v in fields.items()}


def check_csrf(request: Request, form: dict[str, str]) -> None:
    session = _sessions(request).get(request.cookies.get(SESSION_COOKIE))
    if session is None or not hmac.compare_digest(form.get("csrf", ""), session.csrf):
        raise ServiceError(403, "csrf", "the form is stale or was not made by this page: "
                           "reload the page and send it again")


def _login_csrf(request: Request, pre: str) -> str:
    key = _sessions(request).secret
    return hmac.new(key, pre.encode(), hashlib.sha256).hexdigest()


# -- log in and out ---------------------------------------------------------------------------

@router.get("/login", response_class=HTMLResponse, responses=HTML)
async def login_form(request: Request):
    """The login page."""
    pre = request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(24)
    response = page(request, "login.html", login_csrf=_login_csrf(request, pre), error=None)
    response.set_cookie(PRE_COOKIE, pre, httponly=True, samesite="strict", path="/ui",
                        secure=request.url.scheme == "https")
    return response


@router.post("/login", response_class=HTMLResponse, openapi_extra=form_body("token", "csrf"),
             responses={**SEE_OTHER, **problems(400, 401, 403, 415, 429)})
async def login(request: Request):
    """Log in with an operator token (a terminal's token is refused: it only pulls)."""
    svc = _service(request)
    svc.limit("login", "address", _client(request))
    form = await form_of(request)
    pre = request.cookies.get(PRE_COOKIE, "")
    if not pre or not hmac.compare_digest(form.get("csrf", ""), _login_csrf(request, pre)):
        raise ServiceError(403, "csrf", "the login form is stale: reload the page")
    token = form.get("token", "").strip()
    try:
        who = await run_in_threadpool(svc.authorize, token or None, _client(request), None)
    except ServiceError as exc:
        if exc.status != 401:
            raise
        return page(request, "login.html", 401, login_csrf=_login_csrf(request, pre),
                    error="That token is unknown or revoked.")
    if not allowed(who, Action.LOOKUP):
        raise ServiceError(403, "forbidden", f"role {who.role.value} has no operator page")
    session = _sessions(request).create(token)
    response = RedirectResponse("/ui/", status_code=303)
    response.set_cookie(SESSION_COOKIE, session.sid, httponly=True, samesite="strict",
                        path="/ui", secure=request.url.scheme == "https")
    return response


@router.post("/logout", openapi_extra=form_body("csrf"), responses={**SEE_OTHER,
                                                                    **problems(403, 415)})
async def logout(request: Request):
    """Log out (the session is forgotten)."""
    check_csrf(request, await form_of(request))
    _sessions(request).drop(request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/ui")
    return response


# -- pages --------------------------------------------------------------------------------------

@router.get("/", response_class=HTMLResponse, responses={**HTML, **SEE_OTHER})
async def overview(request: Request):
    """On air now, the next hour, statistics with charts, the forms, the latest changes."""
    who = await who_is(request, Action.LOOKUP)
    if not allowed(who, Action.READ):
        return page(request, "dashboard.html")
    svc = _service(request)
    now = svc.now()
    air = await run_in_threadpool(svc.air)
    schedule = None if svc.schedule is None else await run_in_threadpool(svc.schedule, 1.0)
    stats = await run_in_threadpool(lambda: svc.stats.get(svc.pool.home(), now, 30))
    audit = await run_in_threadpool(lambda: reads.audit_page(
        svc.pool.home(), card=None, since=None, action=None, before=None, limit=20))
    return page(request, "dashboard.html", air=air, schedule=schedule, stats=stats,
                audit=audit["rows"],
                chart_reasons=svg.bars(list(stats["by_reason"].items()), "entries by reason"),
                chart_growth=svg.line([(g["at"], g["entries"] or 0) for g in stats["growth"]],
                                      "list size"),
                chart_daily=svg.columns(stats["daily"], "listed and reinstated a day"))


@router.get("/air", response_class=HTMLResponse, responses={**HTML, **problems(403)})
async def air_fragment(request: Request):
    """The on-air panel alone (the page reloads it)."""
    await who_is(request, Action.READ)
    air = await run_in_threadpool(_service(request).air)
    return HTMLResponse(templates.get_template("_air.html").render(air=air))


@router.get("/cards", response_class=HTMLResponse, responses={**HTML, **problems(400, 403)})
async def cards(request: Request, prefix: str = "", reason: str = "", after: str = ""):
    """The hot list, searchable, a page at a time."""
    await who_is(request, Action.READ)
    if prefix and not (prefix.isascii() and prefix.isdigit() and len(prefix) <= 19):
        raise ServiceError(400, "bad_input", f"card ID prefix {prefix!r}: want 1 to 19 digits")
    if reason and reason not in REASONS:
        raise ServiceError(400, "bad_input", f"unknown reason {reason!r}")
    after_id = parse_card_id(after) if after else None
    svc = _service(request)
    found = await run_in_threadpool(lambda: reads.entries_page(
        svc.pool.home(), after=after_id, limit=100,
        reason=Reason[reason.upper()] if reason else None, prefix=prefix, by=None))
    query = urlencode({"prefix": prefix, "reason": reason, "after": found["next_after"] or ""})
    return page(request, "cards.html", page=found, prefix=prefix, reason=reason,
                next_query=query)


@router.get("/card", response_class=HTMLResponse, responses={**HTML, **problems(400, 403)})
async def card(request: Request, card: str):
    """One card: listed or not, and its audit log."""
    who = await who_is(request, Action.LOOKUP)
    svc = _service(request)

    def find(home):
        card_id = actions.card_id(home, who, card)
        audit = reads.card_audit(home, card_id) if allowed(who, Action.READ) else None
        return card_id, reads.lookup(home, card_id), audit
    card_id, entry, audit = await run_in_threadpool(lambda: find(svc.pool.home()))
    return page(request, "card.html", card=card_id, entry=entry, audit=audit)


@router.get("/audit", response_class=HTMLResponse, responses={**HTML, **problems(400, 403)})
async def audit(request: Request, before: int | None = None):
    """The audit log, newest first, 100 rows a page."""
    await who_is(request, Action.READ)
    svc = _service(request)
    found = await run_in_threadpool(lambda: reads.audit_page(
        svc.pool.home(), card=None, since=None, action=None, before=before, limit=100))
    return page(request, "audit.html", page=found)


# -- changes -----------------------------------------------------------------------------------

@router.post("/report", openapi_extra=form_body("csrf", "card", "reason", "expires", "note",
                                                required=("csrf", "card")),
             responses={**SEE_OTHER, **problems(400, 403, 415, 429)})
async def report(request: Request):
    """Report a card from the page's form."""
    form = await form_of(request)
    check_csrf(request, form)
    svc = _service(request)
    svc.limit("report", "address", _client(request))
    who = await who_is(request, Action.CHANGE, "report")
    done = await run_in_threadpool(lambda: actions.report(
        svc.pool.home(), who, form.get("card", ""), form.get("reason", "stolen"),
        form.get("expires") or None, form.get("note"), svc.now()))
    svc.stats.forget()
    what = "already listed, unchanged" if done["unchanged"] else \
        "listed" if done["added"] else "changed"
    return _done(request, f"card {done['card']} {what} ({done['reason']})", done["card"])


@router.post("/reinstate", openapi_extra=form_body("csrf", "card", "note",
                                                   required=("csrf", "card")),
             responses={**SEE_OTHER, **problems(400, 403, 404, 415, 429)})
async def reinstate(request: Request):
    """Reinstate a card from the page's form."""
    form = await form_of(request)
    check_csrf(request, form)
    svc = _service(request)
    svc.limit("report", "address", _client(request))
    who = await who_is(request, Action.CHANGE, "report")
    done = await run_in_threadpool(lambda: actions.reinstate(
        svc.pool.home(), who, form.get("card", ""), form.get("note"), svc.now()))
    svc.stats.forget()
    return _done(request, f"card {done['card']} reinstated", done["card"])


def _done(request: Request, message: str, card_text: str) -> RedirectResponse:
    session = _sessions(request).get(request.cookies.get(SESSION_COOKIE))
    if session is not None:
        session.flash = message
    return RedirectResponse(f"/ui/card?{urlencode({'card': card_text})}", status_code=303)
