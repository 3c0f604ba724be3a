"""What orders tells the rest of the platform, built from the order.

Each event's id is derived from the order id and the status it announces, so writing it
again (a repeated step after a crash) names the same event and the outbox keeps one.
"""

from __future__ import annotations

import uuid

from mercato.chassis.db import Connection
from mercato.chassis.messaging import Outbox
from mercato.contracts.orders import OrderCancelled, OrderConfirmed, OrderLine, OrderPlaced
from mercato.services.orders.domain.order import Order, Status

NAMESPACE = uuid.UUID("0b6f4f8e-2f7a-4d35-9a64-4f3c1d2e8a90")


def event_id(order_id: str, status: Status) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{order_id}/{status.value}"))


def _lines(order: Order) -> list[OrderLine]:
    return [OrderLine(product_id=x.product_id, quantity=x.quantity, unit_price=x.unit_price)
            for x in order.lines]


async def publish_placed(outbox: Outbox, tx: Connection, order: Order) -> None:
    await outbox.add(tx, OrderPlaced(
        order_id=order.id, customer_id=order.customer_id, total=order.total,
        currency=order.currency, items=_lines(order), from_cart=order.from_cart),
        event_id=event_id(order.id, Status.PENDING))


async def publish_changes(outbox: Outbox, tx: Connection, order: Order, since: int) -> None:
    """One event per status change from ``order.history[since]`` on, in the transaction
    that stores those changes."""
    placed = event_id(order.id, Status.PENDING)
    for seq in range(since, len(order.history)):
        change = order.history[seq]
        if change.status is Status.CONFIRMED:
            event = OrderConfirmed(
                order_id=order.id, customer_id=order.customer_id, total=order.total,
                currency=order.currency, items=_lines(order), from_cart=order.from_cart)
        elif change.status is Status.CANCELLED:
            was_confirmed = any(c.status is Status.CONFIRMED for c in order.history[:seq])
            event = OrderCancelled(
                order_id=order.id, customer_id=order.customer_id,
                reason=change.reason or order.reason or "", total=order.total,
                currency=order.currency, refunded=was_confirmed)
        else:
            continue
        await outbox.add(tx, event, event_id=event_id(order.id, change.status),
                         causation_id=placed)
