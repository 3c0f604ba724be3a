"""Every event loyalty consumes, listed in one place."""

from __future__ import annotations

from fastapi import FastAPI

from mercato.chassis.messaging import Subscription
from mercato.contracts.orders import OrderDelivered, OrderRefunded
from mercato.services.loyalty.handlers import Loyalty


def subscriptions(app: FastAPI) -> list[Subscription]:
    loyalty: Loyalty = app.state.loyalty
    return [
        Subscription("deliveries", (OrderDelivered,), loyalty.on_order_delivered),
        Subscription("refunds", (OrderRefunded,), loyalty.on_order_refunded),
    ]
