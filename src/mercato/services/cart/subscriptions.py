"""Every event the cart consumes, listed in one place."""

from __future__ import annotations

from fastapi import FastAPI

from mercato.chassis.messaging import Subscription
from mercato.contracts.orders import OrderConfirmed
from mercato.services.cart.handlers import Carts


def subscriptions(app: FastAPI) -> list[Subscription]:
    carts: Carts = app.state.carts
    return [Subscription("order_confirmed", (OrderConfirmed,), carts.on_order_confirmed)]
