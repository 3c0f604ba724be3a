"""Every event payments consumes, listed in one place: only the choreographed checkout's
(docs/choreography.md); orchestrated, the saga calls payments over HTTP instead."""

from __future__ import annotations

from fastapi import FastAPI

from mercato.chassis.messaging import Subscription, choreographed
from mercato.contracts.inventory import StockReserved
from mercato.contracts.orders import OrderCancelling, OrderPlaced
from mercato.contracts.shipping import ShipmentScheduled
from mercato.services.payments.choreography import CheckoutReactions


def subscriptions(app: FastAPI) -> list[Subscription]:
    checkout: CheckoutReactions = app.state.checkout
    return [
        choreographed("checkout_orders", (OrderPlaced, OrderCancelling), checkout.on_order),
        choreographed("checkout_reservations", (StockReserved,), checkout.on_stock_reserved),
        choreographed("checkout_shipments", (ShipmentScheduled,),
                      checkout.on_shipment_scheduled),
    ]
