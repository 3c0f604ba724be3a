"""Every event notifications consumes, listed in one place."""

from __future__ import annotations

from fastapi import FastAPI

from mercato.chassis.messaging import Subscription
from mercato.contracts.identity import UserRegistered
from mercato.contracts.orders import OrderCancelled, OrderConfirmed, OrderDelivered, OrderShipped
from mercato.contracts.payments import PaymentRefunded
from mercato.contracts.shipping import ShipmentScheduled
from mercato.services.notifications.handlers import Notifications


def subscriptions(app: FastAPI) -> list[Subscription]:
    notes: Notifications = app.state.notifications
    return [
        Subscription("order_outcomes", (OrderConfirmed, OrderCancelled), notes.on_message_event),
        Subscription("shipments", (ShipmentScheduled,), notes.on_message_event),
        # orders' word, not the courier's: a parcel called back for a cancelled order is
        # never announced as shipped
        Subscription("order_deliveries", (OrderShipped, OrderDelivered), notes.on_message_event),
        Subscription("refunds", (PaymentRefunded,), notes.on_message_event),
        Subscription("recipients", (UserRegistered,), notes.on_user_registered),
    ]
