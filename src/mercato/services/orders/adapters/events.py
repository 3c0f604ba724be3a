"""What orders tells the rest of the platform: the published events (the contracts),
built from the order's own domain events.

Each event's id is derived from the order id and the status it announces, so writing it
again (a repeated step after a crash) names the same event and the outbox keeps one.
"""

from __future__ import annotations

import uuid

from mercato.chassis.data import Connection
from mercato.chassis.messaging import Outbox
from mercato.contracts.orders import (
    OrderCancelled,
    OrderCancelling,
    OrderConfirmed,
    OrderDelivered,
    OrderLine,
    OrderPlaced,
    OrderRefunded,
    OrderRefundRequested,
    OrderShipped,
)
from mercato.services.orders.domain import events as domain
from mercato.services.orders.domain.events import Recorded
from mercato.services.orders.domain.order import Order, Status

NAMESPACE = uuid.UUID("0b6f4f8e-2f7a-4d35-9a64-4f3c1d2e8a90")


def event_id(order_id: str, status: Status) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{order_id}/{status.value}"))


def _lines(order: Order) -> list[OrderLine]:
    return [OrderLine(product_id=x.product_id, quantity=x.quantity, unit_price=x.unit_price)
            for x in order.lines]


async def publish(outbox: Outbox, tx: Connection, order: Order,
                  records: list[Recorded], *, sealed_card_token: str | None = None,
                  checkout: str = "orchestration") -> None:
    """The integration event of each of ``order``'s new domain events, in the transaction
    that appends them. ``order`` gives what the public events repeat (customer, total,
    lines), which no event after the placement changes. A choreographed checkout's
    OrderPlaced also carries the card token, sealed for payments. A checkout step's
    milestone (OrderProgressed) is the order's own: the participants said so already."""
    placed = event_id(order.id, Status.PENDING)
    for record in records:
        event = record.event
        if isinstance(event, domain.OrderPlaced):
            await outbox.add(tx, OrderPlaced(
                order_id=order.id, customer_id=order.customer_id, total=order.total,
                currency=order.currency, items=_lines(order), from_cart=order.from_cart,
                shipping_address=order.shipping_address,
                sealed_card_token=sealed_card_token, checkout=checkout), event_id=placed)
            continue
        if isinstance(event, domain.OrderProgressed):
            continue
        if isinstance(event, domain.OrderConfirmed):
            status, public = Status.CONFIRMED, OrderConfirmed(
                order_id=order.id, customer_id=order.customer_id, total=order.total,
                currency=order.currency, items=_lines(order), from_cart=order.from_cart)
        elif isinstance(event, domain.OrderShipped):
            status, public = Status.SHIPPED, OrderShipped(
                order_id=order.id, customer_id=order.customer_id,
                tracking_number=event.tracking_number)
        elif isinstance(event, domain.OrderDelivered):
            status, public = Status.DELIVERED, OrderDelivered(
                order_id=order.id, customer_id=order.customer_id, total=order.total,
                currency=order.currency)
        elif isinstance(event, domain.OrderRefunded):
            status, public = Status.REFUNDED, OrderRefunded(
                order_id=order.id, customer_id=order.customer_id, total=order.total,
                currency=order.currency)
        else:
            status, public = Status.CANCELLED, OrderCancelled(
                order_id=order.id, customer_id=order.customer_id, reason=event.reason,
                total=order.total, currency=order.currency, refunded=event.refunded)
        await outbox.add(tx, public, event_id=event_id(order.id, status), causation_id=placed)


async def publish_cancelling(outbox: Outbox, tx: Connection, order: Order,
                             reason: str | None) -> None:
    """A choreographed checkout is called off: each participant undoes its part. Once per
    order (the id names the order and the step), whatever called it off first."""
    await outbox.add(tx, OrderCancelling(order_id=order.id, customer_id=order.customer_id,
                                         reason=reason or ""),
                     event_id=str(uuid.uuid5(NAMESPACE, f"{order.id}/cancelling")),
                     causation_id=event_id(order.id, Status.PENDING))


def refund_requested_id(order_id: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{order_id}/refund-requested"))


async def publish_refund_requested(outbox: Outbox, tx: Connection, order: Order,
                                   checkout: str) -> None:
    """A delivered order is to be refunded: in a choreographed platform payments gives the
    capture back (PaymentRefunded). Once per order, however often it is asked."""
    await outbox.add(tx, OrderRefundRequested(
        order_id=order.id, customer_id=order.customer_id, total=order.total,
        currency=order.currency, checkout=checkout),
        event_id=refund_requested_id(order.id), causation_id=event_id(order.id, Status.DELIVERED))
