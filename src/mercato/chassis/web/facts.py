"""``GET /internal/facts``: what a service knows, for ``mercato verify`` (a ``cli`` service
token). One route for every service, built here: the service declares only its own facts
(``create_service(facts=...)``, read through its repositories), and the chassis adds the
outbox rows not yet published and the row up to which every consumer of its stream
acknowledged (messaging/redrive.py) — the part every publishing service shares. A publishing
service also serves ``POST /internal/outbox/redrive`` (``mercato outbox redrive``): its
published rows since a moment marked unsent, re-published by its relay (docs/chaos.md F4).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request

from mercato.chassis.runtime import Runtime
from mercato.chassis.web.deps import require_service

Facts = Callable[[FastAPI], Awaitable[dict[str, Any]]]
"""A service's own facts, read from ``app.state`` (its handlers' repositories)."""


def facts_router(runtime: Runtime, facts: Facts | None) -> APIRouter:
    """The route ``create_service`` adds to a service that publishes or declares facts:
    the service's ``facts(app)`` and its unpublished ``outbox`` rows (empty without one)."""
    router = APIRouter(tags=["facts"])

    @router.get("/internal/facts", dependencies=[Depends(require_service("cli"))])
    async def read(request: Request) -> dict[str, Any]:
        """What ``mercato verify`` checks: the service's own facts and its outbox."""
        own = await facts(request.app) if facts else {}
        outbox = await runtime.outbox.unpublished() if runtime.outbox else []
        # the row up to which every consumer acknowledged: where a re-drive would start
        consumed = runtime.relay.guard.consumed if runtime.relay else None
        return {**own, "outbox": outbox, "outbox_consumed": consumed}

    @router.post("/internal/outbox/redrive", dependencies=[Depends(require_service("cli"))])
    async def redrive(since: str | None = None) -> dict[str, Any]:
        """Re-publish the rows published since ``since`` (ISO 8601; default: the whole
        retention) — an operator's re-drive after the broker lost events."""
        if runtime.relay is None:
            raise HTTPException(404, f"{runtime.service} publishes no events")
        try:
            rows = await runtime.relay.guard.redrive("operator", since=since)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        return {"rows": rows, "stream": runtime.relay.guard.stream.name}

    return router
