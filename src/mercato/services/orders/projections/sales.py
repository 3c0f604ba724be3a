"""Read model for admins: confirmed orders and revenue per day and per product.

An order counts on the day it was confirmed (when its payment was captured), in its
currency; cancelling it after the confirmation (a refund), or refunding it once delivered,
takes it off that same day and
those products again, so each figure is what was sold and kept. A row that falls back to
no orders is removed. ``sales_orders`` remembers, per order, what it would add (its lines
and currency) and the day it was counted on: the later events carry neither.
"""

from __future__ import annotations

import json

from mercato.chassis.data import Connection, Database
from mercato.services.orders.domain.events import (
    OrderCancelled,
    OrderConfirmed,
    OrderPlaced,
    OrderRefunded,
    Recorded,
    to_data,
)


class SalesSummary:
    name = "sales"
    tables = ("sales_orders", "sales_by_day", "sales_by_product")

    async def apply(self, tx: Connection, record: Recorded) -> None:
        event = record.event
        if isinstance(event, OrderPlaced):
            await tx.execute(
                "INSERT INTO sales_orders (order_id, currency, lines, counted_on)"
                " VALUES (?, ?, ?, NULL)", record.order_id, event.currency,
                json.dumps(to_data(event)["lines"]))
            return
        if not isinstance(event, OrderConfirmed | OrderCancelled | OrderRefunded):
            return  # a checkout step, the shipping or the delivery: sold already
        order = await tx.fetch_one("SELECT * FROM sales_orders WHERE order_id = ?",
                                   record.order_id)
        if isinstance(event, OrderConfirmed):
            day = record.at[:10]
            await _count(tx, order, day, +1)
        elif order["counted_on"] is not None:  # cancelled after the confirmation, refunded
            await _count(tx, order, order["counted_on"], -1)
            day = None
        else:
            return
        await tx.execute("UPDATE sales_orders SET counted_on = ? WHERE order_id = ?", day,
                         record.order_id)


async def _count(tx: Connection, order: dict, day: str, sign: int) -> None:
    lines, currency = json.loads(order["lines"]), order["currency"]
    revenue = sum(x["quantity"] * x["unit_price"] for x in lines)
    await tx.execute(
        "INSERT INTO sales_by_day (day, currency, orders, revenue) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (day, currency) DO UPDATE SET orders = sales_by_day.orders"
        " + excluded.orders, revenue = sales_by_day.revenue + excluded.revenue",
        day, currency, sign, sign * revenue)
    await tx.execute("DELETE FROM sales_by_day WHERE day = ? AND currency = ? AND orders = 0",
                     day, currency)
    for x in lines:
        await tx.execute(
            "INSERT INTO sales_by_product (product_id, currency, name, orders, units, revenue)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (product_id, currency) DO UPDATE SET"
            " name = CASE WHEN excluded.orders > 0 THEN excluded.name"
            " ELSE sales_by_product.name END,"
            " orders = sales_by_product.orders + excluded.orders,"
            " units = sales_by_product.units + excluded.units,"
            " revenue = sales_by_product.revenue + excluded.revenue",
            x["product_id"], currency, x["name"], sign, sign * x["quantity"],
            sign * x["quantity"] * x["unit_price"])
        await tx.execute("DELETE FROM sales_by_product WHERE product_id = ? AND currency = ?"
                         " AND orders = 0", x["product_id"], currency)


async def sales_summary(db: Database) -> dict:
    by_day = await db.fetch_all(
        "SELECT day, currency, orders, revenue FROM sales_by_day ORDER BY day DESC, currency")
    by_product = await db.fetch_all(
        "SELECT product_id, name, currency, orders, units, revenue FROM sales_by_product"
        " ORDER BY revenue DESC, product_id, currency")
    totals = await db.fetch_all(
        "SELECT currency, CAST(SUM(orders) AS BIGINT) AS orders,"
        " CAST(SUM(revenue) AS BIGINT) AS revenue FROM sales_by_day"
        " GROUP BY currency ORDER BY currency")
    return {"totals": totals, "by_day": by_day, "by_product": by_product}
