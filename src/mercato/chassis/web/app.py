"""``create_service``: one call gives a service its web app, database, broker connection,
registry entry, health checks, metrics, problem+json errors and authentication."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.exceptions import HTTPException as StarletteHTTPException

from mercato.chassis.context import request_id_var
from mercato.chassis.data.db import DatabaseUnavailable
from mercato.chassis.errors import ErrorTable
from mercato.chassis.logging import get_logger
from mercato.chassis.messaging import Broadcast, Subscription
from mercato.chassis.runtime import Runtime
from mercato.chassis.security import AuthError, KeysUnavailable, Principal
from mercato.chassis.telemetry.metrics import exposition
from mercato.chassis.web.deps import allowlist, caller, require_service
from mercato.chassis.web.errors import (
    PROBLEM_CONTENT_TYPE,
    Problem,
    describe_validation_errors,
    problem_body,
)
from mercato.chassis.web.facts import Facts, facts_router
from mercato.chassis.web.middleware import BodyTooLarge, RequestContextMiddleware
from mercato.chassis.web.openapi import declare_problems, problems

if TYPE_CHECKING:
    from mercato.chassis.rpc import Served

log = get_logger(__name__)
NO_FASTAPI_TELEMETRY = {"tracing": False, "metrics": False, "logs": False,
                        "operation_spans": False, "auto_configure": False}
Hook = Callable[[Runtime, FastAPI], Awaitable[None]]


def create_service(
    runtime: Runtime,
    *,
    routers: Sequence[APIRouter],
    migrations_dir: Path | None,
    on_start: Hook | None = None,
    on_stop: Hook | None = None,
    publishes: bool = False,
    subscriptions: Callable[[FastAPI], list[Subscription]] | None = None,
    broadcasts: Callable[[FastAPI], list[Broadcast]] | None = None,
    errors: ErrorTable | None = None,
    rpc: str | None = None,
    facts: Facts | None = None,
) -> FastAPI:
    """The web app of one service process, with the chassis around ``routers``.

    ``on_start`` runs after the database, broker and registry view are open and before
    the instance registers as ready; it wires the service's own dependencies into
    ``app.state``, and starts its background loops with ``runtime.run`` (stopped by the
    chassis on shutdown). ``on_stop`` runs first on shutdown. A service that ``publishes`` gets
    its stream and an outbox relay (``runtime.outbox``); ``subscriptions(app)`` lists
    what it consumes (the service's ``subscriptions.py``), started after ``on_start``;
    ``broadcasts(app)`` the events every instance hears (messaging/broadcast.py).
    ``errors`` is the service's table of domain errors (its ``errors.py``): a handler's
    domain error becomes the problem it names (chassis/errors.py). ``rpc``, as
    ``"<module>:<handlers>"``, names the gRPC servicers it serves beside the routes
    (chassis/rpc): ``<module>.served(app.state.<handlers>)`` lists them. The module is
    imported after ``on_start``, and only when the platform speaks gRPC
    (``Runtime.grpc_on``): a process on HTTP never loads grpc. A service that publishes
    or declares ``facts`` (``facts(app)``: what ``mercato verify`` reads of it, through its
    repositories) serves ``GET /internal/facts`` with its unpublished outbox rows added
    (facts.py).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await runtime.open(migrations_dir)
        if on_start:
            await on_start(runtime, app)
        if rpc and runtime.grpc_on:
            await runtime.serve_rpc(_servicers(rpc, app), errors or ErrorTable({}))
        await runtime.start_messaging(
            publishes=publishes, subscriptions=subscriptions(app) if subscriptions else [],
            broadcasts=broadcasts(app) if broadcasts else [])
        runtime.mark_started()
        await runtime.registration.start(runtime.is_ready)
        log.info("service_started", instance=runtime.instance.instance_id,
                 address=runtime.instance.address)
        try:
            yield
        finally:
            log.info("service_stopping", instance=runtime.instance.instance_id)
            if runtime.registration:
                await runtime.registration.stop()
            await runtime.stop_messaging()
            if on_stop:
                await on_stop(runtime, app)
            await runtime.stop_workers()
            await runtime.close()

    # FastAPI's own telemetry is off: the request middleware makes the server span (as the
    # gateway does), and FastAPI's would add a second one plus three operation spans to
    # every request (docs/observability.md, "What it costs").
    app = FastAPI(title=f"mercato {runtime.service}", lifespan=lifespan,
                  docs_url=None, redoc_url=None, telemetry=NO_FASTAPI_TELEMETRY)
    app.state.runtime = runtime
    _install_error_handlers(app)
    _install_domain_errors(app, errors or ErrorTable({}))
    health = _health_router(runtime)
    app.include_router(health)
    if publishes or facts:
        routers = [*routers, facts_router(runtime, facts)]
    app.state.allowlist = allowlist([health, *routers])  # who may call each internal route
    for router in routers:  # every service route: a workload's token first (deps.py)
        app.include_router(router, dependencies=[Depends(caller)])
    _document_problems(app, health)
    app.add_middleware(
        RequestContextMiddleware, service=runtime.service,
        max_body_bytes=runtime.settings.max_body_bytes,
    )
    return app


def _servicers(rpc: str, app: FastAPI) -> list[Served]:
    """``create_service``'s ``rpc``: imports ``<module>`` (and grpc with it) and returns
    ``<module>.served(app.state.<handlers>)``."""
    module, _, handlers = rpc.partition(":")
    return importlib.import_module(module).served(getattr(app.state, handlers))


def problem_response(status: int, detail: str, *, title: str | None = None,
                     kind: str | None = None, headers: dict | None = None,
                     **extra) -> Response:
    """An application/problem+json answer, with the request id as ``correlation_id``."""
    p = Problem(status, detail, title=title, kind=kind)
    body = problem_body(status, p.title, detail, request_id_var.get(), p.kind, **extra)
    return Response(body, status_code=status, media_type=PROBLEM_CONTENT_TYPE, headers=headers)


def _document_problems(app: FastAPI, health: APIRouter) -> None:
    """The app's OpenAPI document declares every problem it answers (openapi.py)."""
    build = app.openapi
    open_paths = frozenset(r.path for r in health.routes if not r.path.startswith("/internal/"))

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = declare_problems(build(), open_paths)
        return app.openapi_schema

    app.openapi = openapi


def _install_domain_errors(app: FastAPI, table: ErrorTable) -> None:
    """A handler's domain error answered as its service's table says: the problem's
    status, kind and facts as extra members, ``Retry-After`` when it says when."""
    async def _domain(_req: Request, exc: Exception) -> Response:
        answer = table.answer(exc)
        if answer is None:  # only the types below are routed here; a table's own bug
            raise exc
        headers = ({"Retry-After": str(answer.retry_after)}
                   if answer.retry_after is not None else None)
        return problem_response(answer.status, answer.detail, title=answer.title,
                                kind=answer.kind, headers=headers, **answer.facts)

    for error_type in table:
        app.add_exception_handler(error_type, _domain)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(_req: Request, exc: Problem) -> Response:
        return problem_response(exc.status, exc.detail, title=exc.title, kind=exc.kind,
                                headers=exc.headers, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_req: Request, exc: RequestValidationError) -> Response:
        status, detail, fields = describe_validation_errors(list(exc.errors()))
        return problem_response(status, detail, kind="invalid-request", errors=fields)

    @app.exception_handler(AuthError)
    async def _auth(_req: Request, exc: AuthError) -> Response:
        return problem_response(401, str(exc), headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(KeysUnavailable)
    async def _no_keys(_req: Request, exc: KeysUnavailable) -> Response:
        return problem_response(503, str(exc), headers={"Retry-After": "1"})

    @app.exception_handler(DatabaseUnavailable)
    async def _no_database(_req: Request, exc: DatabaseUnavailable) -> Response:
        log.warning("database_unavailable", cause=exc.cause, error=str(exc))  # none kept
        return problem_response(503, f"{exc.public} ({exc.cause}); nothing was kept, try "
                                "again", kind="database-unavailable", cause=exc.cause,
                                headers={"Retry-After": "2"})

    @app.exception_handler(BodyTooLarge)
    async def _too_large(_req: Request, exc: BodyTooLarge) -> Response:
        return problem_response(413, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException) -> Response:
        return problem_response(exc.status_code, str(exc.detail), headers=exc.headers)


def _health_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/health/live")
    async def live() -> dict:
        return {"status": "live", "instance": runtime.instance.instance_id}

    @router.get("/health/startup", responses=problems(503))
    async def startup() -> Response:
        if runtime.started:
            return Response(b'{"status":"started"}', media_type="application/json")
        return problem_response(503, "the service is still starting")

    @router.get("/health/ready", responses=problems(503))
    async def ready() -> Response:
        if await runtime.is_ready():
            return Response(b'{"status":"ready"}', media_type="application/json")
        return problem_response(503, "database or broker unavailable",
                                headers={"Retry-After": "1"})

    @router.get("/metrics", response_class=PlainTextResponse,
                responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {}}}})
    async def metrics() -> Response:
        """Every metric of this process; outbox, consumers and dead letters read now."""
        return Response(await exposition(runtime), media_type=CONTENT_TYPE_LATEST)

    @router.get("/internal/breakers")
    async def breakers(
            _caller: Principal = Depends(require_service("gateway", "cli"))) -> dict:
        """This instance's calls to other services: breakers, bulkheads, budgets."""
        return {"instance": runtime.instance.instance_id,
                "items": runtime.client.resilience.snapshot() if runtime.client else []}

    return router
