"""Read model: one order as ``GET /api/v1/orders/{id}`` shows it, history included, kept
as the finished JSON document so a read is one row."""

from __future__ import annotations

import json

from mercato.chassis.data.db import Connection, Database
from mercato.services.orders.domain.events import OrderCancelled, OrderPlaced, Recorded
from mercato.services.orders.domain.order import Order, Status


class OrderDetail:
    name = "order_detail"
    tables = ("order_detail_view",)

    async def apply(self, tx: Connection, record: Recorded) -> None:
        if isinstance(record.event, OrderPlaced):
            document = Order.fold([record]).as_dict()
            await tx.execute(
                "INSERT INTO order_detail_view (order_id, customer_id, version, document)"
                " VALUES (?, ?, ?, ?)", record.order_id, record.event.customer,
                record.version, json.dumps(document))
            return
        row = await tx.fetch_one("SELECT document FROM order_detail_view WHERE order_id = ?",
                                 record.order_id)
        document = json.loads(row["document"])
        if isinstance(record.event, OrderCancelled):
            status, reason = Status.CANCELLED.value, record.event.reason
            document["reason"] = reason
        else:
            status, reason = Status.CONFIRMED.value, None
        document["status"] = status
        document["history"].append({"status": status, "at": record.at, "reason": reason})
        await tx.execute(
            "UPDATE order_detail_view SET version = ?, document = ? WHERE order_id = ?",
            record.version, json.dumps(document), record.order_id)


async def order_document(db: Database, order_id: str) -> dict | None:
    row = await db.fetch_one("SELECT document FROM order_detail_view WHERE order_id = ?",
                             order_id)
    return json.loads(row["document"]) if row else None
