"""``create_app``: the FastAPI application of the center service (JSON API, operator page,
OpenAPI document), over one center home.

Layers, outside in: ``asgi.Guard`` (body size and time, security headers, the log line), the
exception handlers (every refusal is ``{"error", "detail"}``), the routes (``api``, ``web``).
The OpenAPI document is at ``/openapi.json``; it names every route with its methods, status
codes and schemas (tests/center/test_service_openapi.py walks it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

import framing
from center.errors import CenterInputError
from center.service import api, web
from center.service import models as m
from center.service.asgi import Guard
from center.service.auth import OperatorStore
from center.service.core import ScheduleReader, Service, StatusReader
from center.service.errors import ServiceError, from_center
from center.service.limits import ServiceLimits
from center.service.sessions import Sessions

TITLE = "hotcast center service"
# Request bodies read after the door (``api.body_of``) are documented by reference to these.
BODY_MODELS = (m.ReportIn, m.ReinstateIn, m.TokenIn, m.OperatorIn)


def create_app(home_path: str | Path, *, passphrase: Callable[[], str] | str | None = None,
               clock: Callable[[], int] | None = None, operators: OperatorStore | None = None,
               status: StatusReader | None = None, schedule: ScheduleReader | None = None,
               log: Callable[[dict], None] | None = None,
               limits: ServiceLimits = ServiceLimits(),
               monotonic: Callable[[], float] = time.monotonic) -> FastAPI:
    """The service over the center home at ``home_path``.

    ``operators``: the operator store (default: the home itself, once the registry keeps
    operators); ``clock``: unix seconds (default the system clock); ``status()``: the
    scheduler's status (default ``<home>/serve/status.json``); ``schedule(hours)``: its rows
    for the next hours (default none: ``/v1/schedule`` answers 503); ``log(dict)``: one call
    per request and per pull.
    """
    service = Service(Path(home_path), passphrase=passphrase,
                      clock=clock or (lambda: int(time.time())), operators=operators,
                      status=status, schedule=schedule, log=log, limits=limits,
                      monotonic=monotonic)
    app = FastAPI(title=TITLE, version="1", docs_url=None, redoc_url=None,
                  description=(__doc__ or "").split("\n\n")[0])
    app.state.service = service
    app.state.sessions = Sessions(monotonic)
    app.include_router(api.router)
    app.include_router(web.router)
    app.mount("/ui/static", web.static_files(), name="static")
    app.add_middleware(Guard, max_body_bytes=limits.max_body_bytes,
                       body_timeout_s=limits.body_timeout_s, log=log)
    _handlers(app)

    @app.get("/healthz", tags=["service"], response_model=dict[str, bool])
    async def healthz():
        """Liveness (no token needed)."""
        return {"ok": True}

    def openapi() -> dict:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version,
                              description=app.description, routes=app.routes)
            schemas = doc.setdefault("components", {}).setdefault("schemas", {})
            # FastAPI documents 422 for every route with parameters; this service answers a
            # bad parameter with 400 and a Problem (``_handlers``), never 422.
            for ops in doc["paths"].values():
                for op in ops.values():
                    op["responses"].pop("422", None)
            for name in ("HTTPValidationError", "ValidationError"):
                schemas.pop(name, None)
            for model in BODY_MODELS:
                schemas[model.__name__] = model.model_json_schema(
                    ref_template="#/components/schemas/{model}")
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi
    return app


def _problem(exc: ServiceError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError):
        return web.problem_page(request, exc) or _problem(exc)

    @app.exception_handler(CenterInputError)
    async def center_error(request: Request, exc: CenterInputError):
        return web.problem_page(request, from_center(exc)) or _problem(from_center(exc))

    @app.exception_handler(framing.CardIdError)
    async def card_error(request: Request, exc: framing.CardIdError):
        problem = ServiceError(400, "bad_input", str(exc))
        return web.problem_page(request, problem) or _problem(problem)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        problem = ServiceError(400, "bad_input", api.describe(list(exc.errors()), "request"))
        return web.problem_page(request, problem) or _problem(problem)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        codes = {404: "not_found", 405: "method_not_allowed"}
        problem = ServiceError(exc.status_code, codes.get(exc.status_code, "http_error"),
                               str(exc.detail), dict(exc.headers or {}))
        return _problem(problem)
