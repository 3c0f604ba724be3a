"""Every event the inventory consumes, listed in one place."""

from __future__ import annotations

from fastapi import FastAPI

from mercato.chassis.messaging import Subscription, choreographed
from mercato.contracts.catalog import ProductCreated
from mercato.contracts.orders import OrderCancelling, OrderPlaced
from mercato.contracts.payments import PaymentCaptured
from mercato.services.inventory.choreography import CheckoutReactions
from mercato.services.inventory.handlers import Inventory


def subscriptions(app: FastAPI) -> list[Subscription]:
    inventory: Inventory = app.state.inventory
    checkout = CheckoutReactions(inventory)
    return [
        Subscription("product_created", (ProductCreated,), inventory.on_product_created),
        # The choreographed checkout (docs/choreography.md); one subscription for both
        # order events keeps a cancellation after its placement, in stream order.
        choreographed("checkout_orders", (OrderPlaced, OrderCancelling), checkout.on_order),
        choreographed("checkout_captures", (PaymentCaptured,), checkout.on_payment_captured),
    ]
