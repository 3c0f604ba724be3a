"""Every event orders consumes, listed in one place: the choreographed checkout's
(docs/choreography.md), one subscription per participant's stream (orchestrated, the saga
runner hears the participants' answers over HTTP instead); and in both modes the courier's
news, which ships and delivers confirmed orders."""

from __future__ import annotations

from fastapi import FastAPI

from mercato.chassis.messaging import Subscription, choreographed
from mercato.contracts import all_events
from mercato.contracts.payments import PaymentRefunded
from mercato.contracts.shipping import ShipmentDelivered, ShipmentDispatched
from mercato.services.orders.checkout.choreography import ChoreographyTracker
from mercato.services.orders.domain.choreography import EVENT_TYPES
from mercato.services.orders.handlers import Orders
from mercato.services.orders.refunds import Refunds


def subscriptions(app: FastAPI) -> list[Subscription]:
    tracker: ChoreographyTracker = app.state.tracker
    events = all_events()
    heard = [events[name] for name in EVENT_TYPES]
    orders: Orders = app.state.orders
    refunds: Refunds = app.state.refunds
    return [
        # one transaction per message: an append holds the event store's lock till COMMIT
        # (eventstore.py), which must not wait for the next message's rows
        *(choreographed(f"checkout_{source}", tuple(e for e in heard if e.SOURCE == source),
                        tracker.on_event, own_transaction=False, batched=False)
          for source in ("inventory", "payments", "shipping")),
        Subscription("shipment_progress", (ShipmentDispatched, ShipmentDelivered),
                     orders.on_shipment_progress, batched=False),
        # a choreographed refund of a delivered order: payments gave the capture back
        choreographed("refund_payments", (PaymentRefunded,), refunds.on_payment_refunded,
                      own_transaction=False, batched=False),
    ]
