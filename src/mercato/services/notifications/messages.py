"""What each event tells the customer: the kind, subject and body of one message.

Amounts travel in minor units (cents); a message shows them with two decimals.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from mercato.contracts.envelope import Event
from mercato.contracts.orders import OrderCancelled, OrderConfirmed, OrderDelivered, OrderShipped
from mercato.contracts.payments import PaymentRefunded
from mercato.contracts.shipping import ShipmentScheduled

NAMESPACE = uuid.UUID("5c0e7d1a-9b3f-4e62-8a41-7f2d6c9b0e15")
REASONS = {
    "out_of_stock": "some of its items are out of stock",
    "payment_declined": "the payment was declined",
    "payment_unavailable": "the payment could not be processed",
    "shipping_unavailable": "we cannot deliver to the address given",
    "customer_request": "you asked us to cancel it",
    "expired": "it could not be completed in time",
}


@dataclass(frozen=True)
class Draft:
    user_id: str
    kind: str
    subject: str
    body: str
    order_id: str | None = None


def notification_id(event_id: str) -> str:
    """One message per event: a redelivered event names the message already stored."""
    return str(uuid.uuid5(NAMESPACE, event_id))


def _money(amount: int, currency: str) -> str:
    return f"{amount / 100:.2f} {currency}"


def _order_confirmed(e: OrderConfirmed) -> Draft:
    return Draft(e.customer_id, "order_confirmed", f"Your order {e.order_id[:8]} is confirmed",
                 f"Thank you! We received {_money(e.total, e.currency)}.", e.order_id)


def _order_cancelled(e: OrderCancelled) -> Draft:
    why = REASONS.get(e.reason, e.reason.replace("_", " ") or "of a problem")
    money = (f"Your payment of {_money(e.total, e.currency)} has been refunded."
             if e.refunded else "You have not been charged.")
    return Draft(e.customer_id, "order_cancelled", f"Your order {e.order_id[:8]} was cancelled",
                 f"Your order was cancelled because {why}. {money}", e.order_id)


def _shipment_scheduled(e: ShipmentScheduled) -> Draft:
    return Draft(e.customer_id, "shipment_scheduled",
                 f"Your order {e.order_id[:8]} is scheduled for shipment",
                 f"Your parcel is scheduled for shipment. Tracking number: {e.tracking_number}.",
                 e.order_id)


def _order_shipped(e: OrderShipped) -> Draft:
    tracking = f" Tracking number: {e.tracking_number}." if e.tracking_number else ""
    return Draft(e.customer_id, "order_shipped", f"Your order {e.order_id[:8]} has shipped",
                 f"Your order has shipped: the courier has your parcel.{tracking}", e.order_id)


def _order_delivered(e: OrderDelivered) -> Draft:
    return Draft(e.customer_id, "order_delivered",
                 f"Your order {e.order_id[:8]} has been delivered",
                 "Your order has been delivered. Enjoy!", e.order_id)


def _payment_refunded(e: PaymentRefunded) -> Draft:
    return Draft(e.customer_id, "payment_refunded", f"Your refund for order {e.order_id[:8]}",
                 f"We refunded {_money(e.amount, e.currency)} to your card.", e.order_id)


COMPOSERS = {
    OrderConfirmed: _order_confirmed,
    OrderCancelled: _order_cancelled,
    ShipmentScheduled: _shipment_scheduled,
    PaymentRefunded: _payment_refunded,
    OrderShipped: _order_shipped,
    OrderDelivered: _order_delivered,
}


def compose(event: Event) -> Draft:
    """The message for ``event``; a KeyError names an event that says nothing."""
    return COMPOSERS[type(event)](event)
