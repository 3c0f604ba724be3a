"""``GET /internal/facts``: what identity knows, for ``mercato verify`` (service token):
the outbox rows not yet published."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from mercato.chassis import Principal, require_service

router = APIRouter()


@router.get("/internal/facts")
async def facts(request: Request, _caller: Principal = Depends(require_service("cli"))) -> dict:
    return {"outbox": await request.app.state.runtime.outbox.unpublished()}

