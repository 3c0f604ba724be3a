"""``GET /internal/facts``: what shipping knows, for ``mercato verify`` (service token).

Every shipment (id, order, status) and the outbox rows not yet published.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from mercato.chassis import Principal, require_service

router = APIRouter()


@router.get("/internal/facts")
async def facts(request: Request, _caller: Principal = Depends(require_service("cli"))) -> dict:
    runtime = request.app.state.runtime
    shipments = await runtime.db.fetch_all(
        "SELECT id AS shipment_id, order_id, status FROM shipments ORDER BY created_at, id")
    return {"shipments": shipments, "outbox": await runtime.outbox.unpublished()}

