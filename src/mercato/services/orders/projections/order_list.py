"""Read model: each customer's orders, newest first, one short row per order."""

from __future__ import annotations

from mercato.chassis.data import Connection, Database
from mercato.services.orders.domain.events import OrderCancelled, OrderPlaced, Recorded
from mercato.services.orders.domain.order import STATUS_OF, Status

COLUMNS = "order_id AS id, status, total, currency, created_at, item_count"


class OrderList:
    name = "order_list"
    tables = ("order_list_view",)

    async def apply(self, tx: Connection, record: Recorded) -> None:
        event = record.event
        if isinstance(event, OrderPlaced):
            await tx.execute(
                "INSERT INTO order_list_view (order_id, customer_id, status, total, currency,"
                " created_at, item_count) VALUES (?, ?, ?, ?, ?, ?, ?)",
                record.order_id, event.customer, Status.PENDING.value,
                sum(x.amount for x in event.lines), event.currency, record.at,
                sum(x.quantity for x in event.lines))
            return
        if type(event) in STATUS_OF:  # confirmed, shipped, delivered
            status = STATUS_OF[type(event)]
        elif isinstance(event, OrderCancelled):
            status = Status.CANCELLED
        else:
            return  # a milestone of the checkout: the status is unchanged
        await tx.execute("UPDATE order_list_view SET status = ? WHERE order_id = ?",
                         status.value, record.order_id)


async def orders_of(db: Database, customer_id: str, limit: int) -> list[dict]:
    """``item_count`` counts units (two mugs and a hat: 3)."""
    return await db.fetch_all(
        f"SELECT {COLUMNS} FROM order_list_view WHERE customer_id = ?"
        " ORDER BY created_at DESC, order_id DESC LIMIT ?", customer_id, limit)
