"""Every event shipping consumes, listed in one place: the choreographed checkout's
(docs/choreography.md; orchestrated, the saga calls shipping over HTTP instead), and in
both modes OrderConfirmed, which releases the order's shipment to the courier."""

from __future__ import annotations

from fastapi import FastAPI

from mercato.chassis.messaging import Subscription, choreographed
from mercato.contracts.orders import OrderCancelling, OrderConfirmed, OrderPlaced
from mercato.contracts.payments import PaymentAuthorized
from mercato.services.shipping.choreography import CheckoutReactions
from mercato.services.shipping.handlers import Shipping


def subscriptions(app: FastAPI) -> list[Subscription]:
    checkout: CheckoutReactions = app.state.checkout
    shipping: Shipping = app.state.shipping
    return [
        Subscription("order_confirmations", (OrderConfirmed,), shipping.on_order_confirmed),
        choreographed("checkout_orders", (OrderPlaced, OrderCancelling), checkout.on_order),
        choreographed("checkout_payments", (PaymentAuthorized,),
                     checkout.on_payment_authorized),
    ]
