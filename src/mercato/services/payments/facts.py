"""``GET /internal/facts``: what payments knows, for ``mercato verify`` (service token).

Every payment (id, order, status, amount, currency) and the outbox rows not yet
published.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from mercato.chassis import Principal, require_service

router = APIRouter()


@router.get("/internal/facts")
async def facts(request: Request, _caller: Principal = Depends(require_service("cli"))) -> dict:
    runtime = request.app.state.runtime
    payments = await runtime.db.fetch_all(
        "SELECT id AS payment_id, order_id, status, amount, currency FROM payments"
        " ORDER BY created_at, id")
    return {"payments": payments, "outbox": await runtime.outbox.unpublished()}

