"""``GET /internal/facts``: what identity knows, for ``mercato verify`` (service token):
the outbox rows not yet published."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from mercato.chassis import Principal, require_service

router = APIRouter()
FIRST = 5  # unpublished outbox rows named in the answer (the count covers them all)


@router.get("/internal/facts")
async def facts(request: Request, _caller: Principal = Depends(require_service)) -> dict:
    return {"outbox": await outbox_facts(request.app.state.runtime.outbox)}


async def outbox_facts(outbox) -> dict:
    """How many outbox rows are not published yet, and the ids of the oldest few."""
    first = await outbox.pending(FIRST)
    return {"pending": await outbox.count_pending(),
            "first": [{"id": r["id"], "subject": r["subject"]} for r in first]}
