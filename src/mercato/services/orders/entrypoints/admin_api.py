"""Orders' admin listing: ``GET /api/v1/orders/recent?limit=&status=`` (admin), the newest
checkouts of every customer with how each ran (orchestration or choreography) and ended,
for the operators' console.

Read from the order-list read model, joined with each order's saga row (the saga's mode,
phase and cancellation reason live there, in the same database). Registered before the
customer's routes, whose ``/api/v1/orders/{order_id}`` would otherwise take "recent" for an
order id.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request

from mercato.chassis import Principal, require_admin

router = APIRouter()
Status = Literal["pending", "confirmed", "cancelled", "shipped", "delivered", "refunded"]

RECENT = (
    "SELECT v.order_id AS id, v.customer_id, v.status, v.total, v.currency, v.created_at,"
    " v.item_count, s.mode, s.phase, s.step, s.reason, s.updated_at"
    " FROM order_list_view v LEFT JOIN sagas s ON s.order_id = v.order_id"
)


async def recent_checkouts(db, limit: int, status: str | None = None) -> list[dict]:
    where, args = ("", []) if status is None else (" WHERE v.status = ?", [status])
    return await db.fetch_all(
        RECENT + where + " ORDER BY v.created_at DESC, v.order_id DESC LIMIT ?",
        *args, limit)


@router.get("/api/v1/orders/recent")
async def recent(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    status: Status | None = None,
    _admin: Principal = Depends(require_admin),
) -> dict:
    return {"items": await recent_checkouts(request.app.state.runtime.db, limit, status)}
