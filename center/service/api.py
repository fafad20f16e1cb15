"""The JSON API, ``/v1``: cards, the list, statistics, history, what is on air, the audit log,
card tokens, bundles for POS terminals, operators.

Each route names its action (``need``): the door (``Service.authorize``) runs before the body
is even read, so a request without a valid token, with the wrong role or over its rate gets
401, 403 or 429 and nothing else happens. Bodies are JSON objects read by ``body_of`` after
that; refusals are ``{"error", "detail"}`` (``models.Problem``).
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from center import cli_output as out
from center.service import actions, reads
from center.service import models as m
from center.service.auth import Action, Principal, bearer_token
from center.service.core import Service
from center.service.errors import ServiceError
from center.service.pull import CONTENT_TYPE, PullAsk
from framing import Reason, parse_card_id

router = APIRouter(prefix="/v1")
bearer = HTTPBearer(auto_error=False, description="an operator's or terminal's token "
                    "(`hotcast center operators add`)")
MAX_PAGE = 1000
U63 = 2**63 - 1


def problems(*codes: int) -> dict:
    """The refusals a route documents (every one is a ``Problem``)."""
    return {c: {"model": m.Problem} for c in codes}


def service(request: Request) -> Service:
    return request.app.state.service


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def need(action: Action | None, limited: str | None = None):
    """The dependency that lets a request in: see ``Service.authorize``. ``action`` None:
    any authenticated operator."""
    def door(request: Request,
             _: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Principal:
        token = bearer_token(request.headers.get("authorization"))
        who = service(request).authorize(token, client_of(request), action, limited)
        request.state.who = who
        return who
    return door


def describe(exc: ValidationError | list, where: str = "body") -> str:
    """A pydantic error list as one line naming each bad field and what it got."""
    errors = exc.errors() if isinstance(exc, ValidationError) else exc
    parts = []
    for e in errors:
        loc = ".".join(str(x) for x in e.get("loc", ()) if x != "body") or where
        got = f" (got {e['input']!r})" if e.get("type") != "missing" and "input" in e and \
            not isinstance(e["input"], dict) else ""
        parts.append(f"{loc}: {e.get('msg', 'invalid')}{got}")
    return "; ".join(parts)


async def body_of(request: Request, model: type[BaseModel]):
    """The JSON object body as ``model`` (400 for malformed JSON or a bad field, 415 for
    another content type). An empty body is ``{}``."""
    raw = await request.body()
    data: object = {}
    if raw.strip():
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise ServiceError(415, "unsupported_media_type",
                               f"send the body as application/json, not {ctype or 'nothing'!r}")
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ServiceError(400, "malformed_json", f"malformed JSON body: {exc}") from None
    if not isinstance(data, dict):
        raise ServiceError(400, "bad_input", f"the body must be a JSON object, not "
                           f"{type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ServiceError(400, "bad_input", describe(exc)) from None


def json_body(model: type[BaseModel], required: bool = True) -> dict:
    """``openapi_extra`` that documents a body read by ``body_of``."""
    return {"requestBody": {"required": required, "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}}


async def on_home(request: Request, func, *args):
    """``func(home, *args)`` on a worker thread with that thread's ``CenterHome``."""
    svc = service(request)
    return await run_in_threadpool(lambda: func(svc.pool.home(), *args))


# -- cards ------------------------------------------------------------------------------------

@router.put("/cards/{card}", response_model=m.ReportOut, tags=["cards"],
            openapi_extra=json_body(m.ReportIn, required=False),
            responses=problems(400, 401, 403, 408, 413, 415, 429))
async def report(request: Request, card: str,
                 who: Annotated[Principal, Depends(need(Action.CHANGE, "report"))]):
    """Report a card: put it on the hot list (idempotent: the same report twice is one)."""
    body = await body_of(request, m.ReportIn)
    svc = service(request)
    done = await on_home(request, actions.report, who, card, body.reason, body.expires,
                         body.note, svc.now())
    svc.stats.forget()
    return done


@router.post("/cards/{card}/reinstate", response_model=m.ReinstateOut, tags=["cards"],
             openapi_extra=json_body(m.ReinstateIn, required=False),
             responses=problems(400, 401, 403, 404, 408, 413, 415, 429))
async def reinstate(request: Request, card: str,
                    who: Annotated[Principal, Depends(need(Action.CHANGE, "report"))]):
    """Take a card off the hot list (404 when it is not on it)."""
    body = await body_of(request, m.ReinstateIn)
    svc = service(request)
    done = await on_home(request, actions.reinstate, who, card, body.note, svc.now())
    svc.stats.forget()
    return done


@router.get("/cards/{card}", response_model=m.LookupOut, tags=["cards"],
            responses=problems(400, 401, 403))
async def look_up(request: Request, card: str,
                  who: Annotated[Principal, Depends(need(Action.LOOKUP))]):
    """One card: listed or not, its entry, and the audit rows about it."""
    def find(home):
        card_id = actions.card_id(home, who, card)
        entry = reads.lookup(home, card_id)
        return {"card": str(card_id), "listed": entry is not None, "entry": entry,
                "audit": reads.card_audit(home, card_id)}
    return await on_home(request, find)


@router.post("/cards/{card}/token", response_model=m.TokenOut, tags=["cards"],
             openapi_extra=json_body(m.TokenIn), responses=problems(400, 401, 403, 409, 415))
async def renew_token(request: Request, card: str,
                      who: Annotated[Principal, Depends(need(Action.TOKEN))]):
    """A new validity token for a card that is not listed (409 for a listed card)."""
    body = await body_of(request, m.TokenIn)
    done = await on_home(request, actions.renew_token, who, card, body.valid_until,
                         body.note, service(request).now())
    return out.with_utc(done)


@router.get("/cards", response_model=m.EntriesPage, tags=["list"],
            responses=problems(400, 401, 403))
async def list_cards(request: Request,
                     _: Annotated[Principal, Depends(need(Action.READ))],
                     after: Annotated[str | None, Query(pattern=r"^[0-9]{1,19}$")] = None,
                     limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
                     reason: m.ReasonName | None = None,
                     prefix: Annotated[str, Query(pattern=r"^[0-9]{0,19}$")] = "",
                     by: Annotated[str | None, Query(max_length=200)] = None):
    """The hot list in card ID order, a page at a time, filtered by reason, card ID prefix or
    the operator who listed the card."""
    after_id = None if after is None else parse_card_id(after)
    reason_value = None if reason is None else Reason[reason.upper()]
    return await on_home(request, lambda home: reads.entries_page(
        home, after=after_id, limit=limit, reason=reason_value, prefix=prefix, by=by))


# -- reading ----------------------------------------------------------------------------------

@router.get("/stats", response_model=m.StatsOut, tags=["list"],
            responses=problems(400, 401, 403))
async def stats(request: Request, _: Annotated[Principal, Depends(need(Action.READ))],
                days: Annotated[int, Query(ge=1, le=366)] = 30):
    """Entries by reason, the list size after each bundle, cards listed and reinstated a day."""
    svc = service(request)
    return await on_home(request, svc.stats.get, svc.now(), days)


@router.get("/history", response_model=m.HistoryOut, tags=["bundles"],
            responses=problems(400, 401, 403))
async def history(request: Request, _: Annotated[Principal, Depends(need(Action.READ))],
                  kind: Literal["full", "delta", "master_roll"] | None = None,
                  limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100):
    """The bundles built, newest first."""
    return {"bundles": await on_home(request, lambda h: reads.history(h, kind=kind,
                                                                       limit=limit))}


@router.get("/air", response_model=m.AirOut, tags=["air"], responses=problems(401, 403))
async def on_air(request: Request, _: Annotated[Principal, Depends(need(Action.READ))]):
    """What is on air on each channel now (the scheduler's status)."""
    return await run_in_threadpool(service(request).air)


@router.get("/schedule", response_model=m.ScheduleOut, tags=["air"],
            responses=problems(400, 401, 403, 503))
async def schedule(request: Request, _: Annotated[Principal, Depends(need(Action.READ))],
                   hours: Annotated[float, Query(gt=0, le=48)] = 1.0):
    """What goes on air in the next ``hours``, channel by channel."""
    svc = service(request)
    if svc.schedule is None:
        raise ServiceError(503, "no_scheduler", "no schedule: the service runs without the "
                           "scheduler (hotcast center serve)")
    return {"hours": hours, "rows": await run_in_threadpool(svc.schedule, hours)}


@router.get("/audit", response_model=m.AuditPage, tags=["audit"],
            responses=problems(400, 401, 403))
async def audit(request: Request, _: Annotated[Principal, Depends(need(Action.READ))],
                card: Annotated[str | None, Query(pattern=r"^[0-9]{1,19}$")] = None,
                since: Annotated[str | None, Query(max_length=40)] = None,
                action: Annotated[str | None, Query(max_length=40)] = None,
                before: Annotated[int | None, Query(ge=1, le=U63)] = None,
                limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100):
    """The audit log, newest first: who changed what, when, from where and why."""
    try:
        since_t = None if since is None else out.parse_time(since)
    except ValueError as exc:
        raise ServiceError(400, "bad_input", f"since: {exc}") from None
    card_id = None if card is None else parse_card_id(card)
    return await on_home(request, lambda h: reads.audit_page(
        h, card=card_id, since=since_t, action=action, before=before, limit=limit))


# -- pull ---------------------------------------------------------------------------------------

@router.get("/bundles", response_class=Response, tags=["bundles"], responses={
    200: {"description": "a msgpack array of bundles (bin), in the order to apply them",
          "content": {CONTENT_TYPE: {"schema": {"type": "string", "format": "binary"}}}},
    304: {"description": "the terminal has all of it (If-None-Match matched the ETag)"},
    **problems(400, 401, 403, 429, 503)})
async def pull(request: Request,
               who: Annotated[Principal, Depends(need(Action.PULL, "pull"))],
               epoch: Annotated[int, Query(ge=0, le=2**32 - 1)] = 0,
               seq: Annotated[int, Query(ge=0, le=U63)] = 0,
               root: Annotated[int | None, Query(ge=1, le=2**32 - 1)] = None,
               keyset: Annotated[int | None, Query(ge=1, le=2**32 - 1)] = None,
               master: Annotated[int | None, Query(ge=1, le=2**32 - 1)] = None):
    """Bundles for a POS holding list (``epoch``, ``seq``): the trust it lacks, what takes its
    list to the current one, the latest heartbeat (``center.service.pull``)."""
    svc = service(request)
    ask = PullAsk(epoch, seq, root, keyset, master)
    answer = await on_home(request, svc.pull.answer, ask, svc.now(), who.name)
    if answer is None:
        raise ServiceError(503, "no_keyset", "the center has no key set in force yet: nothing "
                           "it could send would verify")
    if svc.log is not None:
        svc.log({"event": "pull", "by": who.name, "epoch": epoch, "seq": seq,
                 "items": answer.summary(), "built": answer.built})
    headers = {"ETag": answer.etag, "Cache-Control": "no-cache"}
    if etag_matches(request.headers.get("if-none-match"), answer.etag):
        return Response(status_code=304, headers=headers)
    return Response(answer.body(), media_type=CONTENT_TYPE, headers=headers)


def etag_matches(header: str | None, etag: str) -> bool:
    """RFC 9110 If-None-Match: ``*`` or a list of (weak or strong) tags, compared weakly."""
    if not header:
        return False
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


# -- operators ----------------------------------------------------------------------------------

@router.get("/operators", response_model=m.OperatorsOut, tags=["operators"],
            responses=problems(401, 403))
async def operators(request: Request, _: Annotated[Principal, Depends(need(Action.MANAGE))]):
    """Every operator (tokens are never shown again)."""
    svc = service(request)
    rows = await run_in_threadpool(lambda: [actions.operator_row(op)
                                            for op in svc.operator_store().operators()])
    return {"operators": rows}


@router.post("/operators", response_model=m.NewOperatorOut, status_code=201,
             tags=["operators"], openapi_extra=json_body(m.OperatorIn),
             responses=problems(400, 401, 403, 409, 415))
async def add_operator(request: Request,
                       who: Annotated[Principal, Depends(need(Action.MANAGE))]):
    """A new operator; the answer holds its token, this once."""
    body = await body_of(request, m.OperatorIn)
    svc = service(request)
    return await run_in_threadpool(lambda: actions.add_operator(
        svc.operator_store(), who, body.name, body.role, body.ranges, body.note, svc.now()))


@router.delete("/operators/{name}", response_model=m.RevokedOperatorOut, tags=["operators"],
               responses=problems(401, 403, 404))
async def revoke_operator(request: Request, name: str,
                          who: Annotated[Principal, Depends(need(Action.MANAGE))]):
    """Revoke an operator's token for good."""
    svc = service(request)
    return await run_in_threadpool(lambda: actions.revoke_operator(
        svc.operator_store(), who, name, svc.now()))


@router.get("/whoami", response_model=m.WhoAmI, tags=["operators"],
            responses=problems(401))
async def whoami(who: Annotated[Principal, Depends(need(None))]):
    """The operator the token belongs to."""
    return {"name": who.name, "role": who.role.value, "client": who.client,
            "ranges": None if who.ranges is None else [f"{lo}-{hi}" for lo, hi in who.ranges]}
