"""``GET /internal/facts``: what inventory knows, for ``mercato verify`` (service token).

Stock per product, every reservation with its items, and the outbox rows not yet
published, read in one transaction so stock and reservations agree with each other.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from mercato.chassis import Principal, require_service

router = APIRouter()


@router.get("/internal/facts")
async def facts(request: Request, _caller: Principal = Depends(require_service("cli"))) -> dict:
    runtime = request.app.state.runtime
    async with runtime.db.transaction() as tx:
        stock = await tx.fetch_all(
            "SELECT product_id, on_hand, available, reserved, sold FROM stock"
            " ORDER BY product_id")
        rows = await tx.fetch_all(
            "SELECT r.reservation_id, r.order_id, r.status, i.product_id, i.quantity"
            " FROM reservations r LEFT JOIN reservation_items i"
            " ON i.reservation_id = r.reservation_id"
            " WHERE NOT r.tombstone ORDER BY r.reservation_id, i.position")
    reservations: dict[str, dict] = {}
    for row in rows:
        r = reservations.setdefault(row["reservation_id"], {
            "reservation_id": row["reservation_id"], "order_id": row["order_id"],
            "status": row["status"], "items": []})
        if row["product_id"] is not None:
            r["items"].append({"product_id": row["product_id"], "quantity": row["quantity"]})
    return {"products": stock, "reservations": list(reservations.values()),
            "outbox": await runtime.outbox.unpublished()}

