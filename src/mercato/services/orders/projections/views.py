"""The order queries of the API, answered from the read models.

A read right after a write may find the read models a moment behind (the projector runs
just after the commit): the list may not show a new order yet, and an order may still
show as pending. Only a missing order would mislead, so the detail of an order the
projector has not reached is folded from the event store instead: a customer never gets
a 404 for the order they have just placed.
"""

from __future__ import annotations

from mercato.chassis.data import Database
from mercato.chassis.errors import NotFound
from mercato.chassis.security import Principal
from mercato.services.orders.adapters.store import SqlOrderRepository
from mercato.services.orders.projections.order_detail import order_document
from mercato.services.orders.projections.order_list import orders_of
from mercato.services.orders.projections.sales import sales_summary


class OrderViews:
    def __init__(self, db: Database, store: SqlOrderRepository) -> None:
        self.db = db
        self.store = store

    async def list_orders(self, customer_id: str, limit: int) -> list[dict]:
        return await orders_of(self.db, customer_id, limit)

    async def order_detail(self, caller: Principal, order_id: str) -> dict:
        document = await order_document(self.db, order_id)
        if document is None:
            order = await self.store.get_order(order_id)
            document = order.as_dict() if order else None
        if document is None or not (caller.is_admin
                                    or document["customer_id"] == caller.subject):
            raise NotFound(f"order {order_id} was not found")
        return document

    async def sales_summary(self) -> dict:
        return await sales_summary(self.db)
