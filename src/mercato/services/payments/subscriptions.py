"""Every event payments consumes, listed in one place: only the choreographed checkout's
and refund's (docs/choreography.md); orchestrated, orders calls payments over HTTP instead."""

from __future__ import annotations

from fastapi import FastAPI

from mercato.chassis.messaging import Subscription, choreographed
from mercato.contracts.inventory import StockReserved
from mercato.contracts.orders import OrderCancelling, OrderPlaced, OrderRefundRequested
from mercato.contracts.shipping import ShipmentScheduled
from mercato.services.payments.choreography import CheckoutReactions
from mercato.services.payments.refunds import RefundReactions


def subscriptions(app: FastAPI) -> list[Subscription]:
    checkout: CheckoutReactions = app.state.checkout
    refunds: RefundReactions = app.state.refunds
    return [
        choreographed("checkout_orders", (OrderPlaced, OrderCancelling), checkout.on_order),
        choreographed("checkout_reservations", (StockReserved,), checkout.on_stock_reserved),
        choreographed("checkout_shipments", (ShipmentScheduled,),
                      checkout.on_shipment_scheduled),
        # a delivered order's refund (the choreographed checkout's mode, docs/choreography.md)
        choreographed("refund_requests", (OrderRefundRequested,), refunds.on_refund_requested),
    ]
