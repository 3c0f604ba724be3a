"""Every event shipping consumes, listed in one place: only the choreographed checkout's
(docs/choreography.md); orchestrated, the saga calls shipping over HTTP instead."""

from __future__ import annotations

from fastapi import FastAPI

from mercato.chassis.messaging import Subscription, choreographed
from mercato.contracts.orders import OrderCancelling, OrderPlaced
from mercato.contracts.payments import PaymentAuthorized
from mercato.services.shipping.checkout import CheckoutReactions


def subscriptions(app: FastAPI) -> list[Subscription]:
    checkout: CheckoutReactions = app.state.checkout
    return [
        choreographed("checkout_orders", (OrderPlaced, OrderCancelling), checkout.on_order),
        choreographed("checkout_payments", (PaymentAuthorized,),
                     checkout.on_payment_authorized),
    ]
